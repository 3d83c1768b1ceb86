package dev.starling.envs;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.SplittableRandom;

import dev.starling.env.Action;
import dev.starling.env.Box;
import dev.starling.env.Discrete;
import dev.starling.env.Observation;

import org.junit.jupiter.api.Test;

class CartPoleTest {

    /** Linear state feedback that keeps the pole up for the whole 500 steps. */
    static int balancingAction(float[] obs, int offset) {
        double u = 1.0 * obs[offset] + 1.6 * obs[offset + 1] + 18.0 * obs[offset + 2]
                + 3.0 * obs[offset + 3];
        return u > 0 ? 1 : 0;
    }

    @Test
    void spaces() {
        CartPole env = new CartPole();
        assertEquals(Box.of(4), env.observationSpace());
        assertEquals(new Discrete(2), env.actionSpace());
        assertEquals("box(4)", env.observationSpace().describe());
        assertEquals("discrete(2)", env.actionSpace().describe());
    }

    @Test
    void singleStepMatchesGymnasiumFormulas() {
        // Expected values computed independently with Gymnasium's formulas in Python (float64).
        CartPole env = new CartPole();
        Driver d = new Driver(env);
        env.setState(0.01, -0.02, 0.03, 0.04);
        assertEquals(1.0f, d.step(1));
        assertEquals(0.009600000000000001, env.x(), 1e-15);
        assertEquals(0.17467919574755525, env.xDot(), 1e-14);
        assertEquals(0.030799999999999998, env.theta(), 1e-15);
        assertEquals(-0.2430687179600081, env.thetaDot(), 1e-14);
        assertArrayEquals(new float[] {(float) env.x(), (float) env.xDot(), (float) env.theta(),
                (float) env.thetaDot()}, d.obs);
        assertFalse(env.terminated());
        assertFalse(env.truncated());

        env.setState(0.01, -0.02, 0.03, 0.04);
        d.step(0);
        assertEquals(-0.21553901710278936, env.xDot(), 1e-14);
        assertEquals(0.34199522377603914, env.thetaDot(), 1e-14);

        env.setState(-1.0, 0.5, -0.15, -1.2);
        d.step(1);
        assertEquals(-0.99, env.x(), 1e-15);
        assertEquals(0.6967096752986647, env.xDot(), 1e-14);
        assertEquals(-0.174, env.theta(), 1e-15);
        assertEquals(-1.5356860674755026, env.thetaDot(), 1e-14);
    }

    @Test
    void singleStepMatchesFormulasWrittenOutAndWritesOnlyItsWindow() {
        double x = 0.3, xDot = -0.7, theta = -0.1, thetaDot = 0.9;
        CartPole env = new CartPole();
        env.setState(x, xDot, theta, thetaDot);
        float[] buffer = new float[12];
        Arrays.fill(buffer, -9f);
        Observation window = Observation.ofFloats(buffer, 4).moveTo(1);
        env.step(Action.ofDiscrete(new int[] {0}), window);

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
        for (int i : new int[] {0, 1, 2, 3, 8, 9, 10, 11}) {
            assertEquals(-9f, buffer[i], "outside the window: " + i);
        }
        assertEquals((float) env.x(), buffer[4]);
        assertEquals((float) env.xDot(), buffer[5]);
        assertEquals((float) env.theta(), buffer[6]);
        assertEquals((float) env.thetaDot(), buffer[7]);
    }

    @Test
    void fallingOrLeavingTheTrackTerminatesWithRewardOne() {
        CartPole env = new CartPole();
        Driver d = new Driver(env);
        double[][] leaving = {
            {2.39, 1.0, 0.0, 0.0}, // x -> 2.41
            {-2.39, -1.0, 0.0, 0.0}, // x -> -2.41
            {0.0, 0.0, 0.2, 0.5}, // theta -> 0.21 > 12 degrees
            {0.0, 0.0, -0.2, -0.5},
        };
        for (double[] s : leaving) {
            env.setState(s[0], s[1], s[2], s[3]);
            assertEquals(1.0f, d.step(1));
            assertTrue(env.terminated(), Arrays.toString(s));
            assertFalse(env.truncated(), Arrays.toString(s));
        }
        double[][] staying = {
            {2.39, 0.4, 0.0, 0.0}, // x -> 2.398
            {-2.39, -0.4, 0.0, 0.0},
            {0.0, 0.0, 0.2, 0.4}, // theta -> 0.208 < 0.20944
            {0.0, 0.0, -0.2, -0.4},
        };
        for (double[] s : staying) {
            env.setState(s[0], s[1], s[2], s[3]);
            d.step(0);
            assertFalse(env.terminated(), Arrays.toString(s));
            assertFalse(env.truncated(), Arrays.toString(s));
        }
        assertEquals(12 * 2 * Math.PI / 360, CartPole.THETA_THRESHOLD_RADIANS);
    }

    @Test
    void stepAfterEndOrBeforeResetThrows() {
        CartPole env = new CartPole();
        Driver d = new Driver(env);
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> d.step(0));
        assertTrue(e.getMessage().contains("before reset"), e.getMessage());
        env.setState(2.39, 1.0, 0.0, 0.0);
        d.step(1);
        assertTrue(env.terminated());
        e = assertThrows(IllegalStateException.class, () -> d.step(0));
        assertTrue(e.getMessage().contains("after the episode ended"), e.getMessage());
        d.reset(1);
        assertFalse(env.terminated());
        assertFalse(env.truncated());
        d.step(0);
    }

    @Test
    void timeLimitTruncatesExactlyAtStep500WithRewardOnePerStep() {
        for (int seed = 0; seed < 5; seed++) {
            CartPole env = new CartPole();
            Driver d = new Driver(env);
            d.reset(seed);
            double episodeReturn = 0;
            for (int t = 1; t <= CartPole.MAX_EPISODE_STEPS; t++) {
                assertFalse(d.done());
                episodeReturn += d.step(balancingAction(d.obs, 0));
                assertEquals(t == 500, env.truncated(), "seed " + seed + " step " + t);
                assertFalse(env.terminated(), "seed " + seed + " step " + t);
            }
            assertEquals(500, env.elapsedSteps());
            assertEquals(500.0, episodeReturn);
            assertThrows(IllegalStateException.class, () -> d.step(0));
        }
    }

    @Test
    void fallingOnTheLastStepIsTerminatedNotTruncated() {
        CartPole env = new CartPole();
        Driver d = new Driver(env);
        d.reset(3);
        for (int t = 1; t < CartPole.MAX_EPISODE_STEPS; t++) {
            d.step(balancingAction(d.obs, 0));
        }
        assertEquals(499, env.elapsedSteps());
        env.setState(2.39, 1.0, 0.0, 0.0);
        d.step(1);
        assertEquals(500, env.elapsedSteps());
        assertTrue(env.terminated(), "a terminal state is no time limit: nothing to bootstrap");
        assertFalse(env.truncated());
    }

    @Test
    void resetDrawsTheStartStateFromItsSeedAndRestartsTheClock() {
        CartPole env = new CartPole();
        Driver d = new Driver(env);
        for (long seed = 0; seed < 200; seed++) {
            d.reset(seed);
            SplittableRandom rng = new SplittableRandom(seed);
            float[] expected = new float[4];
            for (int i = 0; i < 4; i++) {
                expected[i] = (float) rng.nextDouble(-0.05, 0.05);
            }
            assertArrayEquals(expected, d.obs, "seed " + seed);
            for (float v : d.obs) {
                assertTrue(v >= -0.05f && v <= 0.05f, "start state " + Arrays.toString(d.obs));
            }
            assertEquals(0, env.elapsedSteps());
            d.step(1);
        }
    }

    @Test
    void sameSeedSameTrajectoryDifferentSeedDifferent() {
        float[] a = trajectory(123);
        assertArrayEquals(a, trajectory(123));
        assertFalse(Arrays.equals(a, trajectory(124)));
    }

    /** 1000 steps of a fixed action pattern, reset with seeds drawn from {@code seed}; observations concatenated. */
    static float[] trajectory(long seed) {
        SplittableRandom seeds = new SplittableRandom(seed);
        CartPole env = new CartPole();
        float[] out = new float[4 * 1001];
        Observation window = Observation.ofFloats(out, 4);
        int[] action = new int[1];
        Action a = Action.ofDiscrete(action);
        env.reset(seeds.nextLong(), window.moveTo(0));
        for (int t = 1; t <= 1000; t++) {
            action[0] = (t / 3) % 2;
            env.step(a, window.moveTo(t));
            if (env.terminated() || env.truncated()) {
                env.reset(seeds.nextLong(), window);
            }
        }
        return out;
    }
}
