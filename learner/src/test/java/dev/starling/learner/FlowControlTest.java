package dev.starling.learner;

import static dev.starling.learner.Cluster.await;
import static dev.starling.learner.Cluster.chunk;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.starling.transport.GrpcCleanupExtension;
import java.util.HashSet;
import java.util.Set;

import dev.starling.proto.v1.ChunkAck;
import dev.starling.proto.v1.LearnerStatus;
import io.grpc.Status;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** Server-side flow control: streams get acks only while the bounded queue has room. */
class FlowControlTest {

    @RegisterExtension
    final GrpcCleanupExtension grpc = new GrpcCleanupExtension();

    @Test
    void aFullQueueStopsTheStreamsUntilTheTrainerMakesRoom() throws Exception {
        Cluster cluster = new Cluster(grpc);
        Cluster.Node node = cluster.learner(Cluster.config().withBatching(1, 1));
        node.learner.holdTraining(true);
        node.learner.start();

        int perStream = 8;
        Cluster.ChunkClient a = node.push();
        Cluster.ChunkClient b = node.push();
        for (int i = 0; i < perStream; i++) {
            a.send(chunk(node.specHash(), i, 0, 1f));
            b.send(chunk(node.specHash(), 100 + i, 0, 1f));
        }
        ChunkAck first = a.received.isEmpty() ? null : a.received.peek();
        await(() -> a.received.size() + b.received.size() >= 1, "the first ack");
        Thread.sleep(300);
        int acked = a.received.size() + b.received.size();
        assertEquals(1, acked, "queue capacity 1: one chunk queued and acked, the rest wait (first " + first + ")");
        assertEquals(1, node.status().getQueuedChunks());
        assertEquals(Cluster.UNROLL * Cluster.ENVS, node.status().getFrames(), "only the queued chunk counts");

        a.complete();
        b.complete();
        node.learner.holdTraining(false);
        int maxQueued = 0;
        long end = System.nanoTime() + Cluster.WAIT.toNanos();
        while (node.learner.status().getUpdates() < 2L * perStream && System.nanoTime() < end) {
            maxQueued = Math.max(maxQueued, node.learner.status().getQueuedChunks());
            Thread.sleep(1);
        }
        assertEquals(2L * perStream, node.learner.status().getUpdates(), "every chunk is trained once");
        assertTrue(maxQueued <= 1, "the queue never exceeds its capacity, saw " + maxQueued);
        assertEquals(Status.Code.OK, a.awaitDone().getCode());
        assertEquals(Status.Code.OK, b.awaitDone().getCode());
        Set<Long> sequences = new HashSet<>();
        for (ChunkAck ack : a.received) {
            assertTrue(ack.getAccepted());
            sequences.add(ack.getSequence());
        }
        for (ChunkAck ack : b.received) {
            assertTrue(ack.getAccepted());
            sequences.add(ack.getSequence());
        }
        assertEquals(2 * perStream, sequences.size(), "each chunk acked exactly once");
        await(() -> node.learner.openStreams() == 0, "both streams closed");
    }

    @Test
    void aClientThatCancelsIsForgottenWithItsWaitingChunk() throws Exception {
        Cluster cluster = new Cluster(grpc);
        Cluster.Node node = cluster.learner(Cluster.config().withBatching(1, 1));
        node.learner.holdTraining(true);
        node.learner.start();

        Cluster.ChunkClient a = node.push();
        a.send(chunk(node.specHash(), 0, 0, 1f));
        assertTrue(a.nextAck().getAccepted());
        Cluster.ChunkClient b = node.push();
        b.send(chunk(node.specHash(), 1, 0, 1f));
        await(() -> node.learner.openStreams() == 2, "two open streams");
        Thread.sleep(100);
        assertTrue(b.received.isEmpty(), "b's chunk waits for room, unacked");

        b.close();
        assertEquals(Status.Code.CANCELLED, b.awaitDone().getCode());
        await(() -> node.learner.openStreams() == 1, "the cancelled stream is gone");
        a.complete();
        node.learner.holdTraining(false);
        assertEquals(Status.Code.OK, a.awaitDone().getCode());
        await(() -> node.learner.status().getUpdates() == 1, "a's chunk trained");
        Thread.sleep(200);
        LearnerStatus s = node.learner.status();
        assertEquals(1, s.getUpdates(), "the cancelled stream's waiting chunk is never trained");
        assertEquals(Cluster.UNROLL * Cluster.ENVS, s.getFrames());
        assertEquals(0, node.learner.openStreams());
    }
}
