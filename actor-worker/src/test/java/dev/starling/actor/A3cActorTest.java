package dev.starling.actor;

import static dev.starling.actor.Cluster.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import dev.starling.transport.GrpcCleanupExtension;
import dev.starling.common.model.ModelConfig;
import dev.starling.common.rl.LossConfig;
import dev.starling.proto.v1.GetParametersRequest;
import dev.starling.proto.v1.ParameterServerGrpc;
import dev.starling.ps.A3cStatus;
import dev.starling.ps.ParameterServer;
import dev.starling.ps.ParameterServerConfig;
import io.grpc.ManagedChannel;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * A3C mode against a real parameter server in A3C mode: the actor computes each chunk's loss
 * gradient on its own copy of the model and pushes it; the server applies it with its shared
 * optimizer and broadcasts the new weights, which the actor then plays with. No learner runs.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class A3cActorTest {

    private static final String ENV = "cartpole";
    private static final Duration WAIT = Duration.ofSeconds(30);

    @RegisterExtension
    final GrpcCleanupExtension grpc = new GrpcCleanupExtension();

    @Test
    void actorPushesGradientsTheServerAppliesThemAndTheActorPlaysTheNewWeights() throws Exception {
        ModelConfig mc = TestModels.config(ENV);
        String psName = InProcessServerBuilder.generateName();
        ParameterServer ps = grpc.register(new ParameterServer(InProcessServerBuilder.forName(psName),
                ParameterServerConfig.defaults(0, null).withA3c(mc, 3), new SimpleMeterRegistry())).start();
        ManagedChannel psChannel = grpc.register(InProcessChannelBuilder.forName(psName).build());
        // No learner exists in A3C mode: this channel leads nowhere and must never be needed.
        ManagedChannel nowhere = grpc.register(InProcessChannelBuilder.forName(InProcessServerBuilder.generateName()).build());
        byte[] initial = weights(psChannel);

        ActorConfig config = ActorConfig.defaults("actor-a3c", "nowhere", psName, ENV, 5)
                .withNumEnvs(4).withUnroll(8).withModelSizes(mc.encoderSizes(), mc.lstmSize())
                .withStartupTimeout(Duration.ofSeconds(20))
                .withA3c(LossConfig.defaults().withRewardScale(0.05));
        ActorWorker actor = grpc.register(new ActorWorker(config, new SimpleMeterRegistry(), nowhere, psChannel));
        CompletableFuture<Void> done = actor.start();

        await(() -> ps.a3cStatus().map(A3cStatus::applied).orElse(0L) >= 10, WAIT, "10 gradients applied");
        await(() -> actor.stats().weightsVersion() >= 5, WAIT, "the actor plays version 5 or newer");
        A3cStatus status = ps.a3cStatus().orElseThrow();
        assertTrue(status.version() >= 10, "each applied gradient is a new version: " + status);
        assertEquals(status.frames(), status.applied() * 4 * 8, "frames = applied gradients x K x T: " + status);
        assertNotEquals(new String(initial, java.nio.charset.StandardCharsets.ISO_8859_1),
                new String(weights(psChannel), java.nio.charset.StandardCharsets.ISO_8859_1), "weights moved");
        // Acks reach the actor after the server applied the gradients.
        await(() -> actor.stats().chunksAcked() >= 10, WAIT, "10 acks");
        ActorWorker.Stats stats = actor.stats();
        assertTrue(stats.chunksSent() >= stats.chunksAcked(), stats.toString());

        actor.close();
        assertTrue(done.isDone() && !done.isCompletedExceptionally(), "a closed actor completes normally");
    }

    private static byte[] weights(ManagedChannel ps) {
        return ParameterServerGrpc.newBlockingStub(ps).withDeadlineAfter(10, TimeUnit.SECONDS)
                .getParameters(GetParametersRequest.getDefaultInstance()).getParameters().getWeights().toByteArray();
    }
}
