package dev.starling.transport;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentLinkedQueue;

import dev.starling.transport.metrics.Metrics;
import dev.starling.transport.wire.RequestParsing;
import dev.starling.proto.v1.ChunkAck;
import dev.starling.proto.v1.GetParametersRequest;
import dev.starling.proto.v1.GetParametersResponse;
import dev.starling.proto.v1.GradientAck;
import dev.starling.proto.v1.GradientUpdate;
import dev.starling.proto.v1.LearnerGrpc;
import dev.starling.proto.v1.LearnerStatus;
import dev.starling.proto.v1.LearnerStatusRequest;
import dev.starling.proto.v1.ParameterServerGrpc;
import dev.starling.proto.v1.Parameters;
import dev.starling.proto.v1.PublishParametersRequest;
import dev.starling.proto.v1.PublishParametersResponse;
import dev.starling.proto.v1.TrajectoryChunk;
import dev.starling.proto.v1.WatchParametersRequest;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.ServerInterceptors;
import io.grpc.ServerServiceDefinition;
import io.grpc.ServiceDescriptor;
import io.grpc.Status;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthGrpc;
import io.grpc.protobuf.services.HealthStatusManager;
import io.grpc.stub.ServerCalls;
import io.grpc.stub.StreamObserver;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * The authorization policy over real Netty on loopback, with one bearer token per role: every
 * role calls every method of both services and the health service; allowed calls reach the
 * service, forbidden ones are PERMISSION_DENIED naming the role and the method, counted, and
 * never reach it. Stub services record what reaches them (the real services' refusals are
 * tested with their state in the cli module's RoleAuthorizationTest).
 */
class AuthorizationTest {

    private static final Map<Role, String> TOKENS = Map.of(Role.PARAMETER_SERVER, "ps-token-0123456789",
            Role.LEARNER, "learner-token-0123456789", Role.ACTOR, "actor-token-0123456789",
            Role.OBSERVER, "observer-token-0123456789");
    private static final Set<Role> ANY = EnumSet.allOf(Role.class);

    @RegisterExtension
    final GrpcCleanupExtension grpc = new GrpcCleanupExtension();

    /** One call of the matrix: a method, a request, and the roles the brief allows it to. */
    private record Case(String name, MethodDescriptor<Object, Object> method, Object request, Set<Role> allowed) {
    }

    @SuppressWarnings("unchecked")
    private static <Req, Resp> Case c(String name, MethodDescriptor<Req, Resp> method, Req request, Set<Role> allowed) {
        return new Case(name, (MethodDescriptor<Object, Object>) (MethodDescriptor<?, ?>) method, request, allowed);
    }

    private static final List<Case> CASES = List.of(
            c("GetParameters", ParameterServerGrpc.getGetParametersMethod(), GetParametersRequest.getDefaultInstance(),
                    EnumSet.of(Role.LEARNER, Role.ACTOR)),
            c("GetParameters with optimizer state", ParameterServerGrpc.getGetParametersMethod(),
                    GetParametersRequest.newBuilder().setIncludeOptimizerState(true).build(), EnumSet.of(Role.LEARNER)),
            c("WatchParameters", ParameterServerGrpc.getWatchParametersMethod(),
                    WatchParametersRequest.getDefaultInstance(), EnumSet.of(Role.LEARNER, Role.ACTOR)),
            c("PublishParameters", ParameterServerGrpc.getPublishParametersMethod(),
                    PublishParametersRequest.getDefaultInstance(), EnumSet.of(Role.LEARNER)),
            c("PushGradients", ParameterServerGrpc.getPushGradientsMethod(), GradientUpdate.getDefaultInstance(),
                    EnumSet.of(Role.ACTOR)),
            c("ParameterServer/GetStatus", ParameterServerGrpc.getGetStatusMethod(),
                    LearnerStatusRequest.getDefaultInstance(), ANY),
            c("PushTrajectories", LearnerGrpc.getPushTrajectoriesMethod(), TrajectoryChunk.getDefaultInstance(),
                    EnumSet.of(Role.ACTOR)),
            c("Learner/GetStatus", LearnerGrpc.getGetStatusMethod(), LearnerStatusRequest.getDefaultInstance(), ANY),
            c("Health/Check", HealthGrpc.getCheckMethod(), HealthCheckRequest.getDefaultInstance(), ANY),
            c("Health/Watch", HealthGrpc.getWatchMethod(), HealthCheckRequest.getDefaultInstance(), ANY));

    @Test
    void everyRoleCallsEveryMethodAndOnlyAllowedCallsReachTheService() throws Exception {
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        Queue<String> reached = new ConcurrentLinkedQueue<>();
        String target = startServer(new Security(null, null, null, null, TokenRoles.of(TOKENS)), registry, reached);

        int forbidden = 0;
        for (Role role : Role.values()) {
            ManagedChannel channel = grpc.register(Channels.create(target, 1 << 20,
                    Security.NONE.withToken(TOKENS.get(role)), null));
            for (Case c : CASES) {
                reached.clear();
                Status status = call(channel, c.method(), c.request());
                String what = role + " calling " + c.name() + ": " + status;
                if (c.allowed().contains(role)) {
                    assertEquals(Status.Code.OK, status.getCode(), what);
                    assertEquals(List.of(c.method().getFullMethodName()), List.copyOf(reached), what);
                } else {
                    forbidden++;
                    assertEquals(Status.Code.PERMISSION_DENIED, status.getCode(), what);
                    assertTrue(status.getDescription().startsWith("role " + role.id() + " may not call "
                            + c.method().getFullMethodName()), what);
                    assertTrue(reached.isEmpty(), what + " reached the service: " + reached);
                }
                assertEquals(c.allowed().contains(role), Authorization.allows(role, c.method().getFullMethodName(),
                        c.request()), "the policy table agrees for " + what);
            }
        }
        // parameter-server and observer: all but status and health (6 each); learner: the two pushes;
        // actor: publishing and the optimizer state.
        assertEquals(6 + 2 + 2 + 6, forbidden, "forbidden calls in the matrix");
        assertEquals(forbidden, rejected(registry, Authorization.FORBIDDEN));
        assertEquals(forbidden, total(registry), "nothing else was refused");
    }

    @Test
    void theOptimizerStateRuleReadsTheRequestAsSentOnTheWire() throws Exception {
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        Queue<String> reached = new ConcurrentLinkedQueue<>();
        String target = startServer(new Security(null, null, null, null, TokenRoles.of(TOKENS)), registry, reached);
        ManagedChannel actor = grpc.register(Channels.create(target, 1 << 20,
                Security.NONE.withToken(TOKENS.get(Role.ACTOR)), null));
        MethodDescriptor<byte[], byte[]> raw = FuzzSupport.raw(ParameterServerGrpc.getGetParametersMethod());

        // Field 1 (include_optimizer_state) = true, then = false: the last value wins for the service too.
        Status trueThenFalse = call(actor, raw, new byte[] {0x08, 0x01, 0x08, 0x00});
        assertEquals(Status.Code.OK, trueThenFalse.getCode(), trueThenFalse.toString());
        Status falseThenTrue = call(actor, raw, new byte[] {0x08, 0x00, 0x08, 0x01});
        assertEquals(Status.Code.PERMISSION_DENIED, falseThenTrue.getCode(), falseThenTrue.toString());
        assertEquals("role actor may not call starling.v1.ParameterServer/GetParameters with"
                + " include_optimizer_state = true (allowed: learner)", falseThenTrue.getDescription());
        // Bytes that do not parse are the service's to refuse (INVALID_ARGUMENT, counted as unparseable).
        Status garbage = call(actor, raw, new byte[] {0x08});
        assertEquals(Status.Code.INVALID_ARGUMENT, garbage.getCode(), garbage.toString());
        assertEquals(1.0, rejected(registry, Authorization.FORBIDDEN));
        assertEquals(1.0, rejected(registry, RequestParsing.REASON));
        assertEquals(List.of(ParameterServerGrpc.getGetParametersMethod().getFullMethodName()), List.copyOf(reached),
                "only the allowed request reached the service");
    }

    @Test
    void aMethodOutsideThePolicyIsDeniedToEveryRole() throws Exception {
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        Queue<String> reached = new ConcurrentLinkedQueue<>();
        MethodDescriptor<byte[], byte[]> extra = MethodDescriptor.<byte[], byte[]>newBuilder()
                .setType(MethodDescriptor.MethodType.UNARY).setFullMethodName("starling.v1.Debug/DumpEverything")
                .setRequestMarshaller(FuzzSupport.BYTES).setResponseMarshaller(FuzzSupport.BYTES).build();
        ServerServiceDefinition debug = ServerServiceDefinition.builder("starling.v1.Debug")
                .addMethod(extra, ServerCalls.asyncUnaryCall((request, out) -> {
                    reached.add("debug");
                    out.onNext(new byte[0]);
                    out.onCompleted();
                })).build();
        int port = grpc.register(Servers.netty(0, 1 << 20, new Security(null, null, null, null, TokenRoles.of(TOKENS)),
                registry, "test").addService(debug).build().start()).getPort();
        for (Role role : Role.values()) {
            ManagedChannel channel = grpc.register(Channels.create("localhost:" + port, 1 << 20,
                    Security.NONE.withToken(TOKENS.get(role)), null));
            Status status = call(channel, extra, new byte[0]);
            assertEquals(Status.Code.PERMISSION_DENIED, status.getCode(), status.toString());
            assertEquals("role " + role.id() + " may not call starling.v1.Debug/DumpEverything (no role may)",
                    status.getDescription());
        }
        assertTrue(reached.isEmpty());
        assertEquals(Role.values().length, rejected(registry, Authorization.FORBIDDEN));
    }

    @Test
    void thePolicyDecidesEveryMethodOfEveryServiceAndNothingElse() {
        Set<String> methods = new TreeSet<>();
        for (ServiceDescriptor service : List.of(ParameterServerGrpc.getServiceDescriptor(),
                LearnerGrpc.getServiceDescriptor(), HealthGrpc.getServiceDescriptor())) {
            service.getMethods().forEach(m -> methods.add(m.getFullMethodName()));
        }
        assertEquals(methods, new TreeSet<>(Authorization.policy().keySet()),
                "a new method needs a line in Authorization's policy (until then every role is denied it)");
        Set<String> tested = new TreeSet<>();
        CASES.forEach(c -> tested.add(c.method().getFullMethodName()));
        assertEquals(methods, tested, "the matrix calls every method");
    }

    @Test
    void plaintextWithoutTokenDigestsAuthorizesNothingAsBefore() throws Exception {
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        Queue<String> reached = new ConcurrentLinkedQueue<>();
        String target = startServer(Security.NONE, registry, reached);
        ManagedChannel anyone = grpc.register(Channels.plaintext(target, 1 << 20));
        for (Case c : CASES) {
            Status status = call(anyone, c.method(), c.request());
            assertEquals(Status.Code.OK, status.getCode(), c.name() + ": " + status);
        }
        assertEquals(0.0, total(registry));
    }

    @Test
    void aServerWithATokenButNoDigestsRefusesToStart() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Servers.netty(0, 1 << 20,
                Security.NONE.withToken("some-token"), new SimpleMeterRegistry(), "learner"));
        assertTrue(e.getMessage().contains("--auth-token-hashes"), e.getMessage());
    }

    @Test
    void tokenHashFilesAreSha256sumLinesAndBadOnesAreNamed(@TempDir Path dir) throws Exception {
        // sha256("abc") as sha256sum prints it.
        assertEquals("actor ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
                TokenRoles.line(Role.ACTOR, "abc"));
        Path good = Files.writeString(dir.resolve("good"), "# role sha256\n\n" + TokenRoles.line(Role.ACTOR, "abc")
                + "\n  " + TokenRoles.line(Role.ACTOR, "abd") + "  \n" + TokenRoles.line(Role.LEARNER, "xyz") + "\n");
        TokenRoles roles = TokenRoles.load(good);
        assertEquals(Role.ACTOR, roles.roleOf("abc"));
        assertEquals(Role.ACTOR, roles.roleOf("abd"), "a role may have several tokens");
        assertEquals(Role.LEARNER, roles.roleOf("xyz"));
        assertNull(roles.roleOf("abcd"));
        assertEquals(EnumSet.of(Role.ACTOR, Role.LEARNER), roles.roles());
        assertFalse(roles.toString().contains("ba7816bf"), "toString shows no digest: " + roles);

        Map<String, String> bad = new LinkedHashMap<>();
        bad.put("admin " + "0".repeat(64), "line 1: unknown role 'admin'");
        bad.put("actor abc", "line 1: the digest must be 64 hexadecimal digits");
        bad.put("actor " + "g".repeat(64), "line 1: the digest must be 64 hexadecimal digits");
        bad.put("actor", "line 1: expected '<role> <sha256-hex>'");
        bad.put("# nothing\n", "holds no token digest");
        bad.put(TokenRoles.line(Role.ACTOR, "abc") + "\n" + TokenRoles.line(Role.LEARNER, "abc"),
                "gives one token to two roles, actor and learner");
        int i = 0;
        for (Map.Entry<String, String> e : bad.entrySet()) {
            Path file = Files.writeString(dir.resolve("bad" + i++), e.getKey());
            IllegalArgumentException thrown = assertThrows(IllegalArgumentException.class, () -> TokenRoles.load(file));
            assertTrue(thrown.getMessage().contains(e.getValue()) && thrown.getMessage().contains(file.toString()),
                    thrown.getMessage());
        }
        assertTrue(assertThrows(IllegalArgumentException.class, () -> TokenRoles.load(dir.resolve("absent")))
                .getMessage().contains("does not exist"));
    }

    /** Starts stub services of both kinds and health on {@code security}; returns the target. */
    private String startServer(Security security, SimpleMeterRegistry registry, Queue<String> reached) throws Exception {
        HealthStatusManager health = new HealthStatusManager();
        ServerServiceDefinition ps = ParameterServerGrpc.bindService(new StubParameterServer(reached));
        // GetParameters as the real service binds it: requests arrive as RequestParsing.Parsed.
        ps = RequestParsing.rebind(ps, RequestParsing.singleRequest(
                ps.getMethod(ParameterServerGrpc.getGetParametersMethod().getFullMethodName()),
                message -> Metrics.rejected(registry, "test", RequestParsing.REASON).increment()));
        ServerServiceDefinition healthService = ServerInterceptors.intercept(health.getHealthService(),
                new ServerInterceptor() {
                    @Override
                    public <ReqT, RespT> ServerCall.Listener<ReqT> interceptCall(ServerCall<ReqT, RespT> call,
                            Metadata headers, ServerCallHandler<ReqT, RespT> next) {
                        reached.add(call.getMethodDescriptor().getFullMethodName());
                        return next.startCall(call, headers);
                    }
                });
        int port = grpc.register(Servers.netty(0, 1 << 20, security, registry, "test")
                .addService(ps)
                .addService(LearnerGrpc.bindService(new StubLearner(reached)))
                .addService(healthService)
                .build().start()).getPort();
        return "localhost:" + port;
    }

    private static <Req, Resp> Status call(ManagedChannel channel, MethodDescriptor<Req, Resp> method, Req request)
            throws Exception {
        return SingleCall.status(channel, method, request, Duration.ofSeconds(10));
    }

    private static double rejected(SimpleMeterRegistry registry, String reason) {
        Counter c = registry.find("starling.rejected").tags("role", "test", "reason", reason).counter();
        return c == null ? 0 : c.count();
    }

    private static double total(SimpleMeterRegistry registry) {
        return registry.find("starling.rejected").counters().stream().mapToDouble(Counter::count).sum();
    }

    /** Answers every call with an empty response and records that it was reached. */
    private static final class StubParameterServer implements ParameterServerGrpc.AsyncService {

        private final Queue<String> reached;

        StubParameterServer(Queue<String> reached) {
            this.reached = reached;
        }

        @Override
        public void getParameters(GetParametersRequest request, StreamObserver<GetParametersResponse> out) {
            reached.add(ParameterServerGrpc.getGetParametersMethod().getFullMethodName());
            out.onNext(GetParametersResponse.getDefaultInstance());
            out.onCompleted();
        }

        @Override
        public void watchParameters(WatchParametersRequest request, StreamObserver<Parameters> out) {
            reached.add(ParameterServerGrpc.getWatchParametersMethod().getFullMethodName());
            out.onNext(Parameters.getDefaultInstance());
            out.onCompleted();
        }

        @Override
        public void publishParameters(PublishParametersRequest request, StreamObserver<PublishParametersResponse> out) {
            reached.add(ParameterServerGrpc.getPublishParametersMethod().getFullMethodName());
            out.onNext(PublishParametersResponse.getDefaultInstance());
            out.onCompleted();
        }

        @Override
        public StreamObserver<GradientUpdate> pushGradients(StreamObserver<GradientAck> out) {
            reached.add(ParameterServerGrpc.getPushGradientsMethod().getFullMethodName());
            return acking(out, GradientAck.getDefaultInstance());
        }

        @Override
        public void getStatus(LearnerStatusRequest request, StreamObserver<LearnerStatus> out) {
            reached.add(ParameterServerGrpc.getGetStatusMethod().getFullMethodName());
            out.onNext(LearnerStatus.getDefaultInstance());
            out.onCompleted();
        }
    }

    /** Answers every call with an empty response and records that it was reached. */
    private static final class StubLearner implements LearnerGrpc.AsyncService {

        private final Queue<String> reached;

        StubLearner(Queue<String> reached) {
            this.reached = reached;
        }

        @Override
        public StreamObserver<TrajectoryChunk> pushTrajectories(StreamObserver<ChunkAck> out) {
            reached.add(LearnerGrpc.getPushTrajectoriesMethod().getFullMethodName());
            return acking(out, ChunkAck.getDefaultInstance());
        }

        @Override
        public void getStatus(LearnerStatusRequest request, StreamObserver<LearnerStatus> out) {
            reached.add(LearnerGrpc.getGetStatusMethod().getFullMethodName());
            out.onNext(LearnerStatus.getDefaultInstance());
            out.onCompleted();
        }
    }

    private static <Req, Ack> StreamObserver<Req> acking(StreamObserver<Ack> out, Ack ack) {
        return new StreamObserver<>() {
            @Override
            public void onNext(Req value) {
                out.onNext(ack);
            }

            @Override
            public void onError(Throwable t) {
            }

            @Override
            public void onCompleted() {
                out.onCompleted();
            }
        };
    }
}
