package dev.starling.ps;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.starling.transport.FuzzSupport;
import dev.starling.transport.GrpcCleanupExtension;
import java.util.List;
import java.util.concurrent.TimeUnit;

import com.google.protobuf.ByteString;
import dev.starling.common.model.ModelSpecs;
import dev.starling.proto.v1.GetParametersRequest;
import dev.starling.proto.v1.GradientAck;
import dev.starling.proto.v1.ModelSpec;
import dev.starling.proto.v1.ParameterServerGrpc;
import dev.starling.proto.v1.Parameters;
import dev.starling.proto.v1.TensorSpec;
import dev.starling.proto.v1.WatchParametersRequest;
import io.grpc.CallOptions;
import io.grpc.MethodDescriptor;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.ClientCalls;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** Focused regression tests for what the parameter-server fuzz test (issue 7) found. */
class BadInputRegressionTest {

    @RegisterExtension
    final GrpcCleanupExtension grpc = new GrpcCleanupExtension();

    /**
     * A publish of version 2^63 - 1 used to be accepted; no newer version could follow it, so one
     * bad message stopped every later publish of the learner.
     */
    @Test
    void aVersionBeyondTwoToThe53IsRejectedSoTheServerCanAlwaysAdvance() throws Exception {
        Harness h = Harness.start(grpc);
        h.blocking().publishParameters(TestModels.publish(TestModels.params(1)));
        for (long v : new long[] {Long.MAX_VALUE, Validation.MAX_VERSION + 1}) {
            StatusRuntimeException e = assertThrows(StatusRuntimeException.class,
                    () -> h.blocking().publishParameters(TestModels.publish(TestModels.params(v))));
            assertEquals(Status.Code.INVALID_ARGUMENT, e.getStatus().getCode());
            assertEquals("parameters version " + v + " is out of range (at most 2^53 - 1 = 9007199254740991)",
                    e.getStatus().getDescription());
        }
        assertEquals(2.0, h.rejected("invalid_version"));
        assertEquals(2, h.blocking().publishParameters(TestModels.publish(TestModels.params(2))).getVersion());
        assertEquals(Validation.MAX_VERSION, h.blocking().publishParameters(
                TestModels.publish(TestModels.params(Validation.MAX_VERSION))).getVersion(), "the largest version is fine");
    }

    /**
     * A spec declaring 2^62 values has a blob size of 4 * 2^62, which overflowed to 0 bytes: an
     * empty server accepted it with an empty weights blob.
     */
    @Test
    void aSpecWhoseBlobSizeOverflowsIsRejectedEvenOnAnEmptyServer() throws Exception {
        Harness h = Harness.start(grpc);
        ModelSpec good = TestModels.params(0).getSpec();
        ModelSpec.Builder huge = good.toBuilder().clearTensors().addTensors(TensorSpec.newBuilder().setName("w")
                .addAllShape(List.of(1L << 18, 1L << 18, 1L << 18, 256L)));
        Parameters p = Parameters.newBuilder().setVersion(0)
                .setSpec(huge.setHash(ModelSpecs.hash(huge.build()))).setWeights(ByteString.EMPTY).build();

        StatusRuntimeException e = assertThrows(StatusRuntimeException.class,
                () -> h.blocking().publishParameters(TestModels.publish(p)));
        assertEquals(Status.Code.INVALID_ARGUMENT, e.getStatus().getCode());
        assertEquals("invalid model spec: its tensors hold 4611686018427387904 float32 values, more than a weights"
                + " blob can carry (536870911)", e.getStatus().getDescription());
        assertEquals(1.0, h.rejected("invalid_spec"));
        assertEquals(Status.Code.NOT_FOUND, assertThrows(StatusRuntimeException.class,
                () -> h.blocking().getParameters(GetParametersRequest.getDefaultInstance())).getStatus().getCode(),
                "still nothing held");
    }

    /** Adam's bias correction divides by zero or goes negative with a step count above 2^63. */
    @Test
    void anOptimizerStateWithAnImpossibleStepIsRejected() throws Exception {
        Harness h = Harness.start(grpc);
        Parameters p = TestModels.params(1);
        StatusRuntimeException e = assertThrows(StatusRuntimeException.class, () -> h.blocking().publishParameters(
                TestModels.publish(p).toBuilder().setOptimizerState(TestModels.adam(p, 1f, -1)).build()));
        assertEquals(Status.Code.INVALID_ARGUMENT, e.getStatus().getCode());
        assertEquals("optimizer state step 18446744073709551615 is out of range (at most 9223372036854775807)",
                e.getStatus().getDescription());
        assertEquals(1.0, h.rejected("invalid_optimizer_state"));
    }

    /**
     * after_version 2^64 - 1 used to be read as -1 (and sent the held version at once); one
     * beyond 2^53 - 1 waited for a version that can never be published.
     */
    @Test
    void aWatchForAVersionThatCannotExistOrWithAnOverlongIdIsInvalidArgument() throws Exception {
        Harness h = Harness.start(grpc);
        h.blocking().publishParameters(TestModels.publish(TestModels.params(1)));
        for (long after : new long[] {-1, Validation.MAX_VERSION + 1}) {
            Status s = watchStatus(h, WatchParametersRequest.newBuilder().setAfterVersion(after).build());
            assertEquals(Status.Code.INVALID_ARGUMENT, s.getCode());
            assertEquals("after_version " + Long.toUnsignedString(after) + " is out of range (at most 2^53 - 1 = "
                    + Validation.MAX_VERSION + ")", s.getDescription());
        }
        Status s = watchStatus(h, WatchParametersRequest.newBuilder().setSubscriberId("a".repeat(300)).build());
        assertEquals(Status.Code.INVALID_ARGUMENT, s.getCode());
        assertEquals("subscriber_id has 300 characters, at most 256 are accepted", s.getDescription());
        assertEquals(2.0, h.rejected("invalid_version"));
        assertEquals(1.0, h.rejected("subscriber_id"));
        assertEquals(0.0, h.gauge("starling.parameters.watchers"));
    }

    /**
     * Bytes that are not the request type used to end the call with UNKNOWN "Application error
     * processing RPC" and a SEVERE stack trace, uncounted.
     */
    @Test
    void requestsThatDoNotParseAreInvalidArgumentAndCountedOnEveryMethod() throws Exception {
        Harness h = Harness.start(grpc);
        h.blocking().publishParameters(TestModels.publish(TestModels.params(1)));
        byte[] garbage = {(byte) 0xFF, (byte) 0xFF, (byte) 0xFF};
        try (FuzzSupport.LogCapture logs = new FuzzSupport.LogCapture()) {
            List<MethodDescriptor<?, ?>> methods = List.of(ParameterServerGrpc.getPublishParametersMethod(),
                    ParameterServerGrpc.getGetParametersMethod(), ParameterServerGrpc.getWatchParametersMethod(),
                    ParameterServerGrpc.getGetStatusMethod());
            List<String> types = List.of("PublishParametersRequest", "GetParametersRequest", "WatchParametersRequest",
                    "LearnerStatusRequest");
            for (int i = 0; i < methods.size(); i++) {
                MethodDescriptor<byte[], byte[]> raw = FuzzSupport.raw(methods.get(i));
                StatusRuntimeException e = assertThrows(StatusRuntimeException.class, () -> ClientCalls
                        .blockingServerStreamingCall(h.channel, raw, CallOptions.DEFAULT.withDeadlineAfter(10,
                                TimeUnit.SECONDS), garbage).hasNext());
                assertEquals(Status.Code.INVALID_ARGUMENT, e.getStatus().getCode(), methods.get(i).getFullMethodName());
                assertTrue(e.getStatus().getDescription().startsWith("the request is not a valid starling.v1."
                        + types.get(i) + " encoding: "), e.getStatus().getDescription());
            }
            assertEquals(List.of(), logs.severe());
        }
        assertEquals(4.0, h.rejected("unparseable"));
        assertEquals(1, h.blocking().getParameters(GetParametersRequest.getDefaultInstance()).getParameters().getVersion());
    }

    /**
     * Gradients: an empty actor id, a sequence that does not increase on its stream, and bytes that
     * do not parse were accepted, accepted, and failed inside gRPC.
     */
    @Test
    void gradientsNeedAnActorIdIncreasingSequencesAndParseableBytes() throws Exception {
        Harness h = Harness.start(grpc, ParameterServerConfig.defaults(0, null).withA3c(TestModels.CONFIG, 7));
        Harness.GradientClient push = h.push(grpc, -1);
        assertTrue(push.exchange(TestModels.update(4, 0, TestModels.gradient(1))).getApplied());
        Status repeated = push.failure(TestModels.update(4, 1, TestModels.gradient(2)));
        assertEquals(Status.Code.INVALID_ARGUMENT, repeated.getCode());
        assertEquals("sequence 4 does not follow the previous gradient's sequence 4 on this stream (sequences must"
                + " increase)", repeated.getDescription());

        Status anonymous = h.push(grpc, -1).failure(TestModels.update(5, 1, TestModels.gradient(3)).toBuilder()
                .setActorId("").build());
        assertEquals(Status.Code.INVALID_ARGUMENT, anonymous.getCode());
        assertEquals("actor_id is empty or blank: every gradient must name the actor that sent it",
                anonymous.getDescription());

        try (FuzzSupport.LogCapture logs = new FuzzSupport.LogCapture()) {
            StatusRuntimeException e = assertThrows(StatusRuntimeException.class, () -> ClientCalls
                    .blockingServerStreamingCall(h.channel, FuzzSupport.raw(ParameterServerGrpc.getPushGradientsMethod()),
                            CallOptions.DEFAULT.withDeadlineAfter(10, TimeUnit.SECONDS), new byte[] {0x0A, 0x09}).hasNext());
            assertEquals(Status.Code.INVALID_ARGUMENT, e.getStatus().getCode());
            assertTrue(e.getStatus().getDescription().startsWith(
                    "the request is not a valid starling.v1.GradientUpdate encoding: While parsing a protocol message,"
                            + " the input ended unexpectedly"), e.getStatus().getDescription());
            assertEquals(List.of(), logs.severe());
        }
        assertEquals(1.0, h.rejected("sequence"));
        assertEquals(1.0, h.rejected("actor_id"));
        assertEquals(1.0, h.rejected("unparseable"));
        A3cStatus status = h.server.a3cStatus().orElseThrow();
        assertEquals(3, status.rejected());
        assertEquals(1, status.applied());
        assertEquals(1, status.version(), "rejected gradients change nothing");

        // A new stream may start at any sequence (an actor continues after a reconnect).
        GradientAck ack = h.push(grpc, -1).exchange(TestModels.update(2, 1, TestModels.gradient(4)));
        assertTrue(ack.getApplied());
        assertEquals(2, ack.getVersion());
    }

    private Status watchStatus(Harness h, WatchParametersRequest request) throws Exception {
        Harness.WatchClient w = new Harness.WatchClient(-1);
        ParameterServerGrpc.newStub(h.channel).withDeadlineAfter(10, TimeUnit.SECONDS).watchParameters(request, w);
        grpc.register(w);
        Status s = w.done.get(10, TimeUnit.SECONDS);
        assertTrue(w.received.isEmpty(), "nothing sent on a rejected watch");
        return s;
    }
}
