package dev.starling.common.rl;

import dev.starling.common.model.ModelConfig;

/**
 * A batch of B sequences of T steps, time-major, in plain arrays: what actors collect and what
 * the learner trains on. Index {@code [t][b]} is {@code t * rows + b}. Step t: the policy saw
 * observation x_t with the LSTM state it carried, took action a_t (behaviour logits stored),
 * got reward r_t and done_t. After done_t the state is reset to zero before x_{t+1}.
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
    public final int numActions;
    public final int lstmSize;
    /** x_0 .. x_T: [T+1, B, obs]. */
    public final float[] observations;
    /** a_t: [T, B]. */
    public final int[] actions;
    /** r_t: [T, B]. */
    public final float[] rewards;
    /** done_t: [T, B]. */
    public final boolean[] dones;
    /** Behaviour policy logits at x_t: [T, B, A]. */
    public final float[] behaviourLogits;
    /** LSTM state before x_0: [B, H] each. */
    public final float[] initialH;
    public final float[] initialC;

    public Rollout(int unroll, int rows, ModelConfig model) {
        this(unroll, rows, model.observationSize(), model.numActions(), model.lstmSize());
    }

    public Rollout(int unroll, int rows, int observationSize, int numActions, int lstmSize) {
        if (unroll < 1 || rows < 1) {
            throw new IllegalArgumentException("unroll and rows must be >= 1, got T=" + unroll + " B=" + rows);
        }
        this.unroll = unroll;
        this.rows = rows;
        this.observationSize = observationSize;
        this.numActions = numActions;
        this.lstmSize = lstmSize;
        observations = new float[Math.multiplyExact((unroll + 1) * rows, observationSize)];
        actions = new int[unroll * rows];
        rewards = new float[unroll * rows];
        dones = new boolean[unroll * rows];
        behaviourLogits = new float[Math.multiplyExact(unroll * rows, numActions)];
        initialH = new float[rows * lstmSize];
        initialC = new float[rows * lstmSize];
    }

    /** Environment steps in this rollout (T * B). */
    public int frames() {
        return unroll * rows;
    }

    /**
     * Copies {@code src} (same T and sizes, {@code src.rows} sequences) into sequences
     * {@code [rowOffset, rowOffset + src.rows)} of this rollout: how chunks from several actors
     * become one training batch.
     */
    public void copyRowsFrom(Rollout src, int rowOffset) {
        if (src.unroll != unroll || src.observationSize != observationSize || src.numActions != numActions
                || src.lstmSize != lstmSize) {
            throw new IllegalArgumentException("rollout shapes differ");
        }
        if (rowOffset < 0 || rowOffset + src.rows > rows) {
            throw new IllegalArgumentException("rows [" + rowOffset + ", " + (rowOffset + src.rows)
                    + ") do not fit in " + rows);
        }
        int k = src.rows;
        for (int t = 0; t <= unroll; t++) {
            System.arraycopy(src.observations, t * k * observationSize, observations,
                    (t * rows + rowOffset) * observationSize, k * observationSize);
        }
        for (int t = 0; t < unroll; t++) {
            System.arraycopy(src.actions, t * k, actions, t * rows + rowOffset, k);
            System.arraycopy(src.rewards, t * k, rewards, t * rows + rowOffset, k);
            System.arraycopy(src.dones, t * k, dones, t * rows + rowOffset, k);
            System.arraycopy(src.behaviourLogits, t * k * numActions, behaviourLogits,
                    (t * rows + rowOffset) * numActions, k * numActions);
        }
        System.arraycopy(src.initialH, 0, initialH, rowOffset * lstmSize, k * lstmSize);
        System.arraycopy(src.initialC, 0, initialC, rowOffset * lstmSize, k * lstmSize);
    }
}
