package dev.starling.actor;

import static dev.starling.actor.Cluster.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.starling.transport.GrpcCleanupExtension;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import dev.starling.transport.Servers;
import dev.starling.common.model.ActorCritic;
import dev.starling.proto.v1.ParameterServerGrpc;
import dev.starling.proto.v1.PublishParametersRequest;
import dev.starling.ps.ParameterServer;
import dev.starling.ps.ParameterServerConfig;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/** {@link ActorWorker#connect} over real loopback TCP (Netty), with the channels it owns. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class NettyTransportTest {

    @RegisterExtension
    final GrpcCleanupExtension grpc = new GrpcCleanupExtension();

    @Test
    void connectStreamsChunksOverTcpAndCloseReleasesItsChannels() throws Exception {
        ParameterServer ps = grpc.register(ParameterServer.forPort(ParameterServerConfig.defaults(0, null),
                new SimpleMeterRegistry())).start();
        RecordingLearner learner = new RecordingLearner();
        Server learnerServer = grpc.register(Servers.netty(0, 64 << 20).addService(learner).build().start());
        ManagedChannel publisher = grpc.register(
                NettyChannelBuilder.forTarget("localhost:" + ps.port()).usePlaintext().build());
        try (ActorCritic model = TestModels.model(TestModels.config("masked-cartpole"), 5)) {
            ParameterServerGrpc.newBlockingStub(publisher).withDeadlineAfter(10, TimeUnit.SECONDS).publishParameters(
                    PublishParametersRequest.newBuilder().setParameters(TestModels.params(model, 0)).build());
        }
        ActorConfig config = ActorConfig.defaults("actor-1", "localhost:" + learnerServer.getPort(),
                "localhost:" + ps.port(), "masked-cartpole", 3)
                .withModelSizes(java.util.List.of(TestModels.ENCODER), TestModels.LSTM)
                .withStartupTimeout(Duration.ofSeconds(20));
        ActorWorker actor = grpc.register(ActorWorker.connect(config, new SimpleMeterRegistry()));
        CompletableFuture<Void> done = actor.start();
        await(() -> learner.chunkCount() >= 5, Duration.ofSeconds(20), "5 chunks over TCP");
        assertEquals(32, learner.chunks().get(0).getNumEnvs());
        assertEquals(32, learner.chunks().get(0).getUnrollLength());
        long t0 = System.nanoTime();
        actor.close();
        long millis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
        assertTrue(millis < ActorWorker.CLOSE_WAIT.toMillis(), "close took " + millis + " ms: as long as waiting out a stuck actor thread");
        assertTrue(done.isDone() && !done.isCompletedExceptionally());
        await(() -> learner.halfClosed() == 1, Duration.ofSeconds(10), "the learner to see the stream's end");
    }
}
