package dev.starling.cli;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.logging.Logger;

import dev.starling.common.env.Environments;
import dev.starling.common.rl.ForwardPath;
import dev.starling.common.rl.LossConfig;
import dev.starling.common.rl.VTraceConfig;
import dev.starling.learner.SyncConfig;
import dev.starling.learner.SyncTrainer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/** {@code starling train}: trains a policy and writes a run folder. */
@Command(name = "train", mixinStandardHelpOptions = true,
        description = {"Train an LSTM actor-critic until the target return or the budget.",
            "Mode sync: one process collects a rollout, trains on it, repeats (the synchronous baseline)."})
final class TrainCommand implements Callable<Integer> {

    private static final Logger LOG = Logger.getLogger(TrainCommand.class.getName());

    @Spec
    CommandSpec spec;

    @Option(names = "--config", paramLabel = "FILE", description = "Properties file with option defaults (key = option name).")
    Path config;

    @Option(names = "--env", defaultValue = "masked-cartpole",
            description = "Environment: ${COMPLETION-CANDIDATES}. Default: ${DEFAULT-VALUE}.",
            completionCandidates = EnvNames.class)
    String env;

    @Option(names = "--mode", defaultValue = "sync", description = "Training mode: sync. Default: ${DEFAULT-VALUE}.")
    String mode;

    @Option(names = "--seed", defaultValue = "1", description = "Root seed. Default: ${DEFAULT-VALUE}.")
    long seed;

    @Option(names = "--num-envs", defaultValue = "32", description = "Environments stepped together (K). Default: ${DEFAULT-VALUE}.")
    int numEnvs;

    @Option(names = "--unroll", defaultValue = "32", description = "Steps per rollout / TBPTT length (T). Default: ${DEFAULT-VALUE}.")
    int unroll;

    @Option(names = "--encoder-size", defaultValue = "64", description = "Encoder width. Default: ${DEFAULT-VALUE}.")
    int encoderSize;

    @Option(names = "--lstm-size", defaultValue = "128", description = "LSTM width. Default: ${DEFAULT-VALUE}.")
    int lstmSize;

    @Option(names = "--optimizer", defaultValue = "adam", description = "adam or rmsprop. Default: ${DEFAULT-VALUE}.")
    String optimizer;

    @Option(names = "--learning-rate", defaultValue = "0.001", description = "Default: ${DEFAULT-VALUE}.")
    double learningRate;

    @Option(names = "--discount", defaultValue = "0.99", description = "Default: ${DEFAULT-VALUE}.")
    double discount;

    @Option(names = "--entropy-cost", defaultValue = "0.01", description = "Default: ${DEFAULT-VALUE}.")
    double entropyCost;

    @Option(names = "--baseline-cost", defaultValue = "0.5", description = "Default: ${DEFAULT-VALUE}.")
    double baselineCost;

    @Option(names = "--max-grad-norm", defaultValue = "40", description = "Global-norm gradient clip. Default: ${DEFAULT-VALUE}.")
    double maxGradNorm;

    @Option(names = "--reward-scale", description = "Reward multiplier. Default: the environment's (0.05 for CartPole).")
    Double rewardScale;

    @Option(names = "--target-return", defaultValue = "475",
            description = "Stop when the average of the last 100 episodes reaches this. Default: ${DEFAULT-VALUE}.")
    double targetReturn;

    @Option(names = "--max-frames", defaultValue = "20000000", description = "Environment-step budget (0 = none). Default: ${DEFAULT-VALUE}.")
    long maxFrames;

    @Option(names = "--max-seconds", defaultValue = "600", description = "Wall-time budget (0 = none). Default: ${DEFAULT-VALUE}.")
    double maxSeconds;

    @Option(names = "--run-dir", paramLabel = "DIR", description = "Run folder. Default: runs/<env>-<timestamp>.")
    Path runDir;

    @Option(names = "--device", defaultValue = "cpu", description = "auto, cpu or cuda (learner). Default: ${DEFAULT-VALUE}.")
    String device;

    @Override
    public Integer call() {
        if (!mode.equals("sync")) {
            throw new IllegalArgumentException("unknown --mode '" + mode + "': expected sync");
        }
        double scale = rewardScale != null ? rewardScale : Environments.info(env).rewardScale();
        LossConfig loss = new LossConfig(new VTraceConfig(discount, 1.0, 1.0, 1.0), baselineCost, entropyCost,
                maxGradNorm, scale, true);
        SyncConfig cfg = new SyncConfig(env, numEnvs, unroll, seed, encoderSize, lstmSize, optimizer, learningRate,
                loss, ForwardPath.FAST, targetReturn, maxFrames, maxSeconds, device);
        Path dir = runDir != null ? runDir
                : Path.of("runs", env + "-" + LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss")));
        LOG.info("effective configuration: " + cfg);
        PrintWriter out = spec.commandLine().getOut();
        try (RunFolder run = new RunFolder(dir)) {
            Progress progress = new Progress(out);
            SyncTrainer.Result result = SyncTrainer.run(cfg, p -> {
                run.add(new RunFolder.Row(p.seconds(), p.frames(), p.fps(), p.episodes(), p.averageReturn(),
                        p.updates(), p.updates(), 0));
                progress.show(p.seconds(), p.frames(), p.fps(), p.episodes(), p.averageReturn(), p.updates(), 0);
            }, 20);
            progress.done();
            run.add(new RunFolder.Row(result.seconds(), result.frames(), result.fps(), result.episodes(),
                    result.averageReturn(), result.updates(), result.updates(), 0));
            run.writeCurve(String.format(Locale.ROOT, "%s, mode %s, seed %d", env, mode, seed));
            Map<String, Object> summary = new LinkedHashMap<>();
            summary.put("solved", result.solved());
            summary.put("wall_seconds", result.seconds());
            summary.put("frames", result.frames());
            summary.put("fps", result.fps());
            summary.put("final_avg_return", result.averageReturn());
            summary.put("episodes", result.episodes());
            summary.put("updates", result.updates());
            summary.put("skipped_updates", result.skippedUpdates());
            summary.put("policy_version", result.updates());
            summary.put("mode", mode);
            summary.put("env", env);
            summary.put("target_return", targetReturn);
            summary.put("config", cfg.toString());
            summary.put("provenance", Provenance.all());
            run.writeSummary(summary);
            out.printf(Locale.ROOT, "%s: average return %.1f over the last 100 episodes after %d frames in %.1f s"
                    + " (%.0f frames/s). Run folder: %s%n", result.solved() ? "solved" : "not solved",
                    result.averageReturn(), result.frames(), result.seconds(), result.fps(), dir);
            return result.solved() ? 0 : 1;
        }
    }

    /** Tab-completion and help text list the registered environments. */
    static final class EnvNames implements Iterable<String> {
        @Override
        public java.util.Iterator<String> iterator() {
            return Environments.names().iterator();
        }
    }
}
