package dev.starling.cli;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;

import dev.starling.common.model.CheckpointFiles;
import dev.starling.env.EnvironmentDefinition;
import dev.starling.envs.VectorEnv;
import dev.starling.envs.VectorStep;
import dev.starling.policy.Batch;
import dev.starling.policy.Policy;
import dev.starling.proto.v1.Checkpoint;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/**
 * {@code starling eval}: plays a trained policy from a checkpoint and prints its mean return. It
 * loads and runs the policy through the application API ({@link Policy}), as a {@link Batch} of
 * one session per episode so each step is one inference call for all episodes.
 */
@Command(name = "eval", mixinStandardHelpOptions = true,
        description = {"Play a checkpoint's policy for N episodes and print the mean return.",
            "%nEach episode runs in its own environment copy (the first episode of each), so short episodes do not bias the mean."})
final class EvalCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Option(names = "--checkpoint", required = true, paramLabel = "PATH",
            description = "A checkpoint file, or a folder: its newest valid checkpoint (a run folder works too).")
    Path checkpoint;

    @Mixin
    EnvironmentOptions environment;

    @Option(names = "--episodes", defaultValue = "100", description = "Episodes to play. Default: ${DEFAULT-VALUE}.")
    int episodes;

    @Option(names = "--seed", defaultValue = "12345", description = "Seed of the environments and sampling. Default: ${DEFAULT-VALUE}.")
    long seed;

    @Option(names = "--greedy", description = "Take the most likely action instead of sampling.")
    boolean greedy;

    @Override
    public Integer call() throws IOException {
        if (episodes < 1 || episodes > 100_000) {
            throw new IllegalArgumentException("--episodes must be in [1, 100000], got " + episodes);
        }
        EnvironmentDefinition env = environment.definition();
        double[] returns = new double[episodes];
        long version;
        try (Policy policy = greedy ? Policy.load(checkpoint)
                : Policy.loadSampling(checkpoint, seed ^ 0x9E3779B97F4A7C15L)) {
            if (!policy.observationSpace().equals(env.observationSpace())
                    || !policy.actionSpace().equals(env.actionSpace())) {
                throw new IllegalArgumentException("the checkpoint's model observes " + policy.observationSpace()
                        + " and acts in " + policy.actionSpace() + ", but " + env.name() + " has "
                        + env.observationSpace() + " and " + env.actionSpace());
            }
            version = policy.version();
            VectorEnv envs = new VectorEnv(env, episodes, seed);
            try (Batch batch = policy.newBatch(episodes)) {
                play(envs, batch, policy.continuous(), returns);
            }
        }
        double mean = 0;
        for (double r : returns) {
            mean += r;
        }
        mean /= episodes;
        double var = 0;
        for (double r : returns) {
            var += (r - mean) * (r - mean);
        }
        PrintWriter out = spec.commandLine().getOut();
        out.printf(Locale.ROOT, "mean return %.2f (std %.2f) over %d episodes of %s, policy version %d%s%n", mean,
                Math.sqrt(var / episodes), episodes, env.name(), version, greedy ? ", greedy" : "");
        return 0;
    }

    /** Steps every environment until each has finished its first episode. */
    private static void play(VectorEnv envs, Batch policy, boolean continuous, double[] returns) {
        int k = envs.numEnvs();
        VectorStep step = envs.newStep();
        boolean[] dones = new boolean[k];
        boolean[] finished = new boolean[k];
        envs.reset(step);
        int remaining = k;
        while (remaining > 0) {
            if (continuous) {
                policy.act(step.observations, step.continuousActions);
            } else {
                policy.act(step.observations, step.discreteActions);
            }
            envs.step(step);
            for (int e = 0; e < k; e++) {
                dones[e] = step.done(e);
                if (!finished[e]) {
                    returns[e] += step.rewards[e];
                    if (dones[e]) {
                        finished[e] = true;
                        remaining--;
                    }
                }
            }
            policy.reset(dones);
        }
    }

    /**
     * A file, or the newest valid checkpoint in a folder (a run folder's checkpoints/ too).
     * Read-only; throws {@link IllegalArgumentException} naming the path if none is valid.
     */
    static Checkpoint load(Path path) throws IOException {
        return CheckpointFiles.readNewestValid(path).checkpoint();
    }
}
