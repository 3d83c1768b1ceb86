package dev.starling.envs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.starling.env.Action;
import dev.starling.env.Box;
import dev.starling.env.Discrete;
import dev.starling.env.Observation;

import org.junit.jupiter.api.Test;

class MaskedCartPoleTest {

    @Test
    void observesExactlyPositionAndAngleOfTheUnderlyingState() {
        MaskedCartPole env = new MaskedCartPole();
        assertEquals(Box.of(2), env.observationSpace());
        assertEquals(new Discrete(2), env.actionSpace());
        float[] obs = new float[6];
        Observation window = Observation.ofFloats(obs, 2).moveTo(1);
        int[] action = new int[1];
        Action a = Action.ofDiscrete(action);
        long seed = 5;
        env.reset(seed++, window);
        CartPole inner = env.unmasked();
        assertEquals((float) inner.x(), obs[2]);
        assertEquals((float) inner.theta(), obs[3]);
        int episodes = 0;
        for (int t = 0; t < 300; t++) {
            action[0] = t % 3 == 0 ? 0 : 1;
            float reward = env.step(a, window);
            assertEquals(1.0f, reward);
            assertEquals((float) inner.x(), obs[2]);
            assertEquals((float) inner.theta(), obs[3]);
            assertEquals(inner.terminated(), env.terminated());
            assertEquals(inner.truncated(), env.truncated());
            if (env.terminated() || env.truncated()) {
                episodes++;
                env.reset(seed++, window);
                assertEquals((float) inner.x(), obs[2]);
                assertEquals((float) inner.theta(), obs[3]);
            }
        }
        assertTrue(episodes > 3, "the test must cover several resets");
        assertEquals(0f, obs[0], "writes only its own window");
        assertEquals(0f, obs[1], "writes only its own window");
        assertEquals(0f, obs[4], "writes only its own window");
        assertEquals(0f, obs[5], "writes only its own window");
    }

    @Test
    void sameTrajectoryAsCartPoleWithTheSameSeeds() {
        MaskedCartPole masked = new MaskedCartPole();
        CartPole full = new CartPole();
        Driver m = new Driver(masked);
        Driver f = new Driver(full);
        long seed = 11;
        m.reset(seed);
        f.reset(seed);
        int truncations = 0;
        for (int t = 0; t < 1200; t++) {
            assertEquals(f.obs[0], m.obs[0]);
            assertEquals(f.obs[2], m.obs[1]);
            int action = t < 1000 ? CartPoleTest.balancingAction(f.obs, 0) : 0;
            m.step(action);
            f.step(action);
            assertEquals(full.terminated(), masked.terminated());
            assertEquals(full.truncated(), masked.truncated());
            if (full.truncated()) {
                truncations++;
            }
            if (f.done()) {
                seed++;
                m.reset(seed);
                f.reset(seed);
            }
        }
        assertEquals(2, truncations, "two balanced episodes hit the time limit");
    }
}
