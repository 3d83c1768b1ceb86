package dev.starling.envs;

import dev.starling.env.Action;
import dev.starling.env.Environment;
import dev.starling.env.Image;
import dev.starling.env.Observation;

/**
 * Drives one environment over buffers of its own, one observation long, as a test would by hand:
 * {@link #obs} holds the latest observation ({@link #pixels} for an image; the other is empty).
 */
final class Driver {

    final Environment env;
    final float[] obs;
    final byte[] pixels;
    private final Observation window;
    private final int[] discrete = new int[1];
    private final Action discreteAction = Action.ofDiscrete(discrete);
    private final float[] continuous;
    private final Action continuousAction;

    Driver(Environment env) {
        this.env = env;
        int size = env.observationSpace().size();
        boolean image = env.observationSpace() instanceof Image;
        this.obs = new float[image ? 0 : size];
        this.pixels = new byte[image ? size : 0];
        this.window = image ? Observation.ofBytes(pixels, size).moveTo(0) : Observation.ofFloats(obs, size).moveTo(0);
        this.continuous = new float[env.actionSpace().size()];
        this.continuousAction = Action.ofContinuous(continuous, continuous.length);
    }

    void reset(long seed) {
        env.reset(seed, window);
    }

    /** Steps with a discrete action; returns the reward. */
    float step(int action) {
        discrete[0] = action;
        return env.step(discreteAction, window);
    }

    /**
     * Steps with a one-value continuous action, passed as given (no clipping); returns the reward.
     * Pass a float ({@code 0f}): an int selects {@link #step(int)}.
     */
    float step(float value) {
        continuous[0] = value;
        return env.step(continuousAction, window);
    }

    boolean done() {
        return env.terminated() || env.truncated();
    }
}
