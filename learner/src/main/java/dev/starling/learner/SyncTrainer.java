package dev.starling.learner;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.function.Consumer;

import dev.starling.common.model.ActorCritic;
import dev.starling.common.model.CheckpointFiles;
import dev.starling.common.model.ParameterCodec;
import dev.starling.common.model.ModelConfig;
import dev.starling.common.model.PolicyInference;
import dev.starling.common.model.Torch;
import dev.starling.common.rl.Optimizer;
import dev.starling.common.rl.Rollout;
import dev.starling.common.rl.TrainStep;
import dev.starling.common.rl.UpdateStats;
import dev.starling.common.rollout.ReturnTracker;
import dev.starling.common.rollout.RolloutCollector;
import dev.starling.envs.VectorEnv;
import dev.starling.proto.v1.Checkpoint;

/**
 * The single-process synchronous trainer: collect one rollout of K environments x T steps
 * with the current weights, train on it, repeat. No network, no parallelism: the baseline the
 * cluster is measured against, and the proof that the learning maths works.
 */
public final class SyncTrainer {

    /** Progress after an update, for logs and the launcher's progress line. */
    public record Progress(long frames, long episodes, double averageReturn, long updates, double seconds,
            UpdateStats last) {
        public double fps() {
            return seconds > 0 ? frames / seconds : 0;
        }
    }

    /** How a run ended. */
    public record Result(boolean solved, long frames, long episodes, double averageReturn, long updates,
            long skippedUpdates, double seconds) {
        public double fps() {
            return seconds > 0 ? frames / seconds : 0;
        }
    }

    private SyncTrainer() {
    }

    /** Trains until the target return (over a full 100-episode window) or the budget. */
    public static Result run(SyncConfig config, Consumer<Progress> progress, long progressEveryUpdates) {
        return run(config, progress, progressEveryUpdates, null, SolveJudge.trainingAverage(config.targetReturn()));
    }

    /**
     * Trains until {@code judge} says solved (asked after every update, with the weights encoded
     * as version = updates only if it asks for them) or the budget. At the end writes the final
     * weights as a checkpoint into {@code checkpointDir} if it is not null, in the parameter
     * server's file format, so {@code eval} and the policy API load a sync run like any other.
     * No optimizer state: a sync run cannot be resumed.
     */
    public static Result run(SyncConfig config, Consumer<Progress> progress, long progressEveryUpdates,
            Path checkpointDir, SolveJudge judge) {
        ModelConfig modelConfig = config.modelConfig();
        VectorEnv env = new VectorEnv(config.env(), config.numEnvs(), config.seed());
        try (ActorCritic model = new ActorCritic(modelConfig, config.seed(), Torch.device(config.device()));
                Optimizer optimizer = Optimizer.create(config.optimizer(), model.parameters(), config.learningRate());
                PolicyInference policy = new PolicyInference(model, config.numEnvs())) {
            TrainStep step = new TrainStep(model, optimizer, config.loss(), config.forwardPath());
            RolloutCollector collector = new RolloutCollector(env, policy, model.distribution(), config.seed() ^ 0x5DEECE66DL);
            Rollout rollout = new Rollout(config.unroll(), config.numEnvs(), modelConfig);
            ReturnTracker returns = new ReturnTracker();
            long start = System.nanoTime();
            long frames = 0;
            long updates = 0;
            while (true) {
                collector.collect(rollout, returns);
                frames += rollout.frames();
                UpdateStats stats = step.update(rollout);
                updates++;
                double seconds = (System.nanoTime() - start) / 1e9;
                if (progressEveryUpdates > 0 && updates % progressEveryUpdates == 0) {
                    progress.accept(new Progress(frames, returns.episodes(), returns.average(), updates, seconds, stats));
                }
                long version = updates;
                boolean solved = judge.solved(seconds, frames, returns.windowFull(), returns.average(),
                        () -> checkpoint(model, version));
                boolean outOfBudget = (config.maxFrames() > 0 && frames >= config.maxFrames())
                        || (config.maxSeconds() > 0 && seconds >= config.maxSeconds());
                if (solved || outOfBudget) {
                    if (checkpointDir != null) {
                        writeCheckpoint(model, updates, checkpointDir);
                    }
                    return new Result(solved, frames, returns.episodes(), returns.average(), updates,
                            step.skippedUpdates(), seconds);
                }
                if (updates % 500 == 0) {
                    // Collect the small Java-side wrappers of native objects now and then.
                    System.gc();
                }
            }
        }
    }

    private static Checkpoint checkpoint(ActorCritic model, long version) {
        return Checkpoint.newBuilder().setParameters(new ParameterCodec(model).encode(version)).build();
    }

    /** The weights as {@code checkpointDir/checkpoint-<version>.ckpt}: a temporary file, fsync, rename. */
    private static void writeCheckpoint(ActorCritic model, long version, Path checkpointDir) {
        Checkpoint checkpoint = checkpoint(model, version);
        Path target = checkpointDir.resolve(CheckpointFiles.fileName(version));
        Path temp = checkpointDir.resolve("." + target.getFileName() + ".tmp");
        try {
            Files.createDirectories(checkpointDir);
            try (FileChannel ch = FileChannel.open(temp, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING,
                    StandardOpenOption.WRITE)) {
                ch.write(ByteBuffer.wrap(CheckpointFiles.frame(checkpoint)));
                ch.force(true);
            }
            Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write the final checkpoint " + target, e);
        }
    }
}
