package dev.starling.ps;

import dev.starling.transport.GrpcCleanupExtension;
import dev.starling.transport.StreamClient;
import java.io.IOException;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

import dev.starling.proto.v1.GradientAck;
import dev.starling.proto.v1.GradientUpdate;
import dev.starling.proto.v1.ParameterServerGrpc;
import dev.starling.proto.v1.Parameters;
import dev.starling.proto.v1.WatchParametersRequest;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;

/** An in-process parameter server with a client channel, all registered for cleanup. */
final class Harness {

    private static final Duration WAIT = Duration.ofSeconds(10);

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
        return watch(grpc, afterVersion, 0, initialRequests);
    }

    /** As {@link #watch(GrpcCleanupExtension, long, int)} for a subscriber holding {@code afterIncarnation}'s weights. */
    WatchClient watch(GrpcCleanupExtension grpc, long afterVersion, long afterIncarnation, int initialRequests) {
        WatchClient client = new WatchClient(initialRequests);
        ParameterServerGrpc.newStub(channel).withDeadlineAfter(60, TimeUnit.SECONDS).watchParameters(
                WatchParametersRequest.newBuilder().setAfterVersion(afterVersion).setAfterIncarnation(afterIncarnation)
                        .setSubscriberId("test").build(),
                client);
        grpc.register(client);
        return client;
    }

    /**
     * Opens a PushGradients stream. {@code initialAckRequests} < 0: automatic flow control for the
     * acks; otherwise the client reads that many acks and then only what it asks for.
     */
    GradientClient push(GrpcCleanupExtension grpc, int initialAckRequests) {
        GradientClient client = new GradientClient(initialAckRequests);
        ParameterServerGrpc.newStub(channel).withDeadlineAfter(60, TimeUnit.SECONDS).pushGradients(client);
        grpc.register(client);
        return client;
    }

    double counter(String name) {
        Counter c = registry.find(name).counter();
        return c == null ? 0 : c.count();
    }

    double rejected(String reason) {
        Counter c = registry.find("starling.rejected").tags("role", "parameter-server", "reason", reason).counter();
        return c == null ? 0 : c.count();
    }

    double gauge(String name) {
        return registry.get(name).gauge().value();
    }

    /** Collects what a watch stream delivers. */
    static final class WatchClient extends StreamClient<WatchParametersRequest, Parameters> {

        WatchClient(int initialRequests) {
            super(initialRequests);
        }

        /** The next message, failing after 10 s. */
        Parameters next() throws InterruptedException {
            return next(WAIT);
        }
    }

    /** One PushGradients call: sends gradients, collects acks and the final status. */
    static final class GradientClient extends StreamClient<GradientUpdate, GradientAck> {

        GradientClient(int initialAckRequests) {
            super(initialAckRequests);
        }

        /** Sends and waits for the ack, failing after 10 s. */
        GradientAck exchange(GradientUpdate update) throws InterruptedException {
            send(update);
            return nextAck();
        }

        GradientAck nextAck() throws InterruptedException {
            return next(WAIT);
        }

        /** Sends, then the status the server ends the stream with (within 10 s). */
        Status failure(GradientUpdate update) throws Exception {
            send(update);
            return awaitDone(WAIT);
        }
    }
}
