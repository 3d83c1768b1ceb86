package dev.starling.common.rl;

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

    private static final ModelConfig CONFIG = new ModelConfig(5, 3, 16, 24);

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
            LossConfig tight = new LossConfig(VTraceConfig.defaults(0.99), 0.5, 0.01, 0.001, 1.0, false);
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
