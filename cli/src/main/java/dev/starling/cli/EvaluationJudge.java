package dev.starling.cli;

import java.io.BufferedWriter;
import java.io.IOException;
import java.io.Reader;
import java.io.UncheckedIOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Locale;
import java.util.Properties;
import java.util.function.Supplier;
import java.util.logging.Logger;

import dev.starling.common.model.CheckpointFiles;
import dev.starling.common.model.Torch;
import dev.starling.envs.EnvironmentSource;
import dev.starling.envs.remote.EnvironmentServerException;
import dev.starling.learner.SolveJudge;
import dev.starling.proto.v1.Checkpoint;
import dev.starling.ps.CheckpointStore;

/**
 * "Solved" means what {@code eval} sees. Once the training average of a full window reaches the
 * target, the current weights are evaluated exactly as {@code ./starling eval --checkpoint
 * RUN_DIR} does ({@link Evaluation}: the same episodes, seed and sampling), and only an
 * evaluation at or above the target solves the run. The weights of the highest evaluation so
 * far are kept as the run's best checkpoint ({@code RUN_DIR/best/}), which {@code eval} and the
 * policy API load from a run folder; the parameter server's {@code checkpoints/} keep the last.
 *
 * <p>Below the target, a new high of the training average is evaluated too (at most every
 * {@value #NEW_HIGH_GAP_SECONDS} s), so a run that never solves still leaves its best weights.
 * Evaluating costs wall time that training could use: the next evaluation waits at least as long
 * as the last one took, so at most half the time goes to it. Each evaluation is one row of
 * {@code RUN_DIR/evaluations.csv}. Not thread-safe; one judge per run.
 */
final class EvaluationJudge implements SolveJudge {

    private static final Logger LOG = Logger.getLogger(EvaluationJudge.class.getName());
    static final String EVALUATIONS = "evaluations.csv";
    static final String HEADER = "seconds,frames,policy_version,training_average,eval_return,best";
    /** Beside the best checkpoint: its evaluation (read back on --resume, so a worse one never replaces it). */
    static final String BEST_RECORD = "evaluation.properties";
    static final double NEW_HIGH_GAP_SECONDS = 30;

    private final Path runDir;
    private final EnvironmentSource env;
    private final double target;
    private final int episodes;
    private final CheckpointStore best;
    private final CheckpointStore candidates;
    private double bestReturn = Double.NEGATIVE_INFINITY;
    private double highestAverageEvaluated = Double.NEGATIVE_INFINITY;
    private long lastVersion = -1;
    private long lastEndNanos;
    private double lastSeconds;
    private int evaluations;

    EvaluationJudge(Path runDir, EnvironmentSource env, double target, int episodes) {
        if (episodes < 1) {
            throw new IllegalArgumentException("an evaluation needs at least one episode, got " + episodes);
        }
        this.runDir = runDir;
        this.env = env;
        this.target = target;
        this.episodes = episodes;
        this.best = new CheckpointStore(runDir.resolve(CheckpointFiles.RUN_FOLDER_BEST), 1);
        this.candidates = new CheckpointStore(runDir.resolve("evaluating"), 1);
        Path record = best.dir().resolve(BEST_RECORD);
        if (Files.exists(record)) {
            Properties p = new Properties();
            try (Reader in = Files.newBufferedReader(record, StandardCharsets.UTF_8)) {
                p.load(in);
                bestReturn = Double.parseDouble(p.getProperty("eval_return"));
            } catch (IOException | RuntimeException e) {
                LOG.warning("cannot read " + record + " (" + e + "): the next evaluation replaces the best checkpoint");
            }
        }
    }

    /**
     * Loads libtorch in this process on a background thread now (several seconds on a small
     * machine), so the first evaluation, usually the one that decides solved, does not pay it.
     */
    void warmUp() {
        Thread t = new Thread(Torch::init, "starling-evaluation-warm-up");
        t.setDaemon(true);
        t.start();
    }

    /** Evaluations run so far. */
    int evaluations() {
        return evaluations;
    }

    /** The highest evaluation so far (this session or, on resume, an earlier one); -infinity if none. */
    double bestReturn() {
        return bestReturn;
    }

    @Override
    public boolean solved(double seconds, long frames, boolean windowFull, double trainingAverage,
            Supplier<Checkpoint> weights) {
        if (!windowFull) {
            return false;
        }
        long now = System.nanoTime();
        double sinceLast = evaluations == 0 ? Double.POSITIVE_INFINITY : (now - lastEndNanos) / 1e9;
        boolean atTarget = trainingAverage >= target;
        boolean newHigh = trainingAverage > highestAverageEvaluated && sinceLast >= NEW_HIGH_GAP_SECONDS;
        if (!(atTarget || newHigh) || sinceLast < lastSeconds) {
            return false;
        }
        Checkpoint candidate = weights.get();
        if (candidate == null || candidate.getParameters().getVersion() == lastVersion) {
            return false;
        }
        long version = candidate.getParameters().getVersion();
        Evaluation.Result r;
        try {
            Path file = candidates.write(candidate);
            r = Evaluation.run(file, env, episodes, Evaluation.DEFAULT_SEED, false);
            Files.delete(file);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot evaluate weights version " + version + " in " + candidates.dir(), e);
        } catch (EnvironmentServerException e) {
            // Its episodes were cut: no verdict. The next candidate is evaluated when the server is back.
            LOG.warning("evaluation of weights version " + version + " abandoned: " + e.getMessage());
            lastEndNanos = System.nanoTime();
            return false;
        }
        lastEndNanos = System.nanoTime();
        lastSeconds = (lastEndNanos - now) / 1e9;
        lastVersion = version;
        evaluations++;
        highestAverageEvaluated = Math.max(highestAverageEvaluated, trainingAverage);
        boolean isBest = r.mean() > bestReturn;
        if (isBest) {
            keepAsBest(candidate, r, seconds, frames);
        }
        record(seconds, frames, version, trainingAverage, r.mean(), isBest);
        LOG.info(String.format(Locale.ROOT, "evaluated weights version %d: mean return %.1f (std %.1f) over %d episodes"
                + " in %.2f s (training average %.1f, target %.1f)%s", version, r.mean(), r.std(), episodes, lastSeconds,
                trainingAverage, target, isBest ? "; kept as the best checkpoint" : ""));
        return r.mean() >= target;
    }

    private void keepAsBest(Checkpoint candidate, Evaluation.Result r, double seconds, long frames) {
        try {
            best.write(candidate);
            Properties p = new Properties();
            p.setProperty("policy_version", Long.toString(candidate.getParameters().getVersion()));
            p.setProperty("eval_return", Double.toString(r.mean()));
            p.setProperty("eval_std", Double.toString(r.std()));
            p.setProperty("episodes", Integer.toString(r.episodes()));
            p.setProperty("seed", Long.toString(Evaluation.DEFAULT_SEED));
            p.setProperty("seconds", Double.toString(seconds));
            p.setProperty("frames", Long.toString(frames));
            try (Writer out = Files.newBufferedWriter(best.dir().resolve(BEST_RECORD), StandardCharsets.UTF_8)) {
                p.store(out, "the evaluation of the best checkpoint beside this file (as ./starling eval measures it)");
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot keep the best checkpoint in " + best.dir(), e);
        }
        bestReturn = r.mean();
    }

    private void record(double seconds, long frames, long version, double trainingAverage, double evalReturn,
            boolean isBest) {
        Path csv = runDir.resolve(EVALUATIONS);
        try {
            boolean fresh = !Files.exists(csv);
            try (BufferedWriter out = Files.newBufferedWriter(csv, StandardCharsets.UTF_8, StandardOpenOption.CREATE,
                    StandardOpenOption.APPEND)) {
                if (fresh) {
                    out.write(HEADER);
                    out.newLine();
                }
                out.write(String.format(Locale.ROOT, "%.3f,%d,%d,%.4f,%.4f,%b", seconds, frames, version,
                        trainingAverage, evalReturn, isBest));
                out.newLine();
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot append to " + csv, e);
        }
    }
}
