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
import dev.starling.env.Observation;

import org.junit.jupiter.api.Test;

class PendulumTest {

    /** Lowest possible reward: upside down, at full speed, full torque. */
    private static final double MIN_REWARD = -(Math.PI * Math.PI + 0.1 * 8 * 8 + 0.001 * 2 * 2);

    /**
     * Gymnasium's {@code pendulum.py} written out again in double precision, independently of the
     * class: {@code g = 10}, {@code m = l = 1}, {@code dt = 0.05}, speeds within 8, torques within 2.
     */
    static final class Reference {
        double th;
        double thdot;

        Reference(double th, double thdot) {
            this.th = th;
            this.thdot = thdot;
        }

        /** Returns the reward; the cost is taken on the state before the update. */
        double step(double u) {
            u = Math.min(Math.max(u, -2.0), 2.0);
            double costs = Math.pow(angleNormalize(th), 2) + 0.1 * Math.pow(thdot, 2) + 0.001 * Math.pow(u, 2);
            double newthdot = thdot + (3 * 10.0 / (2 * 1.0) * Math.sin(th) + 3.0 / (1.0 * 1.0 * 1.0) * u) * 0.05;
            newthdot = Math.min(Math.max(newthdot, -8.0), 8.0);
            th = th + newthdot * 0.05;
            thdot = newthdot;
            return -costs;
        }

        /** {@code ((x + pi) mod 2 pi) - pi} with a floored modulo, through floor rather than fmod. */
        static double angleNormalize(double x) {
            double period = 2 * Math.PI;
            double shifted = x + Math.PI;
            return shifted - period * Math.floor(shifted / period) - Math.PI;
        }

        float[] observation() {
            return new float[] {(float) Math.cos(th), (float) Math.sin(th), (float) thdot};
        }
    }

    @Test
    void spaces() {
        Pendulum env = new Pendulum();
        // Gymnasium's observation bounds: high = [1, 1, max_speed], low = -high.
        assertEquals(new Box(new float[] {-1, -1, -8}, new float[] {1, 1, 8}, 3), env.observationSpace());
        assertEquals("box([-1 -1 -8],[1 1 8];3)", env.observationSpace().describe());
        assertEquals(Box.bounded(-2f, 2f, 1), env.actionSpace());
        assertEquals("box(-2,2;1)", env.actionSpace().describe());
    }

    @Test
    void singleStepsMatchGymnasiumInPython() {
        // Expected values from Gymnasium's pendulum.py step() run with NumPy (float64 state and torque).
        double[][] cases = {
            // theta, thetaDot, torque, theta', thetaDot', reward
            {0.3, -0.7, 1.25, 0.2854570077498002, -0.29085984500399525, -0.1405624999999999},
            {-2.9, 5.5, -2.0, -2.648971849845524, 5.020563003089514, -11.439},
            {3.5, 7.99, 2.0, 3.9, 8.0, -14.134130454100328}, // speed clipped to 8
            {1.0, 0.5, 3.0, 1.071555161930296, 1.4311032386059224, -1.029}, // torque clipped to 2
            {Math.PI, 0.0, 0.0, Math.PI, 9.184850993605151e-17, -9.869604401089358},
        };
        Pendulum env = new Pendulum();
        Driver d = new Driver(env);
        for (double[] c : cases) {
            String at = Arrays.toString(c);
            env.setState(c[0], c[1]);
            float reward = d.step((float) c[2]);
            assertEquals(c[3], env.theta(), 1e-15, at);
            assertEquals(c[4], env.thetaDot(), 1e-15, at);
            assertEquals((float) c[5], reward, at);
            assertArrayEquals(new float[] {(float) Math.cos(c[3]), (float) Math.sin(c[3]), (float) c[4]}, d.obs, at);
        }
        assertArrayEquals(new float[] {0.9595330357551575f, 0.28159600496292114f, -0.2908598482608795f},
                stepFrom(env, 0.3, -0.7, 1.25f), "observation as Gymnasium's float32 array");
    }

    private static float[] stepFrom(Pendulum env, double theta, double thetaDot, float torque) {
        Driver d = new Driver(env);
        env.setState(theta, thetaDot);
        d.step(torque);
        return d.obs;
    }

    @Test
    void trajectoryMatchesTheReferenceStepByStep() {
        SplittableRandom actions = new SplittableRandom(8);
        for (long seed = 0; seed < 20; seed++) {
            Pendulum env = new Pendulum();
            Driver d = new Driver(env);
            d.reset(seed);
            SplittableRandom start = new SplittableRandom(seed);
            Reference ref = new Reference(start.nextDouble(-Math.PI, Math.PI), start.nextDouble(-1, 1));
            assertArrayEquals(ref.observation(), d.obs, "start of seed " + seed);
            for (int t = 1; t <= Pendulum.MAX_EPISODE_STEPS; t++) {
                // Torques beyond the bounds too: the environment clips them as Gymnasium does.
                float u = (float) actions.nextDouble(-3, 3);
                double expectedReward = ref.step(u);
                float reward = d.step(u);
                String at = "seed " + seed + " step " + t;
                assertEquals(ref.th, env.theta(), 1e-12, at);
                assertEquals(ref.thdot, env.thetaDot(), 1e-12, at);
                assertEquals(expectedReward, reward, 1e-5, at);
                float[] expected = ref.observation();
                for (int i = 0; i < 3; i++) {
                    assertEquals(expected[i], d.obs[i], 1e-6, at);
                }
            }
        }
    }

    @Test
    void handComputedSteps() {
        Pendulum env = new Pendulum();
        Driver d = new Driver(env);
        // Upright and still, torque 1: cost 0.001 u^2; speed (3 u) dt = 0.15; angle 0.15 dt.
        env.setState(0, 0);
        assertEquals(-0.001f, d.step(1f));
        assertEquals(0.15, env.thetaDot(), 1e-15);
        assertEquals(0.0075, env.theta(), 1e-15);
        assertArrayEquals(new float[] {(float) Math.cos(0.0075), (float) Math.sin(0.0075), 0.15f}, d.obs);

        // Horizontal, speed 1, torque -2: gravity 15 sin(pi/2) = 15, torque 3 * -2 = -6.
        env.setState(Math.PI / 2, 1);
        assertEquals((float) -(Math.PI * Math.PI / 4 + 0.1 + 0.004), d.step(-2f), 1e-6f);
        assertEquals(1 + (15 - 6) * 0.05, env.thetaDot(), 1e-15);
        assertEquals(Math.PI / 2 + 1.45 * 0.05, env.theta(), 1e-15);

        // Resting upright: no cost at all.
        env.setState(0, 0);
        assertEquals(0.0, d.step(0f), 0.0);
        assertEquals(0.0, env.theta());
    }

    @Test
    void angleIsNormalisedToMinusPiInclusivePiExclusive() {
        assertEquals(-Math.PI, Pendulum.angleNormalize(Math.PI), "pi maps to -pi, as in Python");
        assertEquals(-Math.PI, Pendulum.angleNormalize(-Math.PI));
        assertEquals(0.0, Pendulum.angleNormalize(0.0));
        assertEquals(Math.PI - 1e-9, Pendulum.angleNormalize(Math.PI - 1e-9), 1e-14);
        assertEquals(-Math.PI + 1e-9, Pendulum.angleNormalize(-Math.PI + 1e-9), 1e-14);
        assertEquals(-Math.PI + 1e-9, Pendulum.angleNormalize(Math.PI + 1e-9), 1e-14);
        assertEquals(Math.PI - 1e-9, Pendulum.angleNormalize(-Math.PI - 1e-9), 1e-14);
        assertEquals(0.5, Pendulum.angleNormalize(2 * Math.PI + 0.5), 1e-14);
        assertEquals(-0.5, Pendulum.angleNormalize(-4 * Math.PI - 0.5), 1e-14);
        assertEquals(Math.PI, Math.abs(Pendulum.angleNormalize(3 * Math.PI)), 1e-14);
        SplittableRandom rng = new SplittableRandom(3);
        for (int i = 0; i < 10_000; i++) {
            double x = rng.nextDouble(-100, 100);
            double n = Pendulum.angleNormalize(x);
            assertTrue(n >= -Math.PI && n < Math.PI, x + " -> " + n);
            assertEquals(Reference.angleNormalize(x), n, 1e-12, Double.toString(x));
            assertEquals(Math.cos(x), Math.cos(n), 1e-12);
            assertEquals(Math.sin(x), Math.sin(n), 1e-12);
        }

        // Through the reward: a pendulum wound round once is as close to upright as its angle mod 2 pi.
        Pendulum env = new Pendulum();
        Driver d = new Driver(env);
        env.setState(2 * Math.PI + 0.5, 0);
        assertEquals(-0.25f, d.step(0f), 1e-6f);
        env.setState(-2 * Math.PI - 0.5, 0);
        assertEquals(-0.25f, d.step(0f), 1e-6f);
        env.setState(Math.PI, 0);
        assertEquals((float) -(Math.PI * Math.PI), d.step(0f));
        env.setState(-Math.PI, 0);
        assertEquals((float) -(Math.PI * Math.PI), d.step(0f));
    }

    @Test
    void speedIsClippedToEight() {
        Pendulum env = new Pendulum();
        Driver d = new Driver(env);
        env.setState(Math.PI / 2, 7.9);
        d.step(2f); // 7.9 + (15 + 6) * 0.05 = 8.95
        assertEquals(8.0, env.thetaDot());
        assertEquals(Math.PI / 2 + 8.0 * 0.05, env.theta(), "the angle moves at the clipped speed");
        assertEquals(8f, d.obs[2]);

        env.setState(-Math.PI / 2, -7.9);
        d.step(-2f);
        assertEquals(-8.0, env.thetaDot());
        assertEquals(-Math.PI / 2 - 8.0 * 0.05, env.theta());
        assertEquals(-8f, d.obs[2]);

        env.setState(0, 7.9);
        d.step(2f); // 7.9 + 6 * 0.05 = 8.2
        assertEquals(8.0, env.thetaDot());
        env.setState(0, 7.9);
        d.step(-2f); // 7.9 - 0.3 = 7.6: not clipped
        assertEquals(7.6, env.thetaDot(), 1e-12);
    }

    @Test
    void torqueIsClippedDefensively() {
        Pendulum a = new Pendulum();
        Pendulum b = new Pendulum();
        Driver da = new Driver(a);
        Driver db = new Driver(b);
        a.setState(0.4, -0.3);
        b.setState(0.4, -0.3);
        assertEquals(db.step(2f), da.step(50f));
        assertEquals(b.thetaDot(), a.thetaDot());
        assertEquals(db.step(-2f), da.step(Float.NEGATIVE_INFINITY));
        assertEquals(b.theta(), a.theta());
    }

    @Test
    void truncatedAfterExactly200StepsAndNeverTerminated() {
        Pendulum env = new Pendulum();
        Driver d = new Driver(env);
        for (long seed = 0; seed < 3; seed++) {
            d.reset(seed);
            assertEquals(0, env.elapsedSteps());
            assertFalse(env.truncated());
            for (int t = 1; t <= Pendulum.MAX_EPISODE_STEPS; t++) {
                assertFalse(d.done());
                d.step(t % 2 == 0 ? 2f : -2f);
                assertEquals(t == 200, env.truncated(), "step " + t);
                assertFalse(env.terminated(), "step " + t);
            }
            assertEquals(200, env.elapsedSteps());
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> d.step(0f));
            assertTrue(e.getMessage().contains("after the episode ended"), e.getMessage());
        }
        assertEquals(200, Pendulum.MAX_EPISODE_STEPS);
    }

    @Test
    void rewardsStayWithinTheirBounds() {
        Pendulum env = new Pendulum();
        Driver d = new Driver(env);
        SplittableRandom policy = new SplittableRandom(12);
        double lowest = 0;
        for (long seed = 0; seed < 50; seed++) {
            d.reset(seed);
            double episodeReturn = 0;
            while (!d.done()) {
                float r = d.step((float) policy.nextDouble(-4, 4));
                assertTrue(r <= 0f && r >= (float) MIN_REWARD, "reward " + r);
                episodeReturn += r;
                lowest = Math.min(lowest, r);
            }
            assertTrue(episodeReturn <= 0 && episodeReturn >= 200 * MIN_REWARD, "return " + episodeReturn);
        }
        assertTrue(lowest < -5, "the rollouts reach costly states: " + lowest);

        // The bound is reached: upside down at full speed with full torque.
        env.setState(Math.PI, 8);
        assertEquals((float) MIN_REWARD, d.step(2f));
        assertEquals(-16.2736044f, (float) MIN_REWARD, 1e-6f);
    }

    @Test
    void resetDrawsThetaThenThetaDotFromItsSeed() {
        Pendulum env = new Pendulum();
        Driver d = new Driver(env);
        for (long seed = 0; seed < 500; seed++) {
            d.reset(seed);
            SplittableRandom rng = new SplittableRandom(seed);
            double theta = rng.nextDouble(-Math.PI, Math.PI);
            double thetaDot = rng.nextDouble(-1, 1);
            assertEquals(theta, env.theta());
            assertEquals(thetaDot, env.thetaDot());
            assertArrayEquals(new float[] {(float) Math.cos(theta), (float) Math.sin(theta), (float) thetaDot}, d.obs);
            assertTrue(theta >= -Math.PI && theta < Math.PI);
            assertTrue(thetaDot >= -1 && thetaDot < 1);
            d.step(0f);
        }
    }

    @Test
    void sameSeedSameEpisodeDifferentSeedDifferent() {
        float[] a = episode(2024);
        assertArrayEquals(a, episode(2024));
        assertFalse(Arrays.equals(a, episode(2025)));

        // A reset depends on its seed only, not on what the instance did before.
        Pendulum env = new Pendulum();
        Driver d = new Driver(env);
        d.reset(1);
        d.step(2f);
        d.reset(2024);
        assertArrayEquals(Arrays.copyOf(a, 3), d.obs);
    }

    /** Observations and rewards of one episode under a fixed torque pattern, concatenated. */
    private static float[] episode(long seed) {
        Pendulum env = new Pendulum();
        float[] out = new float[3 * 201 + 200];
        Observation window = Observation.ofFloats(out, 3);
        float[] torque = new float[1];
        Action action = Action.ofContinuous(torque, 1);
        env.reset(seed, window.moveTo(0));
        for (int t = 1; t <= 200; t++) {
            torque[0] = (float) Math.sin(t * 0.3) * 2;
            out[3 * 201 + t - 1] = env.step(action, window.moveTo(t));
        }
        assertTrue(env.truncated());
        return out;
    }

    @Test
    void stepBeforeResetThrowsAndWritesOnlyItsWindow() {
        Pendulum env = new Pendulum();
        Driver d = new Driver(env);
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> d.step(0f));
        assertTrue(e.getMessage().contains("before reset"), e.getMessage());

        float[] buffer = new float[9];
        Arrays.fill(buffer, -9f);
        Observation window = Observation.ofFloats(buffer, 3).moveTo(1);
        env.reset(5, window);
        env.step(Action.ofContinuous(new float[] {1f}, 1), window);
        for (int i : new int[] {0, 1, 2, 6, 7, 8}) {
            assertEquals(-9f, buffer[i], "outside the window: " + i);
        }
        assertEquals((float) env.thetaDot(), buffer[5]);
    }
}
