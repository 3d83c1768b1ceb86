package dev.starling.ps;

import java.lang.System.Logger.Level;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.function.Consumer;

import dev.starling.common.metrics.Metrics;
import dev.starling.proto.v1.GetParametersRequest;
import dev.starling.proto.v1.GetParametersResponse;
import dev.starling.proto.v1.Parameters;
import dev.starling.proto.v1.ParameterServerGrpc;
import dev.starling.proto.v1.PublishParametersRequest;
import dev.starling.proto.v1.PublishParametersResponse;
import dev.starling.proto.v1.WatchParametersRequest;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;

/**
 * The ParameterServer gRPC service over a {@link ParameterStore}. PushGradients (A3C) is not
 * overridden: the base class answers UNIMPLEMENTED.
 *
 * <p>Thread-safe. Watch streams are pushed from {@code broadcastExecutor} (owned by the caller)
 * and from the transport's onReady callbacks; see {@link ParameterWatcher}. {@link #close} ends
 * every watch stream and detaches from the store.
 */
final class ParameterServerService extends ParameterServerGrpc.ParameterServerImplBase implements AutoCloseable {

    private static final System.Logger LOG = System.getLogger(ParameterServerService.class.getName());

    private final ParameterStore store;
    private final Executor broadcastExecutor;
    private final Timer broadcastTimer;
    private final Set<ParameterWatcher> watchers = ConcurrentHashMap.newKeySet();
    private final Consumer<ParameterSnapshot> listener = this::broadcast;
    private volatile boolean closed;

    ParameterServerService(ParameterStore store, MeterRegistry registry, Executor broadcastExecutor) {
        this.store = store;
        this.broadcastExecutor = broadcastExecutor;
        this.broadcastTimer = Timer.builder(Metrics.WEIGHTS_BROADCAST)
                .description("Time from an accepted publish to its send on a watch stream")
                .tag("role", ParameterStore.ROLE)
                .register(registry);
        Gauge.builder("starling.parameters.watchers", watchers, Set::size)
                .description("Open WatchParameters streams")
                .tag("role", ParameterStore.ROLE)
                .register(registry);
        store.addListener(listener);
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
        GetParametersResponse.Builder b = GetParametersResponse.newBuilder().setParameters(s.parameters());
        if (request.getIncludeOptimizerState() && s.hasOptimizerState()) {
            b.setOptimizerState(s.optimizerState());
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
     * Sends the newest version each time it advances past what this subscriber has. Proto3 cannot
     * tell {@code after_version = 0} from "unset", and version 0 is a real version (the freshly
     * initialised model): a subscriber asking after 0 therefore also gets version 0, so a new
     * actor is never left waiting for weights the server already has.
     */
    @Override
    public void watchParameters(WatchParametersRequest request, StreamObserver<Parameters> responseObserver) {
        ServerCallStreamObserver<Parameters> call = (ServerCallStreamObserver<Parameters>) responseObserver;
        if (closed) {
            call.onError(Status.UNAVAILABLE.withDescription("the parameter server is shutting down").asRuntimeException());
            return;
        }
        long after = request.getAfterVersion() == 0 ? -1 : request.getAfterVersion();
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
        LOG.log(Level.INFO, "watcher {0} subscribed after version {1}", id, request.getAfterVersion());
        w.offer(store.current(), false);
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

    /** Ends every watch stream with UNAVAILABLE and stops listening to the store. Idempotent. */
    @Override
    public void close() {
        closed = true;
        store.removeListener(listener);
        Status status = Status.UNAVAILABLE.withDescription("the parameter server is shutting down");
        for (ParameterWatcher w : watchers) {
            w.close(status);
        }
    }
}
