package dev.starling.common.rl;

import dev.starling.common.model.TestConfigs;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.starling.common.model.ActorCritic;
import dev.starling.common.model.ModelConfig;
import dev.starling.common.model.ParameterCodec;
import dev.starling.common.model.Torch;
import org.bytedeco.pytorch.Tensor;
import org.junit.jupiter.api.Test;

class TrainStepTest {

    private static final ModelConfig CONFIG = TestConfigs.discrete(5, 3, 16, 24);

    @Test
    void nonFiniteLossSkipsTheUpdateCountsItAndKeepsWeights() {
        try (ActorCritic model = new ActorCritic(CONFIG, 1, Torch.device("cpu"));
                Optimizer adam = Optimizer.create("adam", model.parameters(), 1e-2)) {
            TrainStep step = new TrainStep(model, adam, LossConfig.defaults(), ForwardPath.FAST);
            ParameterCodec codec = new ParameterCodec(model);
            Rollout r = RolloutFixtures.random(CONFIG, 8, 4, RolloutFixtures.Dones.RANDOM, 3);
            step.update(r);
            var before = codec.encode();
            r.rewards[5] = Float.NaN;
            UpdateStats stats = step.update(r);
            assertFalse(stats.applied());
            assertEquals(1, step.skippedUpdates());
            assertEquals(1, adam.steps(), "the optimizer must not have stepped");
            assertEquals(before, codec.encode(), "weights changed on a non-finite update");
            r.rewards[5] = Float.POSITIVE_INFINITY;
            assertFalse(step.update(r).applied());
            assertEquals(2, step.skippedUpdates());
            r.rewards[5] = 0.5f;
            assertTrue(step.update(r).applied(), "a good batch after bad ones trains again");
            assertNotEquals(before, codec.encode());
        }
    }

    @Test
    void gradientsAreClippedToTheGlobalNorm() {
        try (ActorCritic model = new ActorCritic(CONFIG, 1, Torch.device("cpu"));
                Optimizer adam = Optimizer.create("adam", model.parameters(), 1e-2)) {
            LossConfig tight = new LossConfig(VTraceConfig.defaults(0.99), 0.5, 0.01, 0.001, 1.0, false,
                    LossConfig.DEFAULT_POLICY_CLIP);
            TrainStep step = new TrainStep(model, adam, tight, ForwardPath.FAST);
            Rollout r = RolloutFixtures.random(CONFIG, 8, 4, RolloutFixtures.Dones.RANDOM, 3);
            UpdateStats stats = step.computeGradients(r);
            assertTrue(stats.gradNorm() > 0.001, "test needs a norm above the clip, got " + stats.gradNorm());
            double sq = 0;
            for (Tensor p : model.parameters()) {
                for (float g : Torch.toArray(p.grad())) {
                    sq += g * g;
                }
            }
            assertEquals(0.001, Math.sqrt(sq), 1e-5, "clipped global norm");
        }
    }

    /**
     * On-policy (every ratio 1) the clipped surrogate's gradient is the plain policy gradient,
     * for both action spaces; with behaviour log-probabilities far below the model's (ratios
     * outside the clip) and positive advantages, the clipped samples give the policy no gradient.
     */
    @org.junit.jupiter.params.ParameterizedTest
    @org.junit.jupiter.params.provider.ValueSource(booleans = {false, true})
    void theClippedSurrogateIsThePolicyGradientOnPolicyAndStopsOutsideTheClip(boolean continuous) {
        ModelConfig config = continuous ? TestConfigs.continuous(5, 2, 16, 24) : CONFIG;
        LossConfig clipped = LossConfig.defaults();
        LossConfig plain = LossConfig.defaults().withPolicyClip(0);
        try (ActorCritic model = new ActorCritic(config, 3, Torch.device("cpu"))) {
            Rollout r = RolloutFixtures.random(config, 6, 4, RolloutFixtures.Dones.RANDOM, 5);
            onPolicy(model, r);
            float[] withClip = gradients(model, clipped, r);
            float[] withoutClip = gradients(model, plain, r);
            SequenceForwardTest.assertClose("on-policy gradients", withoutClip, withClip, 1e-5);

            for (int i = 0; i < r.rewards.length; i++) {
                r.behaviourLogProbs[i] -= 5;
                r.rewards[i] = 10;
            }
            float[] outside = policyGradients(model, clipped, r);
            for (float g : outside) {
                assertEquals(0, g, 1e-7, "ratios of e^5 with positive advantages are clipped");
            }
        }
    }

    /** Sets the behaviour log-probabilities to the model's own: ratio 1 everywhere. */
    private static void onPolicy(ActorCritic model, Rollout r) {
        try (org.bytedeco.javacpp.PointerScope scope = new org.bytedeco.javacpp.PointerScope()) {
            ModelConfig c = model.config();
            Tensor obs = SequenceForward.observations(r, model.device());
            Tensor h0 = Torch.floats(r.initialH, model.device(), r.rows, c.lstmSize());
            Tensor c0 = Torch.floats(r.initialC, model.device(), r.rows, c.lstmSize());
            Tensor out = SequenceForward.run(model, obs, h0, c0, r.dones, r.unroll, r.rows, ForwardPath.LOOP);
            Tensor policy = out.narrow(0, 0, r.unroll).narrow(2, 0, c.policyOutputs());
            Torch.read(model.distribution().logProb(model, policy, r).detach().contiguous(), r.behaviourLogProbs);
        }
    }

    private static float[] gradients(ActorCritic model, LossConfig loss, Rollout r) {
        TrainStep.forGradients(model, loss, ForwardPath.FAST).computeGradients(r);
        java.util.List<Float> all = new java.util.ArrayList<>();
        for (Tensor p : model.parameters()) {
            for (float g : Torch.toArray(p.grad())) {
                all.add(g);
            }
        }
        model.zeroGrad();
        float[] out = new float[all.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = all.get(i);
        }
        return out;
    }

    /** Gradients of the policy rows of the head alone (the value and entropy terms switched off). */
    private static float[] policyGradients(ActorCritic model, LossConfig loss, Rollout r) {
        LossConfig policyOnly = new LossConfig(loss.vtrace(), 0, 0, 1e9, 1.0, false, loss.policyClip());
        TrainStep.forGradients(model, policyOnly, ForwardPath.FAST).computeGradients(r);
        float[] head = Torch.toArray(model.parameter("head.weight").grad());
        model.zeroGrad();
        int width = model.config().lstmSize();
        return java.util.Arrays.copyOf(head, model.config().policyOutputs() * width);
    }

    @Test
    void rescaleGivesUnitStdAndKeepsSignsAndMean() {
        float[] x = {1, 2, 3, 4, 10};
        TrainStep.rescale(x);
        double mean = 0;
        for (float v : x) {
            mean += v;
            assertTrue(v > 0, "advantages keep their sign: the batch is not centred");
        }
        mean /= x.length;
        double var = 0;
        for (float v : x) {
            var += (v - mean) * (v - mean);
        }
        assertEquals(1, Math.sqrt(var / x.length), 1e-5);
        assertEquals(4.0 / Math.sqrt(10.0), mean, 1e-5, "mean / std of the original");
    }
}
