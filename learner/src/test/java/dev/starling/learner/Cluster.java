package dev.starling.learner;

import static org.junit.jupiter.api.Assertions.fail;

import dev.starling.transport.GrpcCleanupExtension;
import dev.starling.transport.StreamClient;
import java.io.IOException;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

import dev.starling.transport.metrics.Metrics;
import dev.starling.common.model.ModelConfig;
import dev.starling.common.rl.Rollout;
import dev.starling.common.rl.RolloutFixtures;
import dev.starling.common.rollout.EpisodeBuffer;
import dev.starling.transport.wire.ChunkCodec;
import dev.starling.proto.v1.ChunkAck;
import dev.starling.proto.v1.GetParametersRequest;
import dev.starling.proto.v1.GetParametersResponse;
import dev.starling.proto.v1.LearnerGrpc;
import dev.starling.proto.v1.LearnerStatus;
import dev.starling.proto.v1.LearnerStatusRequest;
import dev.starling.proto.v1.ParameterServerGrpc;
import dev.starling.proto.v1.TrajectoryChunk;
import dev.starling.ps.ParameterServer;
import dev.starling.ps.ParameterServerConfig;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;

/**
 * An in-process parameter server (the real one) and learners against it, with client channels,
 * all registered for cleanup; plus chunk builders and a streaming client.
 */
final class Cluster {

    /** masked-cartpole (2 observations, 2 actions) with a tiny model: fast on one core. */
    static final String ENV = "masked-cartpole";
    static final int ENCODER = 8;
    static final int LSTM = 8;
    static final int UNROLL = 4;
    static final int ENVS = 2;
    static final Duration WAIT = Duration.ofSeconds(30);

    final GrpcCleanupExtension grpc;
    final String psName = InProcessServerBuilder.generateName();
    ParameterServer ps;
    final ManagedChannel psChannel;

    Cluster(GrpcCleanupExtension grpc) throws IOException {
        this.grpc = grpc;
        startParameterServer();
        psChannel = grpc.register(InProcessChannelBuilder.forName(psName).directExecutor().build());
    }

    /** (Re)starts an empty parameter server under the same in-process name. */
    void startParameterServer() throws IOException {
        ps = grpc.register(new ParameterServer(InProcessServerBuilder.forName(psName),
                ParameterServerConfig.defaults(0, null), new SimpleMeterRegistry())).start();
    }

    static LearnerConfig config() {
        return LearnerConfig.defaults(ENV, "in-process").withModel(java.util.List.of(ENCODER), LSTM).withUnroll(UNROLL)
                .withStartupTimeout(Duration.ofSeconds(10));
    }

    /** A learner (not started) on its own in-process server, with its metrics registry. */
    Node learner(LearnerConfig config) {
        String name = InProcessServerBuilder.generateName();
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        Learner learner = grpc.register(new Learner(InProcessServerBuilder.forName(name), config, registry, psChannel));
        ManagedChannel channel = grpc.register(InProcessChannelBuilder.forName(name).directExecutor().build());
        return new Node(learner, registry, channel);
    }

    /** The weights the parameter server holds, with the optimizer state. */
    GetParametersResponse held() {
        return ParameterServerGrpc.newBlockingStub(psChannel).withDeadlineAfter(10, TimeUnit.SECONDS)
                .getParameters(GetParametersRequest.newBuilder().setIncludeOptimizerState(true).build());
    }

    long psVersion() {
        return ps.store().version().orElse(-1);
    }

    static ModelConfig model() {
        return config().modelConfig();
    }

    /**
     * A valid chunk of random data (T = {@link #UNROLL}, K = {@link #ENVS}) with one finished
     * episode of return {@code episodeReturn}.
     */
    static TrajectoryChunk chunk(long specHash, long sequence, long policyVersion, float episodeReturn) {
        Rollout r = RolloutFixtures.random(model(), UNROLL, ENVS, RolloutFixtures.Dones.RANDOM, 1000 + sequence);
        EpisodeBuffer episodes = new EpisodeBuffer();
        episodes.accept(episodeReturn, 20);
        return ChunkCodec.encode(r, "actor-test", sequence, policyVersion, specHash, episodes);
    }

    /** Polls {@code condition} every 10 ms until it holds, failing after {@link #WAIT}. */
    static void await(BooleanSupplier condition, String what) throws InterruptedException {
        long end = System.nanoTime() + WAIT.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > end) {
                fail("timed out after " + WAIT.toSeconds() + " s waiting for: " + what);
            }
            Thread.sleep(10);
        }
    }

    /** A learner under test with its registry and a client channel to it. */
    final class Node {
        final Learner learner;
        final SimpleMeterRegistry registry;
        final ManagedChannel channel;

        Node(Learner learner, SimpleMeterRegistry registry, ManagedChannel channel) {
            this.learner = learner;
            this.registry = registry;
            this.channel = channel;
        }

        long specHash() {
            return learner.modelSpec().getHash();
        }

        /** GetStatus over gRPC. */
        LearnerStatus status() {
            return LearnerGrpc.newBlockingStub(channel).withDeadlineAfter(10, TimeUnit.SECONDS)
                    .getStatus(LearnerStatusRequest.getDefaultInstance());
        }

        ChunkClient push() {
            ChunkClient client = new ChunkClient();
            LearnerGrpc.newStub(channel).withDeadlineAfter(60, TimeUnit.SECONDS).pushTrajectories(client);
            grpc.register(client);
            return client;
        }

        double counter(String name, String... tags) {
            Counter c = registry.find(name).tags("role", "learner").tags(tags).counter();
            return c == null ? 0 : c.count();
        }

        double rejected(String reason) {
            return counter(Metrics.REJECTED, "reason", reason);
        }
    }

    /** Client side of one PushTrajectories stream: records acks and the final status. */
    static final class ChunkClient extends StreamClient<TrajectoryChunk, ChunkAck> {

        ChunkAck nextAck() throws InterruptedException {
            return next(WAIT);
        }

        Status awaitDone() throws Exception {
            return awaitDone(WAIT);
        }
    }
}
