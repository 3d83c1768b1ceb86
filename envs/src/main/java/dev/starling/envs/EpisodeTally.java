package dev.starling.envs;

import java.util.Arrays;
import java.util.Objects;

/**
 * The running return and length of each of {@code K} environments' current episodes, and the
 * episodes finished since the last {@link #drain}: the bookkeeping every {@link VectorEnvironment}
 * shares. Allocates only when the backlog between two drains grows past every earlier one.
 * Not thread-safe.
 */
public final class EpisodeTally {

    private static final int INITIAL_CAPACITY = 16;

    // The return accumulates in double so long episodes of small rewards do not lose precision.
    private final double[] runningReturn;
    private final int[] runningLength;
    private float[] finishedReturns = new float[INITIAL_CAPACITY];
    private int[] finishedLengths = new int[INITIAL_CAPACITY];
    private int finishedCount;
    private long episodes;

    public EpisodeTally(int numEnvs) {
        runningReturn = new double[numEnvs];
        runningLength = new int[numEnvs];
    }

    /** Environment {@code k} took a step that earned {@code reward}. */
    public void add(int k, float reward) {
        runningReturn[k] += reward;
        runningLength[k]++;
    }

    /** Environment {@code k}'s episode ended with its last step: record it and start counting anew. */
    public void end(int k) {
        if (finishedCount == finishedReturns.length) {
            int capacity = finishedReturns.length * 2;
            finishedReturns = Arrays.copyOf(finishedReturns, capacity);
            finishedLengths = Arrays.copyOf(finishedLengths, capacity);
        }
        finishedReturns[finishedCount] = (float) runningReturn[k];
        finishedLengths[finishedCount] = runningLength[k];
        finishedCount++;
        episodes++;
        abandon(k);
    }

    /** Environment {@code k}'s episode was cut off by no fault of the task (a reset, a lost server): forget it. */
    public void abandon(int k) {
        runningReturn[k] = 0.0;
        runningLength[k] = 0;
    }

    /**
     * Passes the finished episodes to {@code sink}, oldest first, and clears them. If the sink
     * throws, the episodes not yet passed are dropped.
     */
    public int drain(EpisodeSink sink) {
        Objects.requireNonNull(sink, "sink");
        int n = finishedCount;
        // Cleared up front so a throwing sink cannot cause episodes to be reported twice.
        finishedCount = 0;
        for (int i = 0; i < n; i++) {
            sink.accept(finishedReturns[i], finishedLengths[i]);
        }
        return n;
    }

    /** Episodes finished so far, drained or not. */
    public long episodes() {
        return episodes;
    }
}
