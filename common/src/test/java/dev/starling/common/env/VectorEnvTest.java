package dev.starling.common.env;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.management.ManagementFactory;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

class VectorEnvTest {

    record Finished(float episodeReturn, int length) {}

    static List<Finished> drain(VectorEnv venv) {
        List<Finished> out = new ArrayList<>();
        int n = venv.drainEpisodes((r, len) -> out.add(new Finished(r, len)));
        assertEquals(out.size(), n);
        return out;
    }

    static List<Environment> cartPoles(long seed, int n) {
        SplittableRandom root = new SplittableRandom(seed);
        List<Environment> envs = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            envs.add(new CartPole(root.split()));
        }
        return envs;
    }

    static List<Environment> scripted(int length, int n) {
        List<Environment> envs = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            envs.add(new ScriptedEnv(length));
        }
        return envs;
    }

    @Test
    void accessors() {
        VectorEnv venv = new VectorEnv("cartpole", cartPoles(1, 3));
        assertEquals("cartpole", venv.name());
        assertEquals(3, venv.numEnvs());
        assertEquals(4, venv.observationSize());
        assertEquals(2, venv.numActions());
        assertEquals(0, venv.totalSteps());
        assertEquals(0, venv.totalEpisodes());
    }

    @Test
    void autoResetWithScriptedEnvironments() {
        VectorEnv venv = new VectorEnv("scripted", scripted(3, 2));
        float[] obs = new float[6];
        float[] rewards = new float[2];
        boolean[] dones = new boolean[2];
        venv.reset(obs);
        assertArrayEquals(new float[] {0, 1, 0, 0, 1, 0}, obs);

        int[] optimalThenConstant = {0, 1, 0};
        for (int t = 0; t < 3; t++) {
            venv.step(new int[] {optimalThenConstant[t], 1}, obs, rewards, dones);
            assertEquals(1f, rewards[0]);
            assertEquals(t % 2 == 1 ? 1f : 0f, rewards[1]);
            boolean last = t == 2;
            assertEquals(last, dones[0]);
            assertEquals(last, dones[1]);
            if (!last) {
                float step = (float) (t + 1) / 3;
                assertArrayEquals(new float[] {step, 1, 0, step, 1, 0}, obs);
            }
        }
        // First observation of each second episode (parity 1), not the terminal [1, 1, 0].
        assertArrayEquals(new float[] {0, 1, 1, 0, 1, 1}, obs);
        assertEquals(List.of(new Finished(3f, 3), new Finished(1f, 3)), drain(venv));
        assertEquals(6, venv.totalSteps());
        assertEquals(2, venv.totalEpisodes());
    }

    @Test
    void autoResetMatchesFreshFirstObservationOfTwinCartPoles() {
        int k = 3;
        VectorEnv venv = new VectorEnv("cartpole", cartPoles(99, k));
        List<Environment> twins = cartPoles(99, k);
        float[] obs = new float[4 * k];
        float[] twinObs = new float[4 * k];
        float[] rewards = new float[k];
        boolean[] dones = new boolean[k];
        double[] twinReturn = new double[k];
        int[] twinLength = new int[k];
        List<Finished> expected = new ArrayList<>();
        venv.reset(obs);
        for (int i = 0; i < k; i++) {
            twins.get(i).reset(twinObs, 4 * i);
        }
        assertArrayEquals(twinObs, obs);

        int sawDone = 0;
        for (int t = 0; t < 300; t++) {
            int[] actions = new int[k];
            for (int i = 0; i < k; i++) {
                // Env 0 always pushes left (short episodes), the others balance or wobble.
                actions[i] = i == 0 ? 0 : (i == 1 ? CartPoleTest.balancingAction(obs, 4 * i) : t % 2);
            }
            venv.step(actions, obs, rewards, dones);
            for (int i = 0; i < k; i++) {
                Environment twin = twins.get(i);
                float r = twin.step(actions[i], twinObs, 4 * i);
                assertEquals(r, rewards[i]);
                twinReturn[i] += r;
                twinLength[i]++;
                assertEquals(twin.episodeEnded(), dones[i]);
                if (twin.episodeEnded()) {
                    sawDone++;
                    expected.add(new Finished((float) twinReturn[i], twinLength[i]));
                    twinReturn[i] = 0;
                    twinLength[i] = 0;
                    twin.reset(twinObs, 4 * i);
                }
            }
            assertArrayEquals(twinObs, obs, "step " + t);
        }
        assertTrue(sawDone >= 5, "the test must cover several auto-resets");
        List<Finished> actual = drain(venv);
        // Episodes are recorded in step order, then env order: same order as the twins'.
        assertEquals(expected, actual);
        for (Finished f : actual) {
            assertEquals(f.length(), f.episodeReturn(), "CartPole reward is 1 per step");
        }
        assertEquals(300L * k, venv.totalSteps());
        assertEquals(expected.size(), venv.totalEpisodes());
    }

    @Test
    void invalidActionChangesNothing() {
        VectorEnv a = new VectorEnv("cartpole", cartPoles(5, 3));
        VectorEnv b = new VectorEnv("cartpole", cartPoles(5, 3));
        float[] obsA = new float[12], obsB = new float[12];
        float[] rA = new float[3], rB = new float[3];
        boolean[] dA = new boolean[3], dB = new boolean[3];
        a.reset(obsA);
        b.reset(obsB);
        for (int t = 0; t < 20; t++) {
            a.step(new int[] {0, 1, 0}, obsA, rA, dA);
            b.step(new int[] {0, 1, 0}, obsB, rB, dB);
        }
        float[] before = obsA.clone();
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> a.step(new int[] {1, 0, 7}, obsA, rA, dA));
        assertTrue(e.getMessage().contains("action 7 for environment 2 is out of range [0, 2)"),
                e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> a.step(new int[] {1, -1, 0}, obsA, rA, dA));
        assertTrue(e.getMessage().contains("action -1 for environment 1 is out of range [0, 2)"),
                e.getMessage());
        assertArrayEquals(before, obsA);
        assertEquals(b.totalSteps(), a.totalSteps());

        for (int t = 0; t < 200; t++) {
            int[] actions = {t % 2, (t / 2) % 2, 1};
            a.step(actions, obsA, rA, dA);
            b.step(actions, obsB, rB, dB);
            assertArrayEquals(obsB, obsA, "step " + t);
            assertArrayEquals(rB, rA);
            assertTrue(Arrays.equals(dB, dA));
        }
        assertEquals(drain(b), drain(a));
        assertEquals(b.totalEpisodes(), a.totalEpisodes());
    }

    @Test
    void wrongArrayLengthsAreRejectedByName() {
        VectorEnv venv = new VectorEnv("cartpole", cartPoles(1, 3));
        IllegalArgumentException e =
                assertThrows(IllegalArgumentException.class, () -> venv.reset(new float[11]));
        assertTrue(e.getMessage().contains("obsOut") && e.getMessage().contains("expected 12"),
                e.getMessage());
        float[] obs = new float[12];
        venv.reset(obs);
        float[] r = new float[3];
        boolean[] d = new boolean[3];
        int[] a = new int[3];
        assertMessage(() -> venv.step(new int[2], obs, r, d), "actions", "expected 3");
        assertMessage(() -> venv.step(a, new float[13], r, d), "obsOut", "expected 12");
        assertMessage(() -> venv.step(a, obs, new float[4], d), "rewardsOut", "expected 3");
        assertMessage(() -> venv.step(a, obs, r, new boolean[1]), "donesOut", "expected 3");
        assertEquals(0, venv.totalSteps());
    }

    private static void assertMessage(Runnable call, String... fragments) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, call::run);
        for (String f : fragments) {
            assertTrue(e.getMessage().contains(f), e.getMessage());
        }
    }

    @Test
    void stepBeforeResetIsRejected() {
        VectorEnv venv = new VectorEnv("scripted", scripted(2, 1));
        assertThrows(IllegalStateException.class,
                () -> venv.step(new int[1], new float[3], new float[1], new boolean[1]));
    }

    @Test
    void constructorRejectsMixedSizesAndEmptyLists() {
        List<Environment> mixed = new ArrayList<>(cartPoles(1, 2));
        mixed.add(new MaskedCartPole(new SplittableRandom(1)));
        assertThrows(IllegalArgumentException.class, () -> new VectorEnv("mixed", mixed));
        List<Environment> mixedActions =
                List.of(new CartPole(new SplittableRandom(1)), new RepeatPrevious(new SplittableRandom(1)));
        assertThrows(IllegalArgumentException.class, () -> new VectorEnv("mixed", mixedActions));
        assertThrows(IllegalArgumentException.class, () -> new VectorEnv("none", List.of()));
    }

    @Test
    void drainReturnsEachFinishedEpisodeOnceAndGrowsPastItsInitialCapacity() {
        VectorEnv venv = new VectorEnv("scripted", scripted(2, 3));
        float[] obs = new float[9];
        float[] r = new float[3];
        boolean[] d = new boolean[3];
        venv.reset(obs);
        for (int t = 0; t < 5; t++) {
            venv.step(new int[] {t % 2, 0, 1}, obs, r, d);
        }
        // Episodes end after steps 2 and 4; env 0 plays optimally (return 2), env 1 and 2 get 1.
        List<Finished> expectedRound = List.of(
                new Finished(2f, 2), new Finished(1f, 2), new Finished(1f, 2));
        List<Finished> expected = new ArrayList<>(expectedRound);
        expected.addAll(expectedRound);
        assertEquals(expected, drain(venv));
        assertEquals(0, venv.drainEpisodes((x, y) -> { throw new AssertionError(); }));
        assertEquals(15, venv.totalSteps());
        assertEquals(6, venv.totalEpisodes());

        VectorEnv many = new VectorEnv("scripted", scripted(1, 8));
        float[] obs8 = new float[24];
        float[] r8 = new float[8];
        boolean[] d8 = new boolean[8];
        many.reset(obs8);
        int[] actions = new int[8];
        for (int t = 0; t < 10; t++) {
            actions[t % 8] = 1;
            many.step(actions, obs8, r8, d8);
            actions[t % 8] = 0;
        }
        List<Finished> got = drain(many);
        assertEquals(80, got.size());
        for (int i = 0; i < 80; i++) {
            int step = i / 8, env = i % 8;
            assertEquals(new Finished(env == step % 8 ? 0f : 1f, 1), got.get(i), "episode " + i);
        }
        assertEquals(80, many.totalEpisodes());
    }

    @Test
    void resetAbandonsRunningEpisodesWithoutRecordingThem() {
        VectorEnv venv = new VectorEnv("scripted", scripted(3, 1));
        float[] obs = new float[3];
        float[] r = new float[1];
        boolean[] d = new boolean[1];
        venv.reset(obs);
        venv.step(new int[] {0}, obs, r, d);
        venv.reset(obs);
        for (int t = 0; t < 3; t++) {
            venv.step(new int[] {t % 2}, obs, r, d);
        }
        assertEquals(List.of(new Finished(3f, 3)), drain(venv));
        assertEquals(1, venv.totalEpisodes());
    }

    @Test
    void steadyStateSteppingDoesNotAllocate() {
        java.lang.management.ThreadMXBean bean = ManagementFactory.getThreadMXBean();
        Assumptions.assumeTrue(bean instanceof com.sun.management.ThreadMXBean);
        com.sun.management.ThreadMXBean mx = (com.sun.management.ThreadMXBean) bean;
        Assumptions.assumeTrue(mx.isThreadAllocatedMemorySupported());
        mx.setThreadAllocatedMemoryEnabled(true);

        for (String name : Environments.names()) {
            VectorEnv venv = Environments.create(name, 8, 3);
            float[] obs = new float[8 * venv.observationSize()];
            float[] r = new float[8];
            boolean[] d = new boolean[8];
            int[] actions = new int[8];
            float[] sum = new float[1];
            EpisodeSink sink = (ret, len) -> sum[0] += ret;
            venv.reset(obs);
            run(venv, actions, obs, r, d, sink, 20_000); // warm-up; lets the episode buffer grow
            long threadId = Thread.currentThread().getId();
            long before = mx.getThreadAllocatedBytes(threadId);
            run(venv, actions, obs, r, d, sink, 20_000);
            long allocated = mx.getThreadAllocatedBytes(threadId) - before;
            assertTrue(allocated < 1024, name + " allocated " + allocated + " bytes");
        }
    }

    private static void run(VectorEnv venv, int[] actions, float[] obs, float[] r, boolean[] d,
            EpisodeSink sink, int steps) {
        for (int t = 0; t < steps; t++) {
            for (int i = 0; i < actions.length; i++) {
                actions[i] = (t + i) % venv.numActions();
            }
            venv.step(actions, obs, r, d);
            if (t % 100 == 0) {
                venv.drainEpisodes(sink);
            }
        }
    }
}
