package dev.starling.common.rl;

import dev.starling.common.model.ModelConfig;

/**
 * A batch of B sequences of T steps, time-major, in plain arrays: what actors collect and what
 * the learner trains on. Index {@code [t][b]} is {@code t * rows + b}. Step t: the policy saw
 * observation x_t with the LSTM state it carried, took action a_t (whose behaviour
 * log-probability is stored), got reward r_t and done_t. After done_t the state is reset to
 * zero before x_{t+1}. A done step is either terminated (no bootstrap) or truncated (the return
 * bootstraps from {@link #bootstrapValues}, the value of the episode's last observation).
 *
 * <p>The arrays are public and mutable on purpose (they are filled in place on the hot path);
 * a Rollout is owned by one thread at a time.
 */
public final class Rollout {

    /** T: steps per sequence. */
    public final int unroll;
    /** B: sequences (environments) in the batch. */
    public final int rows;
    public final int observationSize;
    /** Image observations: uint8 pixels in {@link #pixels} rather than floats in {@link #observations}. */
    public final boolean images;
    /** Continuous actions ({@link #continuousActions}) rather than discrete ({@link #actions}). */
    public final boolean continuous;
    /** Values per action: 1 for discrete, D for continuous. */
    public final int actionSize;
    public final int lstmSize;
    /** x_0 .. x_T: [T+1, B, obs] (box observations; empty for images). */
    public final float[] observations;
    /** x_0 .. x_T as pixels 0..255: [T+1, B, obs] (image observations; empty for boxes). */
    public final byte[] pixels;
    /** Discrete a_t: [T, B] (empty for continuous actions). */
    public final int[] actions;
    /** Continuous a_t as sampled (unclipped): [T, B, D] (empty for discrete actions). */
    public final float[] continuousActions;
    /** r_t: [T, B]. */
    public final float[] rewards;
    /** done_t: the episode ended at step t, terminated or truncated: [T, B]. */
    public final boolean[] dones;
    /** truncated_t: the episode was cut off at step t (implies done_t): [T, B]. */
    public final boolean[] truncated;
    /** Where truncated_t: the behaviour policy's value of the episode's last observation: [T, B]. */
    public final float[] bootstrapValues;
    /** log mu(a_t | x_t): [T, B]. */
    public final float[] behaviourLogProbs;
    /** LSTM state before x_0: [B, H] each. */
    public final float[] initialH;
    public final float[] initialC;

    public Rollout(int unroll, int rows, ModelConfig model) {
        this(unroll, rows, model.observationSize(), model.pixels(), model.continuous(), model.actionSize(),
                model.lstmSize());
    }

    /** A rollout of float (box) observations. */
    public Rollout(int unroll, int rows, int observationSize, boolean continuous, int actionSize, int lstmSize) {
        this(unroll, rows, observationSize, false, continuous, actionSize, lstmSize);
    }

    public Rollout(int unroll, int rows, int observationSize, boolean images, boolean continuous, int actionSize,
            int lstmSize) {
        if (unroll < 1 || rows < 1) {
            throw new IllegalArgumentException("unroll and rows must be >= 1, got T=" + unroll + " B=" + rows);
        }
        this.unroll = unroll;
        this.rows = rows;
        this.observationSize = observationSize;
        this.images = images;
        this.continuous = continuous;
        this.actionSize = actionSize;
        this.lstmSize = lstmSize;
        int n = unroll * rows;
        int observationValues = Math.multiplyExact((unroll + 1) * rows, observationSize);
        observations = new float[images ? 0 : observationValues];
        pixels = new byte[images ? observationValues : 0];
        actions = new int[continuous ? 0 : n];
        continuousActions = new float[continuous ? Math.multiplyExact(n, actionSize) : 0];
        rewards = new float[n];
        dones = new boolean[n];
        truncated = new boolean[n];
        bootstrapValues = new float[n];
        behaviourLogProbs = new float[n];
        initialH = new float[rows * lstmSize];
        initialC = new float[rows * lstmSize];
    }

    /** Environment steps in this rollout (T * B). */
    public int frames() {
        return unroll * rows;
    }

    /**
     * The rollouts {@code parts}, consecutive in time for the same rows, as one sequence of their
     * summed T: what an R2D2 actor sends when its sequences (m steps, overlapping by m - T) are
     * made of its last m / T rollouts of T steps. Part i's last observation is part i+1's first
     * (the carried environments), so it appears once; the LSTM state is the first part's.
     *
     * @throws IllegalArgumentException if the parts differ in rows or sizes, or do not follow one
     *     another (a part's first observation is not the previous part's last)
     */
    public static Rollout joinInTime(java.util.List<Rollout> parts) {
        if (parts.isEmpty()) {
            throw new IllegalArgumentException("nothing to join: no rollouts");
        }
        Rollout first = parts.get(0);
        int unroll = 0;
        for (Rollout p : parts) {
            if (p.rows != first.rows || p.observationSize != first.observationSize || p.images != first.images
                    || p.continuous != first.continuous || p.actionSize != first.actionSize
                    || p.lstmSize != first.lstmSize) {
                throw new IllegalArgumentException("rollouts to join differ in rows or sizes");
            }
            unroll += p.unroll;
        }
        Rollout joined = new Rollout(unroll, first.rows, first.observationSize, first.images, first.continuous,
                first.actionSize, first.lstmSize);
        System.arraycopy(first.initialH, 0, joined.initialH, 0, first.initialH.length);
        System.arraycopy(first.initialC, 0, joined.initialC, 0, first.initialC.length);
        int frame = first.rows * first.observationSize;
        int t = 0;
        for (int i = 0; i < parts.size(); i++) {
            Rollout p = parts.get(i);
            Rollout previous = i > 0 ? parts.get(i - 1) : null;
            if (previous != null && !followsInTime(previous, p)) {
                throw new IllegalArgumentException("rollout " + i + " does not start where rollout " + (i - 1)
                        + " ended: they are not consecutive");
            }
            // Observations x_0 .. x_T of every part but the last: x_T is the next part's x_0.
            int observations = (i == parts.size() - 1 ? p.unroll + 1 : p.unroll) * frame;
            if (p.images) {
                System.arraycopy(p.pixels, 0, joined.pixels, t * frame, observations);
            } else {
                System.arraycopy(p.observations, 0, joined.observations, t * frame, observations);
            }
            int steps = p.unroll * p.rows;
            int at = t * p.rows;
            if (p.continuous) {
                System.arraycopy(p.continuousActions, 0, joined.continuousActions, at * p.actionSize,
                        steps * p.actionSize);
            } else {
                System.arraycopy(p.actions, 0, joined.actions, at, steps);
            }
            System.arraycopy(p.rewards, 0, joined.rewards, at, steps);
            System.arraycopy(p.dones, 0, joined.dones, at, steps);
            System.arraycopy(p.truncated, 0, joined.truncated, at, steps);
            System.arraycopy(p.bootstrapValues, 0, joined.bootstrapValues, at, steps);
            System.arraycopy(p.behaviourLogProbs, 0, joined.behaviourLogProbs, at, steps);
            t += p.unroll;
        }
        return joined;
    }

    /**
     * True if {@code next} can continue {@code previous} in time: the same rows and sizes, and
     * its first observation is {@code previous}'s last in every row.
     */
    public static boolean followsInTime(Rollout previous, Rollout next) {
        return previous.rows == next.rows && previous.observationSize == next.observationSize
                && previous.images == next.images && previous.continuous == next.continuous
                && previous.actionSize == next.actionSize && previous.lstmSize == next.lstmSize
                && sameObservations(previous, previous.unroll, next, 0);
    }

    /** True if x_ta of {@code a} equals x_tb of {@code b} in every row. */
    private static boolean sameObservations(Rollout a, int ta, Rollout b, int tb) {
        int frame = a.rows * a.observationSize;
        return a.images
                ? java.util.Arrays.equals(a.pixels, ta * frame, (ta + 1) * frame, b.pixels, tb * frame, (tb + 1) * frame)
                : java.util.Arrays.equals(a.observations, ta * frame, (ta + 1) * frame, b.observations, tb * frame,
                        (tb + 1) * frame);
    }

    /**
     * Copies sequence {@code srcRow} of {@code src} (same T and sizes) into sequence
     * {@code dstRow} of this rollout: how sampled replay sequences become one training batch.
     */
    public void copyRowFrom(Rollout src, int srcRow, int dstRow) {
        checkSameShape(src);
        if (srcRow < 0 || srcRow >= src.rows || dstRow < 0 || dstRow >= rows) {
            throw new IllegalArgumentException("row " + srcRow + " of " + src.rows + " into row " + dstRow + " of " + rows);
        }
        for (int t = 0; t <= unroll; t++) {
            int from = (t * src.rows + srcRow) * observationSize;
            int to = (t * rows + dstRow) * observationSize;
            if (images) {
                System.arraycopy(src.pixels, from, pixels, to, observationSize);
            } else {
                System.arraycopy(src.observations, from, observations, to, observationSize);
            }
        }
        for (int t = 0; t < unroll; t++) {
            int from = t * src.rows + srcRow;
            int to = t * rows + dstRow;
            if (continuous) {
                System.arraycopy(src.continuousActions, from * actionSize, continuousActions, to * actionSize, actionSize);
            } else {
                actions[to] = src.actions[from];
            }
            rewards[to] = src.rewards[from];
            dones[to] = src.dones[from];
            truncated[to] = src.truncated[from];
            bootstrapValues[to] = src.bootstrapValues[from];
            behaviourLogProbs[to] = src.behaviourLogProbs[from];
        }
        System.arraycopy(src.initialH, srcRow * lstmSize, initialH, dstRow * lstmSize, lstmSize);
        System.arraycopy(src.initialC, srcRow * lstmSize, initialC, dstRow * lstmSize, lstmSize);
    }

    /** Bytes of this rollout's arrays (what holding it costs, for a replay's memory bound). */
    public long bytes() {
        return (long) observations.length * Float.BYTES + pixels.length + (long) actions.length * Integer.BYTES
                + (long) continuousActions.length * Float.BYTES + (long) rewards.length * Float.BYTES
                + dones.length + truncated.length + (long) bootstrapValues.length * Float.BYTES
                + (long) behaviourLogProbs.length * Float.BYTES + (long) (initialH.length + initialC.length) * Float.BYTES;
    }

    private void checkSameShape(Rollout src) {
        if (src.unroll != unroll || src.observationSize != observationSize || src.images != images
                || src.continuous != continuous || src.actionSize != actionSize || src.lstmSize != lstmSize) {
            throw new IllegalArgumentException("rollout shapes differ");
        }
    }

    /**
     * Copies {@code src} (same T and sizes, {@code src.rows} sequences) into sequences
     * {@code [rowOffset, rowOffset + src.rows)} of this rollout: how chunks from several actors
     * become one training batch.
     */
    public void copyRowsFrom(Rollout src, int rowOffset) {
        checkSameShape(src);
        if (rowOffset < 0 || rowOffset + src.rows > rows) {
            throw new IllegalArgumentException("rows [" + rowOffset + ", " + (rowOffset + src.rows)
                    + ") do not fit in " + rows);
        }
        int k = src.rows;
        for (int t = 0; t <= unroll; t++) {
            int from = t * k * observationSize;
            int to = (t * rows + rowOffset) * observationSize;
            if (images) {
                System.arraycopy(src.pixels, from, pixels, to, k * observationSize);
            } else {
                System.arraycopy(src.observations, from, observations, to, k * observationSize);
            }
        }
        for (int t = 0; t < unroll; t++) {
            int from = t * k;
            int to = t * rows + rowOffset;
            if (continuous) {
                System.arraycopy(src.continuousActions, from * actionSize, continuousActions, to * actionSize,
                        k * actionSize);
            } else {
                System.arraycopy(src.actions, from, actions, to, k);
            }
            System.arraycopy(src.rewards, from, rewards, to, k);
            System.arraycopy(src.dones, from, dones, to, k);
            System.arraycopy(src.truncated, from, truncated, to, k);
            System.arraycopy(src.bootstrapValues, from, bootstrapValues, to, k);
            System.arraycopy(src.behaviourLogProbs, from, behaviourLogProbs, to, k);
        }
        System.arraycopy(src.initialH, 0, initialH, rowOffset * lstmSize, k * lstmSize);
        System.arraycopy(src.initialC, 0, initialC, rowOffset * lstmSize, k * lstmSize);
    }
}
