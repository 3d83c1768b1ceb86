package dev.starling.common.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.List;

import dev.starling.common.rl.ForwardPath;
import dev.starling.env.Discrete;
import dev.starling.env.Image;
import dev.starling.common.rl.Rollout;
import dev.starling.common.rl.RolloutFixtures;
import dev.starling.common.rl.SequenceForward;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.junit.jupiter.api.Test;

/** The actor's batched LSTM cell must equal the learner's LSTM on the same inputs, for every space. */
class PolicyInferenceTest {

    private static final ModelConfig CONFIG = TestConfigs.discrete(4, 2, 16, 32);

    /** Pixels of a 1x9x7 image and a conv layer of its own (two channels, 3x3, stride 2). */
    static final ModelConfig IMAGE = new ModelConfig(new Image(1, 9, 7), new Discrete(3),
            List.of(new ModelConfig.ConvLayer(2, 3, 2)), List.of(16), 32);

    /** Discrete, continuous, a two-layer encoder, and an image through a conv layer. */
    static java.util.stream.Stream<ModelConfig> configs() {
        return java.util.stream.Stream.of(CONFIG, TestConfigs.continuous(4, 3, 16, 32),
                new ModelConfig(dev.starling.env.Box.of(4), dev.starling.env.Box.bounded(-1, 1, 2),
                        java.util.List.of(24, 16), 32), IMAGE);
    }

    @org.junit.jupiter.params.ParameterizedTest
    @org.junit.jupiter.params.provider.MethodSource("configs")
    void cellStepsEqualLearnerLstmIncludingResetsAndStoredState(ModelConfig config) {
        int t = 10;
        int k = 6;
        try (ActorCritic model = new ActorCritic(config, 3, Torch.device("cpu"));
                PolicyInference policy = new PolicyInference(model, k)) {
            Rollout r = RolloutFixtures.random(config, t, k, RolloutFixtures.Dones.RANDOM, 11);
            Arrays.fill(r.initialH, 0f);
            Arrays.fill(r.initialC, 0f);
            int out = config.policyOutputs() + 1;
            float[] actor = new float[(t + 1) * k * out];
            float[] peeked = new float[k];
            float[] obs = new float[config.pixels() ? 0 : k * config.observationSize()];
            byte[] pixels = new byte[config.pixels() ? k * config.observationSize() : 0];
            float[] step = new float[k * out];
            boolean[] done = new boolean[k];
            for (int s = 0; s <= t; s++) {
                // peekValues sees the next observation as step would, and leaves the state alone.
                if (config.pixels()) {
                    System.arraycopy(r.pixels, s * pixels.length, pixels, 0, pixels.length);
                    policy.peekValues(pixels, peeked);
                    policy.step(pixels, step);
                } else {
                    System.arraycopy(r.observations, s * obs.length, obs, 0, obs.length);
                    policy.peekValues(obs, peeked);
                    policy.step(obs, step);
                }
                for (int j = 0; j < k; j++) {
                    assertEquals(step[j * out + out - 1], peeked[j], 1e-6, "peeked value of env " + j);
                }
                System.arraycopy(step, 0, actor, s * step.length, step.length);
                if (s < t) {
                    System.arraycopy(r.dones, s * k, done, 0, k);
                    policy.resetWhereDone(done);
                }
            }
            float[] learner;
            try (PointerScope scope = new PointerScope()) {
                // The learner's input: pixels as uint8, scaled on its device, like the actor's.
                Tensor o = SequenceForward.observations(r, model.device());
                Tensor h0 = Torch.floats(r.initialH, model.device(), k, config.lstmSize());
                Tensor c0 = Torch.floats(r.initialC, model.device(), k, config.lstmSize());
                learner = Torch.toArray(SequenceForward.run(model, o, h0, c0, r.dones, t, k, ForwardPath.FAST).detach());
            }
            double worst = 0;
            for (int i = 0; i < actor.length; i++) {
                worst = Math.max(worst, Math.abs(actor[i] - learner[i]));
            }
            assertTrue(worst < 1e-5, "actor cell and learner LSTM differ by " + worst);
        }
    }

    @Test
    void readStateReturnsTheCarriedState() {
        try (ActorCritic model = new ActorCritic(CONFIG, 3, Torch.device("cpu"));
                PolicyInference policy = new PolicyInference(model, 2)) {
            float[] h = new float[2 * CONFIG.lstmSize()];
            float[] c = new float[2 * CONFIG.lstmSize()];
            policy.readState(h, c);
            assertTrue(allZero(h) && allZero(c), "a new policy starts from the zero state");
            policy.step(new float[] {0.1f, 0.2f, 0.3f, 0.4f, -1f, 0.5f, 0.2f, 0f}, new float[6]);
            policy.readState(h, c);
            assertTrue(!allZero(h) && !allZero(c));
            policy.resetWhereDone(new boolean[] {true, false});
            policy.readState(h, c);
            assertTrue(allZero(Arrays.copyOfRange(h, 0, CONFIG.lstmSize())), "env 0 was reset");
            assertTrue(!allZero(Arrays.copyOfRange(h, CONFIG.lstmSize(), 2 * CONFIG.lstmSize())), "env 1 kept its state");
        }
    }

    @Test
    void rejectsWrongSizes() {
        try (ActorCritic model = new ActorCritic(CONFIG, 3, Torch.device("cpu"));
                PolicyInference policy = new PolicyInference(model, 2)) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> policy.step(new float[3], new float[6]));
            assertTrue(e.getMessage().contains("expected 8"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> policy.step(new byte[8], new float[6]));
            assertTrue(e.getMessage().contains("box of floats"), e.getMessage());
        }
        try (ActorCritic model = new ActorCritic(IMAGE, 3, Torch.device("cpu"));
                PolicyInference policy = new PolicyInference(model, 2)) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> policy.step(new float[126], new float[8]));
            assertTrue(e.getMessage().contains("observes images"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> policy.step(new byte[125], new float[8]));
            assertTrue(e.getMessage().contains("expected 126"), e.getMessage());
        }
    }

    @Test
    void pixelsAreScaledToUnitRangeBeforeTheConvolution() {
        try (ActorCritic model = new ActorCritic(IMAGE, 3, Torch.device("cpu"));
                PointerScope scope = new PointerScope()) {
            byte[] pixels = new byte[2 * 63];
            float[] scaled = new float[pixels.length];
            for (int i = 0; i < pixels.length; i++) {
                pixels[i] = (byte) (i * 37);
                scaled[i] = (pixels[i] & 0xff) / 255f;
            }
            float[] fromPixels = Torch.toArray(model.encode(Torch.pixels(pixels, model.device(), 2, 63)).detach());
            float[] fromFloats = Torch.toArray(model.encode(Torch.floats(scaled, model.device(), 2, 63)).detach());
            for (int i = 0; i < fromPixels.length; i++) {
                assertEquals(fromFloats[i], fromPixels[i], 1e-6, "feature " + i);
            }
        }
    }

    private static boolean allZero(float[] x) {
        for (float v : x) {
            if (v != 0f) {
                return false;
            }
        }
        return true;
    }
}
