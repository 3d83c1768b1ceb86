package dev.starling.learner;

import static dev.starling.learner.Cluster.ENVS;
import static dev.starling.learner.Cluster.UNROLL;
import static dev.starling.learner.Cluster.await;
import static dev.starling.learner.Cluster.chunk;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.starling.transport.GrpcCleanupExtension;
import java.io.IOException;
import java.time.Duration;
import java.util.Arrays;
import java.util.concurrent.TimeUnit;

import dev.starling.transport.Channels;
import dev.starling.transport.metrics.Metrics;
import dev.starling.common.model.ActorCritic;
import dev.starling.common.model.ModelSpecs;
import dev.starling.common.model.ParameterCodec;
import dev.starling.common.model.Torch;
import dev.starling.common.rl.Rollout;
import dev.starling.common.rl.RolloutFixtures;
import dev.starling.common.rollout.EpisodeBuffer;
import dev.starling.transport.wire.ChunkCodec;
import dev.starling.proto.v1.ChunkAck;
import dev.starling.proto.v1.GetParametersResponse;
import dev.starling.proto.v1.LearnerGrpc;
import dev.starling.proto.v1.LearnerStatus;
import dev.starling.proto.v1.LearnerStatusRequest;
import dev.starling.proto.v1.ParameterServerGrpc;
import dev.starling.proto.v1.PublishParametersRequest;
import dev.starling.ps.ParameterServer;
import dev.starling.ps.ParameterServerConfig;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.health.v1.HealthGrpc;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** The learner against a real in-process parameter server: start-up, training, publishing, restart. */
class LearnerTest {

    @RegisterExtension
    final GrpcCleanupExtension grpc = new GrpcCleanupExtension();

    @Test
    void publishesVersionZeroToAnEmptyServerThenTrainsAndPublishesNewerVersions() throws Exception {
        Cluster cluster = new Cluster(grpc);
        Cluster.Node node = cluster.learner(Cluster.config().withBatching(2, 8));
        node.learner.start();

        assertEquals(0, cluster.psVersion(), "the fresh model is published as version 0");
        GetParametersResponse initial = cluster.held();
        assertEquals(node.specHash(), initial.getParameters().getSpec().getHash());
        assertEquals(0, initial.getOptimizerState().getStep(), "version 0 carries the fresh optimizer state");
        assertEquals(Learner.State.RUNNING, node.learner.state());
        assertEquals(ServingStatus.SERVING, HealthGrpc.newBlockingStub(node.channel)
                .withDeadlineAfter(10, TimeUnit.SECONDS)
                .check(HealthCheckRequest.getDefaultInstance()).getStatus());

        Cluster.ChunkClient client = node.push();
        int chunks = 6;
        for (int i = 0; i < chunks; i++) {
            client.send(chunk(node.specHash(), i, 0, 10f + i));
        }
        for (int i = 0; i < chunks; i++) {
            ChunkAck ack = client.nextAck();
            assertEquals(i, ack.getSequence());
            assertTrue(ack.getAccepted());
        }
        client.complete();
        assertEquals(Status.Code.OK, client.awaitDone().getCode());

        await(() -> node.learner.status().getUpdates() >= chunks / 2, "3 updates");
        // Publishes after every update; one that finds the previous still in flight replaces
        // the waiting one, so at least one newer version arrives, maybe not three. Wait for the
        // publish carrying all three updates and for its acknowledgement to reach the learner.
        await(() -> cluster.ps.store().current().learnerUpdates() == 3
                        && node.learner.status().getPolicyVersion() == cluster.psVersion(),
                "the parameter server to hold the version trained by all three updates");
        LearnerStatus s = node.status();
        assertEquals((long) chunks * UNROLL * ENVS, s.getFrames());
        assertEquals(chunks, s.getEpisodes());
        assertEquals(12.5, s.getAverageReturn(), 1e-6, "mean of 10..15");
        assertEquals(3, s.getUpdates());
        assertEquals(cluster.psVersion(), s.getPolicyVersion(), "policy version follows the acknowledged publishes");
        assertEquals(0, s.getQueuedChunks());
        assertTrue(s.getMeanPolicyLag() >= 0);
        // The loss terms of the three updates (means), all reported and plausible.
        assertTrue(s.hasPolicyLoss() && s.hasBaselineLoss() && s.hasEntropy() && s.hasGradNorm(), s.toString());
        assertTrue(Double.isFinite(s.getPolicyLoss()), s.toString());
        assertTrue(s.getBaselineLoss() > 0, "random returns cannot be predicted exactly: " + s);
        assertTrue(s.getEntropy() > 0, "a fresh categorical policy is far from deterministic: " + s);
        assertTrue(s.getGradNorm() > 0, s.toString());
        assertEquals(3, node.counter(Metrics.LEARNER_UPDATES));
        assertEquals((double) chunks * UNROLL * ENVS, node.counter(Metrics.LEARNER_SAMPLES));
        assertEquals(3, node.registry.get(Metrics.LEARNER_UPDATE_TIME).timer().count());
        assertEquals(chunks, node.registry.get(Metrics.POLICY_LAG).summary().count());
        assertTrue(Double.isFinite(node.registry.get(Metrics.LEARNER_LOSS).tag("term", "total").gauge().value()));
        assertTrue(node.registry.get(Metrics.LEARNER_GRAD_NORM).gauge().value() > 0);
        assertEquals(0, node.registry.get(Metrics.LEARNER_QUEUE).gauge().value());

        node.learner.close();
        node.learner.close();
        assertEquals(Learner.State.CLOSED, node.learner.state());
        assertTrue(node.learner.awaitTermination(1, TimeUnit.SECONDS));
        assertEquals(3, cluster.held().getOptimizerState().getStep(),
                "close publishes the final optimizer state");
    }

    @Test
    void dropsStaleChunksWithAnAckAndTrainsOnlyFreshOnes() throws Exception {
        Cluster cluster = new Cluster(grpc);
        LearnerConfig config = Cluster.config().withMaxPolicyLag(2).withBatching(1, 4);
        // The server already holds this model's weights at version 5.
        try (ActorCritic m = new ActorCritic(config.modelConfig(), 9, Torch.device("cpu"))) {
            ParameterServerGrpc.newBlockingStub(cluster.psChannel).withDeadlineAfter(10, TimeUnit.SECONDS)
                    .publishParameters(PublishParametersRequest.newBuilder()
                            .setParameters(new ParameterCodec(m).encode(5)).build());
        }
        Cluster.Node node = cluster.learner(config);
        node.learner.holdTraining(true);
        node.learner.start();
        assertEquals(5, node.status().getPolicyVersion(), "continues from the server's version");

        Cluster.ChunkClient client = node.push();
        client.send(chunk(node.specHash(), 0, 2, 1f));
        ChunkAck stale = client.nextAck();
        assertFalse(stale.getAccepted(), "lag 3 > 2 is dropped");
        assertEquals(1, node.counter(Metrics.DROPPED_STALE));
        LearnerStatus afterStale = node.status();
        assertEquals(0, afterStale.getFrames());
        assertEquals(0, afterStale.getEpisodes());
        assertEquals(0, afterStale.getQueuedChunks());

        client.send(chunk(node.specHash(), 1, 3, 1f));
        assertTrue(client.nextAck().getAccepted(), "lag 2 is accepted");
        assertEquals(1, node.status().getQueuedChunks());
        node.learner.holdTraining(false);
        await(() -> node.learner.status().getUpdates() == 1, "one update");
        assertEquals(2.0, node.status().getMeanPolicyLag(), 1e-9);
        assertEquals(1, node.registry.get(Metrics.POLICY_LAG).summary().count(), "the stale chunk is not trained");
        await(() -> cluster.psVersion() == 6, "version 6");
    }

    @Test
    void aRestartedLearnerContinuesFromTheServersVersionAndOptimizerStep() throws Exception {
        Cluster cluster = new Cluster(grpc);
        LearnerConfig config = Cluster.config().withBatching(1, 4).withPublishing(1, 0);
        Cluster.Node first = cluster.learner(config);
        first.learner.start();
        Cluster.ChunkClient c1 = first.push();
        for (int i = 0; i < 3; i++) {
            c1.send(chunk(first.specHash(), i, 0, 1f));
        }
        await(() -> first.learner.status().getUpdates() == 3, "3 updates");
        first.learner.close();
        GetParametersResponse afterFirst = cluster.held();
        long firstVersion = afterFirst.getParameters().getVersion();
        long firstSteps = afterFirst.getOptimizerState().getStep();
        assertTrue(firstVersion >= 1, "version " + firstVersion);
        assertEquals(3, firstSteps);

        Cluster.Node second = cluster.learner(config.withSeed(77));
        second.learner.start();
        assertEquals(firstVersion, second.status().getPolicyVersion());
        assertEquals(afterFirst.getParameters().getWeights(), cluster.held().getParameters().getWeights(),
                "start-up publishes nothing when the server already holds weights");
        Cluster.ChunkClient c2 = second.push();
        for (int i = 0; i < 2; i++) {
            c2.send(chunk(second.specHash(), i, firstVersion, 1f));
        }
        await(() -> cluster.psVersion() > firstVersion, "a publish newer than the first learner's last");
        await(() -> second.learner.status().getUpdates() == 2, "2 updates");
        second.learner.close();
        GetParametersResponse afterSecond = cluster.held();
        assertTrue(afterSecond.getParameters().getVersion() > firstVersion);
        assertEquals(firstSteps + 2, afterSecond.getOptimizerState().getStep(), "the optimizer step continues");
        assertEquals(firstSteps + 2, cluster.ps.store().current().learnerUpdates(), "learner updates continue");
    }

    @Test
    void startFailsOnAServerHoldingAnotherModelNamingBothHashes() throws Exception {
        Cluster cluster = new Cluster(grpc);
        Cluster.Node other = cluster.learner(Cluster.config().withModel(java.util.List.of(Cluster.ENCODER), 16));
        other.learner.start();
        long theirs = other.specHash();
        other.learner.close();

        Cluster.Node node = cluster.learner(Cluster.config());
        IllegalStateException e = assertThrows(IllegalStateException.class, node.learner::start);
        assertTrue(e.getMessage().contains(ModelSpecs.hex(theirs)), e.getMessage());
        assertTrue(e.getMessage().contains(ModelSpecs.hex(node.specHash())), e.getMessage());
        assertTrue(e.getMessage().contains("--lstm-size"), e.getMessage());
        assertEquals(Learner.State.CLOSED, node.learner.state());
        assertEquals(theirs, cluster.held().getParameters().getSpec().getHash(), "the server is untouched");
    }

    @Test
    void startGivesUpWhenTheParameterServerNeverAnswers() {
        ManagedChannel nowhere = grpc.register(
                InProcessChannelBuilder.forName(InProcessServerBuilder.generateName()).directExecutor().build());
        Learner learner = grpc.register(new Learner(InProcessServerBuilder.forName(InProcessServerBuilder.generateName()),
                Cluster.config().withStartupTimeout(Duration.ofMillis(700)), new SimpleMeterRegistry(), nowhere));
        long start = System.nanoTime();
        IOException e = assertThrows(IOException.class, learner::start);
        assertTrue(e.getMessage().contains("did not answer within"), e.getMessage());
        assertTrue(e.getMessage().contains("UNAVAILABLE"), e.getMessage());
        assertTrue(System.nanoTime() - start < TimeUnit.SECONDS.toNanos(5));
        assertEquals(Learner.State.CLOSED, learner.state());
        assertThrows(IllegalStateException.class, learner::start);
    }

    /**
     * The parameter server restarts (a new incarnation, here empty) while the learner runs and no
     * update is due: actors take the new server's weights, and their chunks name its incarnation.
     * The learner drops those chunks (their versions are not comparable with its own), publishes
     * its newest weights again, learns the new incarnation from the answer, and then trains on
     * the actors' chunks of it.
     */
    @Test
    void chunksOfANewIncarnationAreDroppedAndMakeTheLearnerPublishToIt() throws Exception {
        Cluster cluster = new Cluster(grpc);
        Cluster.Node node = cluster.learner(Cluster.config().withBatching(1, 4));
        node.learner.start();
        long first = cluster.ps.store().incarnation();
        Cluster.ChunkClient client = node.push();
        client.send(chunk(node.specHash(), 0, 0, 1f).toBuilder().setIncarnation(first).build());
        assertTrue(client.nextAck().getAccepted());
        await(() -> cluster.psVersion() == 1 && node.learner.status().getPolicyVersion() == 1, "version 1");

        cluster.ps.close();
        cluster.startParameterServer();
        long second = cluster.ps.store().incarnation();
        assertNotEquals(first, second);
        // Version 1 is also "the future" for this learner's numbering, had it compared across incarnations.
        client.send(chunk(node.specHash(), 1, 0, 1f).toBuilder().setIncarnation(second).build());
        assertFalse(client.nextAck().getAccepted(), "a chunk of an unknown incarnation is not trained on");
        assertEquals(1, node.counter(Metrics.DROPPED_STALE));
        // The server stores the republished weights before its answer reaches the learner: wait for both.
        await(() -> cluster.psVersion() == 2 && node.learner.parameterServerIncarnation() == second,
                "the learner publishes its weights to the new incarnation and learns it from the answer");
        assertEquals(1, node.learner.status().getUpdates(), "no update was due: a republish, not training");

        client.send(chunk(node.specHash(), 2, 2, 1f).toBuilder().setIncarnation(second).build());
        assertTrue(client.nextAck().getAccepted(), "chunks of the learner's incarnation are trained on");
        await(() -> node.learner.status().getUpdates() == 2, "a second update");
        node.learner.close();
    }

    @Test
    void keepsTrainingWhileTheParameterServerIsDownAndPublishesWhenItIsBack() throws Exception {
        Cluster cluster = new Cluster(grpc);
        Cluster.Node node = cluster.learner(Cluster.config().withBatching(1, 4));
        node.learner.start();
        Cluster.ChunkClient client = node.push();
        client.send(chunk(node.specHash(), 0, 0, 1f));
        await(() -> cluster.psVersion() == 1 && node.learner.status().getPolicyVersion() == 1,
                "version 1, acknowledged");

        cluster.ps.close();
        for (int i = 1; i <= 3; i++) {
            client.send(chunk(node.specHash(), i, 1, 1f));
        }
        await(() -> node.learner.status().getUpdates() == 4, "training goes on without the server");
        assertEquals(1, node.status().getPolicyVersion());

        cluster.startParameterServer();
        await(() -> cluster.psVersion() >= 2, "the newest weights reach the restarted server");
        assertEquals(node.specHash(), cluster.held().getParameters().getSpec().getHash());
        await(() -> node.learner.status().getPolicyVersion() >= 2, "the acknowledged version advances");
        node.learner.close();
    }

    @Test
    void closeBeforeStartReleasesEverything() throws Exception {
        Cluster cluster = new Cluster(grpc);
        Cluster.Node node = cluster.learner(Cluster.config());
        node.learner.close();
        assertEquals(Learner.State.CLOSED, node.learner.state());
        assertTrue(node.learner.awaitTermination(1, TimeUnit.SECONDS));
        assertThrows(IllegalStateException.class, node.learner::start);
        assertEquals(-1, cluster.psVersion(), "nothing was published");
    }

    @Test
    void aNonFiniteUpdateIsSkippedCountedAndNotPublished() throws Exception {
        Cluster cluster = new Cluster(grpc);
        Cluster.Node node = cluster.learner(Cluster.config().withBatching(1, 4));
        node.learner.start();
        // Finite on the wire, but the value targets overflow float32: the loss is not finite.
        Rollout huge = RolloutFixtures.random(Cluster.model(), UNROLL, ENVS, RolloutFixtures.Dones.NONE, 5);
        Arrays.fill(huge.rewards, 3e38f);
        Cluster.ChunkClient client = node.push();
        client.send(ChunkCodec.encode(huge, "actor-test", 0, 0, node.specHash(), new EpisodeBuffer()));
        assertTrue(client.nextAck().getAccepted());
        await(() -> node.counter(Metrics.LEARNER_SKIPPED) == 1, "a skipped update");
        assertEquals(0, node.status().getUpdates());
        assertEquals(0, node.counter(Metrics.LEARNER_UPDATES));
        assertEquals(0, cluster.psVersion(), "nothing new to publish");
        node.learner.close();
        assertEquals(0, cluster.psVersion(), "the weights did not change, so close publishes nothing");
    }

    @Test
    void forPortServesOverNettyAgainstANettyParameterServer() throws Exception {
        ParameterServer ps = grpc.register(ParameterServer.forPort(ParameterServerConfig.defaults(0, null),
                new SimpleMeterRegistry())).start();
        LearnerConfig config = Cluster.config().withBatching(1, 4).withPort(0)
                .withParameterServer("localhost:" + ps.port());
        Learner learner = grpc.register(Learner.forPort(config, new SimpleMeterRegistry())).start();
        assertTrue(learner.port() > 0);
        ManagedChannel channel = grpc.register(Channels.plaintext("localhost:" + learner.port(), 1 << 20));
        Cluster.ChunkClient client = new Cluster.ChunkClient();
        LearnerGrpc.newStub(channel).withDeadlineAfter(30, TimeUnit.SECONDS).pushTrajectories(client);
        grpc.register(client);
        client.send(chunk(learner.modelSpec().getHash(), 0, 0, 3f));
        assertTrue(client.nextAck().getAccepted());
        await(() -> ps.store().version().orElse(-1) >= 1, "a trained version on the Netty parameter server");
        LearnerStatus s = LearnerGrpc.newBlockingStub(channel).withDeadlineAfter(10, TimeUnit.SECONDS)
                .getStatus(LearnerStatusRequest.getDefaultInstance());
        assertEquals(1, s.getUpdates());
        client.complete();
        assertEquals(Status.Code.OK, client.awaitDone().getCode());
        learner.close();
    }
}
