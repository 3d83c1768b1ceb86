package dev.starling.learner;

import java.lang.System.Logger.Level;
import java.util.List;
import java.util.concurrent.TimeUnit;

import dev.starling.common.model.ModelConfig;
import dev.starling.common.model.ParameterCodec;
import dev.starling.common.rl.Optimizer;
import dev.starling.common.rl.Rollout;
import dev.starling.common.rl.TrainStep;
import dev.starling.common.rl.UpdateStats;
import io.micrometer.core.instrument.MeterRegistry;

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

    private final LearnerConfig config;
    private final ModelConfig modelConfig;
    private final ParameterCodec codec;
    private final Optimizer optimizer;
    private final TrainStep trainStep;
    private final ChunkQueue queue;
    private final Runnable roomFreed;
    private final LearnerStats stats;
    private final Publisher publisher;
    private final UpdateCadence cadence;
    /** Updates applied before this learner started (restored); set before the thread starts. */
    private long baseUpdates;

    private final TrainerMeters meters;

    private volatile boolean running = true;
    /** Fault-injection point for tests: while set, the loop takes nothing from the queue. */
    private volatile boolean held;
    private Rollout batchRollout;

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
        this.cadence = new UpdateCadence(config, publisher);
        this.meters = new TrainerMeters(registry, true);
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
        return Publisher.Snapshot.of(codec, optimizer, totalUpdates(), withOptimizerState);
    }

    private void train(List<QueuedChunk> batch) {
        Rollout rollout = join(batch);
        long version = publisher.acknowledgedVersion();
        long[] lags = new long[batch.size()];
        for (int i = 0; i < lags.length; i++) {
            lags[i] = Math.max(0, version - batch.get(i).policyVersion());
            meters.policyLag.record(lags[i]);
        }
        long start = System.nanoTime();
        UpdateStats result = trainStep.update(rollout);
        meters.updateTime.record(System.nanoTime() - start, TimeUnit.NANOSECONDS);
        meters.samples.increment(rollout.frames());
        meters.lastUpdate(result);
        stats.updated(result, lags);
        if (!result.applied()) {
            meters.skipped.increment();
            LOG.log(Level.WARNING, "skipped a non-finite update (loss {0}, grad norm {1}); weights unchanged",
                    result.loss(), result.gradNorm());
            return;
        }
        meters.updates.increment();
        cadence.applied(stats.updates(), this);
    }

    /** Training off: the steps count as taken from the queue, the chunks are dropped. */
    private void discard(List<QueuedChunk> batch) {
        long frames = 0;
        for (QueuedChunk c : batch) {
            frames += c.frames();
        }
        meters.samples.increment(frames);
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
    static boolean sleepQuietly(long millis) {
        try {
            Thread.sleep(millis);
            return true;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }
}
