package dev.starling.envs;

import dev.starling.env.Action;
import dev.starling.env.ActionSpace;
import dev.starling.env.Box;
import dev.starling.env.Environment;
import dev.starling.env.Observation;
import dev.starling.env.ObservationSpace;

/**
 * {@link CartPole} with the velocities masked: the observation is only {@code [x, theta]}, so a
 * policy has to infer the velocities from consecutive observations (memory, e.g. an LSTM).
 *
 * <p>Dynamics, rewards, termination, truncation and the random start states are those of {@link
 * CartPole} (delegated to an inner instance), so the same seed gives the same underlying
 * trajectory as {@code CartPole}.
 */
public final class MaskedCartPole implements Environment {

    static final ObservationSpace OBSERVATION_SPACE = Box.of(2);

    private final CartPole cartPole = new CartPole();

    @Override
    public ObservationSpace observationSpace() {
        return OBSERVATION_SPACE;
    }

    @Override
    public ActionSpace actionSpace() {
        return cartPole.actionSpace();
    }

    @Override
    public void reset(long seed, Observation observation) {
        cartPole.resetState(seed);
        write(observation);
    }

    @Override
    public float step(Action action, Observation observation) {
        float reward = cartPole.advance(action.discrete());
        write(observation);
        return reward;
    }

    @Override
    public boolean terminated() {
        return cartPole.terminated();
    }

    @Override
    public boolean truncated() {
        return cartPole.truncated();
    }

    private void write(Observation observation) {
        float[] obs = observation.floats();
        int offset = observation.offset();
        obs[offset] = (float) cartPole.x();
        obs[offset + 1] = (float) cartPole.theta();
    }

    /** The underlying full-state environment (tests). */
    CartPole unmasked() {
        return cartPole;
    }
}
