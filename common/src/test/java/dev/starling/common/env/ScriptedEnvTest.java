package dev.starling.common.env;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class ScriptedEnvTest {

    @Test
    void observationsRewardsAndLengthAreAsDocumented() {
        ScriptedEnv env = new ScriptedEnv();
        assertEquals(5, env.episodeLength());
        assertEquals(3, env.observationSize());
        assertEquals(2, env.numActions());
        float[] obs = new float[3];
        for (int episode = 0; episode < 3; episode++) {
            float parity = episode % 2;
            env.reset(obs, 0);
            assertArrayEquals(new float[] {0f, 1f, parity}, obs);
            for (int t = 0; t < 5; t++) {
                assertFalse(env.episodeEnded());
                assertEquals(1f, env.step(t % 2, obs, 0), "optimal action at t=" + t);
                assertArrayEquals(new float[] {(float) (t + 1) / 5, 1f, parity}, obs);
            }
            assertTrue(env.episodeEnded());
            assertThrows(IllegalStateException.class, () -> env.step(0, obs, 0));
        }
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
        float[] obs = new float[3];
        env.reset(obs, 0);
        float total = 0;
        for (int t = 0; !env.episodeEnded(); t++) {
            total += env.step(action < 0 ? t % 2 : action, obs, 0);
        }
        return total;
    }
}
