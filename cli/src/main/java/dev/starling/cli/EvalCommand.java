package dev.starling.cli;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import java.util.logging.Logger;

import dev.starling.common.env.EnvInfo;
import dev.starling.common.env.Environments;
import dev.starling.common.env.VectorEnv;
import dev.starling.common.model.ActorCritic;
import dev.starling.common.model.ModelConfig;
import dev.starling.common.model.ModelSpecs;
import dev.starling.common.model.ParameterCodec;
import dev.starling.common.model.PolicyInference;
import dev.starling.common.model.Torch;
import dev.starling.common.rollout.RolloutCollector;
import dev.starling.proto.v1.Checkpoint;
import dev.starling.ps.CheckpointStore;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/** {@code starling eval}: plays a trained policy from a checkpoint and prints its mean return. */
@Command(name = "eval", mixinStandardHelpOptions = true,
        description = {"Play a checkpoint's policy for N episodes and print the mean return.",
            "%nEach episode runs in its own environment copy (the first episode of each), so short episodes do not bias the mean."})
final class EvalCommand implements Callable<Integer> {

    private static final Logger LOG = Logger.getLogger(EvalCommand.class.getName());

    @Spec
    CommandSpec spec;

    @Option(names = "--checkpoint", required = true, paramLabel = "PATH",
            description = "A checkpoint file, or a folder: its newest valid checkpoint (a run folder works too).")
    Path checkpoint;

    @Option(names = "--env", defaultValue = "masked-cartpole", description = "Environment. Default: ${DEFAULT-VALUE}.",
            completionCandidates = TrainCommand.EnvNames.class)
    String env;

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
        EnvInfo info = Environments.info(env);
        Checkpoint ckpt = load(checkpoint);
        ModelConfig config = ModelSpecs.config(ckpt.getParameters().getSpec());
        if (config.observationSize() != info.observationSize() || config.numActions() != info.numActions()) {
            throw new IllegalArgumentException("checkpoint model takes " + config.observationSize() + " observations and "
                    + config.numActions() + " actions, but " + env + " has " + info.observationSize() + " and "
                    + info.numActions());
        }
        VectorEnv envs = Environments.create(env, episodes, seed);
        double[] returns = new double[episodes];
        try (ActorCritic model = new ActorCritic(config, 0, Torch.device("cpu"));
                PolicyInference policy = new PolicyInference(model, episodes)) {
            new ParameterCodec(model).decode(ckpt.getParameters());
            play(envs, policy, config.numActions(), returns);
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
                Math.sqrt(var / episodes), episodes, env, ckpt.getParameters().getVersion(), greedy ? ", greedy" : "");
        return 0;
    }

    /** Steps every environment until each has finished its first episode. */
    private void play(VectorEnv envs, PolicyInference policy, int numActions, double[] returns) {
        int k = envs.numEnvs();
        float[] obs = new float[k * envs.observationSize()];
        float[] out = new float[k * (numActions + 1)];
        int[] actions = new int[k];
        float[] rewards = new float[k];
        boolean[] dones = new boolean[k];
        boolean[] finished = new boolean[k];
        SplittableRandom rng = new SplittableRandom(seed ^ 0x9E3779B97F4A7C15L);
        envs.reset(obs);
        int remaining = k;
        while (remaining > 0) {
            policy.step(obs, out);
            for (int e = 0; e < k; e++) {
                actions[e] = greedy ? argmax(out, e * (numActions + 1), numActions)
                        : RolloutCollector.sample(out, e * (numActions + 1), numActions, rng);
            }
            envs.step(actions, obs, rewards, dones);
            for (int e = 0; e < k; e++) {
                if (!finished[e]) {
                    returns[e] += rewards[e];
                    if (dones[e]) {
                        finished[e] = true;
                        remaining--;
                    }
                }
            }
            policy.resetWhereDone(dones);
        }
    }

    private static int argmax(float[] x, int offset, int n) {
        int best = 0;
        for (int i = 1; i < n; i++) {
            if (x[offset + i] > x[offset + best]) {
                best = i;
            }
        }
        return best;
    }

    /** A file, or the newest valid checkpoint in a folder (a run folder's checkpoints/ too). Read-only. */
    static Checkpoint load(Path path) throws IOException {
        if (Files.isRegularFile(path)) {
            return CheckpointStore.read(path);
        }
        Path dir = Files.isDirectory(path.resolve("checkpoints")) ? path.resolve("checkpoints") : path;
        if (!Files.isDirectory(dir)) {
            throw new IllegalArgumentException("checkpoint " + path + " does not exist");
        }
        List<Path> files = new CheckpointStore(dir, 1).list();
        for (Path f : files) {
            try {
                return CheckpointStore.read(f);
            } catch (IOException e) {
                LOG.warning("skipping " + f + ": " + e.getMessage());
            }
        }
        throw new IllegalArgumentException("no valid checkpoint in " + dir);
    }
}
