package dev.starling.common.env;

import java.util.Arrays;
import java.util.List;
import java.util.Objects;

/**
 * {@code K} environments of the same kind stepped together, with automatic reset and episode
 * statistics.
 *
 * <p>Observations are laid out row-major as {@code [K, observationSize]}. When an environment's
 * episode ends during {@link #step}, it is reset at once and its row of {@code obsOut} holds the
 * first observation of the new episode (auto-reset, as in IMPALA and Sample Factory); the ended
 * episode's last observation is not exposed. {@code donesOut[k]} marks that boundary.
 *
 * <p>The step path does not allocate: all outputs go into caller-provided arrays, and finished
 * episodes are buffered in primitive arrays that only grow until the largest backlog between two
 * {@link #drainEpisodes} calls is reached.
 *
 * <p>Not thread-safe: one actor thread owns a {@code VectorEnv} and its environments.
 */
public final class VectorEnv {

    private static final int INITIAL_EPISODE_CAPACITY = 16;

    private final String name;
    private final Environment[] envs;
    private final int numEnvs;
    private final int obsSize;
    private final int numActions;

    // Running episode statistics per environment; the return accumulates in double so long
    // episodes of small rewards do not lose precision.
    private final double[] runningReturn;
    private final int[] runningLength;

    // Finished episodes not yet drained.
    private float[] finishedReturns = new float[INITIAL_EPISODE_CAPACITY];
    private int[] finishedLengths = new int[INITIAL_EPISODE_CAPACITY];
    private int finishedCount;

    private long totalSteps;
    private long totalEpisodes;
    private boolean started;

    /**
     * @param name environment name, reported by {@link #name()}
     * @param envs at least one environment, all with the same observation size and number of
     *     actions; the {@code VectorEnv} takes ownership of them
     * @throws IllegalArgumentException if {@code envs} is empty or the sizes differ
     */
    public VectorEnv(String name, List<Environment> envs) {
        this.name = Objects.requireNonNull(name, "name");
        Objects.requireNonNull(envs, "envs");
        if (envs.isEmpty()) {
            throw new IllegalArgumentException("a VectorEnv needs at least one environment");
        }
        this.envs = envs.toArray(new Environment[0]);
        this.numEnvs = this.envs.length;
        for (int k = 0; k < numEnvs; k++) {
            Objects.requireNonNull(this.envs[k], "environment " + k + " is null");
        }
        this.obsSize = this.envs[0].observationSize();
        this.numActions = this.envs[0].numActions();
        if (obsSize < 1 || numActions < 1) {
            throw new IllegalArgumentException("environment 0 has observationSize " + obsSize
                    + " and numActions " + numActions + "; both must be >= 1");
        }
        for (int k = 1; k < numEnvs; k++) {
            Environment env = this.envs[k];
            if (env.observationSize() != obsSize || env.numActions() != numActions) {
                throw new IllegalArgumentException("environment " + k + " has observationSize "
                        + env.observationSize() + " and numActions " + env.numActions()
                        + " but environment 0 has " + obsSize + " and " + numActions);
            }
        }
        this.runningReturn = new double[numEnvs];
        this.runningLength = new int[numEnvs];
    }

    /** Number of environments {@code K}. */
    public int numEnvs() {
        return numEnvs;
    }

    /** Floats per observation of one environment. */
    public int observationSize() {
        return obsSize;
    }

    /** Number of discrete actions of each environment. */
    public int numActions() {
        return numActions;
    }

    /** Environment name given at construction. */
    public String name() {
        return name;
    }

    /**
     * Resets every environment and writes the first observations. Episodes in progress are
     * abandoned without being recorded; finished episodes not yet drained are kept.
     *
     * @param obsOut receives {@code [K, observationSize]} row-major; length must be {@code K *
     *     observationSize}
     */
    public void reset(float[] obsOut) {
        checkObsLength(obsOut);
        for (int k = 0; k < numEnvs; k++) {
            envs[k].reset(obsOut, k * obsSize);
            runningReturn[k] = 0.0;
            runningLength[k] = 0;
        }
        started = true;
    }

    /**
     * Steps every environment once. All actions are validated before any environment is stepped,
     * so an invalid action leaves every environment and statistic unchanged.
     *
     * @param actions one action per environment, each in {@code [0, numActions)}
     * @param obsOut receives the next observations {@code [K, observationSize]}; for an
     *     environment whose episode ended, the first observation of its new episode
     * @param rewardsOut receives the reward of each environment's step
     * @param donesOut receives whether each environment's episode ended on this step
     * @throws IllegalArgumentException on a wrong array length or an invalid action
     * @throws IllegalStateException if {@link #reset} was never called
     */
    public void step(int[] actions, float[] obsOut, float[] rewardsOut, boolean[] donesOut) {
        checkLength("actions", actions.length);
        checkObsLength(obsOut);
        checkLength("rewardsOut", rewardsOut.length);
        checkLength("donesOut", donesOut.length);
        if (!started) {
            throw new IllegalStateException("VectorEnv '" + name + "': step() called before reset()");
        }
        for (int k = 0; k < numEnvs; k++) {
            int a = actions[k];
            if (a < 0 || a >= numActions) {
                throw new IllegalArgumentException("action " + a + " for environment " + k
                        + " is out of range [0, " + numActions + ")");
            }
        }
        for (int k = 0; k < numEnvs; k++) {
            Environment env = envs[k];
            int offset = k * obsSize;
            float reward = env.step(actions[k], obsOut, offset);
            rewardsOut[k] = reward;
            runningReturn[k] += reward;
            runningLength[k]++;
            boolean done = env.episodeEnded();
            donesOut[k] = done;
            if (done) {
                recordEpisode((float) runningReturn[k], runningLength[k]);
                runningReturn[k] = 0.0;
                runningLength[k] = 0;
                env.reset(obsOut, offset);
            }
        }
        totalSteps += numEnvs;
    }

    /**
     * Passes every episode finished since the previous drain to {@code sink}, oldest first, and
     * clears them. If the sink throws, the episodes not yet passed are dropped.
     *
     * @return the number of episodes passed
     */
    public int drainEpisodes(EpisodeSink sink) {
        Objects.requireNonNull(sink, "sink");
        int n = finishedCount;
        // Cleared up front so a throwing sink cannot cause episodes to be reported twice.
        finishedCount = 0;
        for (int i = 0; i < n; i++) {
            sink.accept(finishedReturns[i], finishedLengths[i]);
        }
        return n;
    }

    /** Environment steps taken so far, summed over all {@code K} environments. */
    public long totalSteps() {
        return totalSteps;
    }

    /** Episodes finished so far, drained or not. */
    public long totalEpisodes() {
        return totalEpisodes;
    }

    private void recordEpisode(float episodeReturn, int length) {
        if (finishedCount == finishedReturns.length) {
            // Grows only while the backlog between drains exceeds every earlier one.
            int capacity = finishedReturns.length * 2;
            finishedReturns = Arrays.copyOf(finishedReturns, capacity);
            finishedLengths = Arrays.copyOf(finishedLengths, capacity);
        }
        finishedReturns[finishedCount] = episodeReturn;
        finishedLengths[finishedCount] = length;
        finishedCount++;
        totalEpisodes++;
    }

    private void checkLength(String array, int actual) {
        if (actual != numEnvs) {
            throw new IllegalArgumentException(array + " has length " + actual + ", expected "
                    + numEnvs + " (numEnvs) for '" + name + "'");
        }
    }

    private void checkObsLength(float[] obsOut) {
        int expected = numEnvs * obsSize;
        if (obsOut.length != expected) {
            throw new IllegalArgumentException("obsOut has length " + obsOut.length + ", expected "
                    + expected + " (numEnvs " + numEnvs + " x observationSize " + obsSize
                    + ") for '" + name + "'");
        }
    }
}
