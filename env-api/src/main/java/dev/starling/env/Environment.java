package dev.starling.env;

/**
 * One instance of a simulation that a policy learns to act in.
 *
 * <p>The driver (a Starling actor, or {@code eval}) calls {@link #reset} to start an episode,
 * then {@link #step} until {@link #terminated()} or {@link #truncated()} is true, then
 * {@link #reset} again. {@code step} sits on the actor's hot path, millions of times a minute:
 * write into the {@link Observation} you are given and do not allocate there. {@code reset} runs
 * once per episode; a small allocation there (a seeded random generator) is fine.
 *
 * <p><b>Terminated or truncated?</b> Say {@link #terminated()} when the episode reached a
 * terminal state of the task (the pole fell, the game was won): nothing would follow, so the
 * learner values that state at zero. Say {@link #truncated()} when it was cut off for another
 * reason (a time limit): the task would have gone on, so the learner bootstraps from the value
 * of the last observation. Mixing them up teaches the policy that time limits are cliffs.
 *
 * <p>Not thread-safe: one thread drives an instance at a time.
 */
public interface Environment {

    /** What {@link #reset} and {@link #step} write; the same for every call. */
    ObservationSpace observationSpace();

    /** What {@link #step} accepts; the same for every call. */
    ActionSpace actionSpace();

    /**
     * Starts a new episode and writes its first observation.
     *
     * @param seed this episode's seed: the same seed must give the same episode. Starling draws
     *     it from the run's seed, split per environment, so a run is reproducible
     * @param observation where to write the observation
     */
    void reset(long seed, Observation observation);

    /**
     * Advances one step: applies {@code action}, writes the next observation, returns the reward
     * (finite). Called only between a {@link #reset} and the end of that episode.
     */
    float step(Action action, Observation observation);

    /** True if the last step reached a terminal state (no future reward; not bootstrapped). */
    boolean terminated();

    /** True if the last step cut the episode off (a time limit; the value is bootstrapped). */
    boolean truncated();
}
