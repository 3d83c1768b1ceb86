package dev.starling.actor;

import static dev.starling.actor.Cluster.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.starling.transport.GrpcCleanupExtension;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import dev.starling.common.model.ActorCritic;
import dev.starling.proto.v1.ParameterServerGrpc;
import dev.starling.proto.v1.Parameters;
import dev.starling.proto.v1.PublishParametersRequest;
import dev.starling.ps.ParameterServer;
import dev.starling.ps.ParameterServerConfig;
import io.grpc.ManagedChannel;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/** The weights subscriber against a real in-process parameter server that goes away and comes back. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class WeightsSubscriberTest {

    private static final Duration WAIT = Duration.ofSeconds(20);

    @RegisterExtension
    final GrpcCleanupExtension grpc = new GrpcCleanupExtension();

    @Test
    void holdsTheNewestVersionAndReconnectsToARestartedServer() throws Exception {
        String name = InProcessServerBuilder.generateName();
        ParameterServer ps = startServer(name);
        ManagedChannel channel = grpc.register(InProcessChannelBuilder.forName(name).build());
        Parameters base;
        try (ActorCritic model = TestModels.model(TestModels.config("cartpole"), 3)) {
            base = TestModels.params(model, 0);
        }
        publish(channel, base, 0);
        AtomicInteger changes = new AtomicInteger();
        WeightsSubscriber weights = grpc.register(
                new WeightsSubscriber(channel, "actor-test", name, changes::incrementAndGet));
        assertNull(weights.newest());
        assertEquals(-1, weights.newestVersion());
        weights.start();
        await(() -> weights.newestVersion() == 0, WAIT, "version 0 (after_version 0 is answered with v0)");
        publish(channel, base, 1);
        publish(channel, base, 2);
        await(() -> weights.newestVersion() == 2, WAIT, "version 2");
        assertTrue(changes.get() >= 2 && changes.get() <= 3, changes.get() + " change notifications");

        ps.close();
        Thread.sleep(1500);
        assertEquals(2, weights.newestVersion(), "the newest version is kept through an outage");
        long attempts = weights.reconnects();
        assertTrue(attempts >= 1 && attempts < 30, attempts + " reconnect attempts in 1.5 s");

        startServer(name);
        publish(channel, base, 3);
        publish(channel, base, 4);
        await(() -> weights.newestVersion() == 4, WAIT, "version 4 from the restarted server");
        assertNull(weights.fatalStatus());
        weights.close();
        weights.close();
    }

    /**
     * A restarted server is a new incarnation and may hold a lower version (it restored an older
     * checkpoint): the subscriber asks after the version it holds, names its incarnation, and
     * takes the restarted server's weights at once.
     */
    @Test
    void followsARestartedServerThatHoldsALowerVersion() throws Exception {
        String name = InProcessServerBuilder.generateName();
        ParameterServer first = startServer(name);
        ManagedChannel channel = grpc.register(InProcessChannelBuilder.forName(name).build());
        Parameters base;
        try (ActorCritic model = TestModels.model(TestModels.config("cartpole"), 3)) {
            base = TestModels.params(model, 0);
        }
        publish(channel, base, 40);
        AtomicInteger changes = new AtomicInteger();
        WeightsSubscriber weights = grpc.register(
                new WeightsSubscriber(channel, "actor-test", name, changes::incrementAndGet));
        weights.start();
        await(() -> weights.newestVersion() == 40, WAIT, "version 40");
        assertEquals(first.store().incarnation(), weights.newest().getIncarnation());

        first.close();
        ParameterServer second = startServer(name);
        publish(channel, base, 7);
        await(() -> weights.newest().getIncarnation() == second.store().incarnation(), WAIT,
                "the restarted server's incarnation");
        assertEquals(7, weights.newestVersion(), "a lower version of the new incarnation replaces the old one's");
        publish(channel, base, 8);
        await(() -> weights.newestVersion() == 8, WAIT, "then newer versions as usual");
        assertNull(weights.fatalStatus());
        weights.close();
    }

    private ParameterServer startServer(String name) throws Exception {
        return grpc.register(new ParameterServer(InProcessServerBuilder.forName(name),
                ParameterServerConfig.defaults(0, null), new SimpleMeterRegistry())).start();
    }

    private static void publish(ManagedChannel channel, Parameters base, long version) {
        // waitForReady: right after a restart the channel may still be in its reconnect backoff.
        ParameterServerGrpc.newBlockingStub(channel).withDeadlineAfter(10, TimeUnit.SECONDS).withWaitForReady()
                .publishParameters(
                        PublishParametersRequest.newBuilder().setParameters(base.toBuilder().setVersion(version)).build());
    }
}
