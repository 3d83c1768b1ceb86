package dev.starling.envs;

import dev.starling.env.Action;
import dev.starling.env.ActionSpace;
import dev.starling.env.Box;
import dev.starling.env.Discrete;
import dev.starling.env.Environment;
import dev.starling.env.Observation;
import dev.starling.env.ObservationSpace;

/**
 * Deterministic environment for testing the learning pipeline: every quantity below can be
 * computed by hand. It uses no randomness.
 *
 * <p>Let {@code L} be the episode length (constructor argument; the registry's {@code "scripted"}
 * uses {@value #DEFAULT_EPISODE_LENGTH}), {@code t} the index of the step about to be taken within
 * the episode ({@code 0 .. L-1}), and {@code e} the number of episodes started on this instance
 * before the current one ({@code 0} for the first reset, {@code 1} for the second, ...).
 *
 * <ul>
 *   <li><b>Observation</b> (3 floats) before step {@code t}: {@code [t / L, 1, e % 2]}, with {@code
 *       t / L} computed as {@code (float) t / L}. The first observation of an episode is {@code [0,
 *       1, e % 2]}. The observation returned by the last step is {@code [1, 1, e % 2]} (a {@link
 *       VectorEnv} replaces it by the next episode's first observation).
 *   <li><b>Actions</b>: 2.
 *   <li><b>Reward</b> of step {@code t}: {@code 1.0} if {@code action == t % 2}, else {@code 0.0}.
 *       The optimal actions are {@code 0, 1, 0, 1, ...}.
 *   <li><b>Episode</b>: ends after exactly {@code L} steps ({@link #terminated()} is true after
 *       step {@code t = L-1}). The seed of {@link #reset} is ignored.
 * </ul>
 *
 * <p>Returns: optimal {@code L}; always 0 gives {@code ceil(L/2)}; always 1 gives {@code
 * floor(L/2)}. With {@code L = 5}: 5, 3 and 2.
 *
 * <p>Calling {@link #step} before {@link #reset} or after the episode ended throws {@link
 * IllegalStateException}.
 */
public final class ScriptedEnv implements Environment {

    /** Episode length used by the registry. */
    public static final int DEFAULT_EPISODE_LENGTH = 5;

    static final ObservationSpace OBSERVATION_SPACE = Box.of(3);
    static final ActionSpace ACTION_SPACE = new Discrete(2);

    private final int episodeLength;
    private int t;
    private long episodesStarted;
    private boolean ended;
    private boolean running;

    /** Episode length {@value #DEFAULT_EPISODE_LENGTH}. */
    public ScriptedEnv() {
        this(DEFAULT_EPISODE_LENGTH);
    }

    /** @param episodeLength steps per episode, {@code >= 1} */
    public ScriptedEnv(int episodeLength) {
        if (episodeLength < 1) {
            throw new IllegalArgumentException("episodeLength must be >= 1, got " + episodeLength);
        }
        this.episodeLength = episodeLength;
    }

    @Override
    public ObservationSpace observationSpace() {
        return OBSERVATION_SPACE;
    }

    @Override
    public ActionSpace actionSpace() {
        return ACTION_SPACE;
    }

    @Override
    public void reset(long seed, Observation observation) {
        episodesStarted++;
        t = 0;
        ended = false;
        running = true;
        write(observation);
    }

    @Override
    public float step(Action chosen, Observation observation) {
        int action = chosen.discrete();
        if (!running) {
            throw new IllegalStateException(
                    ended ? "step() called after the episode ended; call reset() first"
                          : "step() called before reset()");
        }
        float reward = action == (t & 1) ? 1f : 0f;
        t++;
        ended = t >= episodeLength;
        running = !ended;
        write(observation);
        return reward;
    }

    @Override
    public boolean terminated() {
        return ended;
    }

    @Override
    public boolean truncated() {
        return false;
    }

    /** Steps per episode. */
    public int episodeLength() {
        return episodeLength;
    }

    private void write(Observation observation) {
        float[] obs = observation.floats();
        int offset = observation.offset();
        obs[offset] = (float) t / episodeLength;
        obs[offset + 1] = 1f;
        obs[offset + 2] = ((episodesStarted - 1) & 1) == 0 ? 0f : 1f;
    }
}
