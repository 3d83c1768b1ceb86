package dev.starling.learner;

import java.io.IOException;
import java.lang.System.Logger.Level;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import dev.starling.common.model.ActorCritic;
import dev.starling.common.model.ParameterCodec;
import dev.starling.common.rl.Optimizer;
import dev.starling.common.rl.R2d2Config;
import dev.starling.common.rl.R2d2Step;
import dev.starling.common.rl.Rollout;
import dev.starling.common.rl.UpdateStats;
import dev.starling.learner.r2d2.SequenceReplay;
import dev.starling.transport.metrics.Metrics;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;

/**
 * The R2D2 training thread. Actors send chunks of m - overlap steps; for each actor the trainer
 * keeps its last m / (m - overlap) chunks and, when they follow one another (consecutive
 * sequence numbers on the stream, each starting where the previous ended), joins them into one
 * sequence of m steps per environment, starting with the LSTM state the actor stored, and adds
 * those to the prioritized {@link SequenceReplay} at the highest priority seen so far. A chunk
 * that does not follow (a chunk dropped as stale, an actor restarted) starts afresh, so a
 * sequence is only ever made of steps that were played one after the other; an actor that dies
 * leaves an unfinished sequence that is never added. Each step is sent once although sequences
 * overlap.
 *
 * <p>Once the replay holds {@link R2d2Config#minReplaySequences()}, every chunk received earns
 * {@link R2d2Config#updatesPerChunk()} updates: sample B sequences by priority, one
 * {@link R2d2Step} (burn-in, n-step double Q, importance weights), the sampled sequences' new
 * priorities; the target network is copied from the online one every
 * {@link R2d2Config#targetUpdateEvery()} updates and after a restore. Weights and optimizer state
 * go to the parameter server as in impala ({@link TrainerLoop}): a restarted learner keeps its
 * weights and optimizer, and refills the replay from the actors unless
 * {@link R2d2Config#replayDir()} keeps it ({@link ReplayFile}: saved when the learner closes,
 * loaded when it starts).
 */
final class R2d2Trainer implements Trainer {

    private static final System.Logger LOG = System.getLogger(R2d2Trainer.class.getName());

    /** Actors whose unfinished sequences are remembered; the longest-silent one is forgotten first. */
    static final int MAX_ACTORS_TRACKED = 4096;

    /** One environment's sequence: row {@code row} of a joined rollout shared with its neighbours. */
    record Sequence(Rollout steps, int row) {
    }

    private final LearnerConfig config;
    private final R2d2Config r2d2;
    private final ParameterCodec codec;
    private final Optimizer optimizer;
    private final ActorCritic target;
    private final R2d2Step step;
    private final ChunkQueue queue;
    private final Runnable roomFreed;
    private final LearnerStats stats;
    private final Publisher publisher;
    private final UpdateCadence cadence;
    private final SequenceReplay<Sequence> replay;
    /** Per actor, its newest chunks that may still begin a sequence (oldest first). */
    private final Map<String, ArrayDeque<QueuedChunk>> pending = new LinkedHashMap<>(16, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<String, ArrayDeque<QueuedChunk>> eldest) {
            return size() > MAX_ACTORS_TRACKED;
        }
    };

    private final TrainerMeters meters;
    private final Counter targetUpdates;
    private final DistributionSummary sampledPriority;
    private final AtomicLong framesReceived = new AtomicLong();
    private final AtomicLong stepsTrained = new AtomicLong();

    private volatile boolean running = true;
    private volatile boolean held;
    private long baseUpdates;
    private double updatesOwed;
    private double maxPriority = 1;
    private Rollout batch;
    private List<Long> lagsSinceUpdate = new ArrayList<>();
    /** The replay directory held a file this learner could not load: it is not written over. */
    private boolean unusableFile;

    R2d2Trainer(LearnerConfig config, ActorCritic online, ParameterCodec codec, Optimizer optimizer, ChunkQueue queue,
            Runnable roomFreed, LearnerStats stats, Publisher publisher, MeterRegistry registry) {
        this.config = config;
        this.r2d2 = config.r2d2();
        this.codec = codec;
        this.optimizer = optimizer;
        this.queue = queue;
        this.roomFreed = roomFreed;
        this.stats = stats;
        this.publisher = publisher;
        this.cadence = new UpdateCadence(config, publisher);
        this.target = new ActorCritic(config.modelConfig(), config.seed(), online.device());
        this.step = new R2d2Step(online, target, optimizer, r2d2);
        this.replay = new SequenceReplay<>(r2d2.replayBytes(), r2d2.replaySequences(), r2d2.priorityExponent(),
                config.seed());
        String role = LearnerService.ROLE;
        meters = new TrainerMeters(registry, false);
        targetUpdates = Counter.builder(Metrics.TARGET_UPDATES)
                .description("Copies of the online network into the target network").tag("role", role).register(registry);
        sampledPriority = DistributionSummary.builder(Metrics.REPLAY_SAMPLED_PRIORITY)
                .description("Priorities of the sequences an update samples").tag("role", role)
                .publishPercentiles(0.5, 0.9, 0.99).register(registry);
        load();
        Gauge.builder(Metrics.REPLAY_SEQUENCES, replay, SequenceReplay::size)
                .description("Sequences in the replay").tag("role", role).register(registry);
        Gauge.builder(Metrics.REPLAY_BYTES, replay, SequenceReplay::bytes)
                .description("Bytes of the sequences in the replay").baseUnit("bytes").tag("role", role)
                .register(registry);
        Gauge.builder(Metrics.REPLAY_RATIO, this, R2d2Trainer::replayRatio)
                .description("Steps trained on (after burn-in) per environment step received").tag("role", role)
                .strongReference(true).register(registry);
    }

    @Override
    public void run() {
        LOG.log(Level.INFO, "r2d2 trainer started: sequences of {0} steps from chunks of {1}, burn-in {2}, {3}-step"
                + " double Q, batches of {4}, replay of {5} sequences or {6} bytes, training from {7}",
                r2d2.sequenceLength(), r2d2.chunkSteps(), r2d2.burnIn(), r2d2.nStep(), r2d2.batchSequences(),
                r2d2.replaySequences(), r2d2.replayBytes(), r2d2.minReplaySequences());
        while (running) {
            if (held) {
                if (!TrainerLoop.sleepQuietly(5)) {
                    break;
                }
                continue;
            }
            List<QueuedChunk> got;
            try {
                got = queue.takeBatch(1, updatesOwed >= 1 ? 0 : TrainerLoop.POLL_MILLIS, TimeUnit.MILLISECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
            if (got != null) {
                roomFreed.run();
                ingest(got.get(0));
            }
            if (replay.size() < r2d2.minReplaySequences()) {
                updatesOwed = 0;
                lagsSinceUpdate.clear();
            } else if (updatesOwed >= 1 && config.training()) {
                updatesOwed -= 1;
                train();
            }
        }
        LOG.log(Level.INFO, "r2d2 trainer stopped after {0} updates; the replay held {1} sequences", stats.updates(),
                replay.size());
    }

    /** Adds the sequences this chunk completes; counts what it earns. */
    private void ingest(QueuedChunk chunk) {
        framesReceived.addAndGet(chunk.frames());
        long lag = Math.max(0, publisher.acknowledgedVersion() - chunk.policyVersion());
        meters.policyLag.record(lag);
        updatesOwed += r2d2.updatesPerChunk();
        if (!config.training()) {
            meters.samples.increment(chunk.frames());
            return;
        }
        lagsSinceUpdate.add(lag);
        ArrayDeque<QueuedChunk> mine = pending.computeIfAbsent(chunk.actorId(), id -> new ArrayDeque<>());
        QueuedChunk last = mine.peekLast();
        if (last != null && (chunk.sequence() != last.sequence() + 1
                || !Rollout.followsInTime(last.rollout(), chunk.rollout()))) {
            mine.clear();
        }
        mine.addLast(chunk);
        if (mine.size() < r2d2.chunksPerSequence()) {
            return;
        }
        List<Rollout> parts = new ArrayList<>(mine.size());
        for (QueuedChunk c : mine) {
            parts.add(c.rollout());
        }
        mine.removeFirst();
        Rollout joined = Rollout.joinInTime(parts);
        long bytesEach = Math.max(1, joined.bytes() / joined.rows);
        for (int row = 0; row < joined.rows; row++) {
            replay.add(new Sequence(joined, row), bytesEach, maxPriority);
        }
    }

    private void train() {
        SequenceReplay.Sample<Sequence> sample = replay.sample(r2d2.batchSequences());
        int b = r2d2.batchSequences();
        if (batch == null) {
            Rollout any = sample.sequences().get(0).steps();
            batch = new Rollout(any.unroll, b, any.observationSize, any.images, any.continuous, any.actionSize,
                    any.lstmSize);
        }
        for (int i = 0; i < b; i++) {
            Sequence s = sample.sequences().get(i);
            batch.copyRowFrom(s.steps(), s.row(), i);
            sampledPriority.record(sample.priorities()[i]);
        }
        double[] weights = SequenceReplay.importanceWeights(sample.probabilities(), sample.replaySize(),
                r2d2.importanceExponent());
        long start = System.nanoTime();
        R2d2Step.Result r = step.update(batch, weights);
        meters.updateTime.record(System.nanoTime() - start, TimeUnit.NANOSECONDS);
        // A Q-network's TD loss is a value loss: it is reported as the baseline term too.
        UpdateStats result = new UpdateStats(r.applied(), r.loss(), Double.NaN, r.loss(), Double.NaN, r.gradNorm());
        meters.lastUpdate(result);
        long[] lags = lagsSinceUpdate.stream().mapToLong(Long::longValue).toArray();
        lagsSinceUpdate = new ArrayList<>();
        stats.updated(result, lags);
        if (!r.applied()) {
            meters.skipped.increment();
            LOG.log(Level.WARNING, "skipped a non-finite update (loss {0}, grad norm {1}); weights and priorities"
                    + " unchanged", r.loss(), r.gradNorm());
            return;
        }
        int trained = r2d2.trainedSteps();
        double[] priorities = new double[b];
        for (int i = 0; i < b; i++) {
            priorities[i] = SequenceReplay.sequencePriority(r.absTdErrors(), i * trained, trained, r2d2.priorityEta());
            maxPriority = Math.max(maxPriority, priorities[i]);
        }
        replay.updatePriorities(sample.ids(), priorities);
        meters.samples.increment((double) b * trained);
        stepsTrained.addAndGet((long) b * trained);
        meters.updates.increment();
        long applied = totalUpdates();
        if (applied % r2d2.targetUpdateEvery() == 0) {
            step.updateTarget();
            targetUpdates.increment();
        }
        cadence.applied(applied, this);
    }

    /** Steps trained on per environment step received (0 before any). */
    double replayRatio() {
        long frames = framesReceived.get();
        return frames == 0 ? 0 : (double) stepsTrained.get() / frames;
    }

    long totalUpdates() {
        return baseUpdates + stats.updates();
    }

    @Override
    public void resumeFrom(long updatesBefore) {
        baseUpdates = updatesBefore;
        // The online weights were just restored or published: the target starts from them.
        step.updateTarget();
    }

    @Override
    public void stop() {
        running = false;
    }

    @Override
    public void hold(boolean value) {
        held = value;
    }

    @Override
    public Publisher.Snapshot snapshot(boolean withOptimizerState) {
        return Publisher.Snapshot.of(codec, optimizer, totalUpdates(), withOptimizerState);
    }

    @Override
    public void close() {
        target.close();
        save();
    }

    /** The saved replay, if there is one for this model (a file that cannot be used is logged and left alone). */
    private void load() {
        if (r2d2.replayDir() == null) {
            return;
        }
        try {
            List<ReplayFile.Saved> saved = ReplayFile.read(r2d2.replayDir(), config.modelConfig(), codec.specHash(),
                    r2d2.sequenceLength(), config.chunkLimits());
            for (ReplayFile.Saved s : saved) {
                replay.add(new Sequence(s.steps(), 0), s.steps().bytes(), s.priority());
                maxPriority = Math.max(maxPriority, s.priority());
            }
            if (!saved.isEmpty()) {
                LOG.log(Level.INFO, "loaded {0} replay sequences from {1} (the replay holds {2})", saved.size(),
                        r2d2.replayDir(), replay.size());
            }
        } catch (IOException e) {
            unusableFile = true;
            LOG.log(Level.WARNING, "not loading the saved replay ({0}); starting with an empty one, and leaving the"
                    + " file as it is", e.getMessage());
        }
    }

    /** Writes the replay where it is kept, if anywhere (after the thread ended). */
    private void save() {
        if (r2d2.replayDir() == null) {
            return;
        }
        if (unusableFile) {
            LOG.log(Level.WARNING, "not saving the replay: {0} holds a replay file this learner could not load",
                    r2d2.replayDir());
            return;
        }
        long start = System.nanoTime();
        List<SequenceReplay.Entry<Sequence>> entries = replay.entries();
        try {
            ReplayFile.write(r2d2.replayDir(), config.modelConfig(), codec.specHash(), r2d2.sequenceLength(), entries);
            LOG.log(Level.INFO, "saved {0} replay sequences to {1} in {2,number,#.#} s", entries.size(),
                    r2d2.replayDir(), (System.nanoTime() - start) / 1e9);
        } catch (IOException | RuntimeException e) {
            LOG.log(Level.WARNING, "could not save the replay to " + r2d2.replayDir() + ": " + e, e);
        }
    }
}
