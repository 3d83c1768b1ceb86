package dev.starling.bench;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;

import dev.starling.common.model.ActorCritic;
import dev.starling.common.model.ModelConfig;
import dev.starling.common.model.ModelSpecs;
import dev.starling.common.model.PolicyInference;
import dev.starling.common.model.Torch;
import dev.starling.common.rl.ForwardPath;
import dev.starling.common.rl.LossConfig;
import dev.starling.common.rl.Optimizer;
import dev.starling.common.rl.Rollout;
import dev.starling.common.rl.TrainStep;
import dev.starling.common.rollout.EpisodeBuffer;
import dev.starling.common.rollout.ReturnTracker;
import dev.starling.common.rollout.RolloutCollector;
import dev.starling.env.EnvironmentDefinition;
import dev.starling.envs.EnvironmentRegistry;
import dev.starling.envs.VectorEnv;
import dev.starling.transport.wire.ChunkCodec;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/**
 * Learner update cost (fast split-at-done path vs the reference step loop, with peak memory and
 * the achieved GFLOP/s against libtorch's own matrix multiply) and actor speed (env steps/s and
 * where the time goes), measured side by side in one process on one libtorch thread. Batches
 * are real masked-CartPole rollouts from an untrained policy (short episodes: many dones, the
 * hard case for the split path). Reports; asserts nothing.
 *
 * <p>Runs on the calling thread and owns every native object it creates (each closed before
 * the method that made it returns). Not for concurrent use: libtorch's thread count is global.
 */
public final class FoundationBenchmark {

    static final String LEARNER = "1 learner update";
    static final String ACTOR = "2 actor inference";

    /** The design target of the split-at-done path, stated at T=32, B=64, LSTM 128. */
    /** Issue 14's targets for the fast path at T=32: this many times the loop, and this share of libtorch's mm rate. */
    static final double SPEED_UP_TARGET = 2.0;
    static final double MM_SHARE_TARGET = 0.8;
    static final int TARGET_UNROLL = 32;
    static final int TARGET_ROWS = 64;
    static final int TARGET_HIDDEN = 128;

    /**
     * How the name of the fast update at the design configuration (T=32, B=64, LSTM 128) begins;
     * its value is the learner's samples/s fed from memory.
     */
    public static final String CLUSTER_SHAPED_UPDATE = "learner update fast T=" + TARGET_UNROLL + " B=" + TARGET_ROWS
            + " LSTM " + TARGET_HIDDEN;

    /** The LSTM-shaped product of the GFLOP/s comparison: B x (E + H) times (E + H) x 4H. */
    static final int[] LSTM_SHAPED_MM = {64, 192, 512};

    private static final String ENV = "masked-cartpole";
    private static final int ENCODER = 64;
    private static final double MIB = 1024.0 * 1024.0;
    /** Small matrix products are timed in batches of at least this long, so timer cost vanishes. */
    private static final long MIN_MM_SAMPLE_NANOS = 2_000_000L;

    /**
     * How long and how large each measurement is.
     *
     * @param rows B, sequences per learner batch
     * @param unrolls the T of each learner configuration; the first is the GFLOP/s reference
     * @param hiddens the LSTM sizes of each learner configuration; the first is the reference
     * @param warmupPairs untimed fast/loop pairs before the timed ones
     * @param timedPairs timed fast/loop pairs (medians over these)
     * @param memoryUpdates updates in each of the fast-only and loop-only memory phases
     * @param mmCube n of the n x n x n matrix product
     * @param mmSamples timed samples of each matrix product (median over these)
     * @param actorEnvs the K values of the actor measurement
     * @param actorHidden the actor's LSTM size
     * @param actorUnroll T of an actor chunk
     * @param actorWarmupChunks untimed chunks of each actor path before the timed ones
     * @param actorNanos time budget of the timed actor chunks, per K
     */
    record Settings(int rows, int[] unrolls, int[] hiddens, int warmupPairs, int timedPairs, int memoryUpdates,
            int mmCube, int mmSamples, int[] actorEnvs, int actorHidden, int actorUnroll, int actorWarmupChunks,
            long actorNanos) {

        static final Settings QUICK = new Settings(64, new int[] {32, 80}, new int[] {128, 256}, 2, 9, 3, 2048, 5,
                new int[] {1, 16, 64, 256}, 128, 32, 10, 2_000_000_000L);
        static final Settings FULL = new Settings(64, new int[] {32, 80}, new int[] {128, 256}, 5, 31, 6, 2048, 9,
                new int[] {1, 16, 64, 256}, 128, 32, 30, 6_000_000_000L);
    }

    private FoundationBenchmark() {
    }

    /** Runs everything; {@code quick} shortens each measurement (well under 90 s on 2 cores). */
    public static List<BenchLine> run(boolean quick, PrintStream log) {
        return run(quick ? Settings.QUICK : Settings.FULL, log);
    }

    static List<BenchLine> run(Settings s, PrintStream log) {
        Torch.init();
        List<BenchLine> lines = new ArrayList<>();
        UpdateResult reference = null;
        for (int unroll : s.unrolls()) {
            for (int hidden : s.hiddens()) {
                UpdateResult r = learnerUpdates(unroll, s.rows(), hidden, s);
                if (reference == null) {
                    reference = r;
                }
                if (r.skipped() > 0) {
                    log.println("warning: " + r.skipped() + " updates of T=" + unroll + " LSTM " + hidden
                            + " were skipped (non-finite loss); their times are not representative");
                }
                emit(lines, r.lines(), log);
                // The Java-side wrappers of the scopes' tensors are garbage now.
                System.gc();
            }
        }
        MatmulResult cube = matmul(s.mmCube(), s.mmCube(), s.mmCube(), s.mmSamples());
        MatmulResult lstmShaped = matmul(LSTM_SHAPED_MM[0], LSTM_SHAPED_MM[1], LSTM_SHAPED_MM[2], s.mmSamples());
        emit(lines, gflopLines(reference, cube, lstmShaped), log);
        if (reference.dones() > 0) {
            double noEnds = fastWithoutEpisodeEndsMs(reference.unroll(), reference.rows(), reference.hidden(), s);
            emit(lines, noEpisodeEndLines(reference, noEnds, lstmShaped), log);
        }
        for (int k : s.actorEnvs()) {
            ActorResult a = actorChunks(k, s.actorHidden(), s.actorUnroll(), s.actorWarmupChunks(), s.actorNanos());
            emit(lines, a.lines(), log);
            System.gc();
        }
        return lines;
    }

    private static void emit(List<BenchLine> lines, List<BenchLine> add, PrintStream log) {
        for (BenchLine l : add) {
            lines.add(l);
            log.println(l.format());
        }
    }

    // ---------------------------------------------------------------- learner update

    /**
     * One learner configuration.
     *
     * @param dones episode ends in the batch (each one splits a sequence for the fast path)
     * @param fastMs median update time of the fast path
     * @param loopMs median update time of the loop, measured alternately with the fast path
     * @param fastPeakMiB peak RSS growth over fast-only updates
     * @param loopPeakMiB peak RSS growth over loop-only updates
     * @param fastFaults minor page faults per fast update (NaN where /proc is not readable): each
     *     large buffer glibc maps afresh faults in once per page
     * @param loopFaults minor page faults per loop update
     * @param skipped updates skipped by the non-finite guard (should be 0)
     */
    record UpdateResult(int unroll, int rows, int hidden, int dones, double fastMs, double loopMs, double fastPeakMiB,
            double loopPeakMiB, double fastFaults, double loopFaults, long skipped) {

        double speedUp() {
            return loopMs / fastMs;
        }

        /** Fast, loop, speed-up (with the design target on the design configuration only), memory. */
        List<BenchLine> lines() {
            String config = String.format(Locale.ROOT, "T=%d B=%d LSTM %d", unroll, rows, hidden);
            BenchLine ratio = BenchLine.of(LEARNER, String.format(Locale.ROOT, "fast/loop speed-up T=%d LSTM %d",
                    unroll, hidden), Double.NaN, speedUp(), "x");
            if (unroll == TARGET_UNROLL && rows == TARGET_ROWS && hidden == TARGET_HIDDEN) {
                ratio = ratio.atLeast(SPEED_UP_TARGET);
            }
            return List.of(
                    updateLine("fast", config, fastMs),
                    updateLine("loop", config, loopMs),
                    ratio,
                    BenchLine.of(LEARNER, "peak RSS growth, fast-only updates " + config, Double.NaN, fastPeakMiB, "MiB"),
                    BenchLine.of(LEARNER, "peak RSS growth, loop-only updates " + config, Double.NaN, loopPeakMiB, "MiB"),
                    BenchLine.of(LEARNER, "minor page faults per fast update " + config, Double.NaN, fastFaults, "faults"),
                    BenchLine.of(LEARNER, "minor page faults per loop update " + config, Double.NaN, loopFaults, "faults"));
        }

        private BenchLine updateLine(String path, String config, double ms) {
            String name = String.format(Locale.ROOT, "learner update %s %s (%d dones)", path, config, dones);
            return BenchLine.of(LEARNER, name, ms, unroll * rows / (ms / 1000), "samples/s");
        }
    }

    /**
     * One configuration on one real batch: first a fast and a loop update (first-call set-up),
     * then the memory phases, then the timed phase.
     *
     * <p>Memory: a fast-only phase, then a loop-only phase, of {@code memoryUpdates} updates
     * each. Before each phase {@code malloc_trim} hands freed heap pages back to the system, then
     * the process RSS ({@link Pointer#physicalBytes()}) is read as the baseline and again after
     * every update; the figure is the highest reading minus the baseline. It counts what stays
     * resident after an update (the native heap grown to fit the update's tensors, and any Java
     * heap growth), not tensors freed within the update and unmapped at once, so it is a lower
     * bound of the true peak. Models and batch exist before the baseline and are not counted.
     *
     * <p>Time: fast and loop alternate update by update on the same batch so that machine noise
     * hits both alike; the medians are reported.
     */
    static UpdateResult learnerUpdates(int unroll, int rows, int hidden, Settings s) {
        ModelConfig config = benchModel(hidden);
        try (ActorCritic fastModel = new ActorCritic(config, 1, Torch.device("cpu"));
                ActorCritic loopModel = new ActorCritic(config, 1, Torch.device("cpu"));
                Optimizer fastAdam = Optimizer.create("adam", fastModel.parameters(), 1e-4);
                Optimizer loopAdam = Optimizer.create("adam", loopModel.parameters(), 1e-4)) {
            Rollout batch = realBatch(fastModel, unroll, rows);
            LossConfig loss = LossConfig.defaults().withRewardScale(0.05);
            TrainStep fast = new TrainStep(fastModel, fastAdam, loss, ForwardPath.FAST);
            TrainStep loop = new TrainStep(loopModel, loopAdam, loss, ForwardPath.LOOP);
            fast.update(batch);
            loop.update(batch);
            double fastPeak = peakGrowthMiB(fast, batch, s.memoryUpdates());
            double loopPeak = peakGrowthMiB(loop, batch, s.memoryUpdates());
            double[] fastMs = new double[s.timedPairs()];
            double[] loopMs = new double[s.timedPairs()];
            long fastFaults = 0;
            long loopFaults = 0;
            for (int i = 0; i < s.warmupPairs() + s.timedPairs(); i++) {
                long fa = minorFaults();
                long a = System.nanoTime();
                fast.update(batch);
                long b = System.nanoTime();
                long fb = minorFaults();
                loop.update(batch);
                long c = System.nanoTime();
                long fc = minorFaults();
                if (i >= s.warmupPairs()) {
                    fastMs[i - s.warmupPairs()] = (b - a) / 1e6;
                    loopMs[i - s.warmupPairs()] = (c - b) / 1e6;
                    fastFaults += fb - fa;
                    loopFaults += fc - fb;
                }
            }
            boolean faultsKnown = minorFaults() >= 0;
            int dones = 0;
            for (boolean d : batch.dones) {
                dones += d ? 1 : 0;
            }
            return new UpdateResult(unroll, rows, hidden, dones, median(fastMs), median(loopMs), fastPeak, loopPeak,
                    faultsKnown ? (double) fastFaults / s.timedPairs() : Double.NaN,
                    faultsKnown ? (double) loopFaults / s.timedPairs() : Double.NaN,
                    fast.skippedUpdates() + loop.skippedUpdates());
        }
    }

    /**
     * This process's minor page faults so far (field 10 of {@code /proc/self/stat}), or -1 where
     * it cannot be read. Shows whether large libtorch buffers are mapped afresh every update.
     */
    static long minorFaults() {
        try {
            String stat = Files.readString(Path.of("/proc/self/stat"));
            // The command name (field 2) may hold spaces: count fields after its closing parenthesis.
            String[] f = stat.substring(stat.lastIndexOf(')') + 2).trim().split(" ");
            return Long.parseLong(f[7]);
        } catch (IOException | RuntimeException e) {
            return -1;
        }
    }

    /** Highest RSS after any of {@code updates} updates, minus the RSS just before them, in MiB (>= 0). */
    private static double peakGrowthMiB(TrainStep step, Rollout batch, int updates) {
        Pointer.trimMemory();
        long base = Pointer.physicalBytes();
        long peak = base;
        for (int i = 0; i < updates; i++) {
            step.update(batch);
            peak = Math.max(peak, Pointer.physicalBytes());
        }
        return (peak - base) / MIB;
    }

    // ---------------------------------------------------------------- GFLOP/s

    /**
     * Floating-point operations of one learner update, counted analytically (one multiply-add =
     * 2 FLOPs). The forward pass covers (T+1)·B row-steps (x_0 .. x_T; x_T gives the bootstrap
     * value), each costing
     *
     * <pre>
     *   encoder Linear  2·obs·E
     *   LSTM (4 gates)  2·(E + H)·4H      input and recurrent products
     *   head Linear     2·H·(A + 1)
     * </pre>
     *
     * and backward costs about twice the forward (gradients for inputs and for weights), so
     * {@code total = 3 · (T+1) · B · (2·obs·E + 8·(E+H)·H + 2·H·(A+1))}. Not counted: biases,
     * activations and gate arithmetic (O(H) per row-step against O(H²)), the loss, V-trace (in
     * Java), clipping and the optimizer (O(parameters) per update), and the padding the fast path
     * adds when it groups segments of unequal length: this is useful work, not work done.
     */
    static double updateFlops(ModelConfig c, int unroll, int rows) {
        double e = c.encoderSize();
        double h = c.lstmSize();
        double encoder = 0;
        double in = c.observationSize();
        for (int width : c.encoderSizes()) {
            encoder += 2 * in * width;
            in = width;
        }
        double perRowStep = encoder + 2 * (e + h) * 4 * h + 2 * h * (c.policyOutputs() + 1);
        return 3 * (unroll + 1.0) * rows * perRowStep;
    }

    /** Median time of one {@code [m x k] x [k x n]} product into a preallocated result. */
    record MatmulResult(int m, int k, int n, double ms) {

        double flops() {
            return 2.0 * m * k * n;
        }

        double gflops() {
            return flops() / (ms / 1000) / 1e9;
        }
    }

    /**
     * libtorch's own matrix-multiply rate on this machine: {@code torch.mm_out} into a
     * preallocated result (no allocation in the timed calls), median over {@code samples}
     * samples; a small product is repeated within a sample so that each sample lasts at least
     * 2 ms.
     */
    static MatmulResult matmul(int m, int k, int n, int samples) {
        Torch.init();
        try (Tensor a = torch.randn(m, k); Tensor b = torch.randn(k, n); Tensor out = torch.empty(m, n)) {
            long one = Long.MAX_VALUE;
            for (int i = 0; i < 2; i++) {
                try (PointerScope scope = new PointerScope()) {
                    long start = System.nanoTime();
                    torch.mm_out(out, a, b);
                    one = Math.min(one, System.nanoTime() - start);
                }
            }
            int reps = (int) Math.max(1, Math.min(10_000, MIN_MM_SAMPLE_NANOS / Math.max(1, one)));
            double[] ms = new double[samples];
            for (int i = 0; i < samples; i++) {
                try (PointerScope scope = new PointerScope()) {
                    long start = System.nanoTime();
                    for (int r = 0; r < reps; r++) {
                        torch.mm_out(out, a, b);
                    }
                    ms[i] = (System.nanoTime() - start) / 1e6 / reps;
                }
            }
            return new MatmulResult(m, k, n, median(ms));
        }
    }

    /** The learner's fast path in GFLOP/s, libtorch's mm in GFLOP/s, and their ratio. */
    static List<BenchLine> gflopLines(UpdateResult reference, MatmulResult cube, MatmulResult lstmShaped) {
        ModelConfig config = benchModel(reference.hidden());
        double learner = updateFlops(config, reference.unroll(), reference.rows()) / (reference.fastMs() / 1000) / 1e9;
        return List.of(
                BenchLine.of(LEARNER, String.format(Locale.ROOT, "learner fast path T=%d B=%d LSTM %d (analytic FLOPs)",
                        reference.unroll(), reference.rows(), reference.hidden()), reference.fastMs(), learner, "GFLOP/s"),
                mmLine(cube, ""),
                mmLine(lstmShaped, " (LSTM-shaped)"),
                BenchLine.of(LEARNER, "learner fast path / libtorch mm (LSTM-shaped)", Double.NaN,
                        learner / lstmShaped.gflops(), "x").atLeast(MM_SHARE_TARGET));
    }

    /**
     * What the episode ends cost: the same batch with every done cleared is one fused LSTM call
     * over the whole batch (nothing to split), against the real batch's grouped calls.
     */
    static List<BenchLine> noEpisodeEndLines(UpdateResult reference, double noEndsMs, MatmulResult lstmShaped) {
        ModelConfig config = benchModel(reference.hidden());
        double gflops = updateFlops(config, reference.unroll(), reference.rows()) / (noEndsMs / 1000) / 1e9;
        return List.of(
                BenchLine.of(LEARNER, String.format(Locale.ROOT, "learner fast path without episode ends T=%d B=%d LSTM %d"
                        + " (same batch, dones cleared: one fused call)", reference.unroll(), reference.rows(), reference.hidden()),
                        noEndsMs, gflops, "GFLOP/s"),
                BenchLine.of(LEARNER, "  without episode ends / libtorch mm (LSTM-shaped)", Double.NaN,
                        gflops / lstmShaped.gflops(), "x"),
                BenchLine.of(LEARNER, String.format(Locale.ROOT, "  cost of the %d episode ends (split into grouped calls)",
                        reference.dones()), Double.NaN, reference.fastMs() - noEndsMs, "ms"));
    }

    /** The model every learner measurement trains: masked CartPole's spaces, encoder 64, LSTM {@code hidden}. */
    private static ModelConfig benchModel(int hidden) {
        EnvironmentDefinition def = EnvironmentRegistry.builtIn().get(ENV);
        return new ModelConfig(def.observationSpace(), def.actionSpace(), List.of(ENCODER), hidden);
    }

    /** A real batch: {@code rows} masked-CartPole environments (seed 1) played by {@code model} for {@code unroll} steps. */
    private static Rollout realBatch(ActorCritic model, int unroll, int rows) {
        VectorEnv env = new VectorEnv(EnvironmentRegistry.builtIn().get(ENV), rows, 1);
        try (PolicyInference policy = new PolicyInference(model, rows)) {
            Rollout batch = new Rollout(unroll, rows, model.config());
            new RolloutCollector(env, policy, model.distribution(), 1).collect(batch, new ReturnTracker());
            return batch;
        }
    }

    /** Median fast update time on the target batch with its dones cleared (as if no episode ended). */
    static double fastWithoutEpisodeEndsMs(int unroll, int rows, int hidden, Settings s) {
        try (ActorCritic model = new ActorCritic(benchModel(hidden), 1, Torch.device("cpu"));
                Optimizer adam = Optimizer.create("adam", model.parameters(), 1e-4)) {
            Rollout batch = realBatch(model, unroll, rows);
            Arrays.fill(batch.dones, false);
            Arrays.fill(batch.truncated, false);
            TrainStep fast = new TrainStep(model, adam, LossConfig.defaults().withRewardScale(0.05), ForwardPath.FAST);
            double[] ms = new double[s.timedPairs()];
            for (int i = 0; i < s.warmupPairs() + s.timedPairs(); i++) {
                long a = System.nanoTime();
                fast.update(batch);
                if (i >= s.warmupPairs()) {
                    ms[i - s.warmupPairs()] = (System.nanoTime() - a) / 1e6;
                }
            }
            return median(ms);
        }
    }

    private static BenchLine mmLine(MatmulResult r, String note) {
        return BenchLine.of(LEARNER, String.format(Locale.ROOT, "libtorch mm %dx%dx%d%s", r.m(), r.k(), r.n(), note),
                r.ms(), r.gflops(), "GFLOP/s");
    }

    // ---------------------------------------------------------------- actor

    /**
     * One K of the actor measurement.
     *
     * @param chunkMs mean time of one chunk on the real path (collect + encode)
     * @param stepsPerSecond env steps/s of the real path: {@code RolloutCollector.collect} then
     *     {@code ChunkCodec.encode(...).toByteArray()}, as {@code ActorWorker} does
     * @param envMs mean env time per chunk (the collector's own clock)
     * @param modelMs mean model time per chunk (the collector's own clock)
     * @param encodeMs mean encoding time per chunk
     * @param chunkBytes serialized size of the last chunk
     */
    record ActorResult(int envs, int hidden, int unroll, double chunkMs, double stepsPerSecond, double envMs,
            double modelMs, double encodeMs, int chunkBytes) {

        double envShare() {
            return 100 * envMs / (envMs + modelMs + encodeMs);
        }

        double modelShare() {
            return 100 * modelMs / (envMs + modelMs + encodeMs);
        }

        double encodeShare() {
            return 100 * encodeMs / (envMs + modelMs + encodeMs);
        }

        List<BenchLine> lines() {
            String k = "actor K=" + envs;
            return List.of(
                    BenchLine.of(ACTOR, String.format(Locale.ROOT, "%s LSTM %d: collect T=%d + encode chunk (ms/chunk)",
                            k, hidden, unroll), chunkMs, stepsPerSecond, "env steps/s"),
                    BenchLine.of(ACTOR, k + " share: env stepping", envMs, envShare(), "%"),
                    BenchLine.of(ACTOR, k + " share: model inference", modelMs, modelShare(), "%"),
                    BenchLine.of(ACTOR, k + " share: chunk encoding", encodeMs, encodeShare(), "%"));
        }
    }

    /**
     * The actor path at K environments: {@link RolloutCollector} (with its clock on, which charges
     * each nanosecond of a chunk to the environments or the model) then the chunk serialized as
     * {@code ActorWorker} sends it, timed separately.
     */
    static ActorResult actorChunks(int envs, int hidden, int unroll, int warmupChunks, long measureNanos) {
        EnvironmentDefinition def = EnvironmentRegistry.builtIn().get(ENV);
        VectorEnv env = new VectorEnv(def, envs, 1);
        ModelConfig config = new ModelConfig(def.observationSpace(), def.actionSpace(), List.of(ENCODER), hidden);
        try (ActorCritic model = new ActorCritic(config, 1, Torch.device("cpu"));
                PolicyInference policy = new PolicyInference(model, envs)) {
            long specHash = ModelSpecs.of(model).getHash();
            RolloutCollector collector = new RolloutCollector(env, policy, model.distribution(), 1);
            collector.enableTiming();
            Rollout rollout = new Rollout(unroll, envs, config);
            EpisodeBuffer episodes = new EpisodeBuffer();
            for (int i = 0; i < warmupChunks; i++) {
                episodes.clear();
                collector.collect(rollout, episodes);
                encode(rollout, episodes, i, specHash);
            }
            collector.resetClock();
            long encodeNanos = 0;
            int chunks = 0;
            int bytes = 0;
            long start = System.nanoTime();
            while (chunks == 0 || System.nanoTime() - start < measureNanos) {
                episodes.clear();
                collector.collect(rollout, episodes);
                long a = System.nanoTime();
                bytes = encode(rollout, episodes, warmupChunks + chunks, specHash);
                encodeNanos += System.nanoTime() - a;
                chunks++;
            }
            double steps = (double) chunks * unroll * envs;
            double totalNanos = collector.envNanos() + collector.modelNanos() + encodeNanos;
            return new ActorResult(envs, hidden, unroll, totalNanos / 1e6 / chunks, steps / (totalNanos / 1e9),
                    collector.envNanos() / 1e6 / chunks, collector.modelNanos() / 1e6 / chunks,
                    encodeNanos / 1e6 / chunks, bytes);
        }
    }

    /** The chunk as {@code ActorWorker} sends it; returns its size. */
    private static int encode(Rollout rollout, EpisodeBuffer episodes, long sequence, long specHash) {
        return ChunkCodec.encode(rollout, "bench", sequence, 0, specHash, episodes).toByteArray().length;
    }

    private static double median(double[] x) {
        double[] s = x.clone();
        Arrays.sort(s);
        return s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
    }
}
