package dev.starling.envs;

import java.util.SplittableRandom;

import dev.starling.env.Action;
import dev.starling.env.ActionSpace;
import dev.starling.env.Box;
import dev.starling.env.Environment;
import dev.starling.env.Observation;
import dev.starling.env.ObservationSpace;

/**
 * Gymnasium {@code Pendulum-v1} ({@code gymnasium/envs/classic_control/pendulum.py}), reproduced
 * exactly: same constants ({@code g = 10}, {@code m = 1}, {@code l = 1}, {@code dt = 0.05}),
 * semi-implicit Euler update, speed limit, cost and start-state distribution, and truncation after
 * {@value #MAX_EPISODE_STEPS} steps (the {@code TimeLimit} of the registered v1 environment).
 *
 * <ul>
 *   <li><b>Observation</b> (3 floats): {@code [cos theta, sin theta, theta_dot]}, computed in
 *       double precision and rounded to float when written. {@code theta = 0} is upright.
 *   <li><b>Action</b> (1 float): the torque, in {@code [-2, 2]}. Starling clips actions to the
 *       box before {@link #step}; the step clips again, as Gymnasium does.
 *   <li><b>Reward</b>: {@code -(angle_normalize(theta)^2 + 0.1 theta_dot^2 + 0.001 u^2)} on the
 *       state before the update, so every reward lies in {@code [-(pi^2 + 6.4 + 0.004), 0]},
 *       about {@code [-16.27, 0]}.
 *   <li><b>Dynamics</b>: {@code theta_dot' = clip(theta_dot + (3g/(2l) sin theta + 3/(m l^2) u)
 *       dt, -8, 8)}, then {@code theta' = theta + theta_dot' dt}. The angle itself is not wrapped.
 *   <li><b>Episode</b>: never {@link #terminated()}; {@link #truncated()} after exactly
 *       {@value #MAX_EPISODE_STEPS} steps.
 * </ul>
 *
 * <p>Everything is computed in double precision from the float torque. (Gymnasium under NumPy 2
 * multiplies a float32 torque in float32 in two terms, {@code 3/(m l^2) u} and {@code 0.001 u^2};
 * the results differ by float rounding only.)
 *
 * <p>Each reset draws {@code theta ~ U[-pi, pi)} then {@code theta_dot ~ U[-1, 1)} from {@code new
 * SplittableRandom(seed)} (Gymnasium's draw order). Calling {@link #step} before {@link #reset} or
 * after the episode ended throws {@link IllegalStateException} (Gymnasium lets a pendulum swing on
 * past its time limit; here it is always a caller bug).
 *
 * <p>Not thread-safe, like every {@link Environment}.
 */
public final class Pendulum implements Environment {

    /** Truncation limit of {@code Pendulum-v1}. */
    public static final int MAX_EPISODE_STEPS = 200;

    static final double MAX_SPEED = 8.0;
    static final double MAX_TORQUE = 2.0;
    static final double DT = 0.05;
    static final double G = 10.0;
    static final double M = 1.0;
    static final double L = 1.0;
    /** Bound of the start angle (Gymnasium's {@code DEFAULT_X}). */
    static final double RESET_THETA = Math.PI;
    /** Bound of the start angular velocity (Gymnasium's {@code DEFAULT_Y}). */
    static final double RESET_THETA_DOT = 1.0;

    /** Gymnasium's bounds: cos and sin in [-1, 1], the angular speed in [-8, 8]. */
    static final ObservationSpace OBSERVATION_SPACE = new Box(new float[] {-1, -1, (float) -MAX_SPEED},
            new float[] {1, 1, (float) MAX_SPEED}, 3);
    static final ActionSpace ACTION_SPACE = Box.bounded((float) -MAX_TORQUE, (float) MAX_TORQUE, 1);

    private static final double TWO_PI = 2 * Math.PI;

    private double theta;
    private double thetaDot;
    private int elapsedSteps;
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
        SplittableRandom rng = new SplittableRandom(seed);
        // Same draw order as Gymnasium's uniform(low=[-pi, -1], high=[pi, 1]): theta, theta_dot.
        theta = rng.nextDouble(-RESET_THETA, RESET_THETA);
        thetaDot = rng.nextDouble(-RESET_THETA_DOT, RESET_THETA_DOT);
        elapsedSteps = 0;
        truncated = false;
        running = true;
        write(observation);
    }

    @Override
    public float step(Action action, Observation observation) {
        float reward = advance(action.value(0));
        write(observation);
        return reward;
    }

    /** Always false: the pendulum has no terminal state. */
    @Override
    public boolean terminated() {
        return false;
    }

    @Override
    public boolean truncated() {
        return truncated;
    }

    /** Advances the physics by one step without writing an observation; returns the reward. */
    float advance(float torque) {
        if (!running) {
            throw new IllegalStateException(
                    truncated ? "step() called after the episode ended; call reset() first"
                              : "step() called before reset()");
        }
        // Expression order follows Gymnasium's pendulum.py so results agree to rounding.
        double u = Math.max(-MAX_TORQUE, Math.min(MAX_TORQUE, torque));
        double cost = square(angleNormalize(theta)) + 0.1 * square(thetaDot) + 0.001 * square(u);
        double newThetaDot = thetaDot + (3 * G / (2 * L) * Math.sin(theta) + 3.0 / (M * L * L) * u) * DT;
        newThetaDot = Math.max(-MAX_SPEED, Math.min(MAX_SPEED, newThetaDot));
        theta = theta + newThetaDot * DT;
        thetaDot = newThetaDot;

        elapsedSteps++;
        truncated = elapsedSteps >= MAX_EPISODE_STEPS;
        running = !truncated;
        return (float) -cost;
    }

    private void write(Observation observation) {
        float[] obs = observation.floats();
        int offset = observation.offset();
        obs[offset] = (float) Math.cos(theta);
        obs[offset + 1] = (float) Math.sin(theta);
        obs[offset + 2] = (float) thetaDot;
    }

    /**
     * Gymnasium's {@code angle_normalize}: {@code ((x + pi) % (2 pi)) - pi} with Python's floored
     * modulo, so the result lies in {@code [-pi, pi)} and {@code pi} maps to {@code -pi}. Java's
     * {@code %} is C's {@code fmod}; Python adds the divisor when the signs differ.
     */
    static double angleNormalize(double x) {
        double r = (x + Math.PI) % TWO_PI;
        if (r < 0) {
            r += TWO_PI;
        }
        return r - Math.PI;
    }

    private static double square(double v) {
        return v * v;
    }

    /** Overrides the physical state (tests); keeps the elapsed step count and starts an episode. */
    void setState(double theta, double thetaDot) {
        this.theta = theta;
        this.thetaDot = thetaDot;
        truncated = false;
        running = true;
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
