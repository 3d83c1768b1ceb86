package dev.starling.policy;

import java.util.Objects;
import java.util.SplittableRandom;

import dev.starling.common.model.PolicyInference;
import dev.starling.env.Box;

/**
 * The state and inference of {@code K} sessions: what {@link Session} (K = 1) and {@link Batch}
 * wrap. Every method runs under the policy's lock, which guards the shared model, this object's
 * LSTM state, its output buffer and its generator.
 */
final class Stepper {

    private final Policy policy;
    private final PolicyInference inference;
    private final int size;
    private final int observationSize;
    private final int stride;
    private final int actionDims;
    private final float[] out;
    /** The action of a one-session stepper; guarded by the policy's lock. */
    private final int[] scratchAction = new int[1];
    /** Null when acting deterministically. */
    private final SplittableRandom rng;
    private boolean closed;

    Stepper(Policy policy, PolicyInference inference, SplittableRandom rng) {
        this.policy = policy;
        this.inference = inference;
        this.size = inference.numEnvs();
        this.observationSize = policy.config().observationSize();
        this.stride = inference.outputsPerEnv();
        this.actionDims = policy.config().actionSize();
        this.out = new float[size * stride];
        this.rng = rng;
    }

    int size() {
        return size;
    }

    /** Values in one action: 1 for a discrete policy, D for a continuous one. */
    int actionDims() {
        return actionDims;
    }

    /** Discrete actions of all K sessions into {@code actionsOut[0 .. K)}. */
    void actDiscrete(float[] observations, int[] actionsOut) {
        checkDiscrete(actionsOut);
        checkObservations(observations);
        synchronized (policy.lock) {
            ensureOpen();
            inference.step(observations, out);
            chooseDiscrete(actionsOut);
        }
    }

    /** Discrete actions of all K sessions of an image policy into {@code actionsOut[0 .. K)}. */
    void actDiscrete(byte[] pixels, int[] actionsOut) {
        checkDiscrete(actionsOut);
        checkPixels(pixels);
        synchronized (policy.lock) {
            ensureOpen();
            inference.step(pixels, out);
            chooseDiscrete(actionsOut);
        }
    }

    /** The discrete action of a one-session stepper. */
    int actDiscrete(float[] observation) {
        synchronized (policy.lock) {
            actDiscrete(observation, scratchAction);
            return scratchAction[0];
        }
    }

    /** The discrete action of a one-session stepper of an image policy. */
    int actDiscrete(byte[] pixels) {
        synchronized (policy.lock) {
            actDiscrete(pixels, scratchAction);
            return scratchAction[0];
        }
    }

    private void checkDiscrete(int[] actionsOut) {
        checkDiscrete();
        Objects.requireNonNull(actionsOut, "actionsOut");
        if (actionsOut.length != size) {
            throw new IllegalArgumentException("actionsOut has " + actionsOut.length + " values, expected " + size
                    + " (one action per session)");
        }
    }

    private void checkDiscrete() {
        if (policy.continuous()) {
            throw new UnsupportedOperationException("this policy acts in " + policy.actionSpace().describe()
                    + ", a continuous action space: ask for float actions (actContinuous(observation), or act with a"
                    + " float[] action buffer)");
        }
    }

    /** Picks every session's action from the last inference; under the lock. */
    private void chooseDiscrete(int[] actionsOut) {
        for (int k = 0; k < size; k++) {
            if (rng == null) {
                policy.distribution.mode(out, k * stride, actionsOut, null, k);
            } else {
                policy.distribution.sample(out, k * stride, policy.logStd, rng, actionsOut, null, k);
            }
        }
    }

    /** Continuous actions of all K sessions, clipped to the action box, into {@code actionsOut[K, D]}. */
    void actContinuous(float[] observations, float[] actionsOut) {
        checkContinuous(actionsOut);
        checkObservations(observations);
        synchronized (policy.lock) {
            ensureOpen();
            inference.step(observations, out);
            chooseContinuous(actionsOut);
        }
    }

    /** Continuous actions of all K sessions of an image policy into {@code actionsOut[K, D]}. */
    void actContinuous(byte[] pixels, float[] actionsOut) {
        checkContinuous(actionsOut);
        checkPixels(pixels);
        synchronized (policy.lock) {
            ensureOpen();
            inference.step(pixels, out);
            chooseContinuous(actionsOut);
        }
    }

    private void checkContinuous(float[] actionsOut) {
        if (!policy.continuous()) {
            throw new UnsupportedOperationException("this policy acts in " + policy.actionSpace().describe()
                    + ", a discrete action space: ask for the action's index (act(observation), or a batch's act"
                    + " with an int[] action buffer)");
        }
        Objects.requireNonNull(actionsOut, "actionOut");
        if (actionsOut.length != size * actionDims) {
            throw new IllegalArgumentException("the action buffer has " + actionsOut.length + " values, expected "
                    + (size == 1 ? actionDims + " (the action space is " + policy.actionSpace().describe() + ")"
                            : size + " x " + actionDims + " = " + size * actionDims));
        }
    }

    /** Picks every session's action from the last inference, clipped to the box; under the lock. */
    private void chooseContinuous(float[] actionsOut) {
        Box box = policy.actionBox();
        for (int k = 0; k < size; k++) {
            if (rng == null) {
                policy.distribution.mode(out, k * stride, null, actionsOut, k);
            } else {
                policy.distribution.sample(out, k * stride, policy.logStd, rng, null, actionsOut, k);
            }
        }
        for (int i = 0; i < actionsOut.length; i++) {
            actionsOut[i] = box.clip(i % actionDims, actionsOut[i]);
        }
    }

    private void checkPixels(byte[] pixels) {
        Objects.requireNonNull(pixels, "pixels");
        if (!policy.config().pixels()) {
            throw new IllegalArgumentException("this policy observes " + policy.observationSpace().describe()
                    + ", floats: pass a float[] observation");
        }
        checkLength(pixels.length);
    }

    private void checkLength(int values) {
        int expected = size * observationSize;
        if (values != expected) {
            String what = policy.observationSpace().describe();
            throw new IllegalArgumentException(size == 1
                    ? "the observation has " + values + " values, expected " + observationSize
                            + " (the policy observes " + what + ")"
                    : "the observations have " + values + " values, expected " + size + " x "
                            + observationSize + " = " + expected + " (the policy observes " + what + ")");
        }
    }

    private void checkObservations(float[] observations) {
        Objects.requireNonNull(observations, "observation");
        if (policy.config().pixels()) {
            throw new IllegalArgumentException("this policy observes " + policy.observationSpace().describe()
                    + ": pass its pixels (byte[], 0..255 each)");
        }
        checkLength(observations.length);
        for (int i = 0; i < observations.length; i++) {
            float v = observations[i];
            if (!Float.isFinite(v)) {
                throw new IllegalArgumentException((size == 1 ? "observation value " + i
                        : "observation value " + i % observationSize + " of session " + i / observationSize)
                        + " is " + v + "; observations must be finite");
            }
        }
    }

    /** Zeroes the memory of every session: each starts a new episode. */
    void resetAll() {
        synchronized (policy.lock) {
            ensureOpen();
            inference.resetAll();
        }
    }

    /** Zeroes the memory of the sessions whose {@code which[k]} is set. */
    void reset(boolean[] which) {
        Objects.requireNonNull(which, "which");
        if (which.length != size) {
            throw new IllegalArgumentException("reset needs one flag per session: got " + which.length + ", expected "
                    + size);
        }
        synchronized (policy.lock) {
            ensureOpen();
            inference.resetWhereDone(which);
        }
    }

    /** Under the lock. */
    private void ensureOpen() {
        if (closed) {
            throw new IllegalStateException(policy.isClosed() ? "the policy is closed" : "this session is closed");
        }
    }

    /** Releases the state and forgets this stepper; idempotent. */
    void close() {
        synchronized (policy.lock) {
            if (!closed) {
                closeNative();
                policy.unregister(this);
            }
        }
    }

    /** Under the lock: frees the native state. */
    void closeNative() {
        closed = true;
        inference.close();
    }
}
