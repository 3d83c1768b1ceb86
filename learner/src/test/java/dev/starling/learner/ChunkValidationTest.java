package dev.starling.learner;

import static dev.starling.learner.Cluster.chunk;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.starling.transport.FuzzSupport;
import dev.starling.transport.GrpcCleanupExtension;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.BiFunction;
import java.util.stream.Stream;

import com.google.protobuf.ByteString;
import dev.starling.proto.v1.LearnerGrpc;
import dev.starling.proto.v1.LearnerStatus;
import dev.starling.proto.v1.TrajectoryChunk;
import io.grpc.CallOptions;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.ClientCalls;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Each class of malformed chunk ends its stream with the right status and a message that says
 * what was wrong, counts one rejection with the right reason, and changes nothing.
 */
class ChunkValidationTest {

    @RegisterExtension
    final GrpcCleanupExtension grpc = new GrpcCleanupExtension();

    /** (chunk, spec hash) -> bad chunk. */
    private interface Corruption extends BiFunction<TrajectoryChunk, Long, TrajectoryChunk> {
    }

    static Stream<Arguments> badChunks() {
        return Stream.of(
                Arguments.of("wrong spec hash", (Corruption) (c, h) -> c.toBuilder().setSpecHash(h + 1).build(),
                        Status.Code.FAILED_PRECONDITION, "spec_hash", "but the learner trains"),
                Arguments.of("wrong unroll", (Corruption) (c, h) -> c.toBuilder().setUnrollLength(Cluster.UNROLL + 1)
                        .build(), Status.Code.INVALID_ARGUMENT, "unroll", "differs from the learner's unroll"),
                Arguments.of("zero num_envs", (Corruption) (c, h) -> c.toBuilder().setNumEnvs(0).build(),
                        Status.Code.INVALID_ARGUMENT, "num_envs", "num_envs 0 is outside"),
                Arguments.of("huge num_envs", (Corruption) (c, h) -> c.toBuilder().setNumEnvs(Integer.MAX_VALUE).build(),
                        Status.Code.INVALID_ARGUMENT, "num_envs", "is outside [1, 4096]"),
                Arguments.of("truncated observations", (Corruption) (c, h) -> c.toBuilder()
                        .setObservations(c.getObservations().substring(0, c.getObservations().size() - 3)).build(),
                        Status.Code.INVALID_ARGUMENT, "shape", "observations has"),
                Arguments.of("NaN reward", (Corruption) (c, h) -> c.toBuilder()
                        .setRewards(withFloat(c.getRewards(), 1, Float.NaN)).build(),
                        Status.Code.INVALID_ARGUMENT, "non_finite", "rewards[1] is not finite"),
                Arguments.of("action out of range", (Corruption) (c, h) -> c.toBuilder().setActions(3, 2).build(),
                        Status.Code.INVALID_ARGUMENT, "action_range", "actions[3] = 2 is outside [0, 2)"),
                Arguments.of("policy version from the future", (Corruption) (c, h) -> c.toBuilder()
                        .setPolicyVersion(1000).build(),
                        Status.Code.INVALID_ARGUMENT, "future_version", "is newer than the newest published version 0"),
                Arguments.of("empty actor id", (Corruption) (c, h) -> c.toBuilder().setActorId("").build(),
                        Status.Code.INVALID_ARGUMENT, "actor_id", "actor_id is empty"),
                Arguments.of("overlong actor id", (Corruption) (c, h) -> c.toBuilder().setActorId("x".repeat(257)).build(),
                        Status.Code.INVALID_ARGUMENT, "actor_id", "actor_id has 257 characters, at most 256"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("badChunks")
    void rejectsWithStatusMessageAndCounterAndChangesNothing(String name, Corruption corruption, Status.Code code,
            String reason, String message) throws Exception {
        Cluster cluster = new Cluster(grpc);
        Cluster.Node node = cluster.learner(Cluster.config().withBatching(2, 4));
        node.learner.start();
        // One good chunk first: it stays queued (the batch needs two), so "nothing changed"
        // is checked against a non-empty state.
        Cluster.ChunkClient good = node.push();
        good.send(chunk(node.specHash(), 0, 0, 5f));
        assertTrue(good.nextAck().getAccepted());
        LearnerStatus before = node.status();
        assertEquals(1, before.getQueuedChunks());

        Cluster.ChunkClient bad = node.push();
        bad.send(corruption.apply(chunk(node.specHash(), 1, 0, 7f), node.specHash()));
        Status status = bad.awaitDone();
        assertEquals(code, status.getCode(), status.toString());
        assertTrue(status.getDescription().contains(message), status.getDescription());
        assertTrue(bad.received.isEmpty(), "a rejected chunk is not acked");
        assertEquals(1.0, node.rejected(reason), "rejected counter for reason " + reason);
        assertEquals(before, node.status(), "a rejected chunk changes nothing");
        assertEquals(0, cluster.psVersion(), "nothing was trained or published");
    }

    /** Issue 7: a repeated or older sequence on one stream used to be accepted (acks become ambiguous). */
    @Test
    void aSequenceThatDoesNotIncreaseOnItsStreamIsRejectedButANewStreamMayStartAnywhere() throws Exception {
        Cluster cluster = new Cluster(grpc);
        Cluster.Node node = cluster.learner(Cluster.config().withBatching(2, 8));
        node.learner.start();
        Cluster.ChunkClient client = node.push();
        client.send(chunk(node.specHash(), 5, 0, 1f));
        assertEquals(5, client.nextAck().getSequence());
        LearnerStatus before = node.status();

        client.send(chunk(node.specHash(), 5, 0, 1f));
        Status status = client.awaitDone();
        assertEquals(Status.Code.INVALID_ARGUMENT, status.getCode());
        assertEquals("sequence 5 does not follow the previous chunk's sequence 5 on this stream (sequences must"
                + " increase)", status.getDescription());
        assertEquals(1.0, node.rejected("sequence"));
        assertEquals(before, node.status(), "a rejected chunk changes nothing");

        // A reconnecting actor continues on a new stream; any first sequence is fine there.
        Cluster.ChunkClient next = node.push();
        next.send(chunk(node.specHash(), 3, 0, 1f));
        assertTrue(next.nextAck().getAccepted());
        next.send(chunk(node.specHash(), 4, 0, 1f));
        assertTrue(next.nextAck().getAccepted());
        next.send(chunk(node.specHash(), 2, 0, 1f));
        assertEquals(Status.Code.INVALID_ARGUMENT, next.awaitDone().getCode());
        assertEquals(2.0, node.rejected("sequence"));
    }

    /**
     * Issue 7: bytes that are not a TrajectoryChunk used to end the stream with UNKNOWN "Application
     * error processing RPC", uncounted, with a SEVERE stack trace in the learner's log.
     */
    @Test
    void bytesThatDoNotParseAreInvalidArgumentAndCounted() throws Exception {
        Cluster cluster = new Cluster(grpc);
        Cluster.Node node = cluster.learner(Cluster.config());
        node.learner.start();
        byte[] badUtf8ActorId = {0x0A, 0x02, (byte) 0xC3, (byte) 0x28};
        try (FuzzSupport.LogCapture logs = new FuzzSupport.LogCapture()) {
            StatusRuntimeException push = assertThrows(StatusRuntimeException.class, () -> ClientCalls.blockingServerStreamingCall(
                    node.channel, FuzzSupport.raw(LearnerGrpc.getPushTrajectoriesMethod()),
                    CallOptions.DEFAULT.withDeadlineAfter(10, TimeUnit.SECONDS), badUtf8ActorId).hasNext());
            assertEquals(Status.Code.INVALID_ARGUMENT, push.getStatus().getCode());
            assertEquals("the request is not a valid starling.v1.TrajectoryChunk encoding: Protocol message had"
                    + " invalid UTF-8.", push.getStatus().getDescription());

            StatusRuntimeException status = assertThrows(StatusRuntimeException.class, () -> ClientCalls.blockingUnaryCall(
                    node.channel, FuzzSupport.raw(LearnerGrpc.getGetStatusMethod()),
                    CallOptions.DEFAULT.withDeadlineAfter(10, TimeUnit.SECONDS), new byte[] {(byte) 0xFF}));
            assertEquals(Status.Code.INVALID_ARGUMENT, status.getStatus().getCode());
            assertTrue(status.getStatus().getDescription().startsWith(
                    "the request is not a valid starling.v1.LearnerStatusRequest encoding: "), status.getStatus().toString());
            assertEquals(List.of(), logs.severe());
        }
        assertEquals(2.0, node.rejected("unparseable"));
        assertEquals(0, node.status().getFrames(), "GetStatus still answers");
    }

    private static ByteString withFloat(ByteString floats, int index, float value) {
        byte[] b = floats.toByteArray();
        ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).putFloat(index * Float.BYTES, value);
        return ByteString.copyFrom(b);
    }
}
