package dev.starling.transport.wire;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.util.concurrent.atomic.AtomicReference;

import dev.starling.proto.v1.LearnerGrpc;
import dev.starling.proto.v1.LearnerStatus;
import dev.starling.proto.v1.LearnerStatusRequest;
import dev.starling.proto.v1.TrajectoryChunk;
import io.grpc.MethodDescriptor;
import io.grpc.ServerMethodDefinition;
import io.grpc.ServerServiceDefinition;
import io.grpc.Status;
import io.grpc.stub.ServerCalls;
import org.junit.jupiter.api.Test;

/**
 * Regression tests for issue 7: a request whose bytes do not parse used to fail inside gRPC
 * (UNKNOWN "Application error processing RPC", a SEVERE stack trace, no counter).
 */
class RequestParsingTest {

    private static final MethodDescriptor<RequestParsing.Parsed<TrajectoryChunk>, ?> PUSH =
            RequestParsing.method(LearnerGrpc.getPushTrajectoriesMethod());

    @Test
    void bytesThatDoNotParseBecomeAParseErrorInsteadOfAnException() {
        // Field 1 (actor_id, a proto3 string) holding bytes that are not UTF-8.
        byte[] bad = {0x0A, 0x02, (byte) 0xC3, (byte) 0x28};
        RequestParsing.Parsed<TrajectoryChunk> p = PUSH.parseRequest(new ByteArrayInputStream(bad));
        assertFalse(p.parsed());
        assertNull(p.message());
        assertEquals("Protocol message had invalid UTF-8.", p.parseError());

        RequestParsing.Parsed<TrajectoryChunk> truncated = PUSH.parseRequest(new ByteArrayInputStream(new byte[] {0x0A, 0x05}));
        assertFalse(truncated.parsed());
        assertTrue(truncated.parseError().contains("the input ended unexpectedly"), truncated.parseError());
    }

    @Test
    void validBytesParseToTheMessage() {
        TrajectoryChunk c = TrajectoryChunk.newBuilder().setActorId("actor-1").setSequence(7).build();
        RequestParsing.Parsed<TrajectoryChunk> p = PUSH.parseRequest(new ByteArrayInputStream(c.toByteArray()));
        assertTrue(p.parsed());
        assertEquals(c, p.message());
        assertEquals(LearnerGrpc.getPushTrajectoriesMethod().getFullMethodName(), PUSH.getFullMethodName());
        assertEquals(LearnerGrpc.getPushTrajectoriesMethod().getType(), PUSH.getType());
    }

    @Test
    void theStatusIsInvalidArgumentNamingTheTypeAndTheError() {
        Status s = RequestParsing.unparseable(LearnerGrpc.getPushTrajectoriesMethod(), "Protocol message had invalid UTF-8.");
        assertEquals(Status.Code.INVALID_ARGUMENT, s.getCode());
        assertEquals("the request is not a valid starling.v1.TrajectoryChunk encoding: Protocol message had invalid UTF-8.",
                s.getDescription());
        assertEquals(s.getDescription(), RequestParsing.unparseable(PUSH, "Protocol message had invalid UTF-8.")
                .getDescription(), "named the same through the wrapping marshaller");
    }

    @Test
    void rebindReplacesMethodsByNameAndKeepsTheOthers() {
        ServerServiceDefinition plain = ServerServiceDefinition.builder(LearnerGrpc.getServiceDescriptor())
                .addMethod(LearnerGrpc.getPushTrajectoriesMethod(), ServerCalls.asyncBidiStreamingCall(o -> null))
                .addMethod(LearnerGrpc.getGetStatusMethod(), ServerCalls.asyncUnaryCall((r, o) -> { }))
                .build();
        @SuppressWarnings("unchecked")
        ServerMethodDefinition<LearnerStatusRequest, LearnerStatus> status =
                (ServerMethodDefinition<LearnerStatusRequest, LearnerStatus>) plain.getMethod(
                        LearnerGrpc.getGetStatusMethod().getFullMethodName());
        AtomicReference<String> rejected = new AtomicReference<>();
        ServerMethodDefinition<?, ?> single = RequestParsing.singleRequest(status, rejected::set);
        ServerServiceDefinition rebound = RequestParsing.rebind(plain, single);

        assertSame(single, rebound.getMethod(LearnerGrpc.getGetStatusMethod().getFullMethodName()));
        assertSame(plain.getMethod(LearnerGrpc.getPushTrajectoriesMethod().getFullMethodName()),
                rebound.getMethod(LearnerGrpc.getPushTrajectoriesMethod().getFullMethodName()));
        assertEquals(LearnerGrpc.getServiceDescriptor().getSchemaDescriptor(),
                rebound.getServiceDescriptor().getSchemaDescriptor(), "server reflection keeps working");
        assertThrows(IllegalArgumentException.class, () -> RequestParsing.singleRequest(
                plain.getMethod(LearnerGrpc.getPushTrajectoriesMethod().getFullMethodName()), rejected::set),
                "a client-streaming method needs its service's own handling");
    }
}
