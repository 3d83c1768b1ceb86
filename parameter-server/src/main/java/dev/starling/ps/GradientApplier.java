package dev.starling.ps;

import java.lang.System.Logger.Level;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalLong;
import java.util.concurrent.TimeUnit;

import dev.starling.transport.metrics.Metrics;
import dev.starling.common.model.ActorCritic;
import dev.starling.common.model.ModelSpecs;
import dev.starling.common.model.ParameterCodec;
import dev.starling.common.model.Torch;
import dev.starling.common.rl.Optimizer;
import dev.starling.common.rollout.ReturnTracker;
import dev.starling.transport.wire.ChunkCodec;
import dev.starling.transport.wire.ChunkLimits;
import dev.starling.transport.wire.RequestParsing;
import dev.starling.proto.v1.GradientAck;
import dev.starling.proto.v1.GradientUpdate;
import dev.starling.proto.v1.LearnerStatus;
import dev.starling.proto.v1.OptimizerState;
import dev.starling.proto.v1.ParameterServerGrpc;
import dev.starling.proto.v1.Parameters;
import dev.starling.ps.Validation.Rejection;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.MeterRegistry;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.Tensor;

/**
 * The A3C gradient path: the server's own libtorch copy of the weights and one optimizer shared
 * by every actor ("RMSProp with shared statistics", Mnih et al. 2016). Each valid gradient is one
 * optimizer step, in arrival order, and the resulting weights go into the {@link ParameterStore}
 * as the next version, so watchers receive them like a learner's publish.
 *
 * <p>Lifecycle: NEW -> {@link #start()} -> RUNNING -> {@link #close()} -> CLOSED. {@code start}
 * adopts the weights (and, when it is for the same algorithm, the optimizer state) the store
 * restored from a checkpoint, or initialises the configured model from its seed and stores it as
 * version 0; from then on the store refuses learner publishes. {@code close} refreshes the
 * optimizer state held by the store (so the final checkpoint carries it), refuses further
 * gradients with UNAVAILABLE and frees the native model and optimizer. Idempotent.
 *
 * <p>Thread-safe: every method runs under one lock, so the model and optimizer are only ever
 * touched by one thread at a time (gRPC call threads take turns). An apply takes one optimizer
 * step and one encode of the weights, a few milliseconds for the default model. Progress for
 * GetStatus ({@link #learnerStatus()}) is kept under the same lock and published as an immutable
 * snapshot in a volatile field, so reading it never waits for an apply.
 *
 * <p>Metrics (tagged {@code role=parameter-server}): {@value #APPLIED}, {@value #STALE},
 * {@value #FRAMES}, {@code starling.policy.lag.versions} (staleness of every valid gradient) and
 * {@code starling.rejected{reason}}.
 */
final class GradientApplier implements AutoCloseable {

    private static final System.Logger LOG = System.getLogger(GradientApplier.class.getName());

    static final String APPLIED = Metrics.GRADIENTS_APPLIED;
    static final String STALE = Metrics.GRADIENTS_STALE;
    static final String FRAMES = Metrics.GRADIENT_FRAMES;

    /**
     * Largest accepted magnitude of a gradient value. The optimizers square gradients into
     * float32 statistics; beyond about 1.8e19 the square overflows to infinity, which would stay in
     * the statistics for good and make every later checkpoint unloadable. Clipped gradients are
     * many orders of magnitude smaller.
     */
    static final float MAX_GRADIENT_MAGNITUDE = 1e18f;

    /** Applied gradients whose staleness makes up {@code mean_policy_lag}. */
    static final int LAG_WINDOW = 100;

    private enum State { NEW, RUNNING, CLOSED }

    private final ParameterServerConfig.A3c settings;
    private final ParameterStore store;
    private final MeterRegistry registry;
    private final Counter appliedCounter;
    private final Counter staleCounter;
    private final Counter framesCounter;
    private final DistributionSummary staleness;
    private final long optimizerStateEveryNanos;
    private final Object lock = new Object();

    // Guarded by lock.
    private State state = State.NEW;
    private ActorCritic model;
    private ParameterCodec codec;
    private Optimizer optimizer;
    private long[][] shapes;
    private long specHash;
    private long learnerUpdates;
    private long exportedAtNanos;
    /** Optimizer steps reflected in the state the store holds; -1 if it holds none of ours. */
    private long exportedSteps = -1;
    /** Episodes carried by valid gradients, applied or stale. */
    private final ReturnTracker returns = new ReturnTracker();
    /**
     * Ring buffer: staleness of the last {@code lagCount} applied gradients; {@code lagNext} is the
     * next slot to write (the oldest entry once full).
     */
    private final long[] lags = new long[LAG_WINDOW];
    private int lagCount;
    private int lagNext;
    private long lagSum;

    /** The newest progress; replaced under lock whenever it changes, read without it. */
    private volatile LearnerStatus progress = LearnerStatus.getDefaultInstance();

    // Written under lock, read by status() without it.
    private volatile long version = -1;
    private volatile long applied;
    private volatile long stale;
    private volatile long rejected;
    private volatile long frames;
    private volatile long optimizerSteps;

    GradientApplier(ParameterServerConfig.A3c settings, ParameterStore store, MeterRegistry registry) {
        if (!settings.enabled()) {
            throw new IllegalArgumentException("a3c is disabled in " + settings);
        }
        this.settings = settings;
        this.store = store;
        this.registry = registry;
        this.optimizerStateEveryNanos = TimeUnit.SECONDS.toNanos(settings.optimizerStateEverySeconds());
        this.appliedCounter = Counter.builder(APPLIED)
                .description("A3C gradients applied by the shared optimizer")
                .tag("role", ParameterStore.ROLE)
                .register(registry);
        this.staleCounter = Counter.builder(STALE)
                .description("A3C gradients dropped because their base version was too old")
                .tag("role", ParameterStore.ROLE)
                .register(registry);
        this.framesCounter = Counter.builder(FRAMES)
                .description("Environment steps behind the applied A3C gradients")
                .tag("role", ParameterStore.ROLE)
                .register(registry);
        this.staleness = DistributionSummary.builder(Metrics.POLICY_LAG)
                .description("Versions between the server's weights and the weights a gradient was computed on")
                .baseUnit("versions")
                .tag("role", ParameterStore.ROLE)
                .publishPercentileHistogram()
                .register(registry);
    }

    /**
     * Builds the model and optimizer and puts the store into a3c mode; see the class comment.
     *
     * @throws IllegalStateException if the store holds weights of another model than the
     *     configured one (a checkpoint of another run), or if already started or closed
     */
    void start() {
        synchronized (lock) {
            if (state != State.NEW) {
                throw new IllegalStateException("gradient applier is " + state + ", start() needs NEW");
            }
            Device cpu = Torch.device("cpu");
            try {
                model = new ActorCritic(settings.model(), settings.seed(), cpu);
                codec = new ParameterCodec(model);
                specHash = codec.specHash();
                optimizer = Optimizer.create(settings.optimizer(), model.parameters(), settings.learningRate());
                shapes = new long[model.parameters().size()][];
                try (PointerScope scope = new PointerScope()) {
                    for (int i = 0; i < shapes.length; i++) {
                        shapes[i] = model.parameters().get(i).sizes().vec().get();
                    }
                }
                store.refusePublishes("the parameter server is in a3c mode: weights change only through"
                        + " PushGradients, so PublishParameters is refused (run the learner against a parameter"
                        + " server in impala mode)");
                ParameterSnapshot held = store.current();
                if (held == null) {
                    initialise();
                } else {
                    adopt(held);
                }
                exportedAtNanos = System.nanoTime();
                optimizerSteps = optimizer.steps();
                publishProgress();
                state = State.RUNNING;
            } catch (RuntimeException e) {
                state = State.CLOSED;
                release();
                throw e;
            }
        }
    }

    /**
     * Validates one gradient and, unless it is too stale, applies it and stores the next
     * version. A rejected gradient changes nothing.
     *
     * @return the ack: applied, or dropped as stale (applied=false), with the version held after
     * @throws StatusRuntimeException FAILED_PRECONDITION (another model), INVALID_ARGUMENT
     *     (malformed: no or an overlong actor id, size, non-finite or out-of-range values, a base
     *     version from the future, inconsistent episode statistics), UNAVAILABLE (not running)
     */
    GradientAck apply(GradientUpdate update) {
        return apply(update, OptionalLong.empty());
    }

    /**
     * As {@link #apply(GradientUpdate)} for a gradient that arrived on a stream after one with
     * sequence {@code previousSequence} (empty for the stream's first): on one stream an actor's
     * sequences strictly increase (unsigned), so a repeated or older one is INVALID_ARGUMENT.
     */
    GradientAck apply(GradientUpdate update, OptionalLong previousSequence) {
        synchronized (lock) {
            if (state != State.RUNNING) {
                throw Status.UNAVAILABLE.withDescription(state == State.NEW
                        ? "the parameter server is starting" : "the parameter server is shutting down")
                        .asRuntimeException();
            }
            long held = version;
            Rejection problem = check(update, held);
            if (problem == null && previousSequence.isPresent()
                    && Long.compareUnsigned(update.getSequence(), previousSequence.getAsLong()) <= 0) {
                problem = Rejection.invalid("sequence", "sequence " + Long.toUnsignedString(update.getSequence())
                        + " does not follow the previous gradient's sequence "
                        + Long.toUnsignedString(previousSequence.getAsLong()) + " on this stream (sequences must increase)");
            }
            if (problem != null) {
                throw reject(problem, update);
            }
            boolean otherIncarnation = !sameIncarnation(update);
            long lag = held - update.getBaseVersion();
            if (!otherIncarnation) {
                staleness.record(lag);
            }
            if (otherIncarnation || lag > settings.maxStaleness()) {
                staleCounter.increment();
                stale++;
                LOG.log(Level.DEBUG, "dropped gradient {0} from ''{1}'': {2}", Long.toUnsignedString(update.getSequence()),
                        update.getActorId(), otherIncarnation
                                ? "computed on another incarnation's weights (this server restarted)"
                                : lag + " versions stale, at most " + settings.maxStaleness() + " accepted");
                // The episodes happened even though their gradient is dropped.
                recordEpisodes(update);
                publishProgress();
                return ack(update, false, held);
            }
            step(update);
            long next = held + 1;
            Parameters weights = codec.encode(next);
            OptimizerState opt = null;
            long now = System.nanoTime();
            if (now - exportedAtNanos >= optimizerStateEveryNanos) {
                opt = optimizer.exportState(specHash);
                exportedAtNanos = now;
                exportedSteps = optimizer.steps();
            }
            store.advance(weights, opt, learnerUpdates + 1);
            learnerUpdates++;
            version = next;
            applied++;
            optimizerSteps = optimizer.steps();
            frames += Integer.toUnsignedLong(update.getFrames());
            appliedCounter.increment();
            framesCounter.increment(Integer.toUnsignedLong(update.getFrames()));
            recordEpisodes(update);
            recordLag(lag);
            publishProgress();
            return ack(update, true, next);
        }
    }

    /**
     * A gradient whose bytes did not parse: counted like any rejected gradient.
     *
     * @return INVALID_ARGUMENT naming the parse error, for the caller to end the stream with
     */
    StatusRuntimeException unparseable(String parseError) {
        Rejection r = Rejection.invalid(RequestParsing.REASON,
                RequestParsing.unparseable(ParameterServerGrpc.getPushGradientsMethod(), parseError).getDescription());
        synchronized (lock) {
            rejected++;
            Metrics.rejected(registry, ParameterStore.ROLE, r.reason()).increment();
        }
        LOG.log(Level.WARNING, "rejected a gradient that does not parse: {0}", r.message());
        return r.toException();
    }

    /** Counts and the version, read together under the lock so they agree; see {@link A3cStatus}. */
    A3cStatus status() {
        synchronized (lock) {
            return new A3cStatus(applied, stale, rejected, frames, Math.max(version, 0), optimizerSteps);
        }
    }

    /**
     * Training progress for GetStatus, as documented on the RPC in {@code parameter_server.proto}:
     * frames and updates of the applied gradients, episodes and the mean return of the last 100 of
     * them from applied and stale gradients, the version held, the mean staleness of the last
     * {@value #LAG_WINDOW} applied gradients, no queued chunks. The loss fields ({@code policy_loss},
     * {@code baseline_loss}, {@code entropy}, {@code grad_norm}) stay unset: the actors compute the
     * losses, and the gradients arrive already clipped, so their norm here is not the unclipped one
     * the field means. One consistent snapshot, taken after the last gradient handled; never
     * blocks. All zero before {@link #start()}.
     */
    LearnerStatus learnerStatus() {
        return progress;
    }

    /**
     * Puts the current optimizer state into the store (if it changed since the last export),
     * refuses further gradients and frees the native model and optimizer. Waits for an apply in
     * progress. Call it before the store is sealed. Idempotent.
     */
    @Override
    public void close() {
        synchronized (lock) {
            State previous = state;
            state = State.CLOSED;
            if (previous == State.CLOSED) {
                return;
            }
            try {
                if (previous == State.RUNNING && optimizer.steps() != exportedSteps
                        && !store.attachOptimizerState(version, optimizer.exportState(specHash))) {
                    LOG.log(Level.WARNING, "could not store the final optimizer state: the store moved past"
                            + " version {0,number,#} or is sealed", version);
                }
            } finally {
                release();
            }
        }
    }

    /**
     * Puts the current optimizer state into the store with the weights it belongs to (the held
     * version), if it changed since the last export: before a checkpoint, so it holds them as a
     * pair. No effect unless running.
     */
    void storeOptimizerState() {
        synchronized (lock) {
            if (state == State.RUNNING && optimizer.steps() != exportedSteps) {
                if (store.attachOptimizerState(version, optimizer.exportState(specHash))) {
                    exportedSteps = optimizer.steps();
                }
            }
        }
    }

    /** Empty store: the configured model from its seed becomes version 0, with fresh statistics. */
    private void initialise() {
        OptimizerState opt = optimizer.exportState(specHash);
        store.advance(codec.encode(0), opt, 0);
        exportedSteps = optimizer.steps();
        version = 0;
        learnerUpdates = 0;
        LOG.log(Level.INFO, "a3c: initialised model {0} (spec {1}) from seed {2,number,#} as version 0",
                settings.model(), ModelSpecs.hex(specHash), settings.seed());
    }

    /** Weights restored from a checkpoint: continue from them, and from their optimizer state if it fits. */
    private void adopt(ParameterSnapshot held) {
        if (held.specHash() != specHash) {
            throw new IllegalStateException("the parameter server restored version " + held.version()
                    + " of model spec " + ModelSpecs.hex(held.specHash()) + " (" + describe(held.parameters())
                    + ") from a checkpoint, but a3c.model " + settings.model() + " has spec " + ModelSpecs.hex(specHash)
                    + ": use the checkpoint's model sizes or another checkpoint directory");
        }
        version = held.version();
        learnerUpdates = held.learnerUpdates();
        OptimizerState opt = held.optimizerState();
        if (opt != null && opt.getAlgorithm().equals(optimizer.algorithm())) {
            // The statistics with the weights they belong to; versions continue above the newest.
            // The store validated these weights (size, finiteness) when it restored them.
            codec.write(held.optimizerStateParameters().getWeights());
            optimizer.importState(opt, specHash);
            exportedSteps = optimizer.steps();
            LOG.log(Level.INFO, "a3c: continuing from the weights of version {0,number,#} with their {1} state"
                    + " ({2,number,#} steps)", held.optimizerStateVersion(), opt.getAlgorithm(), opt.getStep());
            if (held.optimizerStateVersion() != version) {
                // Newer weights were held without their statistics: serve the pair's weights from
                // now on, as the next version, so watchers play what the gradients will apply to.
                version++;
                store.advance(codec.encode(version), null, learnerUpdates);
            }
        } else {
            codec.write(held.parameters().getWeights());
            if (opt == null) {
                LOG.log(Level.INFO, "a3c: continuing from version {0,number,#} with fresh {1} statistics"
                        + " (the checkpoint holds no optimizer state)", version, optimizer.algorithm());
            } else {
                LOG.log(Level.WARNING, "a3c: continuing from version {0,number,#} with fresh {1} statistics: the"
                        + " checkpoint holds {2} state", version, optimizer.algorithm(), opt.getAlgorithm());
            }
            // The store must not keep offering state this optimizer did not produce.
            store.attachOptimizerState(version, optimizer.exportState(specHash));
            exportedSteps = optimizer.steps();
        }
    }

    /** Feeds the episodes that ended in {@code u}'s chunk (already validated) to the tracker; holds lock. */
    private void recordEpisodes(GradientUpdate u) {
        for (int i = 0; i < u.getEpisodeReturnsCount(); i++) {
            returns.accept(u.getEpisodeReturns(i), u.getEpisodeLengths(i));
        }
    }

    /**
     * Whether {@code u} was computed on weights of this server's incarnation. 0 (unset) counts as
     * this one: versions are then compared as they are.
     */
    private boolean sameIncarnation(GradientUpdate u) {
        return u.getBaseIncarnation() == 0 || u.getBaseIncarnation() == store.incarnation();
    }

    /** Adds the staleness of an applied gradient to the window, dropping the oldest when full; holds lock. */
    private void recordLag(long lag) {
        if (lagCount == lags.length) {
            lagSum -= lags[lagNext];
        } else {
            lagCount++;
        }
        lags[lagNext] = lag;
        lagSum += lag;
        lagNext = (lagNext + 1) % lags.length;
    }

    /** Replaces the published progress with the current figures; holds lock. */
    private void publishProgress() {
        progress = LearnerStatus.newBuilder()
                .setFrames(frames)
                .setEpisodes(returns.episodes())
                .setAverageReturn(returns.average())
                .setUpdates(applied)
                .setPolicyVersion(Math.max(version, 0))
                .setMeanPolicyLag(lagCount == 0 ? 0.0 : (double) lagSum / lagCount)
                .setQueuedChunks(0)
                .build();
    }

    /** Null if {@code u} may be applied to weights at {@code held}. */
    private Rejection check(GradientUpdate u, long held) {
        if (u.getSpecHash() != specHash) {
            return Rejection.precondition("spec_hash", "gradient is for model spec " + ModelSpecs.hex(u.getSpecHash())
                    + " but the parameter server holds " + ModelSpecs.hex(specHash));
        }
        if (u.getActorId().isBlank()) {
            return Rejection.invalid("actor_id", "actor_id is empty or blank: every gradient must name the actor"
                    + " that sent it");
        }
        if (u.getActorId().length() > ChunkCodec.MAX_ACTOR_ID_LENGTH) {
            return Rejection.invalid("actor_id", "actor_id has " + u.getActorId().length() + " characters, at most "
                    + ChunkCodec.MAX_ACTOR_ID_LENGTH + " are accepted");
        }
        String blob = codec.validateBlob(u.getGradient(), "gradient");
        if (blob != null) {
            return u.getGradient().size() != codec.blobBytes()
                    ? Rejection.invalid("gradient_size", blob)
                    : Rejection.invalid("non_finite", blob);
        }
        FloatBuffer fb = u.getGradient().asReadOnlyByteBuffer().order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer();
        for (int i = 0, n = fb.remaining(); i < n; i++) {
            if (Math.abs(fb.get(i)) > MAX_GRADIENT_MAGNITUDE) {
                return Rejection.invalid("gradient_range", "gradient blob has " + fb.get(i) + " at index " + i
                        + ", beyond the accepted magnitude " + MAX_GRADIENT_MAGNITUDE
                        + " (its square would overflow the optimizer's float32 statistics)");
            }
        }
        if (sameIncarnation(u) && (u.getBaseVersion() < 0 || u.getBaseVersion() > held)) {
            return Rejection.invalid("future_version", "base_version " + Long.toUnsignedString(u.getBaseVersion())
                    + " is newer than the server's version " + held);
        }
        int maxEpisodes = ChunkLimits.defaults().maxEpisodesPerChunk();
        if (u.getEpisodeReturnsCount() > maxEpisodes) {
            return Rejection.invalid("episodes", "gradient carries " + u.getEpisodeReturnsCount()
                    + " episode statistics; at most " + maxEpisodes + " are accepted");
        }
        if (u.getEpisodeReturnsCount() != u.getEpisodeLengthsCount()) {
            return Rejection.invalid("episodes", "episode_returns (" + u.getEpisodeReturnsCount()
                    + ") and episode_lengths (" + u.getEpisodeLengthsCount() + ") must have equal counts");
        }
        for (int i = 0; i < u.getEpisodeReturnsCount(); i++) {
            if (!Float.isFinite(u.getEpisodeReturns(i))) {
                return Rejection.invalid("non_finite", "episode_returns[" + i + "] is not finite ("
                        + u.getEpisodeReturns(i) + ")");
            }
        }
        return null;
    }

    /** One optimizer step with the (validated) gradient. */
    private void step(GradientUpdate update) {
        float[][] values = codec.split(update.getGradient());
        try (PointerScope scope = new PointerScope()) {
            List<Tensor> gradients = new ArrayList<>(values.length);
            for (int i = 0; i < values.length; i++) {
                gradients.add(Torch.floats(values[i], model.device(), shapes[i]));
            }
            optimizer.step(gradients);
        }
    }

    private StatusRuntimeException reject(Rejection r, GradientUpdate u) {
        rejected++;
        Metrics.rejected(registry, ParameterStore.ROLE, r.reason()).increment();
        LOG.log(Level.WARNING, "rejected gradient {0} from actor ''{1}'' ({2}): {3}",
                Long.toUnsignedString(u.getSequence()), ChunkCodec.loggable(u.getActorId()), r.reason(), r.message());
        return r.toException();
    }

    private static GradientAck ack(GradientUpdate u, boolean applied, long version) {
        return GradientAck.newBuilder().setSequence(u.getSequence()).setApplied(applied).setVersion(version).build();
    }

    private static String describe(Parameters p) {
        return ModelSpecs.describe(p.getSpec());
    }

    /** Frees the native model and optimizer; holds lock. */
    private void release() {
        if (optimizer != null) {
            optimizer.close();
            optimizer = null;
        }
        if (model != null) {
            model.close();
            model = null;
        }
        codec = null;
    }
}
