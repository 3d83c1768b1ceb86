package dev.starling.envs;

import dev.starling.env.ActionSpace;
import dev.starling.env.ObservationSpace;

/**
 * {@code K} environments stepped together, with automatic reset and episode statistics: what an
 * actor plays. {@link VectorEnv} steps environments in this process; an environment server
 * (another process, any language) steps them remotely.
 *
 * <p>A step is started and finished apart ({@link #startStep}, {@link #finishStep}) so the caller
 * can run the policy on other environments while remote ones step (double-buffered play).
 * In-process environments do all the work in {@code startStep}.
 *
 * <p>Layout, auto-reset and truncation are as {@link VectorStep} describes. Not thread-safe,
 * except {@link #close()}: one thread plays.
 */
public interface VectorEnvironment extends AutoCloseable {

    /** Environment name, for errors and run folders. */
    String name();

    /** Number of environments {@code K}. */
    int numEnvs();

    ObservationSpace observationSpace();

    ActionSpace actionSpace();

    /** Values per observation of one environment. */
    default int observationSize() {
        return observationSpace().size();
    }

    /** Buffers sized for these environments. */
    default VectorStep newStep() {
        return VectorStep.of(numEnvs(), observationSpace(), actionSpace());
    }

    /**
     * Starts new episodes everywhere and writes the first observations into {@code into}; steps
     * must use the same buffers. Episodes in progress are abandoned without being recorded.
     */
    void reset(VectorStep into);

    /**
     * Starts one step of every environment with the actions in {@code s}; the results are
     * {@code s}'s after {@link #finishStep}. Until then the caller must not touch {@code s}.
     *
     * @throws IllegalArgumentException on an invalid action (nothing is stepped)
     */
    void startStep(VectorStep s);

    /** Waits until the step started on {@code s} is done and its results are in {@code s}. */
    void finishStep(VectorStep s);

    /** One whole step: {@link #startStep} then {@link #finishStep}. */
    default void step(VectorStep s) {
        startStep(s);
        finishStep(s);
    }

    /**
     * Passes every episode finished since the previous drain to {@code sink}, oldest first, and
     * clears them.
     *
     * @return the number of episodes passed
     */
    int drainEpisodes(EpisodeSink sink);

    /** Frees what the environments hold (connections, processes); may be called from any thread. */
    @Override
    default void close() {
    }
}
