package dev.starling.common.rollout;

import dev.starling.envs.EpisodeSink;

/**
 * Counts episodes and keeps the mean undiscounted return of the most recent ones (100 by
 * default, the usual "solved" window). Not thread-safe.
 */
public final class ReturnTracker implements EpisodeSink {

    private final float[] window;
    private int filled;
    private int next;
    private double sum;
    private long episodes;

    public ReturnTracker() {
        this(100);
    }

    public ReturnTracker(int windowSize) {
        if (windowSize < 1) {
            throw new IllegalArgumentException("window must be >= 1, got " + windowSize);
        }
        window = new float[windowSize];
    }

    @Override
    public void accept(float episodeReturn, int length) {
        if (filled == window.length) {
            sum -= window[next];
        } else {
            filled++;
        }
        window[next] = episodeReturn;
        sum += episodeReturn;
        next = (next + 1) % window.length;
        episodes++;
    }

    /** Mean return of the last {@code min(episodes, window)} episodes; 0 before any. */
    public double average() {
        return filled == 0 ? 0.0 : sum / filled;
    }

    /** True once the window is full (an average over fewer episodes is not a "solved" claim). */
    public boolean windowFull() {
        return filled == window.length;
    }

    public long episodes() {
        return episodes;
    }
}
