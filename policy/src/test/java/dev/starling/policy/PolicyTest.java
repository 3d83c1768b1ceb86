package dev.starling.policy;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import dev.starling.common.model.ActorCritic;
import dev.starling.common.model.CheckpointFiles;
import dev.starling.common.model.ModelConfig;
import dev.starling.common.model.ParameterCodec;
import dev.starling.common.model.PolicyInference;
import dev.starling.common.model.Torch;
import dev.starling.env.Box;
import dev.starling.env.Discrete;
import dev.starling.proto.v1.Checkpoint;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The policy API against independent computations on the model that wrote the checkpoint: the
 * actors' cell path ({@link PolicyInference}) with an argmax written here, and the learner's
 * LSTM.
 */
@SuppressWarnings("try") // NoGradGuard and PointerScope act by existing
class PolicyTest {

    /** 4 observations, 3 actions; H = 24. */
    private static final ModelConfig DISCRETE = new ModelConfig(Box.of(4), new Discrete(3), List.of(16), 24);
    /** Bounds differ per element: [-1, 1] and [0, 0.5]. */
    private static final Box ACTION_BOX = new Box(new float[] {-1f, 0f}, new float[] {1f, 0.5f}, 2);
    private static final ModelConfig CONTINUOUS = new ModelConfig(Box.of(3), ACTION_BOX, List.of(16), 24);
    private static final int STEPS = 16;

    @TempDir
    Path dir;

    @Test
    void actEqualsTheActorsCellAndTheLearnersLstmWithTheStateCarried() throws Exception {
        try (ActorCritic model = sharpened(DISCRETE, 7, 100)) {
            write(dir, model, 5);
            float[][] obs = observations(DISCRETE, STEPS, 1);
            int[] expected = referenceActions(model, obs);
            assertTrue(Arrays.stream(expected).distinct().count() > 1, "a test policy that acts alike everywhere proves"
                    + " little: " + Arrays.toString(expected));
            assertLearnerAgrees(model, obs, expected);
            try (Policy policy = Policy.load(dir)) {
                assertEquals(5, policy.version());
                assertEquals(dir.resolve(CheckpointFiles.fileName(5)), policy.checkpointFile());
                assertEquals(DISCRETE.observationSpace(), policy.observationSpace());
                assertEquals(DISCRETE.actionSpace(), policy.actionSpace());
                assertFalse(policy.continuous());
                assertFalse(policy.sampling());
                assertArrayEquals(expected, play(policy::act, obs));
            }
        }
    }

    @Test
    void resetStartsANewEpisodeFromTheZeroState() throws Exception {
        try (ActorCritic model = sharpened(DISCRETE, 7, 100)) {
            write(dir, model, 1);
            float[][] obs = observations(DISCRETE, STEPS, 2);
            int[] fresh = referenceActions(model, obs);
            float[][] twice = concat(obs, obs);
            int[] continued = Arrays.copyOfRange(referenceActions(model, twice), STEPS, 2 * STEPS);
            assertFalse(Arrays.equals(fresh, continued), "the carried state changes the actions here, so the test can"
                    + " tell a reset from none");
            try (Policy policy = Policy.load(dir)) {
                play(policy::act, obs);
                assertArrayEquals(continued, play(policy::act, obs), "without reset the state carries on");
                policy.reset();
                play(policy::act, obs);
                policy.reset();
                assertArrayEquals(fresh, play(policy::act, obs), "after reset the episode starts afresh");
                try (Session s = policy.newSession()) {
                    play(s::act, obs);
                    s.reset();
                    assertArrayEquals(fresh, play(s::act, obs));
                }
            }
        }
    }

    @Test
    void interleavedSessionsEqualSequentialRuns() throws Exception {
        try (ActorCritic model = sharpened(DISCRETE, 8, 100)) {
            write(dir, model, 1);
            float[][] a = observations(DISCRETE, STEPS, 3);
            float[][] b = observations(DISCRETE, STEPS, 4);
            int[] expectedA = referenceActions(model, a);
            int[] expectedB = referenceActions(model, b);
            try (Policy policy = Policy.load(dir); Session sa = policy.newSession(); Session sb = policy.newSession()) {
                int[] gotA = new int[STEPS];
                int[] gotB = new int[STEPS];
                for (int t = 0; t < STEPS; t++) {
                    gotA[t] = sa.act(a[t]);
                    gotB[t] = sb.act(b[t]);
                    policy.act(b[STEPS - 1 - t]); // the default session is a third, independent state
                }
                assertArrayEquals(expectedA, gotA);
                assertArrayEquals(expectedB, gotB);
            }
        }
    }

    @Test
    void concurrentSessionsEqualSequentialRuns() throws Exception {
        int threads = 4;
        int steps = 60;
        try (ActorCritic model = sharpened(DISCRETE, 9, 100)) {
            write(dir, model, 1);
            List<float[][]> inputs = new ArrayList<>();
            List<int[]> expected = new ArrayList<>();
            for (int i = 0; i < threads; i++) {
                inputs.add(observations(DISCRETE, steps, 10 + i));
                expected.add(referenceActions(model, inputs.get(i)));
            }
            ExecutorService pool = Executors.newFixedThreadPool(threads);
            try (Policy policy = Policy.load(dir)) {
                CountDownLatch start = new CountDownLatch(1);
                List<Future<int[]>> results = new ArrayList<>();
                for (int i = 0; i < threads; i++) {
                    float[][] obs = inputs.get(i);
                    results.add(pool.submit(() -> {
                        try (Session s = policy.newSession()) {
                            start.await();
                            return play(s::act, obs);
                        }
                    }));
                }
                start.countDown();
                for (int i = 0; i < threads; i++) {
                    assertArrayEquals(expected.get(i), results.get(i).get(60, TimeUnit.SECONDS), "session " + i);
                }
            } finally {
                pool.shutdownNow();
            }
        }
    }

    @Test
    void aBatchActsAsItsSessionsWouldAndResetsThemOneByOne() throws Exception {
        int k = 3;
        try (ActorCritic model = sharpened(DISCRETE, 10, 100)) {
            write(dir, model, 1);
            List<float[][]> inputs = new ArrayList<>();
            for (int i = 0; i < k; i++) {
                inputs.add(observations(DISCRETE, STEPS, 20 + i));
            }
            try (Policy policy = Policy.load(dir); Batch batch = policy.newBatch(k)) {
                assertEquals(k, batch.size());
                int[][] got = new int[k][STEPS];
                float[] rows = new float[k * 4];
                int[] actions = new int[k];
                for (int t = 0; t < STEPS; t++) {
                    for (int i = 0; i < k; i++) {
                        System.arraycopy(inputs.get(i)[t], 0, rows, i * 4, 4);
                    }
                    batch.act(rows, actions);
                    for (int i = 0; i < k; i++) {
                        got[i][t] = actions[i];
                    }
                    if (t == STEPS / 2 - 1) {
                        batch.reset(new boolean[] {false, true, false});
                    }
                }
                assertArrayEquals(referenceActions(model, inputs.get(0)), got[0]);
                assertArrayEquals(referenceActions(model, inputs.get(2)), got[2]);
                // Session 1 started a new episode half-way.
                float[][] second = Arrays.copyOfRange(inputs.get(1), STEPS / 2, STEPS);
                assertArrayEquals(referenceActions(model, Arrays.copyOfRange(inputs.get(1), 0, STEPS / 2)),
                        Arrays.copyOfRange(got[1], 0, STEPS / 2));
                assertArrayEquals(referenceActions(model, second), Arrays.copyOfRange(got[1], STEPS / 2, STEPS));
            }
        }
    }

    @Test
    void aContinuousPolicyReturnsItsMeansClippedToTheActionBox() throws Exception {
        try (ActorCritic model = new ActorCritic(CONTINUOUS, 4, Torch.device("cpu"))) {
            // The means are the head's biases alone: 5 (above [-1, 1]) and 0.25 (inside [0, 0.5]).
            setMeans(model, 5f, 0.25f);
            write(dir, model, 2);
            try (Policy policy = Policy.load(dir)) {
                assertTrue(policy.continuous());
                assertEquals(ACTION_BOX, policy.actionSpace());
                assertArrayEquals(new float[] {1f, 0.25f}, policy.actContinuous(new float[] {0.3f, -0.1f, 2f}));
            }
            setMeans(model, -3f, 0.7f);
            write(dir, model, 3);
            try (Policy policy = Policy.load(dir)) {
                float[] out = new float[2];
                policy.act(new float[] {0f, 0f, 0f}, out);
                assertArrayEquals(new float[] {-1f, 0.5f}, out, "clipped to each element's own bounds");
            }
        }
        try (ActorCritic model = sharpened(CONTINUOUS, 5, 2)) {
            write(dir, model, 4);
            float[][] obs = observations(CONTINUOUS, STEPS, 5);
            float[][] means = referenceOutputs(model, obs);
            try (Policy policy = Policy.load(dir); Session s = policy.newSession()) {
                float[] out = new float[2];
                int clipped = 0;
                for (int t = 0; t < STEPS; t++) {
                    float[] expected = {ACTION_BOX.clip(0, means[t][0]), ACTION_BOX.clip(1, means[t][1])};
                    clipped += expected[0] != means[t][0] || expected[1] != means[t][1] ? 1 : 0;
                    assertArrayEquals(expected, policy.actContinuous(obs[t]), "step " + t);
                    s.act(obs[t], out);
                    assertArrayEquals(expected, out, "step " + t);
                }
                assertTrue(clipped > 0 && clipped < STEPS, "some means inside the box, some outside: " + clipped);
            }
        }
    }

    @Test
    void samplingFollowsThePolicysProbabilitiesAndItsSeed() throws Exception {
        try (ActorCritic model = new ActorCritic(DISCRETE, 6, Torch.device("cpu"))) {
            // Logits 0, ln 3 and -30 whatever the observation: probabilities 1/4, 3/4 and ~0.
            try (NoGradGuard noGrad = new NoGradGuard()) {
                model.parameter("head.weight").narrow(0, 0, 3).zero_();
                Tensor bias = model.parameter("head.bias");
                bias.narrow(0, 0, 1).fill_(new Scalar(0.0));
                bias.narrow(0, 1, 1).fill_(new Scalar(Math.log(3)));
                bias.narrow(0, 2, 1).fill_(new Scalar(-30.0));
            }
            write(dir, model, 1);
        }
        float[] obs = {0.1f, 0.2f, 0.3f, 0.4f};
        int n = 4000;
        int[] counts = new int[3];
        int[] first = new int[n];
        try (Policy policy = Policy.loadSampling(dir, 42)) {
            assertTrue(policy.sampling());
            for (int i = 0; i < n; i++) {
                first[i] = policy.act(obs);
                counts[first[i]]++;
            }
        }
        assertEquals(0, counts[2]);
        double p1 = counts[1] / (double) n;
        assertTrue(Math.abs(p1 - 0.75) < 0.03, "action 1 taken " + p1 + " of the time, expected 0.75");
        try (Policy again = Policy.loadSampling(dir, 42); Policy other = Policy.loadSampling(dir, 43);
                Policy greedy = Policy.load(dir)) {
            int[] same = new int[n];
            int[] different = new int[n];
            for (int i = 0; i < n; i++) {
                same[i] = again.act(obs);
                different[i] = other.act(obs);
                assertEquals(1, greedy.act(obs), "deterministic: the most likely action");
            }
            assertArrayEquals(first, same, "the same seed gives the same actions");
            assertFalse(Arrays.equals(first, different), "another seed gives other actions");
        }
    }

    @Test
    void sampledContinuousActionsStayInTheBox() throws Exception {
        try (ActorCritic model = new ActorCritic(CONTINUOUS, 4, Torch.device("cpu"))) {
            setMeans(model, 0.9f, 0.4f); // std 1: many samples fall outside and are clipped
            write(dir, model, 1);
        }
        try (Policy policy = Policy.loadSampling(dir, 1); Batch batch = policy.newBatch(2)) {
            float[] actions = new float[4];
            boolean sawInterior = false;
            boolean sawBound = false;
            for (int i = 0; i < 200; i++) {
                batch.act(new float[6], actions);
                for (int j = 0; j < 4; j++) {
                    float a = actions[j];
                    assertTrue(a >= ACTION_BOX.low(j % 2) && a <= ACTION_BOX.high(j % 2), a + " outside the box");
                    sawBound |= a == ACTION_BOX.low(j % 2) || a == ACTION_BOX.high(j % 2);
                    sawInterior |= a > ACTION_BOX.low(j % 2) && a < ACTION_BOX.high(j % 2);
                }
            }
            assertTrue(sawBound && sawInterior, "samples are spread, then clipped");
        }
    }

    @Test
    void badCallsFailWithClearMessages() throws Exception {
        try (ActorCritic model = new ActorCritic(DISCRETE, 1, Torch.device("cpu"))) {
            write(dir, model, 1);
        }
        Policy policy = Policy.load(dir);
        try {
            String m = assertThrows(IllegalArgumentException.class, () -> policy.act(new float[3])).getMessage();
            assertTrue(m.contains("has 3 values, expected 4") && m.contains("box(4)"), m);
            m = assertThrows(IllegalArgumentException.class, () -> policy.act(new float[] {0f, Float.NaN, 0f, 0f}))
                    .getMessage();
            assertTrue(m.contains("observation value 1 is NaN"), m);
            m = assertThrows(IllegalArgumentException.class,
                    () -> policy.act(new float[] {0f, 0f, 0f, Float.POSITIVE_INFINITY})).getMessage();
            assertTrue(m.contains("observation value 3 is Infinity"), m);
            m = assertThrows(UnsupportedOperationException.class, () -> policy.actContinuous(new float[4]))
                    .getMessage();
            assertTrue(m.contains("discrete(3)") && m.contains("discrete action space"), m);
            try (Batch batch = policy.newBatch(2)) {
                m = assertThrows(IllegalArgumentException.class, () -> batch.act(new float[8], new int[3]))
                        .getMessage();
                assertTrue(m.contains("expected 2"), m);
                float[] rows = new float[8];
                rows[6] = Float.NaN;
                m = assertThrows(IllegalArgumentException.class, () -> batch.act(rows, new int[2])).getMessage();
                assertTrue(m.contains("observation value 2 of session 1 is NaN"), m);
            }
            assertThrows(IllegalArgumentException.class, () -> policy.newBatch(0));
            Session s = policy.newSession();
            s.close();
            s.close();
            m = assertThrows(IllegalStateException.class, () -> s.act(new float[4])).getMessage();
            assertEquals("this session is closed", m);
            Session open = policy.newSession();
            policy.close();
            m = assertThrows(IllegalStateException.class, () -> open.act(new float[4])).getMessage();
            assertEquals("the policy is closed", m);
            assertThrows(IllegalStateException.class, () -> policy.act(new float[4]));
            assertThrows(IllegalStateException.class, policy::newSession);
            open.close();
        } finally {
            policy.close();
        }

        Path continuous = dir.resolve("continuous");
        try (ActorCritic model = new ActorCritic(CONTINUOUS, 1, Torch.device("cpu"))) {
            write(continuous, model, 1);
        }
        try (Policy c = Policy.load(continuous)) {
            String m = assertThrows(UnsupportedOperationException.class, () -> c.act(new float[3])).getMessage();
            assertTrue(m.contains("box([-1 0],[1 0.5];2)") && m.contains("continuous action space"), m);
            m = assertThrows(IllegalArgumentException.class, () -> c.act(new float[3], new float[3])).getMessage();
            assertTrue(m.contains("has 3 values, expected 2"), m);
        }
    }

    @Test
    void loadingNamesThePathWhenNothingValidIsThere() throws Exception {
        Path missing = dir.resolve("no-such-run");
        String m = assertThrows(IllegalArgumentException.class, () -> Policy.load(missing)).getMessage();
        assertTrue(m.contains(missing.toString()) && m.contains("does not exist"), m);

        Path empty = Files.createDirectories(dir.resolve("empty"));
        m = assertThrows(IllegalArgumentException.class, () -> Policy.load(empty)).getMessage();
        assertTrue(m.contains("no valid checkpoint in " + empty), m);

        Path run = dir.resolve("run");
        Path checkpoints = run.resolve("checkpoints");
        try (ActorCritic model = new ActorCritic(DISCRETE, 1, Torch.device("cpu"))) {
            write(checkpoints, model, 3);
            Path newest = write(checkpoints, model, 4);
            byte[] bytes = Files.readAllBytes(newest);
            bytes[bytes.length / 2] ^= 0x10;
            Files.write(newest, bytes);

            m = assertThrows(IllegalArgumentException.class, () -> Policy.load(newest)).getMessage();
            assertTrue(m.contains(newest.toString()) && m.contains("CRC mismatch"), m);
            try (Policy p = Policy.load(run)) {
                assertEquals(3, p.version(), "a run folder's newest valid checkpoint");
            }
            assertTrue(Files.exists(newest), "reading never moves a corrupt file aside");

            // Framed correctly, but a weight is NaN: the content check skips it too.
            ParameterCodec codec = new ParameterCodec(model);
            float[] nan = {Float.NaN};
            try (NoGradGuard noGrad = new NoGradGuard(); PointerScope scope = new PointerScope()) {
                model.parameter("head.bias").data_ptr_float().put(nan);
            }
            Path poisoned = checkpoints.resolve(CheckpointFiles.fileName(5));
            Files.write(poisoned, CheckpointFiles.frame(
                    Checkpoint.newBuilder().setParameters(codec.encode(5)).build()));
            try (Policy p = Policy.load(checkpoints)) {
                assertEquals(3, p.version());
            }
            m = assertThrows(IllegalArgumentException.class, () -> Policy.load(poisoned)).getMessage();
            assertTrue(m.contains("non-finite"), m);
        }
    }

    /** A run folder's best checkpoint (kept by train's evaluations) wins over its newest one, unless it is unreadable. */
    @Test
    void aRunFolderLoadsItsBestCheckpointBeforeItsNewest(@TempDir Path dir) throws Exception {
        Path run = dir.resolve("run");
        try (ActorCritic model = new ActorCritic(DISCRETE, 1, Torch.device("cpu"))) {
            write(run.resolve("checkpoints"), model, 9);
            Path best = write(run.resolve(CheckpointFiles.RUN_FOLDER_BEST), model, 6);
            try (Policy p = Policy.load(run)) {
                assertEquals(6, p.version(), "the best weights, though older");
            }
            try (Policy p = Policy.load(run.resolve("checkpoints"))) {
                assertEquals(9, p.version(), "the newest, asked for by folder");
            }
            byte[] bytes = Files.readAllBytes(best);
            bytes[bytes.length / 2] ^= 0x10;
            Files.write(best, bytes);
            try (Policy p = Policy.load(run)) {
                assertEquals(9, p.version(), "a corrupt best checkpoint is skipped");
            }
        }
    }

    @Test
    void needsNeitherGrpcNorMicrometer() {
        // The policy module excludes them from starling-common; this is its test classpath.
        for (String name : List.of("io.grpc.Server", "io.grpc.ManagedChannel",
                "io.micrometer.core.instrument.MeterRegistry")) {
            assertThrows(ClassNotFoundException.class, () -> Class.forName(name), name + " is on the classpath");
        }
    }

    // ---------------------------------------------------------------------------------------

    @FunctionalInterface
    private interface Actor {
        int act(float[] observation);
    }

    private static int[] play(Actor actor, float[][] observations) {
        int[] actions = new int[observations.length];
        for (int t = 0; t < observations.length; t++) {
            actions[t] = actor.act(observations[t]);
        }
        return actions;
    }

    /**
     * A model that reacts strongly to its inputs and its memory (encoder and LSTM weights scaled
     * up) and whose policy outputs are scaled by {@code factor}, so its actions differ from step
     * to step and depend on the state carried.
     */
    private static ActorCritic sharpened(ModelConfig config, long seed, double factor) {
        ActorCritic model = new ActorCritic(config, seed, Torch.device("cpu"));
        try (NoGradGuard noGrad = new NoGradGuard()) {
            model.parameter("encoder.weight").mul_(new Scalar(4.0));
            model.parameter("lstm.weight_ih_l0").mul_(new Scalar(4.0));
            model.parameter("lstm.weight_hh_l0").mul_(new Scalar(4.0));
            model.parameter("head.weight").narrow(0, 0, config.policyOutputs()).mul_(new Scalar(factor));
        }
        return model;
    }

    /** The continuous model's means become {@code means}, whatever the observation. */
    private static void setMeans(ActorCritic model, float... means) {
        try (NoGradGuard noGrad = new NoGradGuard()) {
            model.parameter("head.weight").narrow(0, 0, means.length).zero_();
            Tensor bias = model.parameter("head.bias");
            for (int i = 0; i < means.length; i++) {
                bias.narrow(0, i, 1).fill_(new Scalar(means[i]));
            }
        }
    }

    /** Writes the model's weights as a checkpoint file of {@code version} in {@code folder}. */
    private static Path write(Path folder, ActorCritic model, long version) throws IOException {
        Files.createDirectories(folder);
        Checkpoint c = Checkpoint.newBuilder().setParameters(new ParameterCodec(model).encode(version)).build();
        return Files.write(folder.resolve(CheckpointFiles.fileName(version)), CheckpointFiles.frame(c));
    }

    private static float[][] observations(ModelConfig config, int steps, long seed) {
        SplittableRandom rng = new SplittableRandom(seed);
        float[][] obs = new float[steps][config.observationSize()];
        for (float[] o : obs) {
            for (int i = 0; i < o.length; i++) {
                o[i] = (float) rng.nextDouble(-2, 2);
            }
        }
        return obs;
    }

    private static float[][] concat(float[][] a, float[][] b) {
        float[][] r = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, r, a.length, b.length);
        return r;
    }

    /** Each step's policy outputs from a fresh one-environment cell path on {@code model}. */
    private static float[][] referenceOutputs(ActorCritic model, float[][] obs) {
        int p = model.config().policyOutputs();
        try (PolicyInference inference = new PolicyInference(model, 1)) {
            float[] out = new float[inference.outputsPerEnv()];
            float[][] r = new float[obs.length][];
            for (int t = 0; t < obs.length; t++) {
                inference.step(obs[t], out);
                r[t] = Arrays.copyOf(out, p);
            }
            return r;
        }
    }

    private static int[] referenceActions(ActorCritic model, float[][] obs) {
        float[][] logits = referenceOutputs(model, obs);
        int[] actions = new int[obs.length];
        for (int t = 0; t < obs.length; t++) {
            actions[t] = argmax(logits[t], 0);
        }
        return actions;
    }

    private static int argmax(float[] x, int offset) {
        int best = 0;
        for (int j = 1; j < 3; j++) {
            if (x[offset + j] > x[offset + best]) {
                best = j;
            }
        }
        return best;
    }

    /** The learner's LSTM over the whole sequence picks the same actions wherever the choice is clear. */
    private static void assertLearnerAgrees(ActorCritic model, float[][] obs, int[] expected) {
        int n = obs.length;
        int size = model.config().observationSize();
        int hidden = model.config().lstmSize();
        float[] flat = new float[n * size];
        for (int t = 0; t < n; t++) {
            System.arraycopy(obs[t], 0, flat, t * size, size);
        }
        float[] y;
        try (PointerScope scope = new PointerScope(); NoGradGuard noGrad = new NoGradGuard()) {
            Tensor x = model.encode(Torch.floats(flat, model.device(), n, 1, size));
            ActorCritic.LstmOutput o = model.lstmForward(x, torch.zeros(1, 1, hidden), torch.zeros(1, 1, hidden));
            y = Torch.toArray(model.head(o.output()).contiguous());
        }
        int stride = model.config().policyOutputs() + 1;
        int compared = 0;
        for (int t = 0; t < n; t++) {
            float[] sorted = Arrays.copyOfRange(y, t * stride, t * stride + 3);
            Arrays.sort(sorted);
            if (sorted[2] - sorted[1] > 1e-3) {
                assertEquals(expected[t], argmax(y, t * stride), "step " + t);
                compared++;
            }
        }
        assertNotEquals(0, compared);
    }
}
