package dev.starling.learner;

import java.lang.System.Logger.Level;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.ToDoubleFunction;

import dev.starling.transport.metrics.Metrics;
import dev.starling.common.model.ModelConfig;
import dev.starling.common.model.ParameterCodec;
import dev.starling.common.rl.Optimizer;
import dev.starling.common.rl.Rollout;
import dev.starling.common.rl.TrainStep;
import dev.starling.common.rl.UpdateStats;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;

/**
 * The training thread: takes {@code batchChunks} chunks at a time from the {@link ChunkQueue},
 * joins their sequences into one {@link Rollout}, runs one {@link TrainStep} update, records the
 * metrics, and every {@code publishEvery} applied updates hands a weight snapshot to the
 * {@link Publisher} (with the optimizer state when {@code optimizerStateEverySeconds} passed
 * since the server last acknowledged one).
 *
 * <p>With {@link LearnerConfig#training()} off the loop still takes every batch from the queue
 * (so the streams see the same room and flow control), counts its steps as samples, and drops
 * it: no update, no publish, the model and optimizer are never touched.
 *
 * <p>The model, optimizer and train step are used only by this thread while it runs (the
 * {@link Learner} touches them before {@link #run()} starts and after the thread ended).
 * {@link #stop()} and {@link #hold(boolean)} may be called from any thread.
 */
final class TrainerLoop implements Trainer {

    private static final System.Logger LOG = System.getLogger(TrainerLoop.class.getName());

    /** How long one wait for a batch lasts before the loop re-checks {@link #stop()}. */
    static final long POLL_MILLIS = 100;
    /** Collect the small Java-side wrappers of native objects now and then (see FACTS.md). */
    private static final long GC_EVERY_UPDATES = 500;

    private final LearnerConfig config;
    private final ModelConfig modelConfig;
    private final ParameterCodec codec;
    private final Optimizer optimizer;
    private final TrainStep trainStep;
    private final ChunkQueue queue;
    private final Runnable roomFreed;
    private final LearnerStats stats;
    private final Publisher publisher;
    /** Updates applied before this learner started (restored); set before the thread starts. */
    private long baseUpdates;

    private final Counter samples;
    private final Counter updates;
    private final Counter skipped;
    private final Timer updateTime;
    private final DistributionSummary policyLag;
    private final LossGauges gauges = new LossGauges();

    private volatile boolean running = true;
    /** Fault-injection point for tests: while set, the loop takes nothing from the queue. */
    private volatile boolean held;
    private Rollout batchRollout;
    private int sincePublish;

    /** Last loss terms and gradient norm, read by the gauges. */
    static final class LossGauges {
        volatile double total = Double.NaN;
        volatile double policy = Double.NaN;
        volatile double baseline = Double.NaN;
        volatile double entropy = Double.NaN;
        volatile double gradNorm = Double.NaN;
    }

    TrainerLoop(LearnerConfig config, ParameterCodec codec, Optimizer optimizer, TrainStep trainStep,
            ChunkQueue queue, Runnable roomFreed, LearnerStats stats, Publisher publisher, MeterRegistry registry) {
        this.config = config;
        this.modelConfig = config.modelConfig();
        this.codec = codec;
        this.optimizer = optimizer;
        this.trainStep = trainStep;
        this.queue = queue;
        this.roomFreed = roomFreed;
        this.stats = stats;
        this.publisher = publisher;
        String role = LearnerService.ROLE;
        samples = Counter.builder(Metrics.LEARNER_SAMPLES).description("Environment steps trained on")
                .tag("role", role).register(registry);
        updates = Counter.builder(Metrics.LEARNER_UPDATES).description("Gradient updates applied")
                .tag("role", role).register(registry);
        skipped = Counter.builder(Metrics.LEARNER_SKIPPED)
                .description("Updates skipped because the loss or the gradient was not finite")
                .tag("role", role).register(registry);
        updateTime = Timer.builder(Metrics.LEARNER_UPDATE_TIME).description("Time of one training update")
                .tag("role", role).register(registry);
        policyLag = DistributionSummary.builder(Metrics.POLICY_LAG)
                .description("Versions between the trained weights and the weights that produced a chunk")
                .baseUnit("versions")
                .tag("role", role)
                .publishPercentileHistogram()
                .register(registry);
        lossGauge(registry, "total", g -> g.total);
        lossGauge(registry, "policy", g -> g.policy);
        lossGauge(registry, "baseline", g -> g.baseline);
        lossGauge(registry, "entropy", g -> g.entropy);
        Gauge.builder(Metrics.LEARNER_GRAD_NORM, gauges, g -> g.gradNorm)
                .description("Global gradient norm of the last update, before clipping")
                .tag("role", role).strongReference(true).register(registry);
    }

    private void lossGauge(MeterRegistry registry, String term, ToDoubleFunction<LossGauges> f) {
        Gauge.builder(Metrics.LEARNER_LOSS, gauges, f)
                .description("Loss of the last update, by term")
                .tag("role", LearnerService.ROLE)
                .tag("term", term)
                .strongReference(true)
                .register(registry);
    }

    @Override
    public void run() {
        if (config.training()) {
            LOG.log(Level.INFO, "trainer started: {0} chunk(s) of T={1} per update", config.batchChunks(),
                    config.unroll());
        } else {
            LOG.log(Level.WARNING, "training is OFF: batches of {0} chunk(s) are taken from the queue and dropped;"
                    + " the weights never change", config.batchChunks());
        }
        while (running) {
            if (held) {
                if (!sleepQuietly(5)) {
                    break;
                }
                continue;
            }
            List<QueuedChunk> batch;
            try {
                batch = queue.takeBatch(config.batchChunks(), POLL_MILLIS, TimeUnit.MILLISECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
            if (batch == null) {
                continue;
            }
            roomFreed.run();
            if (config.training()) {
                train(batch);
            } else {
                discard(batch);
            }
        }
        LOG.log(Level.INFO, "trainer stopped after {0} updates", stats.updates());
    }

    @Override
    public void resumeFrom(long updatesBefore) {
        baseUpdates = updatesBefore;
    }

    @Override
    public void stop() {
        running = false;
    }

    @Override
    public void hold(boolean value) {
        held = value;
    }

    /** Total updates applied, including those before a restart. */
    long totalUpdates() {
        return baseUpdates + stats.updates();
    }

    @Override
    public Publisher.Snapshot snapshot(boolean withOptimizerState) {
        return new Publisher.Snapshot(codec.encode(0),
                withOptimizerState ? optimizer.exportState(codec.specHash()) : null,
                totalUpdates(), optimizer.steps());
    }

    private void train(List<QueuedChunk> batch) {
        Rollout rollout = join(batch);
        long version = publisher.acknowledgedVersion();
        long[] lags = new long[batch.size()];
        for (int i = 0; i < lags.length; i++) {
            lags[i] = Math.max(0, version - batch.get(i).policyVersion());
            policyLag.record(lags[i]);
        }
        long start = System.nanoTime();
        UpdateStats result = trainStep.update(rollout);
        updateTime.record(System.nanoTime() - start, TimeUnit.NANOSECONDS);
        samples.increment(rollout.frames());
        gauges.total = result.loss();
        gauges.policy = result.policyLoss();
        gauges.baseline = result.baselineLoss();
        gauges.entropy = result.entropy();
        gauges.gradNorm = result.gradNorm();
        stats.updated(result, lags);
        if (!result.applied()) {
            skipped.increment();
            LOG.log(Level.WARNING, "skipped a non-finite update (loss {0}, grad norm {1}); weights unchanged",
                    result.loss(), result.gradNorm());
            return;
        }
        updates.increment();
        long applied = stats.updates();
        if (++sincePublish >= config.publishEvery()) {
            sincePublish = 0;
            boolean withOptimizer = publisher.nanosSinceOptimizerStateAck()
                    >= TimeUnit.SECONDS.toNanos(config.optimizerStateEverySeconds());
            publisher.offer(snapshot(withOptimizer));
        }
        if (applied % GC_EVERY_UPDATES == 0) {
            System.gc();
        }
    }

    /** Training off: the steps count as taken from the queue, the chunks are dropped. */
    private void discard(List<QueuedChunk> batch) {
        long frames = 0;
        for (QueuedChunk c : batch) {
            frames += c.frames();
        }
        samples.increment(frames);
    }

    /** One chunk is trained as it is; several are copied side by side into one batch. */
    private Rollout join(List<QueuedChunk> batch) {
        if (batch.size() == 1) {
            return batch.get(0).rollout();
        }
        int rows = 0;
        for (QueuedChunk c : batch) {
            rows += c.rollout().rows;
        }
        if (batchRollout == null || batchRollout.rows != rows) {
            batchRollout = new Rollout(config.unroll(), rows, modelConfig);
        }
        int offset = 0;
        for (QueuedChunk c : batch) {
            batchRollout.copyRowsFrom(c.rollout(), offset);
            offset += c.rollout().rows;
        }
        return batchRollout;
    }

    /** False if interrupted (the flag is kept). */
    private static boolean sleepQuietly(long millis) {
        try {
            Thread.sleep(millis);
            return true;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }
}
