package dev.starling.ps;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.starling.transport.GrpcCleanupExtension;
import dev.starling.transport.StreamClient;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import java.util.stream.Stream;

import com.google.protobuf.ByteString;
import dev.starling.common.model.ModelSpecs;
import dev.starling.proto.v1.GetParametersRequest;
import dev.starling.proto.v1.GetParametersResponse;
import dev.starling.proto.v1.GradientAck;
import dev.starling.proto.v1.GradientUpdate;
import dev.starling.proto.v1.OptimizerState;
import dev.starling.proto.v1.ParameterServerGrpc;
import dev.starling.proto.v1.Parameters;
import dev.starling.proto.v1.PublishParametersRequest;
import dev.starling.proto.v1.PublishParametersResponse;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.health.v1.HealthGrpc;
import io.grpc.inprocess.InProcessServerBuilder;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class ParameterServerServiceTest {

    @RegisterExtension
    final GrpcCleanupExtension grpc = new GrpcCleanupExtension();

    private static final GetParametersRequest GET = GetParametersRequest.getDefaultInstance();
    private static final GetParametersRequest GET_WITH_OPTIMIZER =
            GetParametersRequest.newBuilder().setIncludeOptimizerState(true).build();

    @Test
    void getBeforeAnyPublishIsNotFound() throws Exception {
        Harness h = Harness.start(grpc);
        StatusRuntimeException e = assertThrows(StatusRuntimeException.class, () -> h.blocking().getParameters(GET));
        assertEquals(Status.Code.NOT_FOUND, e.getStatus().getCode());
        assertTrue(e.getStatus().getDescription().contains("no parameters yet"), e.getStatus().getDescription());
        assertTrue(Double.isNaN(h.gauge("starling.parameters.version")));
    }

    @Test
    void publishThenGetReturnsTheSameWeightsAndOptimizerStateOnlyOnRequest() throws Exception {
        Harness h = Harness.start(grpc);
        Parameters p = TestModels.params(0);
        OptimizerState opt = TestModels.adam(p, 0.5f, 3);
        PublishParametersResponse r = h.blocking().publishParameters(
                TestModels.publish(p).toBuilder().setOptimizerState(opt).build());
        assertEquals(0, r.getVersion());

        GetParametersResponse plain = h.blocking().getParameters(GET);
        assertEquals(p, TestModels.plain(plain.getParameters()));
        assertEquals(h.server.store().incarnation(), plain.getParameters().getIncarnation(),
                "the server stamps its incarnation on what it serves");
        assertEquals(h.server.store().incarnation(), r.getIncarnation());
        assertFalse(plain.hasOptimizerState(), "optimizer state only when asked for");
        GetParametersResponse full = h.blocking().getParameters(GET_WITH_OPTIMIZER);
        assertEquals(opt, full.getOptimizerState());

        // A later publish without optimizer state keeps the newest one known, with the weights it
        // belongs to: a learner asking for the state resumes from that pair, watchers get the newest.
        Parameters p1 = TestModels.params(1, 2);
        h.blocking().publishParameters(TestModels.publish(p1));
        GetParametersResponse later = h.blocking().getParameters(GET_WITH_OPTIMIZER);
        assertEquals(p, TestModels.plain(later.getParameters()));
        assertEquals(opt, later.getOptimizerState());
        assertEquals(p1, TestModels.plain(h.blocking().getParameters(GET).getParameters()));
        assertEquals(0, h.server.store().current().optimizerStateVersion());
        assertEquals(10, h.server.store().current().learnerUpdates());
        assertEquals(1.0, h.gauge("starling.parameters.version"));
    }

    @Test
    void staleAndEqualVersionsAreFailedPreconditionNamingBothVersions() throws Exception {
        Harness h = Harness.start(grpc);
        Parameters held = TestModels.params(5);
        h.blocking().publishParameters(TestModels.publish(held));

        StatusRuntimeException stale = assertThrows(StatusRuntimeException.class,
                () -> h.blocking().publishParameters(TestModels.publish(TestModels.params(3, 2))));
        assertEquals(Status.Code.FAILED_PRECONDITION, stale.getStatus().getCode());
        assertEquals("parameters version 3 is not newer than the held version 5 (versions must strictly increase)",
                stale.getStatus().getDescription());

        StatusRuntimeException equal = assertThrows(StatusRuntimeException.class,
                () -> h.blocking().publishParameters(TestModels.publish(TestModels.params(5, 2))));
        assertEquals(Status.Code.FAILED_PRECONDITION, equal.getStatus().getCode());
        assertTrue(equal.getStatus().getDescription().startsWith("parameters version 5 is not newer than the held version 5"),
                equal.getStatus().getDescription());

        assertEquals(2.0, h.rejected("stale_version"));
        GetParametersResponse now = h.blocking().getParameters(GET);
        assertEquals(held.getWeights(), now.getParameters().getWeights(), "weights untouched");
        assertEquals(5, now.getParameters().getVersion());
    }

    /** name, request, expected code, counter reason, message fragment. */
    static Stream<Arguments> malformedPublishes() {
        Supplier<Parameters> good = () -> TestModels.params(2, 2);
        return Stream.of(
                Arguments.of("missing parameters",
                        (Supplier<PublishParametersRequest>) () -> PublishParametersRequest.newBuilder().setLearnerUpdates(1).build(),
                        Status.Code.INVALID_ARGUMENT, "missing_parameters", "publish carries no parameters"),
                Arguments.of("tampered spec keeps the old hash",
                        (Supplier<PublishParametersRequest>) () -> {
                            Parameters p = good.get();
                            Parameters tampered = p.toBuilder().setSpec(p.getSpec().toBuilder()
                                    .setTensors(0, p.getSpec().getTensors(0).toBuilder().setShape(0, 9))).build();
                            return TestModels.publish(tampered);
                        },
                        Status.Code.INVALID_ARGUMENT, "spec_hash_mismatch", "does not match the spec's contents"),
                Arguments.of("spec hash of another model",
                        (Supplier<PublishParametersRequest>) () -> {
                            Parameters p = good.get();
                            return TestModels.publish(p.toBuilder().setSpec(p.getSpec().toBuilder()
                                    .setHash(TestModels.foreign(0).getSpec().getHash())).build());
                        },
                        Status.Code.INVALID_ARGUMENT, "spec_hash_mismatch", "does not match the spec's contents"),
                Arguments.of("weights blob four bytes short",
                        (Supplier<PublishParametersRequest>) () -> {
                            Parameters p = good.get();
                            ByteString w = p.getWeights();
                            return TestModels.publish(p.toBuilder().setWeights(w.substring(0, w.size() - 4)).build());
                        },
                        Status.Code.INVALID_ARGUMENT, "weights_size", "weights blob has"),
                Arguments.of("NaN weight",
                        (Supplier<PublishParametersRequest>) () -> TestModels.publish(TestModels.withWeight(good.get(), 7, Float.NaN)),
                        Status.Code.INVALID_ARGUMENT, "non_finite_weights", "non-finite value at float index 7"),
                Arguments.of("infinite weight",
                        (Supplier<PublishParametersRequest>) () -> TestModels.publish(
                                TestModels.withWeight(good.get(), 0, Float.NEGATIVE_INFINITY)),
                        Status.Code.INVALID_ARGUMENT, "non_finite_weights", "non-finite value at float index 0"),
                Arguments.of("valid weights of another model",
                        (Supplier<PublishParametersRequest>) () -> TestModels.publish(TestModels.foreign(2)),
                        Status.Code.FAILED_PRECONDITION, "foreign_spec",
                        "parameters are for model spec " + ModelSpecs.hex(TestModels.foreign(0).getSpec().getHash())
                                + ", server holds " + ModelSpecs.hex(TestModels.params(0).getSpec().getHash())),
                Arguments.of("optimizer state of another model",
                        (Supplier<PublishParametersRequest>) () -> TestModels.publish(good.get()).toBuilder()
                                .setOptimizerState(TestModels.adam(good.get(), 1f, 1).toBuilder().setSpecHash(42)).build(),
                        Status.Code.INVALID_ARGUMENT, "optimizer_spec_mismatch", "optimizer state is for model spec"),
                Arguments.of("optimizer state of the wrong size",
                        (Supplier<PublishParametersRequest>) () -> TestModels.publish(good.get()).toBuilder()
                                .setOptimizerState(TestModels.adam(good.get(), 1f, 1).toBuilder().setAlgorithm("rmsprop")).build(),
                        Status.Code.INVALID_ARGUMENT, "invalid_optimizer_state", "rmsprop optimizer state has"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("malformedPublishes")
    void badPublishIsRejectedCountedAndChangesNothing(String name, Supplier<PublishParametersRequest> request,
            Status.Code code, String reason, String fragment) throws Exception {
        Harness h = Harness.start(grpc);
        Parameters held = TestModels.params(1);
        OptimizerState heldOpt = TestModels.adam(held, 0.25f, 9);
        h.blocking().publishParameters(TestModels.publish(held).toBuilder().setOptimizerState(heldOpt).build());
        ParameterSnapshot before = h.server.store().current();

        StatusRuntimeException e = assertThrows(StatusRuntimeException.class,
                () -> h.blocking().publishParameters(request.get()));
        assertEquals(code, e.getStatus().getCode(), e.getStatus().toString());
        assertTrue(e.getStatus().getDescription().contains(fragment), e.getStatus().getDescription());
        assertEquals(1.0, h.rejected(reason));

        assertTrue(before == h.server.store().current(), "state replaced by a rejected publish");
        GetParametersResponse now = h.blocking().getParameters(GET_WITH_OPTIMIZER);
        assertTrue(now.getParameters().getWeights().equals(held.getWeights()), "weights bit-identical");
        assertEquals(1, now.getParameters().getVersion());
        assertEquals(heldOpt, now.getOptimizerState());
    }

    /**
     * A subscriber that holds a newer version of another incarnation (this server restarted from
     * an older checkpoint) gets the current version at once instead of waiting for a number it
     * has passed; a subscriber of this incarnation still gets only newer versions.
     */
    @Test
    void aSubscriberOfAnotherIncarnationGetsTheCurrentVersionWhateverItsNumber() throws Exception {
        Harness h = Harness.start(grpc);
        h.blocking().publishParameters(TestModels.publish(TestModels.params(5)));
        long incarnation = h.server.store().incarnation();
        Harness.WatchClient other = h.watch(grpc, 1275, incarnation + 1, -1);
        Parameters got = other.next();
        assertEquals(5, got.getVersion());
        assertEquals(incarnation, got.getIncarnation());

        Harness.WatchClient same = h.watch(grpc, 5, incarnation, -1);
        h.blocking().publishParameters(TestModels.publish(TestModels.params(6, 2)));
        assertEquals(6, same.next().getVersion(), "only newer versions within the incarnation");
        assertEquals(6, other.next().getVersion());
    }

    @Test
    void watchSendsTheCurrentVersionAtOnceThenEachNewerOne() throws Exception {
        Harness h = Harness.start(grpc);
        h.blocking().publishParameters(TestModels.publish(TestModels.params(1)));
        Harness.WatchClient w = h.watch(grpc, 0, -1);
        assertEquals(1, w.next().getVersion());
        for (long v = 2; v <= 4; v++) {
            Parameters p = TestModels.params(v, v);
            h.blocking().publishParameters(TestModels.publish(p));
            assertEquals(p, TestModels.plain(w.next()), "version " + v);
        }
        assertTrue(h.registry.get("starling.weights.broadcast").timer().count() >= 3);
        assertEquals(4.0, h.gauge("starling.parameters.version"));
        assertEquals(1.0, h.gauge("starling.parameters.watchers"));
    }

    @Test
    void watchAfterTheHeldVersionWaitsForANewerOne() throws Exception {
        Harness h = Harness.start(grpc);
        h.blocking().publishParameters(TestModels.publish(TestModels.params(4)));
        Harness.WatchClient w = h.watch(grpc, 4, -1);
        waitForWatchers(h, 1);
        h.blocking().publishParameters(TestModels.publish(TestModels.params(5)));
        assertEquals(5, w.next().getVersion(), "version 4 was already held by the subscriber");
    }

    @Test
    void watchStartedBeforeAnythingIsHeldReceivesVersionZero() throws Exception {
        Harness h = Harness.start(grpc);
        Harness.WatchClient w = h.watch(grpc, 0, -1);
        waitForWatchers(h, 1);
        h.blocking().publishParameters(TestModels.publish(TestModels.params(0)));
        assertEquals(0, w.next().getVersion());
    }

    @Test
    void slowSubscriberGetsTheNewestVersionNotABacklog() throws Exception {
        Harness h = Harness.start(grpc);
        h.blocking().publishParameters(TestModels.publish(TestModels.params(0)));
        Harness.WatchClient slow = h.watch(grpc, 0, 1);
        Harness.WatchClient fast = h.watch(grpc, 0, -1);
        assertEquals(0, slow.next().getVersion());
        assertEquals(0, fast.next().getVersion());

        Parameters newest = null;
        for (long v = 1; v <= 50; v++) {
            newest = TestModels.params(v, 1 + v % 3);
            h.blocking().publishParameters(TestModels.publish(newest));
        }
        // The fast subscriber sees versions in order and ends at the newest.
        long last = -1;
        while (last != 50) {
            long v = fast.next().getVersion();
            assertTrue(v > last, "versions must increase on a stream");
            last = v;
        }
        // 50 versions were published while the slow subscriber asked for nothing: it gets one
        // message, the newest, and nothing queued behind it.
        slow.request(1);
        Parameters got = slow.next();
        assertEquals(newest, TestModels.plain(got), "the slow subscriber gets the newest version");
        slow.request(10);
        Thread.sleep(200);
        List<Parameters> extra = new ArrayList<>();
        slow.received.drainTo(extra);
        assertTrue(extra.isEmpty(), "nothing older follows the newest: " + extra.size() + " extra messages");
        // In all: version 0 and version 50, two messages for 51 versions.
    }

    @Test
    void healthServiceReportsServing() throws Exception {
        Harness h = Harness.start(grpc);
        HealthGrpc.HealthBlockingStub health = HealthGrpc.newBlockingStub(h.channel).withDeadlineAfter(10, TimeUnit.SECONDS);
        assertEquals(ServingStatus.SERVING, health.check(HealthCheckRequest.getDefaultInstance()).getStatus());
        assertEquals(ServingStatus.SERVING, health.check(
                HealthCheckRequest.newBuilder().setService(ParameterServerGrpc.SERVICE_NAME).build()).getStatus());
    }

    @Test
    void pushGradientsIsUnimplementedInImpalaModeAndSaysHowToEnableA3c() throws Exception {
        Harness h = Harness.start(grpc);
        StreamClient<GradientUpdate, GradientAck> client = grpc.register(new StreamClient<>());
        ParameterServerGrpc.newStub(h.channel).withDeadlineAfter(10, TimeUnit.SECONDS).pushGradients(client);
        client.complete();
        Status status = client.awaitDone(Duration.ofSeconds(10));
        assertTrue(client.received.isEmpty(), "unexpected ack " + client.received);
        assertEquals(Status.Code.UNIMPLEMENTED, status.getCode());
        assertTrue(status.getDescription().contains("this parameter server runs in impala mode"), status.getDescription());
        assertTrue(status.getDescription().contains("start the parameter server with a3c enabled"), status.getDescription());
    }

    @Test
    void closeEndsWatchStreamsWithUnavailableAndIsIdempotent() throws Exception {
        Harness h = Harness.start(grpc);
        h.blocking().publishParameters(TestModels.publish(TestModels.params(1)));
        Harness.WatchClient w = h.watch(grpc, 0, -1);
        assertEquals(1, w.next().getVersion());
        h.server.close();
        assertEquals(Status.Code.UNAVAILABLE, w.done.get(10, TimeUnit.SECONDS).getCode());
        h.server.close();
        StatusRuntimeException e = assertThrows(StatusRuntimeException.class,
                () -> h.server.store().publish(TestModels.publish(TestModels.params(2))));
        assertEquals(Status.Code.UNAVAILABLE, e.getStatus().getCode());
        assertNotEquals(2, h.server.store().current().version());
    }

    @Test
    void closeBeforeStartIsHarmlessAndStartAfterCloseFails() throws Exception {
        ParameterServer server = new ParameterServer(InProcessServerBuilder.forName(
                InProcessServerBuilder.generateName()), ParameterServerConfig.defaults(0, null),
                new SimpleMeterRegistry());
        long t0 = System.nanoTime();
        server.close();
        server.close();
        assertTrue(System.nanoTime() - t0 < TimeUnit.SECONDS.toNanos(2), "closing an unstarted server is quick");
        assertThrows(IllegalStateException.class, server::start);
    }

    private static void waitForWatchers(Harness h, int n) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (h.gauge("starling.parameters.watchers") < n) {
            assertTrue(System.nanoTime() < deadline, "watch stream did not register");
            Thread.sleep(5);
        }
    }
}
