package dev.starling.common.rollout;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
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
import dev.starling.envs.VectorEnvironment;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * What the actor records equals what the learner recomputes from the chunk: the behaviour
 * log-probability of every action (through the learner's fused LSTM and the distribution's
 * libtorch side), for a discrete and a continuous action space and for pixels. With equal weights the V-trace
 * ratios are then exactly 1.
 */
class RolloutCollectorTest {

    @ParameterizedTest
    @CsvSource({"masked-cartpole, 1", "pendulum, 1", "masked-cartpole, 2", "pendulum, 2", "pong, 1", "pong, 2"})
    void behaviourLogProbsEqualTheLearnersForEverySpace(String name, int lanes) {
        EnvironmentDefinition def = EnvironmentRegistry.builtIn().get(name);
        ModelConfig config = new ModelConfig(def.observationSpace(), def.actionSpace(), List.of(16), 24);
        int k = 6;
        int t = 40;
        List<VectorEnvironment> envs = new ArrayList<>();
        for (int i = 0; i < lanes; i++) {
            envs.add(new VectorEnv(def, k / lanes, 3 + i));
        }
        List<PolicyInference> policies = new ArrayList<>();
        try (ActorCritic model = new ActorCritic(config, 5, Torch.device("cpu"))) {
            for (int i = 0; i < lanes; i++) {
                policies.add(new PolicyInference(model, k / lanes));
            }
            // Two lanes (double-buffered play) fill rows 0-2 and 3-5, each from its own LSTM state:
            // the learner, reading the rollout as one batch, must see exactly what each lane played.
            RolloutCollector collector = new RolloutCollector(envs, policies, model.distribution(), 9);
            Rollout r = new Rollout(t, k, config);
            collector.collect(r, new ReturnTracker());
            collector.collect(r, new ReturnTracker());
            float[] learner = new float[t * k];
            try (PointerScope scope = new PointerScope()) {
                Tensor obs = SequenceForward.observations(r, model.device());
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
            assertEquals(config.pixels(), r.images);
            if (r.images) {
                // Every recorded frame shows the game (lit paddles and ball), not a zeroed buffer.
                int frame = config.observationSize();
                for (int i = 0; i < (t + 1) * k; i++) {
                    int lit = 0;
                    for (int p = i * frame; p < (i + 1) * frame; p++) {
                        lit += r.pixels[p] != 0 ? 1 : 0;
                    }
                    assertTrue(lit > 0, "frame " + i + " is blank");
                }
            }
        } finally {
            policies.forEach(PolicyInference::close);
        }
    }
}
