package dev.starling.learner;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/**
 * The learning proof on CI: the synchronous trainer must learn masked-velocity CartPole (the
 * policy has to infer velocities through its LSTM) to an average return of 150 over 100
 * episodes. With seed 1 it gets there after about 0.23M frames (about 10 s on 2 cores); the
 * budget of 2M frames leaves a wide margin. A uniformly random policy averages about 22.
 */
class SyncTrainerTest {

    @Test
    void learnsMaskedCartPole() {
        SyncConfig config = SyncConfig.defaults("masked-cartpole").withSeed(1).withBudget(150.0, 2_000_000, 0);
        SyncTrainer.Result result = SyncTrainer.run(config, p -> { }, 0);
        System.out.printf("masked-cartpole sync: avg %.1f after %d frames, %.1f s, %.0f fps%n",
                result.averageReturn(), result.frames(), result.seconds(), result.fps());
        assertTrue(result.solved(), "did not reach 150 within 2M frames: " + result);
        assertTrue(result.averageReturn() >= 150.0);
        assertEquals(0, result.skippedUpdates(), "no update should be non-finite on this task");
    }

    @Test
    void theFinalWeightsAreACheckpointEvalCanLoad(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir)
            throws Exception {
        SyncConfig config = SyncConfig.defaults("pendulum").withSeed(2).withBudget(1e9, 10_240, 0);
        SyncTrainer.Result result = SyncTrainer.run(config, p -> { }, 0, dir,
                SolveJudge.trainingAverage(config.targetReturn()));
        dev.starling.proto.v1.Checkpoint ckpt = dev.starling.common.model.CheckpointFiles.read(
                dir.resolve(dev.starling.common.model.CheckpointFiles.fileName(result.updates())));
        assertEquals(result.updates(), ckpt.getParameters().getVersion());
        assertEquals(config.modelConfig(), dev.starling.common.model.ModelSpecs.config(ckpt.getParameters().getSpec()));
        try (var files = java.nio.file.Files.list(dir)) {
            assertEquals(1, files.count(), "one file, no temporary left");
        }
    }

    /**
     * The judge, not the training average, ends a run: nominated every update once the window is
     * full, it gets the current weights (version = updates) and refuses twice before accepting.
     */
    @Test
    void aJudgeThatRefusesKeepsTheRunGoingAndSeesTheCurrentWeights() {
        SyncConfig config = SyncConfig.defaults("masked-cartpole").withSeed(3).withBudget(0.0, 2_000_000, 0);
        java.util.List<Long> asked = new java.util.ArrayList<>();
        SolveJudge judge = (seconds, frames, windowFull, average, weights) -> {
            if (!windowFull) {
                return false;
            }
            dev.starling.proto.v1.Checkpoint c = weights.get();
            assertEquals(config.modelConfig(), dev.starling.common.model.ModelSpecs.config(c.getParameters().getSpec()));
            asked.add(c.getParameters().getVersion());
            return asked.size() == 3;
        };
        SyncTrainer.Result result = SyncTrainer.run(config, p -> { }, 0, null, judge);
        assertTrue(result.solved());
        assertEquals(3, asked.size());
        assertEquals(result.updates(), asked.get(2), "the accepted weights are the final ones");
        assertEquals(java.util.List.of(result.updates() - 2, result.updates() - 1, result.updates()), asked);
    }

    @Test
    void sameSeedGivesTheSameRun() {
        SyncConfig config = SyncConfig.defaults("masked-cartpole").withSeed(3).withBudget(1e9, 20_480, 0);
        SyncTrainer.Result a = SyncTrainer.run(config, p -> { }, 0);
        SyncTrainer.Result b = SyncTrainer.run(config, p -> { }, 0);
        assertEquals(a.frames(), b.frames());
        assertEquals(a.episodes(), b.episodes());
        assertEquals(a.averageReturn(), b.averageReturn(), 0.0, "one libtorch thread is deterministic");
    }
}
