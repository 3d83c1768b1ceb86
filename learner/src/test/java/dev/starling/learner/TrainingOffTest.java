package dev.starling.learner;

import static dev.starling.learner.Cluster.ENVS;
import static dev.starling.learner.Cluster.UNROLL;
import static dev.starling.learner.Cluster.await;
import static dev.starling.learner.Cluster.chunk;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.starling.transport.GrpcCleanupExtension;
import dev.starling.transport.metrics.Metrics;
import dev.starling.proto.v1.LearnerStatus;
import io.grpc.Status;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** {@link LearnerConfig#training()} off: chunks are ingested and counted, nothing is trained or published. */
class TrainingOffTest {

    @RegisterExtension
    final GrpcCleanupExtension grpc = new GrpcCleanupExtension();

    @Test
    void acceptsAndCountsEveryChunkButNeverUpdatesOrPublishes() throws Exception {
        Cluster cluster = new Cluster(grpc);
        // Queue of one batch: ingesting 6 chunks needs the trainer to drain it three times.
        Cluster.Node node = cluster.learner(Cluster.config().withBatching(2, 2).withTraining(false));
        node.learner.start();
        assertEquals(0, cluster.psVersion());
        long weightsBefore = cluster.held().getParameters().getWeights().hashCode();

        Cluster.ChunkClient client = node.push();
        int chunks = 6;
        for (int i = 0; i < chunks; i++) {
            client.send(chunk(node.specHash(), i, 0, 1f));
        }
        for (int i = 0; i < chunks; i++) {
            assertTrue(client.nextAck().getAccepted());
        }
        client.complete();
        assertEquals(Status.Code.OK, client.awaitDone().getCode());
        long frames = (long) chunks * UNROLL * ENVS;
        await(() -> node.counter(Metrics.LEARNER_SAMPLES) == frames, "the trainer to drain the queue");

        LearnerStatus s = node.status();
        assertEquals(frames, s.getFrames(), "accepted chunks are counted as in training");
        assertEquals(0, s.getUpdates());
        assertFalse(s.hasPolicyLoss() || s.hasBaselineLoss() || s.hasEntropy() || s.hasGradNorm(),
                "no update, no loss terms: " + s);
        assertEquals(0, s.getPolicyVersion());
        assertEquals(0, s.getQueuedChunks());
        assertEquals(0, node.counter(Metrics.LEARNER_UPDATES));
        assertEquals(0, node.registry.get(Metrics.LEARNER_UPDATE_TIME).timer().count());

        node.learner.close();
        assertEquals(0, cluster.psVersion(), "nothing published, not even at close");
        assertEquals(0, cluster.held().getOptimizerState().getStep());
        assertEquals(weightsBefore, cluster.held().getParameters().getWeights().hashCode());
    }
}
