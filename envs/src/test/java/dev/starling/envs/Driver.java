package dev.starling.envs;

import dev.starling.env.Action;
import dev.starling.env.Environment;
import dev.starling.env.Observation;

/**
 * Drives one environment over buffers of its own, one observation long, as a test would by hand:
 * {@link #obs} holds the latest observation. Not for environments with image observations.
 */
final class Driver {

    final Environment env;
    final float[] obs;
    private final Observation window;
    private final int[] discrete = new int[1];
    private final Action discreteAction = Action.ofDiscrete(discrete);
    private final float[] continuous;
    private final Action continuousAction;

    Driver(Environment env) {
        this.env = env;
        int size = env.observationSpace().size();
        this.obs = new float[size];
        this.window = Observation.ofFloats(obs, size);
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
