package dev.starling.policy;

/**
 * {@code K} sessions of a {@link Policy} stepped together, made by {@link Policy#newBatch(int)}:
 * one inference call advances all of them, which is far cheaper than K calls when they move in
 * lockstep (evaluation, simulators, requests gathered into batches). Session {@code k}'s
 * observation is row {@code k} of a row-major {@code [K, observationSize]} array; its action is
 * element {@code k} (discrete) or row {@code k} of {@code [K, D]} (continuous). Sessions in one
 * batch act as separate {@link Session}s would, up to float rounding (a batched matrix product may
 * round differently); with sampling they share one generator.
 *
 * <p>Thread-safe in the way {@link Policy} describes: calls run under the policy's lock. Close
 * it when done (or close the policy); a closed batch throws {@link IllegalStateException}.
 */
public final class Batch implements AutoCloseable {

    private final Stepper stepper;

    Batch(Stepper stepper) {
        this.stepper = stepper;
    }

    /** The number of sessions K. */
    public int size() {
        return stepper.size();
    }

    /**
     * The next action of every session of a discrete policy.
     *
     * @param observations {@code [K, observationSize]} finite floats
     * @param actionsOut receives K actions
     * @throws IllegalArgumentException if an array has the wrong length or an observation a NaN or infinity
     * @throws UnsupportedOperationException if the policy is continuous
     */
    public void act(float[] observations, int[] actionsOut) {
        stepper.actDiscrete(observations, actionsOut);
    }

    /**
     * The next action of every session of a continuous policy, clipped to the action box.
     *
     * @param observations {@code [K, observationSize]} finite floats
     * @param actionsOut receives {@code [K, D]} values
     * @throws UnsupportedOperationException if the policy is discrete
     */
    public void act(float[] observations, float[] actionsOut) {
        stepper.actContinuous(observations, actionsOut);
    }

    /**
     * {@link #act(float[], int[])} for a policy that observes an image: row {@code k} of
     * {@code [K, C*H*W]} is session k's frame, one byte (0..255) per pixel, row-major {@code [C, H, W]}.
     *
     * @throws IllegalArgumentException if the policy observes floats or the array has the wrong length
     */
    public void act(byte[] pixels, int[] actionsOut) {
        stepper.actDiscrete(pixels, actionsOut);
    }

    /** {@link #act(float[], float[])} for a policy that observes an image (see {@link #act(byte[], int[])}). */
    public void act(byte[] pixels, float[] actionsOut) {
        stepper.actContinuous(pixels, actionsOut);
    }

    /** Every session starts a new episode. */
    public void reset() {
        stepper.resetAll();
    }

    /** Session {@code k} starts a new episode for every {@code which[k]} set (K flags). */
    public void reset(boolean[] which) {
        stepper.reset(which);
    }

    /** Frees the batch's state; idempotent. */
    @Override
    public void close() {
        stepper.close();
    }
}
