package dev.starling.common.rl;

import dev.starling.common.model.TestConfigs;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.starling.common.model.ActorCritic;
import dev.starling.common.model.ModelConfig;
import dev.starling.common.model.PolicyInference;
import dev.starling.common.model.Torch;
import dev.starling.common.rollout.ReturnTracker;
import dev.starling.common.rollout.RolloutCollector;
import dev.starling.envs.EnvironmentRegistry;
import dev.starling.envs.VectorEnv;
import org.bytedeco.javacpp.Pointer;
import org.junit.jupiter.api.Test;

/**
 * 2,000 collect-and-train iterations must not grow native memory: every update and inference
 * step releases its tensors through its PointerScope. Bound: 48 MiB of resident growth after
 * warm-up (a leak of one batch's tensors per update would be several hundred MiB).
 */
class NativeMemoryTest {

    private static final long BOUND_BYTES = 48L << 20;

    @Test
    void twoThousandUpdatesKeepResidentMemoryFlat() {
        ModelConfig config = TestConfigs.discrete(2, 2, 16, 32);
        VectorEnv env = EnvironmentRegistry.builtIn().vector("masked-cartpole", 8, 1);
        try (ActorCritic model = new ActorCritic(config, 1, Torch.device("cpu"));
                Optimizer adam = Optimizer.create("adam", model.parameters(), 1e-3);
                PolicyInference policy = new PolicyInference(model, 8)) {
            TrainStep step = new TrainStep(model, adam, LossConfig.defaults(), ForwardPath.FAST);
            RolloutCollector collector = new RolloutCollector(env, policy, model.distribution(), 2);
            Rollout rollout = new Rollout(16, 8, config);
            ReturnTracker returns = new ReturnTracker();
            for (int i = 0; i < 200; i++) {
                collector.collect(rollout, returns);
                step.update(rollout);
            }
            long warm = settledPhysicalBytes();
            for (int i = 0; i < 2000; i++) {
                collector.collect(rollout, returns);
                step.update(rollout);
                if (i % 500 == 499) {
                    System.gc();
                }
            }
            long after = settledPhysicalBytes();
            long growth = after - warm;
            System.out.printf("native memory: warm %d MiB, after 2000 updates %d MiB, growth %d KiB%n",
                    warm >> 20, after >> 20, growth >> 10);
            assertTrue(growth < BOUND_BYTES, "resident memory grew by " + (growth >> 20) + " MiB over 2000 updates");
        }
    }

    private static long settledPhysicalBytes() {
        System.gc();
        try {
            Thread.sleep(200);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return Pointer.physicalBytes();
    }
}
