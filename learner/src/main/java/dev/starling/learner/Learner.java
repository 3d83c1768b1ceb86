package dev.starling.learner;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.lang.System.Logger.Level;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

import dev.starling.transport.Backoff;
import dev.starling.transport.Channels;
import dev.starling.transport.Security;
import dev.starling.transport.Servers;
import dev.starling.transport.metrics.Metrics;
import dev.starling.common.model.ActorCritic;
import dev.starling.common.model.ModelConfig;
import dev.starling.common.model.ModelSpecs;
import dev.starling.common.model.ParameterCodec;
import dev.starling.common.model.Torch;
import dev.starling.common.rl.ForwardPath;
import dev.starling.common.rl.Optimizer;
import dev.starling.common.rl.TrainStep;
import dev.starling.proto.v1.GetParametersRequest;
import dev.starling.proto.v1.GetParametersResponse;
import dev.starling.proto.v1.LearnerGrpc;
import dev.starling.proto.v1.LearnerStatus;
import dev.starling.proto.v1.ModelSpec;
import dev.starling.proto.v1.ParameterServerGrpc;
import dev.starling.proto.v1.Parameters;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.ServerBuilder;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.protobuf.services.HealthStatusManager;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.binder.grpc.MetricCollectingServerInterceptor;

/**
 * The learner process: the Learner gRPC service (actors stream trajectory chunks in), one
 * training thread ({@link TrainerLoop}: impala's V-trace updates on batches of chunks;
 * {@link R2d2Trainer}: r2d2's replay of sequences when {@link LearnerConfig#r2d2()} is set) and a
 * publisher thread (weights to the parameter server).
 *
 * <p>Lifecycle: NEW -> {@link #start()} -> RUNNING -> {@link #close()} -> CLOSED.
 * {@code start} first reaches the parameter server (retrying UNAVAILABLE for
 * {@link LearnerConfig#startupTimeout()}): if it holds weights of this model, the learner loads
 * them and the optimizer state and continues from that version (a restarted learner continues);
 * if it holds nothing, the learner publishes its freshly initialised, seeded model as version 0;
 * if it holds weights of another model, {@code start} fails naming both spec hashes. Then the
 * gRPC server (bounded executor, health service SERVING) and the threads start.
 *
 * <p>{@code close} is idempotent: it reports NOT_SERVING, ends the open chunk streams with
 * UNAVAILABLE, shuts the server down ({@code shutdown}, 5 s, {@code shutdownNow}), stops the
 * trainer after its current update, publishes the final weights and optimizer state if they
 * changed since the last acknowledged publish (best effort, one deadline), and releases the
 * model and optimizer. The learner owns its executor and, when built by {@link #forPort}, its
 * channel to the parameter server; a channel passed to the constructor stays the caller's.
 *
 * <p>Thread-safe. Metrics (tagged {@code role=learner}): see {@link Metrics}: samples, updates,
 * update time, loss by term, gradient norm, skipped updates, policy lag, queue length, rejected
 * chunks by reason, dropped stale chunks. Use one instance per {@link MeterRegistry}.
 */
public final class Learner implements AutoCloseable {

    private static final System.Logger LOG = System.getLogger(Learner.class.getName());

    /** How long {@link #close()} waits for calls to finish before cancelling them. */
    static final long SHUTDOWN_TIMEOUT_SECONDS = 5;
    /** How long {@link #close()} waits for the trainer to finish its current update. */
    static final long TRAINER_STOP_TIMEOUT_SECONDS = 60;

    /** Lifecycle states. */
    public enum State { NEW, RUNNING, CLOSED }

    private final LearnerConfig config;
    private final ModelConfig modelConfig;
    private final ManagedChannel channel;
    private final boolean ownsChannel;
    private final ParameterServerGrpc.ParameterServerBlockingStub stub;
    private final ActorCritic model;
    private final Optimizer optimizer;
    private final ParameterCodec codec;
    private final ChunkQueue queue;
    private final LearnerStats stats = new LearnerStats();
    private final Publisher publisher;
    private final LearnerService service;
    private final Trainer trainer;
    private final HealthStatusManager health = new HealthStatusManager();
    private final ExecutorService callExecutor;
    private final Server server;
    private final Object lifecycle = new Object();
    private final CountDownLatch terminated = new CountDownLatch(1);
    private final AtomicReference<Throwable> failure = new AtomicReference<>();
    private volatile State state = State.NEW;
    private volatile boolean closeRequested;
    private volatile int boundPort = -1;
    private Thread trainerThread;

    /**
     * Builds the model (seeded, on {@code config.device()}), its optimizer and the service, and
     * wires the service onto {@code serverBuilder}, which may be any transport (tests pass an
     * in-process builder; add TLS or interceptors to it before). Installs on it a bounded call
     * executor, the inbound message limit, the Learner service and the health service.
     *
     * @param parameterServerChannel channel to the parameter server; the caller closes it
     */
    public Learner(ServerBuilder<?> serverBuilder, LearnerConfig config, MeterRegistry registry,
            ManagedChannel parameterServerChannel) {
        this(serverBuilder, config, registry, parameterServerChannel, false);
    }

    private Learner(ServerBuilder<?> serverBuilder, LearnerConfig config, MeterRegistry registry,
            ManagedChannel parameterServerChannel, boolean ownsChannel) {
        this.config = Objects.requireNonNull(config, "config");
        Objects.requireNonNull(serverBuilder, "serverBuilder");
        Objects.requireNonNull(registry, "registry");
        this.channel = Objects.requireNonNull(parameterServerChannel, "parameterServerChannel");
        this.ownsChannel = ownsChannel;
        this.modelConfig = config.modelConfig();
        this.model = new ActorCritic(modelConfig, config.seed(), Torch.device(config.device()));
        Optimizer opt = null;
        ExecutorService executor = null;
        try {
            opt = Optimizer.create(config.optimizer(), model.parameters(), config.learningRate());
            this.optimizer = opt;
            this.codec = new ParameterCodec(model);
            this.stub = ParameterServerGrpc.newBlockingStub(channel)
                    .withMaxInboundMessageSize(config.maxMessageBytes())
                    .withMaxOutboundMessageSize(config.maxMessageBytes());
            this.queue = new ChunkQueue(config.queueChunks());
            this.publisher = new Publisher(stub, channel.authority(), codec.specHash());
            this.service = new LearnerService(modelConfig, codec.specHash(), config.unroll(), config.chunkLimits(),
                    config.maxPolicyLag(), queue, stats, publisher, this::status, registry);
            this.trainer = config.r2d2() != null
                    ? new R2d2Trainer(config, model, codec, optimizer, queue, service::wakeWaiting, stats, publisher,
                            registry)
                    : new TrainerLoop(config, codec, optimizer, new TrainStep(model, optimizer, config.loss(),
                            ForwardPath.FAST), queue, service::wakeWaiting, stats, publisher, registry);
            Gauge.builder(Metrics.LEARNER_QUEUE, queue, ChunkQueue::size)
                    .description("Chunks waiting in the learner's queue")
                    .tag("role", LearnerService.ROLE)
                    .register(registry);
            int threads = Math.max(4, 2 * Runtime.getRuntime().availableProcessors());
            executor = Servers.boundedExecutor("starling-learner-call", threads);
            this.callExecutor = executor;
            this.server = serverBuilder
                    .executor(callExecutor)
                    .maxInboundMessageSize(config.maxMessageBytes())
                    .addService(service)
                    .addService(health.getHealthService())
                    .intercept(new MetricCollectingServerInterceptor(registry))
                    .build();
        } catch (RuntimeException e) {
            if (executor != null) {
                executor.shutdownNow();
            }
            if (opt != null) {
                opt.close();
            }
            model.close();
            throw e;
        }
    }

    /**
     * A learner serving plaintext gRPC on {@code config.port()} (all interfaces, see
     * {@link Servers#netty}) with its own plaintext channel to {@code config.parameterServer()};
     * it closes both.
     */
    public static Learner forPort(LearnerConfig config, MeterRegistry registry) {
        return forPort(config, registry, Security.NONE);
    }

    /**
     * As {@link #forPort(LearnerConfig, MeterRegistry)}, with {@code security} on both sides: the
     * server requires it of every caller (see {@link Servers#netty(int, int, Security,
     * MeterRegistry, String)}) and the channel to the parameter server presents it.
     */
    public static Learner forPort(LearnerConfig config, MeterRegistry registry, Security security) {
        LOG.log(Level.INFO, "learner transport: {0}", security);
        ManagedChannel channel = Channels.create(config.parameterServer(), config.maxMessageBytes(), security, registry);
        try {
            return new Learner(Servers.netty(config.port(), config.maxMessageBytes(), security, registry,
                    LearnerService.ROLE), config, registry, channel, true);
        } catch (RuntimeException e) {
            Channels.close(channel);
            throw e;
        }
    }

    /**
     * Connects to the parameter server (loading or publishing the weights, see the class
     * comment), starts serving, reports SERVING, and starts training.
     *
     * @throws IOException if the parameter server did not answer within the startup timeout or
     *     refused, or the server cannot bind; the learner is closed then
     * @throws IllegalStateException if the parameter server holds weights of another model spec
     *     (the learner is closed then), or if already started or closed
     */
    public Learner start() throws IOException {
        synchronized (lifecycle) {
            if (state != State.NEW || closeRequested) {
                throw new IllegalStateException("learner is " + (closeRequested ? State.CLOSED : state)
                        + ", start() needs NEW");
            }
            LOG.log(Level.INFO, "learner config: {0}", config);
            LOG.log(Level.INFO, "model {0}: {1,number,#} parameters, spec {2}, device {3}", modelConfig,
                    model.parameterCount(), ModelSpecs.hex(codec.specHash()), model.device().str().getString());
            try {
                connect();
                server.start();
                boundPort = server.getPort();
            } catch (IOException | RuntimeException e) {
                closeLocked();
                throw e;
            } catch (InterruptedException e) {
                closeLocked();
                Thread.currentThread().interrupt();
                InterruptedIOException io = new InterruptedIOException("interrupted while starting the learner");
                io.initCause(e);
                throw io;
            }
            state = State.RUNNING;
            health.setStatus("", ServingStatus.SERVING);
            health.setStatus(LearnerGrpc.SERVICE_NAME, ServingStatus.SERVING);
            publisher.start();
            trainerThread = new Thread(trainer, "starling-learner-trainer");
            trainerThread.setDaemon(true);
            trainerThread.setUncaughtExceptionHandler((t, e) -> trainerFailed(e));
            trainerThread.start();
            LOG.log(Level.INFO, "learner started on port {0,number,#} at version {1,number,#}", boundPort,
                    publisher.acknowledgedVersion());
            return this;
        }
    }

    /** The bound port (useful with port 0); -1 before start and for in-process transports. */
    public int port() {
        return boundPort;
    }

    public State state() {
        return state;
    }

    public LearnerConfig config() {
        return config;
    }

    /** The spec of the model this learner trains (its hash is what chunks must carry). */
    public ModelSpec modelSpec() {
        return codec.spec();
    }

    /** Training progress, as GetStatus answers it. */
    public LearnerStatus status() {
        return stats.status(Math.max(0, publisher.acknowledgedVersion()), queue.size());
    }

    /** Why the trainer stopped on its own (it closes the learner then), if it did. */
    public Optional<Throwable> failure() {
        return Optional.ofNullable(failure.get());
    }

    /** Blocks until {@link #close()} finished (called by another thread or after a trainer failure). */
    public void awaitTermination() throws InterruptedException {
        terminated.await();
    }

    /** Like {@link #awaitTermination()}, with a timeout; true if closed. */
    public boolean awaitTermination(long timeout, TimeUnit unit) throws InterruptedException {
        return terminated.await(timeout, unit);
    }

    @Override
    public void close() {
        closeRequested = true;
        synchronized (lifecycle) {
            closeLocked();
        }
    }

    /** Fault-injection point for tests: while {@code true} the trainer takes no chunks. */
    void holdTraining(boolean hold) {
        trainer.hold(hold);
    }

    /** Open PushTrajectories streams (for tests). */
    int openStreams() {
        return service.openStreams();
    }

    private void closeLocked() {
        if (state == State.CLOSED) {
            return;
        }
        State previous = state;
        state = State.CLOSED;
        boolean interrupted = false;
        health.enterTerminalState();
        service.close();
        server.shutdown();
        interrupted |= !Servers.awaitThenCancel(server, SHUTDOWN_TIMEOUT_SECONDS);
        boolean trainerStopped = stopTrainer();
        queue.clear();
        if (previous == State.RUNNING && trainerStopped && failure.get() == null) {
            try {
                interrupted |= !publishFinal();
            } catch (RuntimeException e) {
                LOG.log(Level.WARNING, "final publish failed", e);
            }
        }
        publisher.close();
        callExecutor.shutdown();
        try {
            if (!callExecutor.awaitTermination(SHUTDOWN_TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
                callExecutor.shutdownNow();
            }
        } catch (InterruptedException e) {
            callExecutor.shutdownNow();
            interrupted = true;
        }
        if (ownsChannel) {
            Channels.close(channel);
        }
        if (trainerStopped) {
            trainer.close();
            optimizer.close();
            model.close();
        } else {
            LOG.log(Level.WARNING, "the trainer did not stop within {0} s; leaving its native memory to the"
                    + " process exit", TRAINER_STOP_TIMEOUT_SECONDS);
        }
        terminated.countDown();
        LOG.log(Level.INFO, "learner closed: {0} updates, version {1,number,#}", stats.updates(),
                publisher.acknowledgedVersion());
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }

    /** Stops the trainer thread; true once it no longer runs (or never ran). */
    private boolean stopTrainer() {
        trainer.stop();
        Thread t = trainerThread;
        if (t == null) {
            return true;
        }
        if (t == Thread.currentThread()) {
            return false;
        }
        try {
            t.join(TimeUnit.SECONDS.toMillis(TRAINER_STOP_TIMEOUT_SECONDS));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
        return !t.isAlive();
    }

    /**
     * Publishes the final weights and optimizer state if the optimizer stepped since the last
     * acknowledged optimizer state. False if interrupted.
     */
    private boolean publishFinal() {
        if (optimizer.steps() == publisher.acknowledgedOptimizerSteps()) {
            return true;
        }
        publisher.offer(trainer.snapshot(true));
        try {
            if (!publisher.flush(Channels.UNARY_DEADLINE)) {
                LOG.log(Level.WARNING, "could not publish the final weights within {0} s; the parameter server"
                        + " keeps version {1,number,#}", Channels.UNARY_DEADLINE.toSeconds(),
                        publisher.acknowledgedVersion());
            } else {
                LOG.log(Level.INFO, "published final weights as version {0,number,#} with the optimizer state",
                        publisher.acknowledgedVersion());
            }
            return true;
        } catch (InterruptedException e) {
            return false;
        }
    }

    private void trainerFailed(Throwable e) {
        failure.compareAndSet(null, e);
        LOG.log(Level.ERROR, "the trainer failed; closing the learner", e);
        Thread closer = new Thread(this::close, "starling-learner-shutdown");
        closer.setDaemon(true);
        closer.start();
    }

    /**
     * The start-up handshake with the parameter server: load its weights (same spec), publish
     * ours as version 0 (it holds none), or fail (another spec). Retries UNAVAILABLE and
     * DEADLINE_EXCEEDED with backoff until the startup timeout.
     */
    private void connect() throws IOException, InterruptedException {
        String target = channel.authority();
        long deadline = System.nanoTime() + config.startupTimeout().toNanos();
        Backoff backoff = Backoff.reconnect();
        StatusRuntimeException last = null;
        while (true) {
            if (closeRequested) {
                throw new IllegalStateException("the learner was closed while starting");
            }
            try {
                GetParametersResponse r = stub
                        .withDeadlineAfter(Channels.UNARY_DEADLINE.toMillis(), TimeUnit.MILLISECONDS)
                        .getParameters(GetParametersRequest.newBuilder().setIncludeOptimizerState(true).build());
                resume(r, target);
                return;
            } catch (StatusRuntimeException e) {
                Status.Code code = e.getStatus().getCode();
                if (code == Status.Code.NOT_FOUND) {
                    StatusRuntimeException refused = publishInitial(target);
                    if (refused == null) {
                        return;
                    }
                    // FAILED_PRECONDITION: someone published between our read and our publish;
                    // read again after the backoff, like after a transient failure.
                    last = refused;
                } else if (code == Status.Code.UNAVAILABLE || code == Status.Code.DEADLINE_EXCEEDED) {
                    last = e;
                } else {
                    throw new IOException("the parameter server at " + target + " refused GetParameters: "
                            + describe(e), e);
                }
            }
            long delay = TimeUnit.MILLISECONDS.toNanos(backoff.nextDelayMillis());
            long remaining = deadline - System.nanoTime();
            if (remaining <= 0) {
                throw new IOException("the parameter server at " + target + " did not answer within "
                        + config.startupTimeout().toSeconds() + " s (last error: " + describe(last)
                        + "); is it running and is --parameter-server right?", last);
            }
            if (backoff.attempts() == 1 || backoff.attempts() % 10 == 0) {
                LOG.log(Level.INFO, "waiting for the parameter server at {0} ({1}), attempt {2}, giving up in {3} s",
                        target, describe(last), backoff.attempts(), TimeUnit.NANOSECONDS.toSeconds(remaining));
            }
            sleepUnlessClosed(Math.min(delay, remaining));
        }
    }

    /** Loads what the server holds; fails if it is another model. */
    private void resume(GetParametersResponse r, String target) {
        Parameters p = r.getParameters();
        long ours = codec.specHash();
        if (p.getSpec().getHash() != ours) {
            ModelSpec theirs = p.getSpec();
            throw new IllegalStateException("the parameter server at " + target + " holds weights of model spec "
                    + ModelSpecs.hex(theirs.getHash()) + " (" + ModelSpecs.describe(theirs)
                    + ") but this learner trains model spec " + ModelSpecs.hex(ours) + " (" + modelConfig.describe()
                    + "); likely other spaces or another --encoder-sizes or --lstm-size than the run that published"
                    + " them: use the same settings, or a fresh parameter server / checkpoint directory");
        }
        codec.decode(p);
        if (r.hasOptimizerState()) {
            try {
                optimizer.importState(r.getOptimizerState(), ours);
                LOG.log(Level.INFO, "restored the {0} optimizer state at step {1,number,#}",
                        optimizer.algorithm(), optimizer.steps());
            } catch (IllegalArgumentException e) {
                LOG.log(Level.WARNING, "not restoring the optimizer state ({0}); starting {1} afresh",
                        e.getMessage(), optimizer.algorithm());
            }
        } else {
            LOG.log(Level.INFO, "the parameter server holds no optimizer state; starting {0} afresh",
                    optimizer.algorithm());
        }
        // Weights that came with their optimizer state may be older than what actors already play:
        // number the next publishes above the newest version, so their chunks are not "from the future".
        long held = Math.max(p.getVersion(), r.getHeldVersion());
        publisher.restored(held, optimizer.steps(), p.getIncarnation());
        trainer.resumeFrom(optimizer.steps());
        LOG.log(Level.INFO, "continuing from the weights of version {0,number,#}{1} held by the parameter server at {2}",
                p.getVersion(), held == p.getVersion() ? "" : " (newest " + held + ")", target);
    }

    /**
     * Publishes the fresh model as version 0 with its optimizer state.
     *
     * @return null if published; the refusal if it was FAILED_PRECONDITION (the server got
     *     weights from elsewhere meanwhile), UNAVAILABLE or DEADLINE_EXCEEDED (retry)
     * @throws IOException if the server refused otherwise
     */
    private StatusRuntimeException publishInitial(String target) throws IOException {
        try {
            publisher.publishNow(trainer.snapshot(true), 0);
        } catch (StatusRuntimeException e) {
            Status.Code code = e.getStatus().getCode();
            if (code == Status.Code.FAILED_PRECONDITION || code == Status.Code.UNAVAILABLE
                    || code == Status.Code.DEADLINE_EXCEEDED) {
                return e;
            }
            throw new IOException("the parameter server at " + target + " refused the initial weights: "
                    + describe(e), e);
        }
        trainer.resumeFrom(0);
        LOG.log(Level.INFO, "the parameter server at {0} held no weights: published the fresh model as version 0",
                target);
        return null;
    }

    private void sleepUnlessClosed(long nanos) throws InterruptedException {
        long end = System.nanoTime() + nanos;
        long left;
        while (!closeRequested && (left = end - System.nanoTime()) > 0) {
            TimeUnit.NANOSECONDS.sleep(Math.min(left, TimeUnit.MILLISECONDS.toNanos(50)));
        }
    }

    private static String describe(StatusRuntimeException e) {
        if (e == null) {
            return "none";
        }
        Status s = e.getStatus();
        return s.getCode() + (s.getDescription() == null ? "" : ": " + s.getDescription());
    }

    /** The parameter server incarnation this learner publishes to, as its newest answer said (for tests). */
    long parameterServerIncarnation() {
        return publisher.incarnation();
    }
}
