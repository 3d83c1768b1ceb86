package dev.starling.actor;

import java.lang.System.Logger.Level;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.SplittableRandom;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

import com.google.protobuf.Message;
import dev.starling.transport.Backoff;
import dev.starling.transport.Channels;
import dev.starling.transport.Security;
import dev.starling.transport.metrics.Metrics;
import dev.starling.common.model.ActorCritic;
import dev.starling.common.model.ModelSpecs;
import dev.starling.common.model.ParameterCodec;
import dev.starling.common.model.PolicyInference;
import dev.starling.common.model.Torch;
import dev.starling.common.rl.ForwardPath;
import dev.starling.common.rl.Rollout;
import dev.starling.common.rl.TrainStep;
import dev.starling.common.rollout.EpisodeBuffer;
import dev.starling.common.rollout.ReturnTracker;
import dev.starling.common.rollout.RolloutCollector;
import dev.starling.transport.wire.Lineage;
import dev.starling.proto.v1.ModelSpec;
import dev.starling.proto.v1.Parameters;
import dev.starling.envs.VectorEnvironment;
import dev.starling.envs.remote.EnvironmentServerException;
import io.grpc.ConnectivityState;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;

/**
 * One actor: plays K environments (in this process or in environment servers, in one lane or two
 * double-buffered ones) with the LSTM policy, batched over the environments, and
 * hands every rollout of T steps to its mode's {@link RolloutDelivery} (impala: the chunk to the
 * learner; a3c: its loss gradient to the parameter server), streaming what it makes; takes new
 * weights from the parameter server between rollouts, so every rollout has exactly one
 * {@code policy_version}. The play loop is the same in every mode.
 *
 * <p>Lifecycle: NEW -> {@link #start()} -> RUNNING -> {@link #close()} -> CLOSED; a fatal error
 * (the learner answers INVALID_ARGUMENT or FAILED_PRECONDITION, the parameter server holds weights
 * of another model, no weights within the startup timeout) moves RUNNING to FAILED and completes
 * the future returned by {@code start()} exceptionally with an {@link ActorFailedException} whose
 * message says what is wrong. A learner that is down, unreachable or silent is not fatal: the
 * actor reconnects with backoff.
 *
 * <p>Threads: one actor thread owns the environments, the model and its native memory, the
 * rollout collector and the request side of the learner stream; a {@link WeightsSubscriber}
 * thread keeps the newest weights; gRPC callbacks (acks, readiness) run on the channel's
 * executor and only update counters and wake the actor thread. Flow control: see
 * {@link AckedStream} — at most {@code maxInFlight} unacked chunks, and nothing is sent while
 * the transport is not ready; the actor thread waits on a condition, never spins. While the
 * learner is unreachable the actor holds its one unsent chunk and only retries, with backoff:
 * it does not keep playing, so memory and CPU stay flat during an outage.
 *
 * <p>Thread-safe: {@link #start()}, {@link #close()}, {@link #stats()} and {@link #state()} may
 * be called from any thread. Ownership: channels given to the constructor belong to the caller;
 * channels made by {@link #connect} belong to the worker and {@code close()} shuts them down.
 *
 * <p>Metrics (each tagged {@code actor=<id>}, plus the registry's common tags):
 * {@code starling.env.frames} (T*K per chunk sent), {@code starling.episodes},
 * {@code starling.episode.return}, {@code starling.episode.length},
 * {@code starling.parameters.version} (from the first weights on),
 * {@code starling.actor.chunks.sent}, {@code starling.actor.chunks.acked},
 * {@code starling.actor.chunks.dropped} (acked with accepted=false: too stale, not an error),
 * {@code starling.actor.reconnects}, {@code starling.actor.stream.failures}; with environment
 * servers also {@code starling.env.server.step} and {@code starling.env.server.streams.lost}
 * (see {@link ActorEnvironments}).
 */
public final class ActorWorker implements AutoCloseable {

    private static final System.Logger LOG = System.getLogger(ActorWorker.class.getName());

    /** How long {@link #close()} waits for the actor thread to release its native memory. */
    static final Duration CLOSE_WAIT = Duration.ofSeconds(5);

    /** Lifecycle states. */
    public enum State { NEW, RUNNING, FAILED, CLOSED }

    /**
     * A snapshot of the actor's progress.
     *
     * @param frames environment steps sent to the learner (T*K per chunk sent)
     * @param episodes episodes finished in this actor's environments
     * @param chunksSent chunks written to a learner stream
     * @param chunksAcked acks received (accepted or not)
     * @param chunksDropped acks with accepted=false (the learner dropped the chunk as too stale)
     * @param reconnects learner streams opened after a failed one
     * @param weightsVersion version of the weights the actor plays with; -1 before the first
     * @param averageReturn mean undiscounted return of this actor's last 100 episodes (0 before any)
     */
    public record Stats(long frames, long episodes, long chunksSent, long chunksAcked, long chunksDropped,
            long reconnects, long weightsVersion, double averageReturn) {
    }

    private final ActorConfig config;
    private final MeterRegistry registry;
    private final ManagedChannel learnerChannel;
    private final ManagedChannel parameterServerChannel;
    private final boolean ownsChannels;
    private final WeightsSubscriber weights;
    private final Thread thread;
    private final AtomicReference<State> state = new AtomicReference<>(State.NEW);
    private final CompletableFuture<Void> termination = new CompletableFuture<>();

    /** Wakes the actor thread: acks, readiness, stream failures, new weights, close. */
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition changed = lock.newCondition();
    /** Set under lock (then signalled); read anywhere. */
    private volatile boolean stopping;
    /** Guarded by lock: a learner stream failure was logged and no ack arrived since. */
    private boolean outage;

    private final Counter framesCounter;
    private final Counter episodesCounter;
    private final DistributionSummary returnSummary;
    private final DistributionSummary lengthSummary;
    private final Counter sentCounter;
    private final Counter ackedCounter;
    private final Counter droppedCounter;
    private final Counter reconnectCounter;
    private final Counter streamFailureCounter;
    private final AtomicLong weightsVersion = new AtomicLong(-1);
    private final Counter incarnations;
    /** The weights loaded into the local model (version and incarnation); confined to the play thread. */
    private Parameters playing;
    private final AtomicLong frames = new AtomicLong();
    private final AtomicLong episodes = new AtomicLong();
    private final AtomicLong chunksSent = new AtomicLong();
    private final AtomicLong chunksAcked = new AtomicLong();
    private final AtomicLong chunksDropped = new AtomicLong();
    private final AtomicLong reconnects = new AtomicLong();
    private volatile double averageReturn;

    /** What this actor's mode does with a finished rollout; set on the actor thread before the first send. */
    private volatile RolloutDelivery delivery;
    /** The environments, in one or two lanes; set by the actor thread, closed by close() to end a wait in them. */
    private volatile List<VectorEnvironment> environments = List.of();
    /** Confined to the actor thread: the current learner call, or null between calls. */
    private AckedStream<Message, Message> stream;
    /** Confined to the actor thread: a learner stream was opened before (the next is a reconnect). */
    private boolean streamOpened;

    /**
     * A worker on the given channels, which stay the caller's (tests pass in-process ones).
     * Builds nothing native; {@link #start()} does, on the actor thread.
     */
    public ActorWorker(ActorConfig config, MeterRegistry registry, ManagedChannel learnerChannel,
            ManagedChannel parameterServerChannel) {
        this(config, registry, learnerChannel, parameterServerChannel, false);
    }

    private ActorWorker(ActorConfig config, MeterRegistry registry, ManagedChannel learnerChannel,
            ManagedChannel parameterServerChannel, boolean ownsChannels) {
        this.config = Objects.requireNonNull(config, "config");
        this.registry = Objects.requireNonNull(registry, "registry");
        this.learnerChannel = Objects.requireNonNull(learnerChannel, "learnerChannel");
        this.parameterServerChannel = Objects.requireNonNull(parameterServerChannel, "parameterServerChannel");
        this.ownsChannels = ownsChannels;
        String id = config.actorId();
        framesCounter = Counter.builder(Metrics.ENV_FRAMES).description("Environment steps sent to the learner")
                .tag("actor", id).register(registry);
        episodesCounter = Counter.builder(Metrics.EPISODES).description("Episodes finished")
                .tag("actor", id).register(registry);
        returnSummary = DistributionSummary.builder(Metrics.EPISODE_RETURN)
                .description("Undiscounted return of finished episodes").tag("actor", id).register(registry);
        lengthSummary = DistributionSummary.builder(Metrics.EPISODE_LENGTH)
                .description("Steps of finished episodes").tag("actor", id).register(registry);
        sentCounter = Counter.builder("starling.actor.chunks.sent").description("Chunks written to the learner")
                .tag("actor", id).register(registry);
        ackedCounter = Counter.builder("starling.actor.chunks.acked").description("Chunk acks received")
                .tag("actor", id).register(registry);
        droppedCounter = Counter.builder("starling.actor.chunks.dropped")
                .description("Chunks the learner acked as dropped (too stale)").tag("actor", id).register(registry);
        reconnectCounter = Counter.builder("starling.actor.reconnects")
                .description("Learner streams opened after a failed one").tag("actor", id).register(registry);
        streamFailureCounter = Counter.builder("starling.actor.stream.failures")
                .description("Learner streams that failed, ended or timed out").tag("actor", id).register(registry);
        incarnations = Counter.builder(Metrics.PARAMETERS_INCARNATIONS)
                .description("Parameter server incarnations whose weights this actor played (one more per server"
                        + " restart it followed)").tag("actor", id).register(registry);
        if (config.r2d2()) {
            float[] eps = config.exploration().epsilons();
            double min = Double.POSITIVE_INFINITY;
            double max = Double.NEGATIVE_INFINITY;
            for (float e : eps) {
                min = Math.min(min, e);
                max = Math.max(max, e);
            }
            for (var stat : java.util.Map.of("min", min, "max", max).entrySet()) {
                Gauge.builder(Metrics.ACTOR_EPSILON, stat::getValue).description("Exploration rate of this actor's"
                        + " environments (r2d2), least and greatest").tag("actor", id).tag("stat", stat.getKey())
                        .register(registry);
            }
        }
        this.weights = new WeightsSubscriber(parameterServerChannel, id, config.parameterServer(), this::wake);
        this.thread = new Thread(this::run, "starling-actor-" + id);
        this.thread.setDaemon(true);
    }

    /**
     * A worker with its own plaintext channels to {@code config.learner()} and
     * {@code config.parameterServer()} (keepalive, {@code maxMessageBytes}, gRPC client meters in
     * {@code registry}); {@link #close()} shuts them down.
     */
    public static ActorWorker connect(ActorConfig config, MeterRegistry registry) {
        return connect(config, registry, Security.NONE);
    }

    /**
     * As {@link #connect(ActorConfig, MeterRegistry)}, both channels presenting {@code security}
     * (this actor's TLS certificate and the bearer token, if set).
     */
    public static ActorWorker connect(ActorConfig config, MeterRegistry registry, Security security) {
        LOG.log(Level.INFO, "actor transport: {0}", security);
        ManagedChannel learner = Channels.create(config.learner(), config.maxMessageBytes(), security, registry);
        ManagedChannel ps;
        try {
            ps = Channels.create(config.parameterServer(), config.maxMessageBytes(), security, registry);
        } catch (RuntimeException e) {
            learner.shutdownNow();
            throw e;
        }
        return new ActorWorker(config, registry, learner, ps, true);
    }

    /**
     * Starts the weights subscriber and the actor thread and returns at once. The future
     * completes normally when the actor stops after {@link #close()}, exceptionally when it fails
     * (its message says why).
     *
     * @throws IllegalStateException unless the worker is NEW
     */
    public CompletableFuture<Void> start() {
        if (!state.compareAndSet(State.NEW, State.RUNNING)) {
            throw new IllegalStateException("actor " + config.actorId() + " is " + state.get() + "; start() needs NEW");
        }
        LOG.log(Level.INFO, "actor {0} starting: {1}", config.actorId(), config);
        weights.start();
        thread.start();
        return termination.copy();
    }

    public ActorConfig config() {
        return config;
    }

    public State state() {
        return state.get();
    }

    /** Why the actor failed, if it did. */
    public Optional<Throwable> failure() {
        if (!termination.isCompletedExceptionally()) {
            return Optional.empty();
        }
        try {
            termination.getNow(null);
            return Optional.empty();
        } catch (CompletionException e) {
            return Optional.of(e.getCause() == null ? e : e.getCause());
        } catch (CancellationException e) {
            return Optional.of(e);
        }
    }

    public Stats stats() {
        // Acks are read before sends: a chunk is counted as sent before it is sent, so acked <= sent holds.
        long acked = chunksAcked.get();
        long sent = chunksSent.get();
        return new Stats(frames.get(), episodes.get(), sent, acked, chunksDropped.get(),
                reconnects.get(), weightsVersion.get(), averageReturn);
    }

    /**
     * Waits until the actor thread has ended (after {@link #close()} or a failure).
     *
     * @return true if it ended within {@code timeout}
     */
    public boolean awaitTermination(Duration timeout) throws InterruptedException {
        try {
            termination.get(timeout.toNanos(), TimeUnit.NANOSECONDS);
            return true;
        } catch (ExecutionException e) {
            return true;
        } catch (TimeoutException e) {
            return false;
        }
    }

    /**
     * Stops the actor: wakes and ends the actor thread (which half-closes the learner stream and
     * frees the model and the policy state), cancels the weights stream and shuts down the
     * channels this worker owns. Idempotent; returns within a few seconds even while the actor
     * waits for acks or for the first weights. Chunks not yet acked are abandoned.
     */
    @Override
    public void close() {
        State previous = state.getAndSet(State.CLOSED);
        if (previous == State.CLOSED) {
            return;
        }
        lock.lock();
        try {
            stopping = true;
            changed.signalAll();
        } finally {
            lock.unlock();
        }
        weights.close();
        environments.forEach(VectorEnvironment::close);
        if (previous == State.NEW) {
            termination.complete(null);
        } else if (thread != Thread.currentThread()) {
            try {
                thread.join(CLOSE_WAIT.toMillis());
                if (thread.isAlive()) {
                    LOG.log(Level.WARNING, "actor {0}: the actor thread did not stop within {1} ms; it will free"
                            + " its native memory when it does", config.actorId(), CLOSE_WAIT.toMillis());
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        if (ownsChannels) {
            closeChannels();
        }
        Stats s = stats();
        LOG.log(Level.INFO, "actor {0} closed: {1,number,#} frames, {2,number,#} episodes, {3,number,#} chunks sent,"
                + " {4,number,#} acked, {5,number,#} dropped, {6,number,#} reconnects", config.actorId(), s.frames(),
                s.episodes(), s.chunksSent(), s.chunksAcked(), s.chunksDropped(), s.reconnects());
    }

    // ---------------------------------------------------------------- the actor thread

    private void run() {
        Throwable failure = null;
        ActorCritic model = null;
        List<PolicyInference> policies = new ArrayList<>(2);
        try {
            model = new ActorCritic(config.modelConfig(), config.seed(), Torch.device("cpu"));
            ParameterCodec codec = new ParameterCodec(model);
            Parameters first = awaitFirstWeights(codec);
            if (first == null) {
                return;
            }
            load(codec, first);
            SplittableRandom seeds = new SplittableRandom(config.seed());
            environments = ActorEnvironments.open(config, seeds.nextLong(), registry);
            if (stopping) {
                return;
            }
            for (VectorEnvironment env : environments) {
                policies.add(new PolicyInference(model, env.numEnvs()));
            }
            RolloutCollector collector = new RolloutCollector(environments, policies,
                    config.r2d2() ? config.exploration() : model.distribution(), seeds.nextLong());
            delivery = config.a3c()
                    ? new GradientDelivery(config.actorId(), parameterServerChannel, config.parameterServer(), codec,
                            TrainStep.forGradients(model, config.a3cLoss(), ForwardPath.FAST))
                    : new ChunkDelivery(config.actorId(), learnerChannel, config.learner(), codec.specHash());
            play(codec, collector, new Rollout(config.unroll(), config.numEnvs(), model.config()));
        } catch (InterruptedException e) {
            failure = new ActorFailedException("actor " + config.actorId() + ": the actor thread was interrupted", e);
        } catch (EnvironmentServerException e) {
            failure = new ActorFailedException("actor " + config.actorId() + ": " + e.getMessage(), e);
        } catch (Throwable t) {
            failure = t;
        } finally {
            endStream();
            environments.forEach(VectorEnvironment::close);
            policies.forEach(PolicyInference::close);
            if (model != null) {
                model.close();
            }
            finish(failure);
        }
    }

    /**
     * The main loop, the same in every mode: swap weights, collect a rollout, hand it to the
     * mode's {@link RolloutDelivery}, send what it makes; until stopped.
     */
    private void play(ParameterCodec codec, RolloutCollector collector, Rollout rollout) throws InterruptedException {
        EpisodeBuffer finished = new EpisodeBuffer();
        ReturnTracker tracker = new ReturnTracker();
        Backoff backoff = Backoff.reconnect();
        long sequence = 0;
        while (!stopping) {
            checkWeightsStream();
            Parameters newest = weights.newest();
            if (newest != null && Lineage.supersedes(newest, playing)) {
                // Between rollouts only: every action of a rollout comes from one version.
                load(codec, newest);
            }
            finished.clear();
            collector.collect(rollout, finished);
            recordEpisodes(finished, tracker);
            Message message = delivery.message(rollout, playing, sequence, finished);
            if (message == null) {
                continue;
            }
            if (!deliver(message, sequence, rollout.frames(), backoff)) {
                return;
            }
            sequence++;
        }
    }

    /**
     * Sends one message (chunk or gradient), (re)opening the stream as needed; false if stopped
     * first. A failed stream is abandoned with whatever it had in flight, and this message goes
     * out on the next.
     */
    private boolean deliver(Message chunk, long sequence, long steps, Backoff backoff) throws InterruptedException {
        while (!stopping) {
            if (stream == null) {
                openStream();
            }
            AckedStream.Permit permit = stream.awaitPermit(sequence, () -> stopping);
            switch (permit) {
                case SEND -> {
                    // Counted before the send: its ack may come back before send() returns.
                    frames.addAndGet(steps);
                    framesCounter.increment(steps);
                    chunksSent.incrementAndGet();
                    sentCounter.increment();
                    stream.send(chunk);
                    return true;
                }
                case STOPPED -> {
                    return false;
                }
                case FAILED -> handleStreamFailure(backoff);
                default -> throw new AssertionError("unexpected permit " + permit);
            }
        }
        return false;
    }

    private void openStream() {
        if (streamOpened) {
            reconnects.incrementAndGet();
            reconnectCounter.increment();
        }
        ManagedChannel upstream = delivery.channel();
        if (upstream.getState(false) == ConnectivityState.TRANSIENT_FAILURE) {
            // Our backoff decides when to try; do not also wait out the channel's own.
            upstream.resetConnectBackoff();
        }
        streamOpened = true;
        AckedStream<Message, Message> s = new AckedStream<>(lock, changed, config.maxInFlight(), config.ackTimeout(),
                delivery::ackSequence, this::onAck);
        stream = s;
        try {
            delivery.open(s);
        } catch (RuntimeException e) {
            s.onError(e);
        }
    }

    private void handleStreamFailure(Backoff backoff) {
        AckedStream<Message, Message> failed = stream;
        stream = null;
        Status status = failed.failure();
        int lost = failed.inFlight();
        boolean hadAcks = failed.acks() > 0;
        failed.cancel("abandoned after " + status.getCode());
        if (Statuses.isFatal(status.getCode())) {
            throw new ActorFailedException("the " + delivery.upstreamName() + " rejected actor " + config.actorId()
                    + "'s " + delivery.kind() + " stream (" + Statuses.describe(status)
                    + "); not retrying: this is a configuration mismatch (mode, environment, model sizes, unroll)"
                    + " or a bug");
        }
        streamFailureCounter.increment();
        boolean newOutage;
        lock.lock();
        try {
            newOutage = !outage;
            outage = true;
        } finally {
            lock.unlock();
        }
        if (newOutage) {
            LOG.log(Level.WARNING, "actor {0}: stream to the {1} failed ({2}); {3} unacked chunk(s)"
                    + " lost; reconnecting with backoff", config.actorId(), delivery.upstreamName(),
                    Statuses.describe(status), lost);
        } else {
            LOG.log(Level.DEBUG, "actor {0}: stream attempt failed ({1})", config.actorId(),
                    Statuses.describe(status));
        }
        if (hadAcks) {
            backoff.reset();
        }
        pause(backoff.nextDelayMillis());
    }

    /** Runs under {@link #lock}, on the channel's executor. A chunk dropped as stale, or a gradient too stale to apply. */
    private void onAck(Message ack, AckedStream.InFlight sent) {
        chunksAcked.incrementAndGet();
        ackedCounter.increment();
        boolean accepted = delivery.accepted(ack);
        if (!accepted) {
            chunksDropped.incrementAndGet();
            droppedCounter.increment();
        }
        if (outage) {
            outage = false;
            LOG.log(Level.INFO, "actor {0}: stream to the {1} restored", config.actorId(), delivery.upstreamName());
        }
    }

    /** Half-closes a healthy stream so the learner sees a clean end; cancels a failed one. */
    private void endStream() {
        AckedStream<Message, Message> s = stream;
        stream = null;
        if (s == null) {
            return;
        }
        if (s.failure() == null) {
            s.halfClose();
        } else {
            s.cancel("actor stopped");
        }
    }

    /** Waits for the first weights; null if stopped first. */
    private Parameters awaitFirstWeights(ParameterCodec codec) throws InterruptedException {
        LOG.log(Level.INFO, "actor {0}: waiting up to {1} for weights from the parameter server at {2} (model"
                + " spec {3})", config.actorId(), human(config.startupTimeout()), config.parameterServer(),
                ModelSpecs.hex(codec.specHash()));
        long deadline = System.nanoTime() + config.startupTimeout().toNanos();
        lock.lock();
        try {
            while (true) {
                if (stopping) {
                    return null;
                }
                checkWeightsStream();
                Parameters p = weights.newest();
                if (p != null) {
                    return p;
                }
                long remaining = deadline - System.nanoTime();
                if (remaining <= 0) {
                    throw new ActorFailedException("actor " + config.actorId() + " got no weights from the"
                            + " parameter server at " + config.parameterServer() + " within "
                            + human(config.startupTimeout()) + ": is it running, and has a learner published"
                            + " version 0?");
                }
                changed.awaitNanos(remaining);
            }
        } finally {
            lock.unlock();
        }
    }

    /** Checks the spec and loads the weights into the local model. */
    private void load(ParameterCodec codec, Parameters p) {
        long remote = p.getSpec().getHash();
        if (remote != codec.specHash()) {
            throw new ActorFailedException("model spec mismatch: the parameter server at " + config.parameterServer()
                    + " holds weights version " + p.getVersion() + " for model spec " + ModelSpecs.hex(remote) + " ("
                    + ModelSpecs.describe(p.getSpec()) + ") but actor " + config.actorId() + " runs model spec "
                    + ModelSpecs.hex(codec.specHash()) + " (" + ModelSpecs.describe(codec.spec()) + ", env "
                    + config.env().name() + "). Likely cause: the learner was started with other spaces"
                    + " (--observation-space, --action-space) or another --encoder-sizes or --lstm-size than this"
                    + " actor's --env and model options");
        }
        try {
            codec.decode(p);
        } catch (IllegalArgumentException e) {
            throw new ActorFailedException("weights version " + p.getVersion() + " from the parameter server at "
                    + config.parameterServer() + " cannot be loaded: " + e.getMessage(), e);
        }
        if (playing == null || playing.getIncarnation() != p.getIncarnation()) {
            incarnations.increment();
        }
        playing = p;
        long previous = weightsVersion.getAndSet(p.getVersion());
        if (previous < 0) {
            Gauge.builder(Metrics.PARAMETERS_VERSION, weightsVersion, AtomicLong::get)
                    .description("Weights version the actor plays with").tag("actor", config.actorId())
                    .register(registry);
            LOG.log(Level.INFO, "actor {0}: playing with weights version {1,number,#}", config.actorId(),
                    p.getVersion());
        } else {
            LOG.log(Level.DEBUG, "actor {0}: weights {1,number,#} -> {2,number,#}", config.actorId(), previous, p.getVersion());
        }
    }

    private void checkWeightsStream() {
        Status fatal = weights.fatalStatus();
        if (fatal != null) {
            throw new ActorFailedException("the parameter server at " + config.parameterServer() + " refused actor "
                    + config.actorId() + "'s weights stream (" + Statuses.describe(fatal) + "); not retrying");
        }
    }

    private void recordEpisodes(EpisodeBuffer finished, ReturnTracker tracker) {
        int n = finished.size();
        if (n == 0) {
            return;
        }
        for (int i = 0; i < n; i++) {
            float r = finished.returnAt(i);
            int length = finished.lengthAt(i);
            returnSummary.record(r);
            lengthSummary.record(length);
            tracker.accept(r, length);
        }
        episodesCounter.increment(n);
        episodes.addAndGet(n);
        averageReturn = tracker.average();
    }

    /** Sleeps unless stopped first (close() signals the condition). */
    private void pause(long millis) {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(millis);
        lock.lock();
        try {
            while (!stopping) {
                long remaining = deadline - System.nanoTime();
                if (remaining <= 0) {
                    return;
                }
                changed.awaitNanos(remaining);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            stopping = true;
        } finally {
            lock.unlock();
        }
    }

    private void finish(Throwable failure) {
        if (failure == null || stopping) {
            if (failure != null) {
                LOG.log(Level.DEBUG, "actor {0}: error while stopping: {1}", config.actorId(), failure.toString());
            }
            termination.complete(null);
            return;
        }
        state.compareAndSet(State.RUNNING, State.FAILED);
        if (failure instanceof ActorFailedException) {
            // A stated reason (configuration, peers): the message says it all.
            LOG.log(Level.ERROR, "actor {0} stopped: {1}", config.actorId(), failure.getMessage());
        } else {
            LOG.log(Level.ERROR, () -> "actor " + config.actorId() + " stopped by an unexpected error", failure);
        }
        termination.completeExceptionally(failure);
    }

    private void wake() {
        lock.lock();
        try {
            changed.signalAll();
        } finally {
            lock.unlock();
        }
    }

    private void closeChannels() {
        learnerChannel.shutdown();
        parameterServerChannel.shutdown();
        try {
            if (!learnerChannel.awaitTermination(1, TimeUnit.SECONDS)) {
                learnerChannel.shutdownNow();
            }
            if (!parameterServerChannel.awaitTermination(1, TimeUnit.SECONDS)) {
                parameterServerChannel.shutdownNow();
            }
        } catch (InterruptedException e) {
            learnerChannel.shutdownNow();
            parameterServerChannel.shutdownNow();
            Thread.currentThread().interrupt();
        }
    }

    /** "60 s", or "500 ms" below a second or when not whole seconds. */
    static String human(Duration d) {
        long ms = d.toMillis();
        return ms % 1000 == 0 ? ms / 1000 + " s" : ms + " ms";
    }
}
