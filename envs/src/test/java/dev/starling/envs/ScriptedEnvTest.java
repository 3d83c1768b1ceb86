package dev.starling.envs;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.starling.env.Box;
import dev.starling.env.Discrete;

import org.junit.jupiter.api.Test;

class ScriptedEnvTest {

    @Test
    void observationsRewardsAndLengthAreAsDocumented() {
        ScriptedEnv env = new ScriptedEnv();
        assertEquals(5, env.episodeLength());
        assertEquals(Box.of(3), env.observationSpace());
        assertEquals(new Discrete(2), env.actionSpace());
        Driver d = new Driver(env);
        for (int episode = 0; episode < 3; episode++) {
            float parity = episode % 2;
            // The seed is ignored: every seed gives the same episode.
            d.reset(episode * 1_000_003L);
            assertArrayEquals(new float[] {0f, 1f, parity}, d.obs);
            for (int t = 0; t < 5; t++) {
                assertFalse(env.terminated());
                assertFalse(env.truncated());
                assertEquals(1f, d.step(t % 2), "optimal action at t=" + t);
                assertArrayEquals(new float[] {(float) (t + 1) / 5, 1f, parity}, d.obs);
            }
            assertTrue(env.terminated(), "the episode ends by termination");
            assertFalse(env.truncated());
            assertThrows(IllegalStateException.class, () -> d.step(0));
        }
    }

    @Test
    void stepBeforeResetThrows() {
        Driver d = new Driver(new ScriptedEnv());
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> d.step(0));
        assertTrue(e.getMessage().contains("before reset"), e.getMessage());
    }

    @Test
    void documentedReturns() {
        assertEquals(5f, play(new ScriptedEnv(), -1));
        assertEquals(3f, play(new ScriptedEnv(), 0));
        assertEquals(2f, play(new ScriptedEnv(), 1));
        assertEquals(4f, play(new ScriptedEnv(8), 1));
        assertEquals(1f, play(new ScriptedEnv(1), 0));
        assertThrows(IllegalArgumentException.class, () -> new ScriptedEnv(0));
    }

    /** Constant action, or the optimal alternation for {@code action == -1}. */
    private static float play(ScriptedEnv env, int action) {
        Driver d = new Driver(env);
        d.reset(0);
        float total = 0;
        for (int t = 0; !d.done(); t++) {
            total += d.step(action < 0 ? t % 2 : action);
        }
        return total;
    }
}
