package dev.starling.policy;

/**
 * One episode's (or one user's) memory of a {@link Policy}, made by {@link Policy#newSession()}:
 * the same calls as the policy's default session, on a state of its own. A new session starts a
 * new episode.
 *
 * <p>Thread-safe in the way {@link Policy} describes: calls run under the policy's lock. Close
 * it when done (or close the policy); a closed session throws {@link IllegalStateException}.
 */
public final class Session implements AutoCloseable {

    private final Stepper stepper;

    Session(Stepper stepper) {
        this.stepper = stepper;
    }

    /**
     * The next action of a discrete policy: the most likely one, or a sample
     * ({@link Policy#loadSampling}). Advances this session's memory.
     *
     * @param observation {@code observationSpace().size()} finite floats, row-major
     * @return an action in {@code [0, n)}
     * @throws IllegalArgumentException if the observation has the wrong length or a NaN or infinity
     * @throws UnsupportedOperationException if the policy is continuous
     */
    public int act(float[] observation) {
        return stepper.actDiscrete(observation);
    }

    /**
     * {@link #act(float[])} for a policy that observes an image: its frame, one byte (0..255) per
     * pixel, row-major {@code [C, H, W]}.
     *
     * @throws IllegalArgumentException if the policy observes floats or the frame has the wrong length
     */
    public int act(byte[] pixels) {
        return stepper.actDiscrete(pixels);
    }

    /**
     * The next action of a continuous policy, clipped to the action box: the Gaussian mean, or a
     * sample ({@link Policy#loadSampling}). Advances this session's memory.
     *
     * @return a new array of {@code actionSpace().size()} values
     * @throws UnsupportedOperationException if the policy is discrete
     */
    public float[] actContinuous(float[] observation) {
        float[] a = new float[stepper.actionDims()];
        stepper.actContinuous(observation, a);
        return a;
    }

    /** {@link #actContinuous}, writing the action into {@code actionOut} ({@code actionSpace().size()} values). */
    public void act(float[] observation, float[] actionOut) {
        stepper.actContinuous(observation, actionOut);
    }

    /** Starts a new episode: the memory is zeroed. */
    public void reset() {
        stepper.resetAll();
    }

    /** Frees the session's state; idempotent. */
    @Override
    public void close() {
        stepper.close();
    }
}
