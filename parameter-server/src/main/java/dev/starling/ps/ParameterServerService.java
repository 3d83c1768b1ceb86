package dev.starling.ps;

import java.lang.System.Logger.Level;
import java.util.OptionalLong;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.function.Consumer;

import dev.starling.transport.metrics.Metrics;
import dev.starling.transport.wire.RequestParsing;
import dev.starling.proto.v1.GetParametersRequest;
import dev.starling.proto.v1.GetParametersResponse;
import dev.starling.proto.v1.GradientAck;
import dev.starling.proto.v1.GradientUpdate;
import dev.starling.proto.v1.LearnerStatus;
import dev.starling.proto.v1.LearnerStatusRequest;
import dev.starling.proto.v1.Parameters;
import dev.starling.proto.v1.ParameterServerGrpc;
import dev.starling.proto.v1.PublishParametersRequest;
import dev.starling.proto.v1.PublishParametersResponse;
import dev.starling.proto.v1.WatchParametersRequest;
import dev.starling.ps.Validation.Rejection;
import io.grpc.BindableService;
import io.grpc.MethodDescriptor;
import io.grpc.ServerMethodDefinition;
import io.grpc.ServerServiceDefinition;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;

/**
 * The ParameterServer gRPC service over a {@link ParameterStore}. PushGradients hands each
 * gradient to a {@link GradientApplier} in a3c mode and answers UNIMPLEMENTED in impala mode;
 * GetStatus reports the applier's progress in a3c mode and only the version in impala mode.
 * Requests are read through {@link RequestParsing}: bytes that do not parse get INVALID_ARGUMENT
 * and count as {@code unparseable} on every method. (The service implements {@code AsyncService}
 * and {@link BindableService} itself rather than extending {@code ParameterServerImplBase}, whose
 * {@code bindService()} is final.)
 *
 * <p>Thread-safe. Watch streams are pushed from {@code broadcastExecutor} (owned by the caller)
 * and from the transport's onReady callbacks; see {@link ParameterWatcher}. Gradient streams run
 * on the call executor, one message at a time each; see {@link GradientStream}. {@link #close}
 * ends every watch and gradient stream and detaches from the store.
 */
final class ParameterServerService implements ParameterServerGrpc.AsyncService, BindableService, AutoCloseable {

    private static final System.Logger LOG = System.getLogger(ParameterServerService.class.getName());

    private final ParameterStore store;
    private final MeterRegistry registry;
    private final Executor broadcastExecutor;
    private final Timer broadcastTimer;
    private final Set<ParameterWatcher> watchers = ConcurrentHashMap.newKeySet();
    /** Null in impala mode. */
    private final GradientApplier applier;
    private final Set<GradientStream> gradientStreams = ConcurrentHashMap.newKeySet();
    private final Consumer<ParameterSnapshot> listener = this::broadcast;
    private volatile boolean closed;

    /** @param applier applies gradients in a3c mode; {@code null} in impala mode */
    ParameterServerService(ParameterStore store, MeterRegistry registry, Executor broadcastExecutor,
            GradientApplier applier) {
        this.store = store;
        this.registry = registry;
        this.applier = applier;
        this.broadcastExecutor = broadcastExecutor;
        this.broadcastTimer = Timer.builder(Metrics.WEIGHTS_BROADCAST)
                .description("Time from an accepted publish to its send on a watch stream")
                .tag("role", ParameterStore.ROLE)
                .register(registry);
        Gauge.builder(Metrics.PARAMETERS_WATCHERS, watchers, Set::size)
                .description("Open WatchParameters streams")
                .tag("role", ParameterStore.ROLE)
                .register(registry);
        store.addListener(listener);
    }

    /**
     * The service definition, with requests read through {@link RequestParsing}: a request whose
     * bytes do not parse is answered INVALID_ARGUMENT and counted as {@code unparseable}, like any
     * other malformed message (plain gRPC would answer UNKNOWN and log a stack trace).
     */
    @Override
    public ServerServiceDefinition bindService() {
        ServerServiceDefinition plain = ParameterServerGrpc.bindService(this);
        return RequestParsing.rebind(plain,
                single(plain, ParameterServerGrpc.getGetParametersMethod()),
                serializedOnce(single(plain, ParameterServerGrpc.getWatchParametersMethod())),
                single(plain, ParameterServerGrpc.getPublishParametersMethod()),
                single(plain, ParameterServerGrpc.getGetStatusMethod()),
                RequestParsing.streamingRequests(ParameterServerGrpc.getPushGradientsMethod(), this::pushGradients));
    }

    /** The watch method with each weights version encoded once for all its subscribers ({@link SerializeOnce}). */
    @SuppressWarnings("unchecked")
    private static <Req> ServerMethodDefinition<Req, Parameters> serializedOnce(ServerMethodDefinition<?, ?> watch) {
        ServerMethodDefinition<Req, Parameters> typed = (ServerMethodDefinition<Req, Parameters>) watch;
        MethodDescriptor<Req, Parameters> d = typed.getMethodDescriptor();
        return ServerMethodDefinition.create(
                d.toBuilder(d.getRequestMarshaller(), new SerializeOnce<>(d.getResponseMarshaller())).build(),
                typed.getServerCallHandler());
    }

    private ServerMethodDefinition<?, ?> single(ServerServiceDefinition plain, MethodDescriptor<?, ?> method) {
        ServerMethodDefinition<?, ?> original = plain.getMethod(method.getFullMethodName());
        return RequestParsing.singleRequest(original,
                message -> rejectedUnparseable(method.getBareMethodName() + " request", message));
    }

    /** Counts and logs a request that did not parse (its call is ended by the caller). */
    private void rejectedUnparseable(String what, String message) {
        Metrics.rejected(registry, ParameterStore.ROLE, RequestParsing.REASON).increment();
        LOG.log(Level.WARNING, "rejected {0}: {1}", what, message);
    }

    @Override
    public void getParameters(GetParametersRequest request, StreamObserver<GetParametersResponse> responseObserver) {
        ParameterSnapshot s = store.current();
        if (s == null) {
            responseObserver.onError(Status.NOT_FOUND
                    .withDescription("the parameter server holds no parameters yet: no learner has published"
                            + " and no checkpoint was restored")
                    .asRuntimeException());
            return;
        }
        GetParametersResponse.Builder b = GetParametersResponse.newBuilder().setHeldVersion(s.version());
        if (request.getIncludeOptimizerState() && s.hasOptimizerState()) {
            // A learner resumes from the optimizer state and the weights it belongs to.
            b.setParameters(s.optimizerStateParameters()).setOptimizerState(s.optimizerState());
        } else {
            b.setParameters(s.parameters());
        }
        responseObserver.onNext(b.build());
        responseObserver.onCompleted();
    }

    @Override
    public void publishParameters(PublishParametersRequest request,
            StreamObserver<PublishParametersResponse> responseObserver) {
        PublishParametersResponse response;
        try {
            response = store.publish(request);
        } catch (StatusRuntimeException e) {
            responseObserver.onError(e);
            return;
        }
        responseObserver.onNext(response);
        responseObserver.onCompleted();
    }

    /**
     * Sends the newest version each time it advances past what this subscriber has. A request
     * with an {@code after_version} beyond {@link Validation#MAX_VERSION} (no such version can
     * exist) or an overlong subscriber id fails with INVALID_ARGUMENT and is counted. Proto3 cannot
     * tell {@code after_version = 0} from "unset", and version 0 is a real version (the freshly
     * initialised model): a subscriber asking after 0 therefore also gets version 0, so a new
     * actor is never left waiting for weights the server already has. A subscriber whose
     * {@code after_incarnation} is another one's gets the current version at once.
     */
    @Override
    public void watchParameters(WatchParametersRequest request, StreamObserver<Parameters> responseObserver) {
        ServerCallStreamObserver<Parameters> call = (ServerCallStreamObserver<Parameters>) responseObserver;
        if (closed) {
            call.onError(Status.UNAVAILABLE.withDescription("the parameter server is shutting down").asRuntimeException());
            return;
        }
        Rejection problem = Validation.checkWatch(request);
        if (problem != null) {
            Metrics.rejected(registry, ParameterStore.ROLE, problem.reason()).increment();
            LOG.log(Level.WARNING, "rejected watch request ({0}): {1}", problem.reason(), problem.message());
            call.onError(problem.toException());
            return;
        }
        // A subscriber holding another incarnation's weights (this server restarted) gets the current
        // version whatever its number: versions of different incarnations are not comparable.
        boolean otherIncarnation = request.getAfterIncarnation() != 0 && request.getAfterIncarnation() != store.incarnation();
        long after = request.getAfterVersion() == 0 || otherIncarnation ? -1 : request.getAfterVersion();
        String id = request.getSubscriberId().isEmpty() ? "anonymous" : request.getSubscriberId();
        ParameterWatcher[] self = new ParameterWatcher[1];
        ParameterWatcher w = new ParameterWatcher(id, after, call, broadcastExecutor, broadcastTimer,
                () -> watchers.remove(self[0]));
        self[0] = w;
        w.attach();
        // Register before reading the current state: a publish racing with this either is
        // offered by broadcast() or is already visible in store.current().
        watchers.add(w);
        if (closed) {
            w.close(Status.UNAVAILABLE.withDescription("the parameter server is shutting down"));
            return;
        }
        LOG.log(Level.INFO, "watcher {0} subscribed after version {1}{2}", id, request.getAfterVersion(),
                otherIncarnation ? " of another incarnation: sending the current version" : "");
        w.offer(store.current(), false);
    }

    /**
     * A3C: each gradient is validated and applied (or dropped as stale) and acked in order. An
     * invalid gradient ends the stream with its status and changes nothing. In impala mode the
     * call fails with UNIMPLEMENTED.
     */
    @Override
    public RequestParsing.ParsedRequestObserver<GradientUpdate> pushGradients(
            StreamObserver<GradientAck> responseObserver) {
        ServerCallStreamObserver<GradientAck> call = (ServerCallStreamObserver<GradientAck>) responseObserver;
        if (applier == null) {
            call.onError(Status.UNIMPLEMENTED.withDescription("PushGradients needs a3c mode, but this parameter server"
                    + " runs in impala mode (weights come from the learner through PublishParameters); start the"
                    + " parameter server with a3c enabled (ParameterServerConfig.withA3c) to accept gradients")
                    .asRuntimeException());
            return new Ignored<>();
        }
        call.disableAutoRequest();
        GradientStream stream = new GradientStream(call);
        call.setOnCancelHandler(stream::cancelled);
        call.setOnReadyHandler(stream::onReady);
        gradientStreams.add(stream);
        // Registered before the check: close() either sees the stream or the stream sees closed.
        if (closed) {
            stream.fail(Status.UNAVAILABLE.withDescription("the parameter server is shutting down"));
            return stream;
        }
        stream.requestNext();
        return stream;
    }

    /** Training progress; see {@link #status()}. Answers at once, also while shutting down. */
    @Override
    public void getStatus(LearnerStatusRequest request, StreamObserver<LearnerStatus> responseObserver) {
        responseObserver.onNext(status());
        responseObserver.onCompleted();
    }

    /**
     * In a3c mode the applier's progress ({@link GradientApplier#learnerStatus()}); in impala mode
     * the learner has the training figures, so only {@code policy_version} is set (0 while nothing
     * is held). Reads volatile snapshots only: never blocks.
     */
    LearnerStatus status() {
        if (applier != null) {
            return applier.learnerStatus();
        }
        return LearnerStatus.newBuilder().setPolicyVersion(store.version().orElse(0)).build();
    }

    private void broadcast(ParameterSnapshot s) {
        for (ParameterWatcher w : watchers) {
            w.offer(s, true);
        }
    }

    /** Number of open watch streams. */
    int watcherCount() {
        return watchers.size();
    }

    /** Number of open PushGradients streams. */
    int gradientStreamCount() {
        return gradientStreams.size();
    }

    /** Ends every watch and gradient stream with UNAVAILABLE and stops listening to the store. Idempotent. */
    @Override
    public void close() {
        closed = true;
        store.removeListener(listener);
        Status status = Status.UNAVAILABLE.withDescription("the parameter server is shutting down");
        for (ParameterWatcher w : watchers) {
            w.close(status);
        }
        for (GradientStream g : gradientStreams) {
            g.fail(status);
        }
    }

    /**
     * One PushGradients call. Flow control: exactly one message is requested at a time, and the
     * next only after the previous one was applied and acked and the transport can take another
     * ack ({@code isReady}); otherwise the onReady callback asks for it. So a client can never
     * have more than one gradient buffered here, and one that does not read its acks stops
     * being read from.
     *
     * <p>gRPC delivers onNext, onCompleted, onError, onReady and onCancel of one call one after
     * another; {@link #fail} comes from other threads (server shutdown). The monitor guards the
     * flags and every call on the outbound observer, so it is never used from two threads at once.
     * The apply itself runs outside the monitor (it serialises on the applier's own lock).
     */
    private final class GradientStream implements RequestParsing.ParsedRequestObserver<GradientUpdate> {

        private final ServerCallStreamObserver<GradientAck> call;
        // Guarded by this.
        private boolean done;
        /** A request(1) was issued and its message has not arrived yet. */
        private boolean outstanding;
        /** The next request waits for the onReady callback (the client is not reading acks). */
        private boolean waitingForReady;
        /** Sequence of the newest valid gradient on this stream; only touched by onNext. */
        private OptionalLong lastSequence = OptionalLong.empty();

        GradientStream(ServerCallStreamObserver<GradientAck> call) {
            this.call = call;
        }

        @Override
        public void onNext(GradientUpdate update) {
            synchronized (this) {
                outstanding = false;
                if (done) {
                    return;
                }
            }
            GradientAck ack;
            try {
                ack = applier.apply(update, lastSequence);
            } catch (StatusRuntimeException e) {
                fail(e.getStatus());
                return;
            } catch (RuntimeException e) {
                LOG.log(Level.ERROR, "applying gradient " + Long.toUnsignedString(update.getSequence()) + " from actor '"
                        + update.getActorId() + "' failed", e);
                fail(Status.INTERNAL.withDescription("the parameter server failed to apply the gradient: " + e));
                return;
            }
            lastSequence = OptionalLong.of(update.getSequence());
            synchronized (this) {
                if (done) {
                    return;
                }
                try {
                    call.onNext(ack);
                } catch (RuntimeException e) {
                    // Cancelled underneath us; onCancel cleans up.
                    LOG.log(Level.DEBUG, "gradient ack not sent: {0}", e.toString());
                    return;
                }
            }
            requestNext();
        }

        /** A message arrived whose bytes are not a GradientUpdate: rejected like a malformed one. */
        @Override
        public void unparseable(String parseError) {
            synchronized (this) {
                outstanding = false;
                if (done) {
                    return;
                }
            }
            fail(applier.unparseable(parseError).getStatus());
        }

        @Override
        public void onError(Throwable t) {
            cancelled();
        }

        @Override
        public void onCompleted() {
            synchronized (this) {
                if (done) {
                    return;
                }
                done = true;
                call.onCompleted();
            }
            gradientStreams.remove(this);
        }

        void onReady() {
            synchronized (this) {
                if (!waitingForReady) {
                    return;
                }
                waitingForReady = false;
            }
            requestNext();
        }

        /** Asks for the next gradient if none is outstanding and the client reads its acks. */
        void requestNext() {
            synchronized (this) {
                if (done || outstanding) {
                    return;
                }
                if (!call.isReady()) {
                    waitingForReady = true;
                    return;
                }
                outstanding = true;
            }
            call.request(1);
        }

        /** The client cancelled or the call ended under us. */
        void cancelled() {
            synchronized (this) {
                done = true;
            }
            gradientStreams.remove(this);
        }

        /** Ends the stream with {@code status}, unless it already ended. */
        void fail(Status status) {
            synchronized (this) {
                if (done) {
                    return;
                }
                done = true;
                try {
                    call.onError(status.asRuntimeException());
                } catch (RuntimeException e) {
                    LOG.log(Level.DEBUG, "gradient stream close failed: {0}", e.toString());
                }
            }
            gradientStreams.remove(this);
        }
    }

    /** Inbound side of a call that already failed: drops whatever arrives. */
    private static final class Ignored<T> implements RequestParsing.ParsedRequestObserver<T> {

        @Override
        public void onNext(T value) {
        }

        @Override
        public void unparseable(String parseError) {
        }

        @Override
        public void onError(Throwable t) {
        }

        @Override
        public void onCompleted() {
        }
    }
}
