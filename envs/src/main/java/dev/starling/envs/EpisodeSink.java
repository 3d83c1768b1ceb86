package dev.starling.envs;

/**
 * Receives finished episodes from {@link VectorEnv#drainEpisodes(EpisodeSink)}.
 *
 * <p>Primitive parameters so that draining statistics does not box.
 */
@FunctionalInterface
public interface EpisodeSink {

    /**
     * Called once per finished episode.
     *
     * @param episodeReturn undiscounted sum of the episode's rewards, including the final step
     * @param length number of steps in the episode
     */
    void accept(float episodeReturn, int length);
}
