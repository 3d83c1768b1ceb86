package dev.starling.common.rollout;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;

import dev.starling.common.model.ActorCritic;
import dev.starling.common.model.ModelConfig;
import dev.starling.common.model.PolicyInference;
import dev.starling.common.model.Torch;
import dev.starling.common.rl.ForwardPath;
import dev.starling.common.rl.Rollout;
import dev.starling.common.rl.SequenceForward;
import dev.starling.env.EnvironmentDefinition;
import dev.starling.envs.EnvironmentRegistry;
import dev.starling.envs.VectorEnv;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * What the actor records equals what the learner recomputes from the chunk: the behaviour
 * log-probability of every action (through the learner's fused LSTM and the distribution's
 * libtorch side), for a discrete and a continuous action space. With equal weights the V-trace
 * ratios are then exactly 1.
 */
class RolloutCollectorTest {

    @ParameterizedTest
    @ValueSource(strings = {"masked-cartpole", "pendulum"})
    void behaviourLogProbsEqualTheLearnersForEverySpace(String name) {
        EnvironmentDefinition def = EnvironmentRegistry.builtIn().get(name);
        ModelConfig config = new ModelConfig(def.observationSpace(), def.actionSpace(), List.of(16), 24);
        int k = 6;
        int t = 40;
        VectorEnv env = new VectorEnv(def, k, 3);
        try (ActorCritic model = new ActorCritic(config, 5, Torch.device("cpu"));
                PolicyInference policy = new PolicyInference(model, k)) {
            RolloutCollector collector = new RolloutCollector(env, policy, model.distribution(), 9);
            Rollout r = new Rollout(t, k, config);
            collector.collect(r, new ReturnTracker());
            collector.collect(r, new ReturnTracker());
            float[] learner = new float[t * k];
            try (PointerScope scope = new PointerScope()) {
                Tensor obs = Torch.floats(r.observations, model.device(), t + 1, k, config.observationSize());
                Tensor h0 = Torch.floats(r.initialH, model.device(), k, config.lstmSize());
                Tensor c0 = Torch.floats(r.initialC, model.device(), k, config.lstmSize());
                Tensor out = SequenceForward.run(model, obs, h0, c0, r.dones, t, k, ForwardPath.FAST);
                Tensor params = out.narrow(0, 0, t).narrow(2, 0, config.policyOutputs());
                Torch.read(model.distribution().logProb(model, params, r).detach().contiguous(), learner);
            }
            double worst = 0;
            for (int i = 0; i < t * k; i++) {
                worst = Math.max(worst, Math.abs(learner[i] - r.behaviourLogProbs[i]));
            }
            assertTrue(worst < 1e-4, name + ": actor and learner log-probabilities differ by " + worst);
            assertEquals(config.continuous(), r.continuous);
        }
    }
}
