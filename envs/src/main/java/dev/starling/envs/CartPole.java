package dev.starling.envs;

import java.util.SplittableRandom;

import dev.starling.env.Action;
import dev.starling.env.ActionSpace;
import dev.starling.env.Box;
import dev.starling.env.Discrete;
import dev.starling.env.Environment;
import dev.starling.env.Observation;
import dev.starling.env.ObservationSpace;

/**
 * Gymnasium {@code CartPole-v1}, reproduced exactly: same constants, Euler kinematics, termination
 * thresholds, reward of 1.0 on every step (including the terminating one) and truncation after
 * {@value #MAX_EPISODE_STEPS} steps (the {@code TimeLimit} of the registered v1 environment).
 *
 * <p>Observation (4 floats): {@code [x, x_dot, theta, theta_dot]}, computed in double precision and
 * rounded to float when written. Actions: 0 pushes the cart left, 1 pushes it right.
 *
 * <p>Falling over or leaving the track is {@link #terminated()}; reaching the step limit is
 * {@link #truncated()}. Each reset draws the start state from {@code new SplittableRandom(seed)}.
 *
 * <p>Calling {@link #step} before {@link #reset} or after the episode ended throws {@link
 * IllegalStateException} (Gymnasium only warns; here it is always a caller bug).
 */
public final class CartPole implements Environment {

    /** Truncation limit of {@code CartPole-v1}. */
    public static final int MAX_EPISODE_STEPS = 500;

    static final double GRAVITY = 9.8;
    static final double MASS_CART = 1.0;
    static final double MASS_POLE = 0.1;
    static final double TOTAL_MASS = MASS_POLE + MASS_CART;
    /** Half the pole's length, as in Gymnasium. */
    static final double LENGTH = 0.5;
    static final double POLE_MASS_LENGTH = MASS_POLE * LENGTH;
    static final double FORCE_MAG = 10.0;
    static final double TAU = 0.02;
    static final double THETA_THRESHOLD_RADIANS = 12 * 2 * Math.PI / 360;
    static final double X_THRESHOLD = 2.4;
    static final double RESET_BOUND = 0.05;

    static final ObservationSpace OBSERVATION_SPACE = Box.of(4);
    static final ActionSpace ACTION_SPACE = new Discrete(2);

    private double x;
    private double xDot;
    private double theta;
    private double thetaDot;
    private int elapsedSteps;
    private boolean terminated;
    private boolean truncated;
    private boolean running;

    @Override
    public ObservationSpace observationSpace() {
        return OBSERVATION_SPACE;
    }

    @Override
    public ActionSpace actionSpace() {
        return ACTION_SPACE;
    }

    @Override
    public void reset(long seed, Observation observation) {
        resetState(seed);
        write(observation);
    }

    @Override
    public float step(Action action, Observation observation) {
        float reward = advance(action.discrete());
        write(observation);
        return reward;
    }

    @Override
    public boolean terminated() {
        return terminated;
    }

    @Override
    public boolean truncated() {
        return truncated;
    }

    private void write(Observation observation) {
        float[] obs = observation.floats();
        int offset = observation.offset();
        obs[offset] = (float) x;
        obs[offset + 1] = (float) xDot;
        obs[offset + 2] = (float) theta;
        obs[offset + 3] = (float) thetaDot;
    }

    /** Draws a new start state without writing an observation (shared with {@link MaskedCartPole}). */
    void resetState(long seed) {
        SplittableRandom rng = new SplittableRandom(seed);
        // Same draw order as Gymnasium's uniform(size=(4,)): x, x_dot, theta, theta_dot.
        x = rng.nextDouble(-RESET_BOUND, RESET_BOUND);
        xDot = rng.nextDouble(-RESET_BOUND, RESET_BOUND);
        theta = rng.nextDouble(-RESET_BOUND, RESET_BOUND);
        thetaDot = rng.nextDouble(-RESET_BOUND, RESET_BOUND);
        elapsedSteps = 0;
        terminated = false;
        truncated = false;
        running = true;
    }

    /**
     * Advances the physics by one step without writing an observation (shared with {@link
     * MaskedCartPole}). Returns the reward.
     */
    float advance(int action) {
        if (!running) {
            throw new IllegalStateException(
                    terminated || truncated ? "step() called after the episode ended; call reset() first"
                          : "step() called before reset()");
        }
        // Expression order follows Gymnasium's cartpole.py so results agree to rounding.
        double force = action == 1 ? FORCE_MAG : -FORCE_MAG;
        double costheta = Math.cos(theta);
        double sintheta = Math.sin(theta);
        double temp = (force + POLE_MASS_LENGTH * (thetaDot * thetaDot) * sintheta) / TOTAL_MASS;
        double thetaacc = (GRAVITY * sintheta - costheta * temp)
                / (LENGTH * (4.0 / 3.0 - MASS_POLE * (costheta * costheta) / TOTAL_MASS));
        double xacc = temp - POLE_MASS_LENGTH * thetaacc * costheta / TOTAL_MASS;

        // "euler" kinematics: positions use the old velocities.
        x = x + TAU * xDot;
        xDot = xDot + TAU * xacc;
        theta = theta + TAU * thetaDot;
        thetaDot = thetaDot + TAU * thetaacc;

        elapsedSteps++;
        terminated = x < -X_THRESHOLD || x > X_THRESHOLD
                || theta < -THETA_THRESHOLD_RADIANS || theta > THETA_THRESHOLD_RADIANS;
        truncated = !terminated && elapsedSteps >= MAX_EPISODE_STEPS;
        running = !terminated && !truncated;
        return 1.0f;
    }

    /** Overrides the physical state (tests); keeps the elapsed step count and starts an episode. */
    void setState(double x, double xDot, double theta, double thetaDot) {
        this.x = x;
        this.xDot = xDot;
        this.theta = theta;
        this.thetaDot = thetaDot;
        terminated = false;
        truncated = false;
        running = true;
    }

    double x() {
        return x;
    }

    double xDot() {
        return xDot;
    }

    double theta() {
        return theta;
    }

    double thetaDot() {
        return thetaDot;
    }

    int elapsedSteps() {
        return elapsedSteps;
    }
}
