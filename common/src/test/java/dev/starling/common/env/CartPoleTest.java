package dev.starling.common.env;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class CartPoleTest {

    /** Linear state feedback that keeps the pole up for the whole 500 steps. */
    static int balancingAction(float[] obs, int offset) {
        double u = 1.0 * obs[offset] + 1.6 * obs[offset + 1] + 18.0 * obs[offset + 2]
                + 3.0 * obs[offset + 3];
        return u > 0 ? 1 : 0;
    }

    @Test
    void sizes() {
        CartPole env = new CartPole(new SplittableRandom(1));
        assertEquals(4, env.observationSize());
        assertEquals(2, env.numActions());
    }

    @Test
    void singleStepMatchesGymnasiumFormulas() {
        // Expected values computed independently with Gymnasium's formulas in Python (float64).
        CartPole env = new CartPole(new SplittableRandom(1));
        float[] obs = new float[4];
        env.setState(0.01, -0.02, 0.03, 0.04);
        assertEquals(1.0f, env.step(1, obs, 0));
        assertEquals(0.009600000000000001, env.x(), 1e-15);
        assertEquals(0.17467919574755525, env.xDot(), 1e-14);
        assertEquals(0.030799999999999998, env.theta(), 1e-15);
        assertEquals(-0.2430687179600081, env.thetaDot(), 1e-14);
        assertArrayEquals(new float[] {(float) env.x(), (float) env.xDot(), (float) env.theta(),
                (float) env.thetaDot()}, obs);
        assertFalse(env.episodeEnded());

        env.setState(0.01, -0.02, 0.03, 0.04);
        env.step(0, obs, 0);
        assertEquals(-0.21553901710278936, env.xDot(), 1e-14);
        assertEquals(0.34199522377603914, env.thetaDot(), 1e-14);

        env.setState(-1.0, 0.5, -0.15, -1.2);
        env.step(1, obs, 0);
        assertEquals(-0.99, env.x(), 1e-15);
        assertEquals(0.6967096752986647, env.xDot(), 1e-14);
        assertEquals(-0.174, env.theta(), 1e-15);
        assertEquals(-1.5356860674755026, env.thetaDot(), 1e-14);
    }

    @Test
    void singleStepMatchesFormulasWrittenOut() {
        double x = 0.3, xDot = -0.7, theta = -0.1, thetaDot = 0.9;
        CartPole env = new CartPole(new SplittableRandom(1));
        env.setState(x, xDot, theta, thetaDot);
        float[] obs = new float[6];
        env.step(0, obs, 2);

        double totalMass = 1.1, poleMassLength = 0.05;
        double force = -10.0;
        double cos = Math.cos(theta), sin = Math.sin(theta);
        double temp = (force + poleMassLength * thetaDot * thetaDot * sin) / totalMass;
        double thetaAcc = (9.8 * sin - cos * temp) / (0.5 * (4.0 / 3.0 - 0.1 * cos * cos / totalMass));
        double xAcc = temp - poleMassLength * thetaAcc * cos / totalMass;
        double[] expected = {x + 0.02 * xDot, xDot + 0.02 * xAcc, theta + 0.02 * thetaDot,
                thetaDot + 0.02 * thetaAcc};
        assertEquals(expected[0], env.x(), 1e-12);
        assertEquals(expected[1], env.xDot(), 1e-12);
        assertEquals(expected[2], env.theta(), 1e-12);
        assertEquals(expected[3], env.thetaDot(), 1e-12);
        assertEquals(0f, obs[0]);
        assertEquals(0f, obs[1]);
        assertEquals((float) env.x(), obs[2]);
        assertEquals((float) env.thetaDot(), obs[5]);
    }

    @Test
    void terminatesOutsideBoundsWithRewardOne() {
        CartPole env = new CartPole(new SplittableRandom(1));
        float[] obs = new float[4];
        double[][] leaving = {
            {2.39, 1.0, 0.0, 0.0}, // x -> 2.41
            {-2.39, -1.0, 0.0, 0.0}, // x -> -2.41
            {0.0, 0.0, 0.2, 0.5}, // theta -> 0.21 > 12 degrees
            {0.0, 0.0, -0.2, -0.5},
        };
        for (double[] s : leaving) {
            env.setState(s[0], s[1], s[2], s[3]);
            assertEquals(1.0f, env.step(1, obs, 0));
            assertTrue(env.episodeEnded(), Arrays.toString(s));
            assertTrue(env.terminated(), Arrays.toString(s));
        }
        double[][] staying = {
            {2.39, 0.4, 0.0, 0.0}, // x -> 2.398
            {-2.39, -0.4, 0.0, 0.0},
            {0.0, 0.0, 0.2, 0.4}, // theta -> 0.208 < 0.20944
            {0.0, 0.0, -0.2, -0.4},
        };
        for (double[] s : staying) {
            env.setState(s[0], s[1], s[2], s[3]);
            env.step(0, obs, 0);
            assertFalse(env.episodeEnded(), Arrays.toString(s));
        }
        assertEquals(12 * 2 * Math.PI / 360, CartPole.THETA_THRESHOLD_RADIANS);
    }

    @Test
    void stepAfterEndOrBeforeResetThrows() {
        CartPole env = new CartPole(new SplittableRandom(1));
        float[] obs = new float[4];
        assertThrows(IllegalStateException.class, () -> env.step(0, obs, 0));
        env.setState(2.39, 1.0, 0.0, 0.0);
        env.step(1, obs, 0);
        assertTrue(env.episodeEnded());
        assertThrows(IllegalStateException.class, () -> env.step(0, obs, 0));
        env.reset(obs, 0);
        assertFalse(env.episodeEnded());
        env.step(0, obs, 0);
    }

    @Test
    void truncatesExactlyAtStep500WithRewardOnePerStep() {
        for (int seed = 0; seed < 5; seed++) {
            CartPole env = new CartPole(new SplittableRandom(seed));
            float[] obs = new float[4];
            env.reset(obs, 0);
            double episodeReturn = 0;
            for (int t = 1; t <= CartPole.MAX_EPISODE_STEPS; t++) {
                assertFalse(env.episodeEnded());
                episodeReturn += env.step(balancingAction(obs, 0), obs, 0);
                assertEquals(t == 500, env.episodeEnded(), "seed " + seed + " step " + t);
            }
            assertFalse(env.terminated(), "truncated, not terminated");
            assertEquals(500, env.elapsedSteps());
            assertEquals(500.0, episodeReturn);
        }
    }

    @Test
    void resetDrawsSmallStartStateAndRestartsTheClock() {
        CartPole env = new CartPole(new SplittableRandom(7));
        float[] obs = new float[4];
        for (int i = 0; i < 200; i++) {
            env.reset(obs, 0);
            for (float v : obs) {
                assertTrue(v >= -0.05f && v <= 0.05f, "start state " + Arrays.toString(obs));
            }
            assertEquals(0, env.elapsedSteps());
        }
    }

    @Test
    void sameSeedSameTrajectoryDifferentSeedDifferent() {
        float[] a = trajectory(123);
        assertArrayEquals(a, trajectory(123));
        assertFalse(Arrays.equals(a, trajectory(124)));
    }

    /** 1000 steps of a fixed action pattern with resets, observations concatenated. */
    static float[] trajectory(long seed) {
        CartPole env = new CartPole(new SplittableRandom(seed));
        float[] out = new float[4 * 1001];
        env.reset(out, 0);
        for (int t = 1; t <= 1000; t++) {
            env.step((t / 3) % 2, out, 4 * t);
            if (env.episodeEnded()) {
                env.reset(out, 4 * t);
            }
        }
        return out;
    }
}
