package dev.starling.common.env;

import java.util.SplittableRandom;

/**
 * {@link CartPole} with the velocities masked: the observation is only {@code [x, theta]}, so a
 * policy has to infer the velocities from consecutive observations (memory, e.g. an LSTM).
 *
 * <p>Dynamics, rewards, termination, truncation and the random start states are those of {@link
 * CartPole} (delegated to an inner instance), so the same seed gives the same underlying
 * trajectory as {@code CartPole}.
 */
public final class MaskedCartPole implements Environment {

    private final CartPole cartPole;

    /** @param rng source of the reset states; owned by this environment from now on */
    public MaskedCartPole(SplittableRandom rng) {
        this.cartPole = new CartPole(rng);
    }

    @Override
    public int observationSize() {
        return 2;
    }

    @Override
    public int numActions() {
        return cartPole.numActions();
    }

    @Override
    public void reset(float[] obs, int offset) {
        cartPole.resetState();
        obs[offset] = (float) cartPole.x();
        obs[offset + 1] = (float) cartPole.theta();
    }

    @Override
    public float step(int action, float[] obs, int offset) {
        float reward = cartPole.advance(action);
        obs[offset] = (float) cartPole.x();
        obs[offset + 1] = (float) cartPole.theta();
        return reward;
    }

    @Override
    public boolean episodeEnded() {
        return cartPole.episodeEnded();
    }

    /** The underlying full-state environment (tests). */
    CartPole unmasked() {
        return cartPole;
    }
}
