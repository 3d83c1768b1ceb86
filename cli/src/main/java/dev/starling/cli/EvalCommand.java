package dev.starling.cli;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;

import dev.starling.common.model.CheckpointFiles;
import dev.starling.env.EnvironmentDefinition;
import dev.starling.proto.v1.Checkpoint;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/**
 * {@code starling eval}: plays a trained policy from a checkpoint and prints its mean return. It
 * loads and runs the policy through the application API ({@link dev.starling.policy.Policy}) as
 * {@link Evaluation} does, the measurement {@code train} uses to decide that a run is solved.
 */
@Command(name = "eval", mixinStandardHelpOptions = true,
        description = {"Play a checkpoint's policy for N episodes and print the mean return.",
            "%nEach episode runs in its own environment copy (the first episode of each), so short episodes do not bias the mean."})
final class EvalCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Option(names = "--checkpoint", required = true, paramLabel = "PATH",
            description = "A checkpoint file, a folder (its newest valid checkpoint), or a run folder: its best checkpoint"
                    + " (the highest evaluation during training) if it has one, else its newest, and the environment"
                    + " the run trained on unless --env, --env-jar or --env-server is given. The newest of a run:"
                    + " RUN_DIR/checkpoints.")
    Path checkpoint;

    @Mixin
    EnvironmentOptions environment;

    @Option(names = "--episodes", defaultValue = "" + Evaluation.DEFAULT_EPISODES,
            description = "Episodes to play. Default: ${DEFAULT-VALUE}.")
    int episodes;

    @Option(names = "--seed", defaultValue = "" + Evaluation.DEFAULT_SEED,
            description = "Seed of the environments and sampling. Default: ${DEFAULT-VALUE}.")
    long seed;

    @Option(names = "--greedy", description = "Take the most likely action instead of sampling.")
    boolean greedy;

    @Override
    public Integer call() throws IOException {
        if (episodes < 1 || episodes > 100_000) {
            throw new IllegalArgumentException("--episodes must be in [1, 100000], got " + episodes);
        }
        if (Files.isDirectory(checkpoint)) {
            environment.defaultToRun(checkpoint);
        }
        EnvironmentDefinition env = environment.definition();
        Evaluation.Result r = Evaluation.run(checkpoint, environment.source(), episodes, seed, greedy);
        PrintWriter out = spec.commandLine().getOut();
        out.printf(Locale.ROOT, "mean return %.2f (std %.2f) over %d episodes of %s, policy version %d%s%n", r.mean(),
                r.std(), episodes, env.name(), r.version(), greedy ? ", greedy" : "");
        return 0;
    }

    /**
     * A file, or the newest valid checkpoint in a folder (a run folder's checkpoints/ too).
     * Read-only; throws {@link IllegalArgumentException} naming the path if none is valid.
     */
    static Checkpoint load(Path path) throws IOException {
        return CheckpointFiles.readNewestValid(path).checkpoint();
    }
}
