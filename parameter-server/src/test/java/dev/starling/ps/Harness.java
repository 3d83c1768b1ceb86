package dev.starling.ps;

import static org.junit.jupiter.api.Assertions.assertNotNull;

import dev.starling.common.grpc.GrpcCleanupExtension;
import java.io.IOException;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

import dev.starling.proto.v1.ParameterServerGrpc;
import dev.starling.proto.v1.Parameters;
import dev.starling.proto.v1.WatchParametersRequest;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;

/** An in-process parameter server with a client channel, all registered for cleanup. */
final class Harness {

    final ParameterServer server;
    final ManagedChannel channel;
    final SimpleMeterRegistry registry;

    private Harness(ParameterServer server, ManagedChannel channel, SimpleMeterRegistry registry) {
        this.server = server;
        this.channel = channel;
        this.registry = registry;
    }

    static Harness start(GrpcCleanupExtension grpc, ParameterServerConfig config) throws IOException {
        String name = InProcessServerBuilder.generateName();
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        ParameterServer server = grpc.register(
                new ParameterServer(InProcessServerBuilder.forName(name), config, registry)).start();
        ManagedChannel channel = grpc.register(InProcessChannelBuilder.forName(name).directExecutor().build());
        return new Harness(server, channel, registry);
    }

    static Harness start(GrpcCleanupExtension grpc) throws IOException {
        return start(grpc, ParameterServerConfig.defaults(0, null));
    }

    ParameterServerGrpc.ParameterServerBlockingStub blocking() {
        return ParameterServerGrpc.newBlockingStub(channel).withDeadlineAfter(10, TimeUnit.SECONDS);
    }

    /**
     * Opens a watch stream. {@code initialRequests} < 0: automatic flow control; otherwise the
     * client asks for that many messages and then only for what {@link WatchClient#request} asks.
     */
    WatchClient watch(GrpcCleanupExtension grpc, long afterVersion, int initialRequests) {
        WatchClient client = new WatchClient(initialRequests);
        ParameterServerGrpc.newStub(channel).withDeadlineAfter(60, TimeUnit.SECONDS).watchParameters(
                WatchParametersRequest.newBuilder().setAfterVersion(afterVersion).setSubscriberId("test").build(),
                client);
        grpc.register(client);
        return client;
    }

    double rejected(String reason) {
        Counter c = registry.find("starling.rejected").tags("role", "parameter-server", "reason", reason).counter();
        return c == null ? 0 : c.count();
    }

    double gauge(String name) {
        return registry.get(name).gauge().value();
    }

    /** Collects what a watch stream delivers. */
    static final class WatchClient implements ClientResponseObserver<WatchParametersRequest, Parameters>, AutoCloseable {

        final BlockingQueue<Parameters> received = new LinkedBlockingQueue<>();
        final CompletableFuture<Status> done = new CompletableFuture<>();
        private final int initialRequests;
        private volatile ClientCallStreamObserver<WatchParametersRequest> call;

        WatchClient(int initialRequests) {
            this.initialRequests = initialRequests;
        }

        @Override
        public void beforeStart(ClientCallStreamObserver<WatchParametersRequest> requestStream) {
            call = requestStream;
            if (initialRequests >= 0) {
                requestStream.disableAutoRequestWithInitial(initialRequests);
            }
        }

        @Override
        public void onNext(Parameters value) {
            received.add(value);
        }

        @Override
        public void onError(Throwable t) {
            done.complete(Status.fromThrowable(t));
        }

        @Override
        public void onCompleted() {
            done.complete(Status.OK);
        }

        void request(int n) {
            call.request(n);
        }

        /** The next message, failing after 10 s. */
        Parameters next() throws InterruptedException {
            Parameters p = received.poll(10, TimeUnit.SECONDS);
            assertNotNull(p, "no message on the watch stream within 10 s");
            return p;
        }

        @Override
        public void close() {
            if (!done.isDone()) {
                call.cancel("test finished", null);
            }
        }
    }
}
