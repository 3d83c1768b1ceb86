package dev.starling.common.env;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class MaskedCartPoleTest {

    @Test
    void observesExactlyPositionAndAngleOfTheUnderlyingState() {
        MaskedCartPole env = new MaskedCartPole(new SplittableRandom(5));
        assertEquals(2, env.observationSize());
        assertEquals(2, env.numActions());
        float[] obs = new float[3];
        env.reset(obs, 1);
        CartPole inner = env.unmasked();
        assertEquals((float) inner.x(), obs[1]);
        assertEquals((float) inner.theta(), obs[2]);
        for (int t = 0; t < 300; t++) {
            float reward = env.step(t % 3 == 0 ? 0 : 1, obs, 1);
            assertEquals(1.0f, reward);
            assertEquals((float) inner.x(), obs[1]);
            assertEquals((float) inner.theta(), obs[2]);
            assertEquals(inner.episodeEnded(), env.episodeEnded());
            if (env.episodeEnded()) {
                env.reset(obs, 1);
                assertEquals((float) inner.x(), obs[1]);
                assertEquals((float) inner.theta(), obs[2]);
            }
        }
        assertEquals(0f, obs[0], "writes only its own slot");
    }

    @Test
    void sameTrajectoryAsCartPoleWithTheSameSeed() {
        MaskedCartPole masked = new MaskedCartPole(new SplittableRandom(11));
        CartPole full = new CartPole(new SplittableRandom(11));
        float[] m = new float[2];
        float[] f = new float[4];
        masked.reset(m, 0);
        full.reset(f, 0);
        for (int t = 0; t < 500; t++) {
            assertEquals(f[0], m[0]);
            assertEquals(f[2], m[1]);
            int action = CartPoleTest.balancingAction(f, 0);
            masked.step(action, m, 0);
            full.step(action, f, 0);
            assertEquals(full.episodeEnded(), masked.episodeEnded());
            if (full.episodeEnded()) {
                masked.reset(m, 0);
                full.reset(f, 0);
            }
        }
    }
}
