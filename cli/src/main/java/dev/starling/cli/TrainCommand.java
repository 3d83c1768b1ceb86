package dev.starling.cli;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalDouble;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import java.util.function.Function;
import java.util.logging.Logger;

import dev.starling.common.model.ModelConfig;
import dev.starling.common.rl.ForwardPath;
import dev.starling.common.rl.LossConfig;
import dev.starling.common.rl.VTraceConfig;
import dev.starling.env.Discrete;
import dev.starling.env.EnvironmentDefinition;
import dev.starling.learner.SyncConfig;
import dev.starling.learner.SolveJudge;
import dev.starling.learner.SyncTrainer;
import dev.starling.proto.v1.LearnerStatus;
import dev.starling.ps.CheckpointStore;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code starling train}: trains a policy and writes a run folder. */
@Command(name = "train", mixinStandardHelpOptions = true,
        description = {"Train a policy until the target return or the budget; write a run folder.",
            "%nWrites config.properties (the effective options), checkpoints, metrics.csv, training-curve.png, summary.json and logs to the run folder; exit code 0 when solved. Modes: impala (default) starts a parameter server, a learner and --actors actor JVMs on loopback; a3c starts a parameter server that applies the gradients --actors actor JVMs compute; r2d2 starts a parameter server, a replay learner of a dueling LSTM Q-network and --actors actor JVMs playing it epsilon-greedily (discrete actions); sync trains in this process (collect, train, repeat: the baseline).",
            "%nimpala, a3c and r2d2: a role whose process exits is started again with the same arguments and port (see --max-restarts); only a role that keeps dying ends the run. A run folder holds one run: --run-dir on a folder that holds one is refused unless --resume continues it."})
final class TrainCommand implements Callable<Integer> {

    private static final Logger LOG = Logger.getLogger(TrainCommand.class.getName());

    @Spec
    CommandSpec spec;

    @Option(names = "--config", paramLabel = "FILE", description = "Properties file with option defaults (key = option name).")
    Path config;

    @Mixin
    EnvironmentOptions environment;

    @Mixin
    ModelOptions model;

    @Mixin
    UnrollOption t;

    @Mixin
    LossOptions lossOptions;

    @Mixin
    LearnerOptions learning;

    @Mixin
    DoubleBufferOption doubleBuffer;

    @Mixin
    R2d2Options r2d2;

    @Option(names = "--max-staleness", defaultValue = "10",
            description = "a3c: the parameter server drops gradients more than this many versions old. Default: ${DEFAULT-VALUE}.")
    long maxStaleness;

    @Option(names = "--mode", defaultValue = "impala", description = "impala, a3c, r2d2 or sync. Default: ${DEFAULT-VALUE}.")
    String mode;

    @Option(names = "--actors", defaultValue = "1",
            description = "Actor processes (impala, a3c). On a small box one actor with many environments is cheaper per"
                    + " frame than several with few (BENCHMARKS.md). Default: ${DEFAULT-VALUE}.")
    int actors;

    @Option(names = "--num-envs", defaultValue = "64",
            description = "Environments per actor (K); in sync mode, per rollout. Default: ${DEFAULT-VALUE}.")
    int numEnvs;

    @Option(names = "--max-in-flight", defaultValue = "1",
            description = "Chunks (a3c: gradients) each actor may have sent and not yet acked; lower means less policy lag. Default: ${DEFAULT-VALUE}.")
    int maxInFlight;

    @Option(names = "--target-return",
            description = "Solved at this return: once the training average of the last 100 episodes reaches it, the"
                    + " current weights are evaluated as `eval` does and the run stops if they reach it too. Default: the"
                    + " environment's reward threshold (475 for CartPole, -200 for Pendulum); none (run the budget) if it"
                    + " has none.")
    Double targetReturn;

    @Option(names = "--eval-episodes", defaultValue = "" + Evaluation.DEFAULT_EPISODES, paramLabel = "N",
            description = "Episodes of each evaluation that decides solved and the best checkpoint (RUN_DIR/best, what"
                    + " `eval --checkpoint RUN_DIR` loads); the same episodes and seed as `eval`. 0 = no evaluations:"
                    + " solved when the training average reaches the target. Default: ${DEFAULT-VALUE}.")
    int evalEpisodes;

    @Option(names = "--max-frames", defaultValue = "20000000", description = "Environment-step budget (0 = none). Default: ${DEFAULT-VALUE}.")
    long maxFrames;

    @Option(names = "--max-seconds", defaultValue = "600", description = "Wall-time budget (0 = none). Default: ${DEFAULT-VALUE}.")
    double maxSeconds;

    @Option(names = "--soak-minutes", defaultValue = "0", paramLabel = "M",
            description = "impala, a3c: run this many minutes whatever the return (no early stop) and watch every process's"
                    + " memory, threads and open files, and the learner's queue; exits 0 only if all stay flat after the"
                    + " warm-up (half the run, 1 to 5 minutes). Writes soak.csv. Use a steady workload (e.g. --env"
                    + " repeat-previous, fixed-length episodes): the learner's memory follows how many episodes end in"
                    + " a batch, so a policy still learning or collapsing moves it. Default: off.")
    double soakMinutes;

    @Option(names = "--metrics", description = "impala, a3c: every role serves Prometheus metrics at /metrics on a free port, written to <run-dir>/ports/<role>.metrics.")
    boolean metrics;

    @Option(names = "--secure",
            description = "impala, a3c: mutual TLS and a bearer token on every connection between the roles, with a"
                    + " throwaway CA, certificates (localhost, 127.0.0.1; 30 days) and token generated into"
                    + " <run-dir>/tls/.")
    boolean secure;

    @Option(names = "--run-dir", paramLabel = "DIR",
            description = "Run folder; refused if it already holds a run (unless --resume). Default: runs/<env>-<timestamp>.")
    Path runDir;

    @Option(names = "--resume",
            description = "impala, a3c: continue the run in --run-dir from its newest checkpoint with its saved options"
                    + " (config.properties). An option set now that differs from the saved one is refused, except"
                    + " --max-frames, --max-seconds, --target-return, --max-restarts, --metrics and --secure. Frames,"
                    + " episodes, seconds and the curve continue; the budgets count the whole run. Not in sync mode:"
                    + " its checkpoint holds the final weights only, no optimizer state.")
    boolean resume;

    @Option(names = "--checkpoint-replay",
            description = "r2d2: the learner saves its replay to <run-dir>/replay/ when it stops and loads it when it"
                    + " starts again (a restarted role, --resume). Default: off (a restarted learner refills its replay"
                    + " from the actors).")
    boolean checkpointReplay;

    @Option(names = "--max-restarts", defaultValue = "5", paramLabel = "N",
            description = "impala, a3c: a role whose process exits is started again (same arguments and port, after"
                    + " 1 s doubling to 30 s), at most N times within 10 minutes per role; a role that dies once more"
                    + " ends the run. 0 = the first exit ends the run. Default: ${DEFAULT-VALUE}.")
    int maxRestarts;

    /** The summary.json content of the last run (read by {@code bench --modes}). */
    Map<String, Object> lastSummary;

    @Override
    public Integer call() throws Exception {
        validateOwnOptions();
        if (resume) {
            if (runDir == null) {
                throw new IllegalArgumentException("--resume needs --run-dir DIR, the folder of the run to continue");
            }
            SavedOptions.restore(spec, runDir);
            validateOwnOptions();
            if (mode.equals("sync")) {
                throw new IllegalArgumentException("--resume: " + runDir + " holds a sync-mode run, which cannot be"
                        + " resumed: its checkpoint holds the final weights only, no optimizer state");
            }
            if (soakMinutes > 0) {
                // Only a saved soak run gets here (a --soak-minutes above 0 given now conflicts with a saved 0).
                throw new IllegalArgumentException("--resume: " + runDir + " holds a soak run (--soak-minutes), which"
                        + " watches one run from its start and cannot be resumed");
            }
            return cluster(runDir);
        }
        Path dir = runDir != null ? runDir
                : Path.of("runs", environment.definition().name() + "-" + LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss")));
        RunFolder.refuseExistingRun(dir);
        switch (mode) {
            case "sync":
                if (secure) {
                    LOG.warning("--secure has no effect in sync mode: it runs in this process, with no connections");
                }
                return sync(dir);
            case "impala":
            case "a3c":
            case "r2d2":
                return cluster(dir);
            default:
                throw new IllegalStateException("unreachable: --mode was validated");
        }
    }

    /**
     * On --resume: where the run stands (its last metrics row), refused if that already used the
     * budgets; logs the checkpoint the parameter server will continue from.
     */
    private Optional<RunFolder.Row> resumePoint(Path dir) throws IOException {
        List<RunFolder.Row> rows = RunFolder.rows(dir);
        Optional<RunFolder.Row> last = rows.isEmpty() ? Optional.empty() : Optional.of(rows.get(rows.size() - 1));
        if (last.isPresent()) {
            RunFolder.Row r = last.get();
            if (maxFrames > 0 && r.frames() >= maxFrames) {
                throw new IllegalArgumentException(String.format(Locale.ROOT, "--resume: %s already used its budget"
                        + " (%d frames, --max-frames %d): give a larger --max-frames", dir, r.frames(), maxFrames));
            }
            if (maxSeconds > 0 && r.seconds() >= maxSeconds) {
                throw new IllegalArgumentException(String.format(Locale.ROOT, "--resume: %s already used its budget"
                        + " (%.1f s, --max-seconds %.0f): give a larger --max-seconds", dir, r.seconds(), maxSeconds));
            }
        }
        Optional<Long> checkpoint = Optional.empty();
        for (Path file : new CheckpointStore(dir.resolve("checkpoints"), 1).list()) {
            try {
                checkpoint = Optional.of(CheckpointStore.read(file).getParameters().getVersion());
                break;
            } catch (IOException unreadable) {
                // The parameter server skips it too (and says so in its log).
            }
        }
        if (checkpoint.isPresent()) {
            LOG.info(String.format(Locale.ROOT, "resuming %s from checkpoint version %d after %.1f s and %d frames", dir,
                    checkpoint.get(), last.map(RunFolder.Row::seconds).orElse(0.0),
                    last.map(RunFolder.Row::frames).orElse(0L)));
        } else {
            LOG.warning("resuming " + dir + ", which holds no valid checkpoint: the weights start afresh");
        }
        return last;
    }

    /** impala or a3c: the roles as separate JVMs. */
    private int cluster(Path dir) throws Exception {
        boolean a3c = mode.equals("a3c");
        boolean r2d2Mode = mode.equals("r2d2");
        EnvironmentDefinition env = environment.definition();
        // The learner and the parameter server never load environment code: they get the spaces.
        List<String> modelArgs = new ArrayList<>(SpaceOptions.argsFor(env));
        modelArgs.addAll(model.asArgs());
        List<String> unrollArgs = List.of("--unroll", Integer.toString(t.unroll));
        List<String> psArgs = new ArrayList<>();
        List<String> learnerArgs = null;
        if (a3c) {
            psArgs.addAll(modelArgs);
            psArgs.addAll(List.of("--mode", "a3c", "--seed", Long.toString(model.seed), "--optimizer", learning.optimizer,
                    "--learning-rate", Double.toString(learning.learningRate),
                    "--max-staleness", Long.toString(maxStaleness)));
        } else {
            learnerArgs = new ArrayList<>(modelArgs);
            learnerArgs.addAll(unrollArgs);
            learnerArgs.addAll(List.of("--seed", Long.toString(model.seed)));
            learnerArgs.addAll(lossOptions.asArgs(env.rewardScale()));
            learnerArgs.addAll(learning.asArgs());
            if (r2d2Mode) {
                learnerArgs.addAll(List.of("--mode", "r2d2"));
                learnerArgs.addAll(r2d2.learnerArgs());
                Path replayDir = checkpointReplay ? dir.resolve("replay").toAbsolutePath() : r2d2.replayDir;
                if (replayDir != null) {
                    learnerArgs.addAll(List.of("--replay-dir", replayDir.toString()));
                }
            }
        }
        SplittableRandom seeds = new SplittableRandom(model.seed);
        List<List<String>> actorArgs = new ArrayList<>();
        for (int i = 0; i < actors; i++) {
            List<String> a = new ArrayList<>(environment.asArgs());
            a.addAll(model.asArgs());
            a.addAll(unrollArgs);
            a.addAll(List.of("--seed", Long.toString(seeds.split().nextLong()), "--num-envs", Integer.toString(numEnvs),
                    "--max-in-flight", Integer.toString(maxInFlight)));
            a.addAll(doubleBuffer.asArgs());
            if (a3c) {
                a.addAll(List.of("--mode", "a3c"));
                a.addAll(lossOptions.asArgs(env.rewardScale()));
            }
            if (r2d2Mode) {
                a.addAll(List.of("--mode", "r2d2", "--actor-index", Integer.toString(i), "--actor-count",
                        Integer.toString(actors)));
                a.addAll(r2d2.actorArgs());
            }
            actorArgs.add(a);
        }
        // Every role would refuse a bad option only after the ones before it started: check them all first.
        validateRole(new ParameterServerCommand(), psArgs, ParameterServerCommand::config);
        if (learnerArgs != null) {
            validateRole(new LearnerCommand(), learnerArgs, LearnerCommand::config);
        }
        for (List<String> a : actorArgs) {
            validateRole(new ActorCommand(), a, ActorCommand::config);
        }
        Optional<RunFolder.Row> resumedFrom = resume ? resumePoint(dir) : Optional.empty();
        ModelConfig modelConfig = model.config(env.observationSpace(), env.actionSpace());
        if (r2d2Mode) {
            modelConfig = modelConfig.withHead(ModelConfig.Head.DUELING_Q);
        }
        LOG.info(String.format(Locale.ROOT, "effective configuration: mode %s, env %s, actors %d x %d envs (%d in flight),"
                + " T %d, model %s, seed %d, %s, %s%s, target %.1f, max frames %d, max seconds %.0f, run dir %s%s,"
                + " transport %s, max restarts %d per role in 10 min",
                mode, environment.definition().name(), actors, numEnvs, maxInFlight,
                r2d2Mode ? r2d2.chunkSteps() : t.unroll, modelConfig.describe(), model.seed,
                lossOptions, learning, a3c ? ", max staleness " + maxStaleness : r2d2Mode ? ", r2d2 " + r2d2 : "",
                target(), maxFrames, maxSeconds, dir,
                resume ? " (resumed)" : "", secure ? "mutual TLS + bearer token" : "plaintext", maxRestarts));
        PrintWriter out = spec.commandLine().getOut();
        ClusterRun.Outcome outcome;
        try (RunFolder run = resume ? RunFolder.resume(dir) : RunFolder.create(dir);
                ClusterRun cluster = new ClusterRun(new ClusterRun.Plan(dir, psArgs, learnerArgs, actorArgs, metrics, secure,
                        Supervisor.Budget.of(maxRestarts),
                        r2d2Mode ? ClusterRun.Plan.REPLAY_LEARNER_HEAP : ClusterRun.Plan.LEARNER_HEAP))) {
            SavedOptions.save(spec, dir);
            try {
                cluster.start();
            } catch (IOException e) {
                // A role that died or hung at start: its log tail is in the message; no stack trace.
                spec.commandLine().getErr().println("starling train: the cluster did not start: " + e.getMessage());
                return 3;
            }
            Progress progress = new Progress(out);
            boolean soak = soakMinutes > 0;
            SolveJudge judge = soak ? SolveJudge.trainingAverage(Double.POSITIVE_INFINITY) : judge(dir);
            if (judge instanceof EvaluationJudge e) {
                e.warmUp();
            }
            // Heaps and allocator arenas settle within the first minute or two (measured: the learner's
            // RSS stepped up until ~70 s, then stayed within 6 MiB): half the run, 1 to 5 minutes.
            SoakMonitor monitor = new SoakMonitor(Math.min(300, Math.max(60, soakMinutes * 60 / 2)));
            RunTotals totals = resumedFrom.map(RunTotals::after).orElseGet(RunTotals::fresh);
            outcome = cluster.await(judge, soak ? 0 : maxFrames,
                    soak ? soakMinutes * 60 : maxSeconds, Duration.ofSeconds(1), totals, (seconds, s) -> {
                if (soak) {
                    monitor.sample(seconds, cluster.pids(), s.getQueuedChunks());
                }
                double fps = seconds > 0 ? s.getFrames() / seconds : 0;
                run.add(new RunFolder.Row(seconds, s.getFrames(), fps, s.getEpisodes(), s.getAverageReturn(),
                        s.getUpdates(), s.getPolicyVersion(), s.getMeanPolicyLag(), RunFolder.Losses.of(s)));
                progress.show(seconds, s.getFrames(), fps, s.getEpisodes(), s.getAverageReturn(), s.getPolicyVersion(),
                        s.getMeanPolicyLag(), cluster.restarts().values().stream().mapToInt(Integer::intValue).sum());
            });
            progress.done();
            cluster.stopAll();
            LearnerStatus s = outcome.last();
            run.writeCurve(String.format(Locale.ROOT, "%s, mode %s, %d actor%s x %d envs, seed %d", environment.definition().name(), mode, actors,
                    actors == 1 ? "" : "s", numEnvs, model.seed), targetToDraw());
            double fps = outcome.seconds() > 0 ? s.getFrames() / outcome.seconds() : 0;
            Map<String, Object> summary = summary(outcome.solved(), outcome.seconds(), s.getFrames(),
                    s.getAverageReturn(), s.getEpisodes(), s.getUpdates(), s.getPolicyVersion());
            summary.put("mean_policy_lag", s.getMeanPolicyLag());
            addEvaluations(judge, summary);
            summary.put("actors", actors);
            summary.put("envs_per_actor", numEnvs);
            summary.put("restarts", cluster.restarts());
            summary.put("max_restarts", maxRestarts);
            resumedFrom.ifPresent(r -> {
                Map<String, Object> from = new LinkedHashMap<>();
                from.put("seconds", r.seconds());
                from.put("frames", r.frames());
                from.put("episodes", r.episodes());
                summary.put("resumed_from", from);
            });
            summary.put("failure", outcome.failure());
            boolean flat = soak && soakReport(monitor, dir, summary, out);
            run.writeSummary(summary);
            lastSummary = summary;
            if (outcome.failure() != null) {
                out.println("training failed: " + outcome.failure());
                return 3;
            }
            if (soak) {
                return flat ? 0 : 1;
            }
            out.printf(Locale.ROOT, "%s: average return %.1f over the last 100 episodes after %d frames in %.1f s"
                    + " (%.0f frames/s, policy version %d)%s. Run folder: %s%n", outcome.solved() ? "solved" : "not solved",
                    s.getAverageReturn(), s.getFrames(), outcome.seconds(), fps, s.getPolicyVersion(), bestText(judge), dir);
            return outcome.solved() ? 0 : 1;
        }
    }

    /** The target as the report draws it: none when the run has none. */
    private OptionalDouble targetToDraw() {
        return Double.isFinite(target()) ? OptionalDouble.of(target()) : OptionalDouble.empty();
    }

    /** Evaluations decide solved and keep the best weights, unless --eval-episodes 0. */
    private SolveJudge judge(Path dir) {
        return evalEpisodes > 0 ? new EvaluationJudge(dir, environment.source(), target(), evalEpisodes)
                : SolveJudge.trainingAverage(target());
    }

    /** For the last line: the best evaluation and where its weights are, if any ran. */
    private String bestText(SolveJudge judge) {
        return judge instanceof EvaluationJudge e && e.evaluations() > 0
                ? String.format(Locale.ROOT, "; best evaluation %.1f over %d episodes (%d evaluations), weights in best/",
                        e.bestReturn(), evalEpisodes, e.evaluations())
                : "";
    }

    /** What the evaluations found, for summary.json (null when none ran). */
    private void addEvaluations(SolveJudge judge, Map<String, Object> summary) {
        summary.put("eval_episodes", evalEpisodes);
        if (judge instanceof EvaluationJudge e) {
            summary.put("evaluations", e.evaluations());
            summary.put("best_eval_return", Double.isFinite(e.bestReturn()) ? e.bestReturn() : null);
        }
    }

    /** The return that ends the run: --target-return, else the environment's threshold, else never (+infinity). */
    double target() {
        if (targetReturn != null) {
            return targetReturn;
        }
        EnvironmentDefinition env = environment.definition();
        return env.hasRewardThreshold() ? env.rewardThreshold() : Double.POSITIVE_INFINITY;
    }

    /** The options only this command has; throws {@link IllegalArgumentException} naming a bad one. */
    private void validateOwnOptions() {
        if (!List.of("impala", "a3c", "r2d2", "sync").contains(mode)) {
            throw new IllegalArgumentException("unknown --mode '" + mode + "': expected impala, a3c, r2d2 or sync");
        }
        if ((checkpointReplay || r2d2.replayDir != null) && !mode.equals("r2d2")) {
            throw new IllegalArgumentException("--checkpoint-replay and --replay-dir keep an r2d2 learner's replay: use"
                    + " them with --mode r2d2");
        }
        if (checkpointReplay && r2d2.replayDir != null) {
            throw new IllegalArgumentException("--checkpoint-replay keeps the replay in the run folder; --replay-dir"
                    + " somewhere else: give one of them");
        }
        if (mode.equals("r2d2") && !(environment.definition().actionSpace() instanceof Discrete)) {
            throw new IllegalArgumentException("--mode r2d2 needs a discrete action space; "
                    + environment.definition().name() + " has " + environment.definition().actionSpace().describe()
                    + " (use impala or a3c)");
        }
        if (mode.equals("sync") && environment.remote()) {
            throw new IllegalArgumentException("--env-server: environment servers are played by actors; use --mode"
                    + " impala or a3c (sync mode steps in-process environments only)");
        }
        doubleBuffer.resolve();
        environment.definition();
        if (actors < 1 || actors > 256) {
            throw new IllegalArgumentException("--actors must be in [1, 256], got " + actors);
        }
        if (targetReturn != null && !Double.isFinite(targetReturn)) {
            throw new IllegalArgumentException("--target-return must be a finite number, got " + targetReturn);
        }
        if (Double.isInfinite(target()) && maxFrames == 0 && maxSeconds == 0) {
            throw new IllegalArgumentException("environment '" + environment.definition().name() + "' states no reward threshold: give"
                    + " --target-return, --max-frames or --max-seconds, or the run never ends");
        }
        if (maxFrames < 0) {
            throw new IllegalArgumentException("--max-frames must be >= 0 (0 = no limit), got " + maxFrames);
        }
        if (!(maxSeconds >= 0) || Double.isInfinite(maxSeconds)) {
            throw new IllegalArgumentException("--max-seconds must be finite and >= 0 (0 = no limit), got " + maxSeconds);
        }
        if (!(soakMinutes >= 0) || Double.isInfinite(soakMinutes)) {
            throw new IllegalArgumentException("--soak-minutes must be finite and >= 0 (0 = off), got " + soakMinutes);
        }
        if (evalEpisodes < 0 || evalEpisodes > 100_000) {
            throw new IllegalArgumentException("--eval-episodes must be in [0, 100000] (0 = no evaluations), got "
                    + evalEpisodes);
        }
        if (maxRestarts < 0 || maxRestarts > 1000) {
            throw new IllegalArgumentException("--max-restarts must be in [0, 1000], got " + maxRestarts);
        }
    }

    /**
     * Parses {@code args} as the role command would in its own process (same defaults from the
     * environment) and builds its settings, so a value the role would refuse fails here, before
     * any process starts.
     */
    private static <C> void validateRole(C command, List<String> args, Function<C, ?> config)
            throws IOException {
        try {
            Main.commandLine(command, Main.inheritedConfigFile()).parseArgs(args.toArray(String[]::new));
        } catch (CommandLine.ParameterException e) {
            // Only a STARLING_<OPTION> variable the role reads can make its arguments unparseable.
            throw new IllegalArgumentException(e.getMessage(), e);
        }
        config.apply(command);
    }

    /** Prints and records each process's growth after warm-up; true if every one stayed flat and the queue bounded. */
    private boolean soakReport(SoakMonitor monitor, Path dir, Map<String, Object> summary, PrintWriter out)
            throws IOException {
        monitor.writeCsv(dir.resolve("soak.csv"));
        Map<String, Object> soak = new LinkedHashMap<>();
        boolean flat = true;
        for (SoakMonitor.Growth g : monitor.growth()) {
            out.println("soak " + SoakMonitor.describe(g));
            soak.put(g.role(), SoakMonitor.describe(g));
            flat &= g.withinBounds();
        }
        boolean queueBounded = monitor.maxQueuedChunks() <= learning.queueChunks;
        String queue = String.format(Locale.ROOT, "max %d queued chunks (bound %d): %s", monitor.maxQueuedChunks(),
                learning.queueChunks, queueBounded ? "bounded" : "OVER");
        out.println("soak learner queue: " + queue);
        soak.put("learner_queue", queue);
        summary.put("soak", soak);
        return flat && queueBounded && !soak.isEmpty();
    }

    private int sync(Path dir) {
        EnvironmentDefinition env = environment.definition();
        SyncConfig cfg = new SyncConfig(env, numEnvs, t.unroll, model.seed, model.convLayers(), model.encoderSizes,
                model.lstmSize,
                learning.optimizer, learning.learningRate, lossOptions.loss(env.rewardScale()), ForwardPath.FAST, target(),
                maxFrames, maxSeconds, learning.device);
        LOG.info("effective configuration: " + cfg);
        PrintWriter out = spec.commandLine().getOut();
        try (RunFolder run = RunFolder.create(dir)) {
            SavedOptions.save(spec, dir);
            Progress progress = new Progress(out);
            SolveJudge judge = judge(dir);
            SyncTrainer.Result result = SyncTrainer.run(cfg, p -> {
                run.add(new RunFolder.Row(p.seconds(), p.frames(), p.fps(), p.episodes(), p.averageReturn(),
                        p.updates(), p.updates(), 0, RunFolder.Losses.of(p.last())));
                progress.show(p.seconds(), p.frames(), p.fps(), p.episodes(), p.averageReturn(), p.updates(), 0);
            }, 20, dir.resolve("checkpoints"), judge);
            progress.done();
            run.add(new RunFolder.Row(result.seconds(), result.frames(), result.fps(), result.episodes(),
                    result.averageReturn(), result.updates(), result.updates(), 0));
            run.writeCurve(String.format(Locale.ROOT, "%s, mode sync, seed %d", environment.definition().name(), model.seed), targetToDraw());
            Map<String, Object> summary = summary(result.solved(), result.seconds(), result.frames(),
                    result.averageReturn(), result.episodes(), result.updates(), result.updates());
            summary.put("skipped_updates", result.skippedUpdates());
            addEvaluations(judge, summary);
            summary.put("config", cfg.toString());
            run.writeSummary(summary);
            lastSummary = summary;
            out.printf(Locale.ROOT, "%s: average return %.1f over the last 100 episodes after %d frames in %.1f s"
                    + " (%.0f frames/s)%s. Run folder: %s%n", result.solved() ? "solved" : "not solved",
                    result.averageReturn(), result.frames(), result.seconds(), result.fps(), bestText(judge), dir);
            return result.solved() ? 0 : 1;
        }
    }

    /** The fields every summary.json has, in both modes. */
    private Map<String, Object> summary(boolean solved, double seconds, long frames, double averageReturn,
            long episodes, long updates, long policyVersion) {
        Map<String, Object> summary = new LinkedHashMap<>();
        summary.put("solved", solved);
        summary.put("wall_seconds", seconds);
        summary.put("frames", frames);
        summary.put("fps", seconds > 0 ? frames / seconds : 0.0);
        summary.put("final_avg_return", averageReturn);
        summary.put("episodes", episodes);
        summary.put("updates", updates);
        summary.put("policy_version", policyVersion);
        summary.put("mode", mode);
        summary.put("env", environment.definition().name());
        summary.put("target_return", target());
        summary.put("provenance", Provenance.all());
        return summary;
    }
}
