package dev.starling.ps;

import java.io.IOException;
import java.lang.System.Logger.Level;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

import com.google.protobuf.Timestamp;
import dev.starling.transport.Security;
import dev.starling.transport.Servers;
import dev.starling.proto.v1.Checkpoint;
import dev.starling.proto.v1.LearnerStatus;
import dev.starling.proto.v1.ParameterServerGrpc;
import dev.starling.proto.v1.Provenance;
import io.grpc.Server;
import io.grpc.ServerBuilder;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.protobuf.services.HealthStatusManager;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.binder.grpc.MetricCollectingServerInterceptor;

/**
 * The parameter-server process: the {@link ParameterStore}, its gRPC service and the gRPC health
 * service on one {@link Server}, plus periodic checkpoints.
 *
 * <p>Two modes (see {@link ParameterServerConfig#a3c()}): in impala mode the weights come from
 * the learner through PublishParameters; in a3c mode a {@link GradientApplier} applies the
 * actors' gradients from PushGradients with one shared optimizer, and publishes are refused.
 *
 * <p>Lifecycle: NEW -> {@link #start()} -> RUNNING -> {@link #close()} -> CLOSED. {@code start}
 * restores the newest valid checkpoint (if a directory is configured), in a3c mode builds the
 * model from it (or initialises version 0), starts the server and reports SERVING.
 * {@code close} is idempotent: it reports NOT_SERVING, stops accepting calls, in a3c mode stops
 * applying gradients and stores the final optimizer state, refuses further publishes, writes a
 * final checkpoint if the state changed, ends watch and gradient streams with UNAVAILABLE, then
 * {@code shutdown()}, {@code awaitTermination} (5 s) and {@code shutdownNow()}. The instance owns
 * its executors and the applier's native memory and releases them in {@code close}.
 *
 * <p>Thread-safe. Metrics (all tagged {@code role=parameter-server}): {@code starling.rejected},
 * {@code starling.parameters.version}, {@code starling.parameters.watchers},
 * {@code starling.weights.broadcast}; in a3c mode also {@code starling.ps.gradients.applied},
 * {@code starling.ps.gradients.stale}, {@code starling.ps.gradient.frames} and
 * {@code starling.policy.lag.versions}. Use one instance per {@link MeterRegistry}.
 */
public final class ParameterServer implements AutoCloseable {

    private static final System.Logger LOG = System.getLogger(ParameterServer.class.getName());

    /** How long {@link #close()} waits for calls to finish before cancelling them. */
    static final long SHUTDOWN_TIMEOUT_SECONDS = 5;
    /** Keepalive pings from clients are accepted this often (actors hold watch streams for hours). */

    private enum State { NEW, RUNNING, CLOSED }

    private final ParameterServerConfig config;
    private final ParameterStore store;
    private final ParameterServerService service;
    /** Null in impala mode. */
    private final GradientApplier applier;
    private final HealthStatusManager health = new HealthStatusManager();
    private final ExecutorService callExecutor;
    private final ExecutorService broadcastExecutor;
    private final ScheduledExecutorService checkpointScheduler;
    private final CheckpointStore checkpoints;
    private final Server server;
    private final AtomicReference<State> state = new AtomicReference<>(State.NEW);
    private final Object checkpointLock = new Object();
    /**
     * The state the newest checkpoint was written from or restored to; null for none. Compared by
     * identity: in a3c mode the optimizer state can change without a new version. Guarded by
     * checkpointLock.
     */
    private ParameterSnapshot checkpointed;

    /**
     * Wires the service onto {@code builder}, which may be any transport (tests pass an
     * in-process builder). Installs on it a bounded call executor, the inbound message limit
     * from {@code config}, the ParameterServer service, the health service and gRPC server
     * meters; it does not set a port (that is the builder's business; see {@link #nettyBuilder}).
     */
    public ParameterServer(ServerBuilder<?> builder, ParameterServerConfig config, MeterRegistry registry) {
        this.config = config;
        this.store = new ParameterStore(registry);
        int threads = Math.max(4, 2 * Runtime.getRuntime().availableProcessors());
        this.callExecutor = Servers.boundedExecutor("starling-ps-call", threads);
        this.broadcastExecutor = Executors.newSingleThreadExecutor(daemonThreads("starling-ps-broadcast"));
        this.applier = config.a3cEnabled() ? new GradientApplier(config.a3c(), store, registry) : null;
        this.service = new ParameterServerService(store, registry, broadcastExecutor, applier);
        if (config.checkpointsEnabled()) {
            this.checkpoints = new CheckpointStore(config.checkpointDir(), config.keepCheckpoints());
            this.checkpointScheduler = Executors.newSingleThreadScheduledExecutor(daemonThreads("starling-ps-checkpoint"));
        } else {
            this.checkpoints = null;
            this.checkpointScheduler = null;
        }
        this.server = builder
                .executor(callExecutor)
                .maxInboundMessageSize(config.maxMessageBytes())
                .addService(service)
                .addService(health.getHealthService())
                .intercept(new MetricCollectingServerInterceptor(registry))
                .build();
    }

    /** A plaintext Netty server on {@code config.port()}, configured by {@link #nettyBuilder}. */
    public static ParameterServer forPort(ParameterServerConfig config, MeterRegistry registry) {
        return forPort(config, registry, Security.NONE);
    }

    /**
     * A Netty server on {@code config.port()} secured by {@code security} (mutual TLS and/or a
     * bearer token on every call, the health service included; see {@link Servers#netty(int, int,
     * Security, MeterRegistry, String)}).
     */
    public static ParameterServer forPort(ParameterServerConfig config, MeterRegistry registry, Security security) {
        LOG.log(Level.INFO, "parameter server transport: {0}", security);
        return new ParameterServer(Servers.netty(config.port(), config.maxMessageBytes(), security, registry,
                ParameterStore.ROLE), config, registry);
    }

    /** A Netty builder on {@code config.port()} with Starling's server settings ({@link Servers#netty}). */
    public static NettyServerBuilder nettyBuilder(ParameterServerConfig config) {
        return Servers.netty(config.port(), config.maxMessageBytes());
    }

    /**
     * Restores the newest valid checkpoint (if configured), in a3c mode starts the gradient
     * applier, starts serving, reports SERVING and schedules periodic checkpoints.
     *
     * @throws IOException if the checkpoint directory cannot be created or listed, or the server
     *     cannot bind; the instance is closed then
     * @throws IllegalStateException if already started or closed; or in a3c mode, if the restored
     *     checkpoint holds another model than the configured one (the instance is closed then)
     */
    public ParameterServer start() throws IOException {
        if (state.get() != State.NEW) {
            throw new IllegalStateException("parameter server is " + state.get() + ", start() needs NEW");
        }
        LOG.log(Level.INFO, "parameter server config: {0}", config);
        try {
            if (checkpoints != null) {
                checkpoints.open();
                restoreNewestCheckpoint();
            }
            if (applier != null) {
                applier.start();
            }
            server.start();
        } catch (IOException | RuntimeException e) {
            close();
            throw e;
        }
        if (!state.compareAndSet(State.NEW, State.RUNNING)) {
            server.shutdownNow();
            throw new IllegalStateException("parameter server was closed while starting");
        }
        health.setStatus("", ServingStatus.SERVING);
        health.setStatus(ParameterServerGrpc.SERVICE_NAME, ServingStatus.SERVING);
        if (checkpointScheduler != null) {
            long every = config.checkpointIntervalSeconds();
            checkpointScheduler.scheduleWithFixedDelay(this::periodicCheckpoint, every, every, TimeUnit.SECONDS);
        }
        LOG.log(Level.INFO, "parameter server started on port {0,number,#}, holding version {1}", server.getPort(),
                store.version().isPresent() ? Long.toString(store.version().getAsLong()) : "none");
        return this;
    }

    /** The bound port (useful with port 0); -1 for transports without one (in-process). */
    public int port() {
        return server.getPort();
    }

    /** The state this server serves. */
    public ParameterStore store() {
        return store;
    }

    public ParameterServerConfig config() {
        return config;
    }

    /** Progress of the gradient path; empty in impala mode. */
    public Optional<A3cStatus> a3cStatus() {
        return applier == null ? Optional.empty() : Optional.of(applier.status());
    }

    /**
     * What GetStatus answers: in a3c mode frames, episodes, mean return, updates, version and
     * mean staleness of the gradient path; in impala mode only the version (see the RPC's comment
     * in {@code parameter_server.proto}). Never blocks.
     */
    public LearnerStatus status() {
        return service.status();
    }

    /**
     * Writes a checkpoint now if a directory is configured, something is held and it changed
     * since the last checkpoint (a new version, or in a3c mode a newer optimizer state).
     *
     * @return the file written, or empty if nothing needed writing
     */
    public Optional<Path> checkpointNow() throws IOException {
        if (checkpoints == null) {
            return Optional.empty();
        }
        synchronized (checkpointLock) {
            if (applier != null) {
                // a3c: the server owns the statistics; checkpoint them with the newest weights.
                applier.storeOptimizerState();
            }
            ParameterSnapshot s = store.current();
            if (s == null || s == checkpointed) {
                return Optional.empty();
            }
            Path file = checkpoints.write(toCheckpoint(s, Provenances.current(config.provenance())));
            checkpointed = s;
            LOG.log(Level.INFO, "wrote checkpoint {0}", file);
            return Optional.of(file);
        }
    }

    /** Blocks until the server has terminated (after {@link #close()} from another thread). */
    public void awaitTermination() throws InterruptedException {
        server.awaitTermination();
    }

    @Override
    public void close() {
        State previous = state.getAndSet(State.CLOSED);
        if (previous == State.CLOSED) {
            return;
        }
        boolean interrupted = false;
        health.enterTerminalState();
        server.shutdown();
        if (applier != null) {
            // Before the seal: the applier stores its final optimizer state.
            applier.close();
        }
        store.seal();
        if (checkpointScheduler != null) {
            checkpointScheduler.shutdown();
            interrupted |= !awaitQuietly(checkpointScheduler);
        }
        if (previous == State.RUNNING) {
            try {
                checkpointNow();
            } catch (IOException | RuntimeException e) {
                LOG.log(Level.WARNING, "final checkpoint failed", e);
            }
        }
        service.close();
        interrupted |= !Servers.awaitThenCancel(server, SHUTDOWN_TIMEOUT_SECONDS);
        broadcastExecutor.shutdown();
        callExecutor.shutdown();
        interrupted |= !awaitQuietly(broadcastExecutor);
        interrupted |= !awaitQuietly(callExecutor);
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
        LOG.log(Level.INFO, "parameter server closed");
    }

    private void restoreNewestCheckpoint() throws IOException {
        Optional<CheckpointStore.Loaded> loaded = checkpoints.loadNewestValid();
        if (loaded.isEmpty()) {
            LOG.log(Level.INFO, "no checkpoint to restore in {0}", checkpoints.dir());
            return;
        }
        Checkpoint c = loaded.get().checkpoint();
        // Checkpoints hold the optimizer state with the weights it belongs to (older ones did not:
        // their state is still the best there is for their weights).
        ParameterSnapshot s = c.hasOptimizerState()
                ? new ParameterSnapshot(c.getParameters(), c.getOptimizerState(),
                        c.hasOptimizerStateParameters() ? c.getOptimizerStateParameters() : c.getParameters(),
                        c.getLearnerUpdates(), System.nanoTime())
                : ParameterSnapshot.weightsOnly(c.getParameters(), c.getLearnerUpdates(), System.nanoTime());
        if (store.restore(s)) {
            synchronized (checkpointLock) {
                // What the store installed (stamped with this incarnation): unchanged, so not rewritten.
                checkpointed = store.current();
            }
            LOG.log(Level.INFO, "restored version {0,number,#} ({1,number,#} learner updates) from {2}",
                    s.version(), s.learnerUpdates(), loaded.get().file());
        } else {
            LOG.log(Level.WARNING, "not restoring {0}: the store already holds version {1,number,#}",
                    loaded.get().file(), store.version().orElse(-1));
        }
    }

    private void periodicCheckpoint() {
        try {
            checkpointNow();
        } catch (IOException | RuntimeException e) {
            LOG.log(Level.WARNING, "periodic checkpoint failed; will retry", e);
        }
    }

    /**
     * The checkpoint of {@code s}: the newest weights, and the optimizer state with the weights it
     * belongs to (a few versions older when a learner sends its state only every few seconds), so
     * a restart never pairs newer weights with older statistics.
     */
    static Checkpoint toCheckpoint(ParameterSnapshot s, Provenance provenance) {
        Instant now = Instant.now();
        Checkpoint.Builder b = Checkpoint.newBuilder()
                .setParameters(s.parameters())
                .setLearnerUpdates(s.learnerUpdates())
                .setProvenance(provenance)
                .setCreatedAt(Timestamp.newBuilder().setSeconds(now.getEpochSecond()).setNanos(now.getNano()));
        if (s.hasOptimizerState()) {
            b.setOptimizerState(s.optimizerState()).setOptimizerStateVersion(s.optimizerStateVersion())
                    .setOptimizerStateParameters(s.optimizerStateParameters());
        }
        return b.build();
    }

    /** Waits briefly for an executor; false if interrupted. */
    private static boolean awaitQuietly(ExecutorService executor) {
        try {
            if (!executor.awaitTermination(SHUTDOWN_TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
                executor.shutdownNow();
            }
            return true;
        } catch (InterruptedException e) {
            executor.shutdownNow();
            return false;
        }
    }

    private static ThreadFactory daemonThreads(String prefix) {
        AtomicInteger n = new AtomicInteger();
        return r -> {
            Thread t = new Thread(r, prefix + "-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        };
    }
}
