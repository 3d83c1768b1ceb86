package dev.starling.common.rollout;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;

import dev.starling.common.model.ActorCritic;
import dev.starling.common.model.ModelConfig;
import dev.starling.common.model.PolicyInference;
import dev.starling.common.model.Torch;
import dev.starling.common.rl.Rollout;
import dev.starling.env.EnvironmentDefinition;
import dev.starling.envs.EnvironmentRegistry;
import dev.starling.envs.VectorEnv;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Rollouts joined in time equal the rollout played in one go: three rollouts of T 8 from one
 * collector are, joined, exactly what a twin collector (same seeds, same weights) records as one
 * rollout of T 24, episode ends and all (the R2D2 actor's sequences are made this way).
 */
class RolloutJoinTest {

    @ParameterizedTest
    @ValueSource(strings = {"masked-cartpole", "pong"})
    void threeRolloutsJoinedEqualOnePlayedAtOnce(String name) {
        EnvironmentDefinition def = EnvironmentRegistry.builtIn().get(name);
        ModelConfig config = new ModelConfig(def.observationSpace(), def.actionSpace(), List.of(16), 24);
        int k = 5;
        try (ActorCritic model = new ActorCritic(config, 5, Torch.device("cpu"));
                PolicyInference inParts = new PolicyInference(model, k);
                PolicyInference atOnce = new PolicyInference(model, k)) {
            RolloutCollector parts = new RolloutCollector(new VectorEnv(def, k, 3), inParts, model.distribution(), 9);
            RolloutCollector whole = new RolloutCollector(new VectorEnv(def, k, 3), atOnce, model.distribution(), 9);
            List<Rollout> three = new ArrayList<>();
            for (int i = 0; i < 3; i++) {
                Rollout r = new Rollout(8, k, config);
                parts.collect(r, new ReturnTracker());
                three.add(r);
            }
            Rollout expected = new Rollout(24, k, config);
            whole.collect(expected, new ReturnTracker());
            Rollout joined = Rollout.joinInTime(three);

            assertEquals(24, joined.unroll);
            assertArrayEquals(expected.observations, joined.observations);
            assertArrayEquals(expected.pixels, joined.pixels);
            assertArrayEquals(expected.actions, joined.actions);
            assertArrayEquals(expected.rewards, joined.rewards);
            assertArrayEquals(expected.dones, joined.dones);
            assertArrayEquals(expected.truncated, joined.truncated);
            assertArrayEquals(expected.bootstrapValues, joined.bootstrapValues);
            assertArrayEquals(expected.behaviourLogProbs, joined.behaviourLogProbs);
            assertArrayEquals(expected.initialH, joined.initialH);
            assertArrayEquals(expected.initialC, joined.initialC);

            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> Rollout.joinInTime(List.of(three.get(1), three.get(0))));
            assertTrue(e.getMessage().contains("not consecutive"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class,
                    () -> Rollout.joinInTime(List.of(three.get(0), new Rollout(8, k + 1, config))));
            assertTrue(e.getMessage().contains("differ in rows or sizes"), e.getMessage());
        }
    }
}
