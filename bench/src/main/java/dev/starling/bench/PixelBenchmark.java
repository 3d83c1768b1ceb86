package dev.starling.bench;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.stream.Collectors;

import dev.starling.common.model.ActorCritic;
import dev.starling.common.model.ModelConfig;
import dev.starling.common.model.ModelConfig.ConvLayer;
import dev.starling.common.model.ModelSpecs;
import dev.starling.common.model.PolicyInference;
import dev.starling.common.model.Torch;
import dev.starling.common.rl.ForwardPath;
import dev.starling.common.rl.LossConfig;
import dev.starling.common.rl.Optimizer;
import dev.starling.common.rl.Rollout;
import dev.starling.common.rl.TrainStep;
import dev.starling.common.rollout.EpisodeBuffer;
import dev.starling.common.rollout.RolloutCollector;
import dev.starling.env.EnvironmentDefinition;
import dev.starling.env.Image;
import dev.starling.envs.EnvironmentRegistry;
import dev.starling.envs.VectorEnv;
import dev.starling.transport.wire.ChunkCodec;
import org.bytedeco.javacpp.LongPointer;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.BoolOptional;
import org.bytedeco.pytorch.Conv2dImpl;
import org.bytedeco.pytorch.Conv2dOptions;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorArrayRefOptional;
import org.bytedeco.pytorch.global.torch;

/**
 * Section 8, pixels: the image path on the built-in {@code pong} (32x32 uint8 frames, 3 actions)
 * with the default image model (conv 16:3:2, 32:3:2, 32:3:2, tanh 64, LSTM 128). Actor inference
 * at K 16 and 64, the learner's update (frames/s, updates/s, and its analytic GFLOP/s against
 * libtorch's own conv and matrix-multiply rates measured in the same run), and the bytes a frame
 * costs on the wire. The cluster runs of section 8 are {@code starling bench}'s own (they run
 * {@code train}). Batches are real pong frames played by an untrained policy. Reports; asserts
 * nothing.
 *
 * <p>Runs on the calling thread, one libtorch thread; owns every native object it creates (each
 * closed before the method that made it returns). Not for concurrent use: libtorch's thread
 * count is global.
 */
public final class PixelBenchmark {

    public static final String SECTION = "8 pixels";
    /** The environment of every measurement, and of the cluster runs. */
    public static final String ENV = "pong";
    /** The learner's optimizer and learning rate: {@code train}'s defaults. */
    static final String OPTIMIZER = "rmsprop";
    static final double LEARNING_RATE = 1e-3;
    /**
     * Rollouts played before the one kept for the learner batch and the wire chunk: 4 x T=32 steps,
     * about as long as an untrained policy's game, so games end inside the kept one.
     */
    static final int PLAYED_ROLLOUTS = 4;

    /**
     * How long and how large each measurement is.
     *
     * @param actorEnvs the K values of the actor measurement
     * @param actorWarmupChunks untimed rollouts before the timed ones, per K
     * @param actorNanos time budget of the timed rollouts, per K
     * @param unroll T of every rollout (actor, learner batch, wire chunk)
     * @param rows B of the learner batch
     * @param warmupUpdates untimed updates (and untimed conv calls) before the timed ones
     * @param timedUpdates timed updates, and timed conv calls per layer (medians over these)
     * @param mmCube n of the n x n x n matrix product
     * @param mmSamples timed samples of the matrix product (median over these)
     * @param wireEnvs K of the chunk whose size is measured
     */
    record Settings(int[] actorEnvs, int actorWarmupChunks, long actorNanos, int unroll, int rows, int warmupUpdates,
            int timedUpdates, int mmCube, int mmSamples, int wireEnvs) {

        static final Settings QUICK = new Settings(new int[] {16, 64}, 10, 2_000_000_000L, 32, 64, 2, 9, 1024, 5, 64);
        static final Settings FULL = new Settings(new int[] {16, 64}, 20, 6_000_000_000L, 32, 64, 5, 21, 1024, 9, 64);
    }

    private PixelBenchmark() {
    }

    /** Runs everything; {@code quick} shortens each measurement (well under a minute on 2 cores). */
    public static List<BenchLine> run(boolean quick, PrintStream log) {
        return run(quick ? Settings.QUICK : Settings.FULL, log);
    }

    static List<BenchLine> run(Settings s, PrintStream log) {
        Torch.init();
        List<BenchLine> lines = new ArrayList<>();
        for (int k : s.actorEnvs()) {
            emit(lines, actorSteps(k, s).lines(), log);
            System.gc();
        }
        UpdateResult update = learnerUpdates(s);
        if (update.skipped() > 0) {
            log.println("warning: " + update.skipped() + " pong updates were skipped (non-finite loss); their times are"
                    + " not representative");
        }
        emit(lines, update.lines(), log);
        System.gc();
        ModelConfig config = model();
        int batch = (s.unroll() + 1) * s.rows();
        List<ConvResult> convs = new ArrayList<>();
        for (int i = 0; i < config.convLayers().size(); i++) {
            convs.add(convLayer(config, i, batch, s));
            System.gc();
        }
        FoundationBenchmark.MatmulResult mm = FoundationBenchmark.matmul(s.mmCube(), s.mmCube(), s.mmCube(),
                s.mmSamples());
        emit(lines, gflopLines(update, convs, mm), log);
        emit(lines, wire(s).lines(), log);
        return lines;
    }

    private static void emit(List<BenchLine> lines, List<BenchLine> add, PrintStream log) {
        for (BenchLine l : add) {
            lines.add(l);
            log.println(l.format());
        }
    }

    /** Pong as the registry defines it. */
    static EnvironmentDefinition pong() {
        return EnvironmentRegistry.builtIn().get(ENV);
    }

    /** The default image model for pong, as {@code train --env pong} builds it. */
    static ModelConfig model() {
        EnvironmentDefinition def = pong();
        return ModelConfig.defaults(def.observationSpace(), def.actionSpace());
    }

    /**
     * A real rollout: {@code envs} pong games (seed 1) played by {@code model}, the last of
     * {@link #PLAYED_ROLLOUTS}: the first T steps after a reset hold no game end, a training batch
     * does (each splits a sequence for the fast path, and adds an episode to the chunk). The last
     * rollout's finished episodes go to {@code episodes}.
     */
    private static Rollout collect(ActorCritic model, int unroll, int envs, EpisodeBuffer episodes) {
        try (VectorEnv env = new VectorEnv(pong(), envs, 1);
                PolicyInference policy = new PolicyInference(model, envs)) {
            Rollout rollout = new Rollout(unroll, envs, model.config());
            RolloutCollector collector = new RolloutCollector(env, policy, model.distribution(), 1);
            for (int i = 0; i < PLAYED_ROLLOUTS; i++) {
                episodes.clear();
                collector.collect(rollout, episodes);
            }
            return rollout;
        }
    }

    // ---------------------------------------------------------------- actor

    /**
     * One K of the actor measurement.
     *
     * @param stepMs mean time of one policy step over the K environments (env + model)
     * @param envMs mean env time per step (the collector's own clock)
     * @param modelMs mean model time per step (inference on the K frames, sampling, storing)
     * @param framesPerSecond env frames/s over the timed rollouts
     */
    record ActorResult(int envs, int unroll, double stepMs, double envMs, double modelMs, double framesPerSecond) {

        List<BenchLine> lines() {
            String k = "pong actor K=" + envs;
            return List.of(
                    BenchLine.of(SECTION, String.format(Locale.ROOT, "%s: collect T=%d (ms per step of %d envs)", k,
                            unroll, envs), stepMs, framesPerSecond, "frames/s"),
                    BenchLine.of(SECTION, k + ": model per step (inference + sampling; ms, share)", modelMs,
                            100 * modelMs / (envMs + modelMs), "%"),
                    BenchLine.of(SECTION, k + ": env per step (stepping + rendering; ms, share)", envMs,
                            100 * envMs / (envMs + modelMs), "%"));
        }
    }

    /**
     * The actor's collection loop at K pong environments, as section 2 measures it for box
     * environments: {@link RolloutCollector} with its clock on (each nanosecond charged to the
     * environments or the model), without the chunk encoding (see {@link #wire}).
     */
    static ActorResult actorSteps(int envs, Settings s) {
        ModelConfig config = model();
        try (VectorEnv env = new VectorEnv(pong(), envs, 1);
                ActorCritic model = new ActorCritic(config, 1, Torch.device("cpu"));
                PolicyInference policy = new PolicyInference(model, envs)) {
            RolloutCollector collector = new RolloutCollector(env, policy, model.distribution(), 1);
            collector.enableTiming();
            Rollout rollout = new Rollout(s.unroll(), envs, config);
            EpisodeBuffer episodes = new EpisodeBuffer();
            for (int i = 0; i < s.actorWarmupChunks(); i++) {
                episodes.clear();
                collector.collect(rollout, episodes);
            }
            collector.resetClock();
            int chunks = 0;
            long start = System.nanoTime();
            while (chunks == 0 || System.nanoTime() - start < s.actorNanos()) {
                episodes.clear();
                collector.collect(rollout, episodes);
                chunks++;
            }
            double steps = (double) chunks * s.unroll();
            double nanos = collector.envNanos() + collector.modelNanos();
            return new ActorResult(envs, s.unroll(), nanos / 1e6 / steps, collector.envNanos() / 1e6 / steps,
                    collector.modelNanos() / 1e6 / steps, steps * envs / (nanos / 1e9));
        }
    }

    // ---------------------------------------------------------------- learner

    /**
     * The learner's update on one real batch.
     *
     * @param dones episode ends in the batch
     * @param ms median update time
     * @param skipped updates skipped by the non-finite guard (should be 0)
     */
    record UpdateResult(int unroll, int rows, int dones, double ms, long skipped) {

        double framesPerSecond() {
            return unroll * rows / (ms / 1000);
        }

        List<BenchLine> lines() {
            String config = String.format(Locale.ROOT, "pong learner update fast T=%d B=%d (%s; %d dones)", unroll, rows,
                    describe(model()), dones);
            return List.of(
                    BenchLine.of(SECTION, config, ms, framesPerSecond(), "frames/s"),
                    BenchLine.of(SECTION, String.format(Locale.ROOT, "pong learner updates/s T=%d B=%d", unroll, rows),
                            ms, 1000 / ms, "updates/s"));
        }
    }

    /**
     * {@link TrainStep#update} on a batch of {@code rows} pong games of {@code unroll} steps, the
     * fast forward path, {@code train}'s optimizer, learning rate and loss defaults with pong's
     * reward scale; the same batch every update (the cost does not depend on what was learnt);
     * the median of the timed updates.
     */
    static UpdateResult learnerUpdates(Settings s) {
        ModelConfig config = model();
        try (ActorCritic model = new ActorCritic(config, 1, Torch.device("cpu"));
                Optimizer optimizer = Optimizer.create(OPTIMIZER, model.parameters(), LEARNING_RATE)) {
            Rollout batch = collect(model, s.unroll(), s.rows(), new EpisodeBuffer());
            LossConfig loss = LossConfig.defaults().withRewardScale(pong().rewardScale());
            TrainStep step = new TrainStep(model, optimizer, loss, ForwardPath.FAST);
            double[] ms = new double[s.timedUpdates()];
            for (int i = 0; i < s.warmupUpdates() + s.timedUpdates(); i++) {
                long a = System.nanoTime();
                step.update(batch);
                if (i >= s.warmupUpdates()) {
                    ms[i - s.warmupUpdates()] = (System.nanoTime() - a) / 1e6;
                }
            }
            int dones = 0;
            for (boolean d : batch.dones) {
                dones += d ? 1 : 0;
            }
            return new UpdateResult(s.unroll(), s.rows(), dones, median(ms), step.skippedUpdates());
        }
    }

    // ---------------------------------------------------------------- GFLOP/s

    /**
     * Floating-point operations of one forward pass of one frame through {@code c} (one
     * multiply-add = 2 FLOPs):
     *
     * <pre>
     *   each conv layer   2·Cin·K·K·Cout·Hout·Wout
     *   each tanh Linear  2·in·out
     *   LSTM (4 gates)    2·4H·(E + H)        input and recurrent products
     *   head Linear       2·H·(A + 1)
     * </pre>
     *
     * Not counted: biases, ReLU and tanh, the 1/255 scaling, gate arithmetic (all O(outputs)
     * against O(outputs · fan-in)).
     */
    static double forwardFlopsPerFrame(ModelConfig c) {
        Image image = (Image) c.observationSpace();
        double flops = 0;
        int channels = image.channels();
        int h = image.height();
        int w = image.width();
        for (ConvLayer l : c.convLayers()) {
            int ho = (h - l.kernel()) / l.stride() + 1;
            int wo = (w - l.kernel()) / l.stride() + 1;
            flops += 2.0 * channels * l.kernel() * l.kernel() * l.channels() * ho * wo;
            channels = l.channels();
            h = ho;
            w = wo;
        }
        double in = c.encoderInputSize();
        for (int width : c.encoderSizes()) {
            flops += 2 * in * width;
            in = width;
        }
        double hidden = c.lstmSize();
        flops += 2 * 4 * hidden * (c.encoderSize() + hidden);
        flops += 2 * hidden * (c.policyOutputs() + 1);
        return flops;
    }

    /**
     * FLOPs of one learner update: the forward pass over the (T+1)·B frames x_0 .. x_T (x_T gives
     * the bootstrap value), times 3 for forward plus backward (gradients for inputs and for
     * weights, each about the forward's cost), as section 1 counts. This includes the first conv
     * layer's input gradient, which libtorch skips (pixels need none): about 2% of the total for
     * the default model. Not counted: the loss, V-trace (in Java), clipping and the optimizer
     * (O(parameters) per update), and the padding the fast path adds to group segments.
     */
    static double updateFlops(ModelConfig c, int unroll, int rows) {
        return 3 * (unroll + 1.0) * rows * forwardFlopsPerFrame(c);
    }

    /**
     * One conv layer of the model alone, at the learner's batch: {@code [batch, Cin, H, W]} in,
     * forward and backward as the learner runs it (weight and bias gradients; the input gradient
     * too for every layer but the first, whose input, the pixels, needs none).
     */
    record ConvResult(int index, int inChannels, int height, int width, ConvLayer layer, int batch, double ms) {

        boolean inputGradient() {
            return index > 0;
        }

        int outHeight() {
            return (height - layer.kernel()) / layer.stride() + 1;
        }

        int outWidth() {
            return (width - layer.kernel()) / layer.stride() + 1;
        }

        double forwardFlops() {
            return 2.0 * inChannels * layer.kernel() * layer.kernel() * layer.channels() * outHeight() * outWidth()
                    * batch;
        }

        /** Forward + weight gradient (each {@link #forwardFlops}), + input gradient where computed. */
        double flops() {
            return forwardFlops() * (inputGradient() ? 3 : 2);
        }

        double gflops() {
            return flops() / (ms / 1000) / 1e9;
        }

        BenchLine line() {
            return BenchLine.of(SECTION, String.format(Locale.ROOT, "libtorch conv%d %d->%d k%d s%d on [%d,%d,%d,%d]:"
                    + " forward + backward (%s)", index + 1, inChannels, layer.channels(), layer.kernel(),
                    layer.stride(), batch, inChannels, height, width, inputGradient() ? "3x forward FLOPs"
                            : "weight gradient only: 2x forward FLOPs"), ms, gflops(), "GFLOP/s");
        }
    }

    /**
     * libtorch's own rate on conv layer {@code index} of {@code c}: a {@code Conv2dImpl} of the same
     * shape on random input of {@code batch} images, forward then backward from a gradient of
     * ones; gradients are zeroed between calls, outside the clock (as the learner keeps them).
     * Median over the timed calls.
     */
    @SuppressWarnings("try")
    static ConvResult convLayer(ModelConfig c, int index, int batch, Settings s) {
        Image image = (Image) c.observationSpace();
        int channels = image.channels();
        int h = image.height();
        int w = image.width();
        for (int i = 0; i < index; i++) {
            ConvLayer l = c.convLayers().get(i);
            h = (h - l.kernel()) / l.stride() + 1;
            w = (w - l.kernel()) / l.stride() + 1;
            channels = l.channels();
        }
        ConvLayer l = c.convLayers().get(index);
        ConvResult shape = new ConvResult(index, channels, h, w, l, batch, Double.NaN);
        Conv2dOptions options = new Conv2dOptions(channels, l.channels(), new LongPointer(l.kernel(), l.kernel()));
        options.stride().put(0, l.stride()).put(1, l.stride());
        try (Conv2dImpl conv = new Conv2dImpl(options);
                Tensor x = torch.rand(batch, channels, h, w);
                Tensor ones = torch.ones(batch, l.channels(), shape.outHeight(), shape.outWidth())) {
            // In place on x (the returned handle is a reference to it, not a tensor of its own).
            x.requires_grad_(shape.inputGradient());
            double[] ms = new double[s.timedUpdates()];
            for (int i = 0; i < s.warmupUpdates() + s.timedUpdates(); i++) {
                try (PointerScope scope = new PointerScope()) {
                    long a = System.nanoTime();
                    conv.forward(x).backward(ones, new BoolOptional(), false, new TensorArrayRefOptional());
                    long b = System.nanoTime();
                    conv.zero_grad(false);
                    if (i >= s.warmupUpdates()) {
                        ms[i - s.warmupUpdates()] = (b - a) / 1e6;
                    }
                }
            }
            return new ConvResult(index, channels, h, w, l, batch, median(ms));
        }
    }

    /**
     * The learner's GFLOP/s (analytic FLOPs over its measured update time), libtorch's rates on
     * each conv layer alone and on a square matrix product, and the learner's share of them.
     */
    static List<BenchLine> gflopLines(UpdateResult update, List<ConvResult> convs, FoundationBenchmark.MatmulResult mm) {
        ModelConfig config = model();
        double flops = updateFlops(config, update.unroll(), update.rows());
        double learner = flops / (update.ms() / 1000) / 1e9;
        double convFlops = convs.stream().mapToDouble(ConvResult::flops).sum();
        double convMs = convs.stream().mapToDouble(ConvResult::ms).sum();
        double convRate = convFlops / (convMs / 1000) / 1e9;
        List<BenchLine> lines = new ArrayList<>();
        lines.add(BenchLine.of(SECTION, String.format(Locale.ROOT, "pong learner T=%d B=%d, analytic FLOPs: 3x forward of"
                + " conv + tanh + LSTM + head over (T+1)*B frames = %.2f GFLOP per update", update.unroll(),
                update.rows(), flops / 1e9), update.ms(), learner, "GFLOP/s"));
        for (ConvResult r : convs) {
            lines.add(r.line());
        }
        lines.add(BenchLine.of(SECTION, "libtorch conv layers together (their FLOPs over their summed times)", convMs,
                convRate, "GFLOP/s"));
        lines.add(BenchLine.of(SECTION, String.format(Locale.ROOT, "libtorch mm %dx%dx%d (pixels section)", mm.m(),
                mm.k(), mm.n()), mm.ms(), mm.gflops(), "GFLOP/s"));
        lines.add(BenchLine.of(SECTION, "pong learner / libtorch conv layers together", Double.NaN, learner / convRate,
                "x"));
        lines.add(BenchLine.of(SECTION, String.format(Locale.ROOT, "pong learner / libtorch mm %d^3", mm.m()), Double.NaN,
                learner / mm.gflops(), "x"));
        return lines;
    }

    // ---------------------------------------------------------------- wire

    /**
     * One chunk's size on the wire.
     *
     * @param bytes the serialized {@code TrajectoryChunk}
     * @param pixelBytes of which observation bytes (T+1 frames per environment, one byte a pixel)
     */
    record WireResult(int envs, int unroll, int bytes, int pixelBytes) {

        int frames() {
            return envs * unroll;
        }

        double bytesPerFrame() {
            return (double) bytes / frames();
        }

        /** The same chunk with float32 observations: 4 bytes per observation value instead of 1. */
        double floatBytesPerFrame() {
            return (bytes + 3.0 * pixelBytes) / frames();
        }

        List<BenchLine> lines() {
            String chunk = String.format(Locale.ROOT, "pong chunk K=%d T=%d", envs, unroll);
            return List.of(
                    BenchLine.of(SECTION, chunk + " on the wire, uint8 pixels (serialized size per frame)", Double.NaN,
                            bytesPerFrame(), "bytes/frame"),
                    BenchLine.of(SECTION, chunk + ": of which observations (T+1 frames of 1 byte per pixel per env)",
                            Double.NaN, (double) pixelBytes / frames(), "bytes/frame"),
                    BenchLine.of(SECTION, chunk + " with float32 observations instead (observation bytes x4)",
                            Double.NaN, floatBytesPerFrame(), "bytes/frame"),
                    BenchLine.of(SECTION, "float32 / uint8 observations: wire bytes per frame", Double.NaN,
                            floatBytesPerFrame() / bytesPerFrame(), "x"));
        }
    }

    /**
     * {@code ChunkCodec.encode} of a real pong rollout of {@code wireEnvs} games, as {@code ActorWorker}
     * sends it. Not timed: in this process a chunk of ~2 MiB is a humongous G1 allocation and its
     * encode time swung 0.2-5 ms with garbage collection, which the actor's JVM does differently.
     */
    static WireResult wire(Settings s) {
        try (ActorCritic model = new ActorCritic(model(), 1, Torch.device("cpu"))) {
            EpisodeBuffer episodes = new EpisodeBuffer();
            Rollout rollout = collect(model, s.unroll(), s.wireEnvs(), episodes);
            long specHash = ModelSpecs.of(model).getHash();
            int bytes = ChunkCodec.encode(rollout, "bench", 0, 0, specHash, episodes).toByteArray().length;
            return new WireResult(s.wireEnvs(), s.unroll(), bytes, rollout.pixels.length);
        }
    }

    /** "conv 16:3:2,32:3:2,32:3:2, encoder 64, LSTM 128". */
    static String describe(ModelConfig c) {
        return "conv " + c.convLayers().stream().map(ConvLayer::describe).collect(Collectors.joining(","))
                + ", encoder " + c.encoderSizes().stream().map(String::valueOf).collect(Collectors.joining(","))
                + ", LSTM " + c.lstmSize();
    }

    private static double median(double[] x) {
        double[] s = x.clone();
        Arrays.sort(s);
        return s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
    }
}
