package dev.starling.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;

import dev.starling.transport.Channels;
import dev.starling.transport.Role;
import dev.starling.transport.Security;
import dev.starling.transport.metrics.Metrics;
import dev.starling.learner.Learner;
import dev.starling.learner.LearnerConfig;
import dev.starling.proto.v1.ChunkAck;
import dev.starling.proto.v1.GetParametersRequest;
import dev.starling.proto.v1.LearnerGrpc;
import dev.starling.proto.v1.LearnerStatusRequest;
import dev.starling.proto.v1.ParameterServerGrpc;
import dev.starling.proto.v1.Parameters;
import dev.starling.proto.v1.PublishParametersRequest;
import dev.starling.proto.v1.TrajectoryChunk;
import dev.starling.ps.ParameterServer;
import dev.starling.ps.ParameterServerConfig;
import dev.starling.ps.ParameterSnapshot;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.ChannelCredentials;
import io.grpc.TlsChannelCredentials;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.MetadataUtils;
import io.grpc.stub.StreamObserver;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Mutual TLS and the bearer token over real Netty on loopback: a parameter server and a learner
 * secured with {@link LocalTls} material serve a client holding the right certificate and
 * token, and refuse every other client before anything changes; the {@code train --secure}
 * launcher runs a cluster of child JVMs end to end that way; the role options reject partial
 * TLS settings with a clear message.
 */
class SecureTransportTest {

    private static final int MAX_MESSAGE = 4 << 20;

    @Test
    void onlyAClientWithTheRightCertificateAndTokenGetsInAndRefusalsChangeNothing(@TempDir Path dir) throws Exception {
        LocalTls tls = LocalTls.generate(dir.resolve("tls"));
        LocalTls foreign = LocalTls.generate(dir.resolve("foreign"));
        Credentials own = tls.credentials();
        Credentials other = foreign.credentials();
        for (Role role : Role.values()) {
            assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(own.key(role))));
            assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(own.token(role))));
        }
        // The learner's identity: the one that may publish.
        Security learnerIdentity = tls.security(Role.LEARNER);
        String token = learnerIdentity.token();

        SimpleMeterRegistry psRegistry = new SimpleMeterRegistry();
        SimpleMeterRegistry learnerRegistry = new SimpleMeterRegistry();
        try (ParameterServer ps = ParameterServer.forPort(ParameterServerConfig.defaults(0, null), psRegistry,
                tls.security(Role.PARAMETER_SERVER)).start();
                // The learner reaches the parameter server over mutual TLS with the token, or start() fails.
                Learner learner = Learner.forPort(LearnerConfig.defaults("cartpole", "localhost:" + ps.port())
                        .withPort(0).withModel(java.util.List.of(16), 16).withStartupTimeout(Duration.ofSeconds(30)), learnerRegistry,
                        tls.security(Role.LEARNER)).start()) {
            String psTarget = "localhost:" + ps.port();
            String learnerTarget = "localhost:" + learner.port();

            // The right certificate and token: reads and a publish (the learner's) succeed, and the
            // launcher's observer identity reads the learner's status.
            ManagedChannel good = Channels.create(psTarget, MAX_MESSAGE, learnerIdentity, null);
            ManagedChannel goodLearner = Channels.create(learnerTarget, MAX_MESSAGE, tls.client(), null);
            try {
                Parameters held = ParameterServerGrpc.newBlockingStub(good).withDeadlineAfter(10, TimeUnit.SECONDS)
                        .getParameters(GetParametersRequest.getDefaultInstance()).getParameters();
                long published = ParameterServerGrpc.newBlockingStub(good).withDeadlineAfter(10, TimeUnit.SECONDS)
                        .publishParameters(publish(held, held.getVersion() + 1)).getVersion();
                assertEquals(held.getVersion() + 1, published);
                assertEquals(0, LearnerGrpc.newBlockingStub(goodLearner).withDeadlineAfter(10, TimeUnit.SECONDS)
                        .getStatus(LearnerStatusRequest.getDefaultInstance()).getFrames());
            } finally {
                Channels.close(good);
                Channels.close(goodLearner);
            }
            ParameterSnapshot before = ps.store().current();
            double psRejectedBefore = total(psRegistry);
            Parameters next = publish(before.parameters(), before.version() + 1).getParameters();

            // Handshake failures: no client certificate, one from another CA, no TLS at all, and a
            // client that does not trust the server's CA. None reaches the services.
            ChannelCredentials trustOnly = TlsChannelCredentials.newBuilder().trustManager(own.ca(Role.LEARNER).toFile())
                    .build();
            Metadata bearer = new Metadata();
            bearer.put(Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER), "Bearer " + token);
            List<Function<String, ManagedChannel>> handshakeFailures = List.of(
                    target -> NettyChannelBuilder.forTarget(target, trustOnly)
                            .intercept(MetadataUtils.newAttachHeadersInterceptor(bearer)).build(),
                    target -> Channels.create(target, MAX_MESSAGE, new Security(other.cert(Role.LEARNER),
                            other.key(Role.LEARNER), own.ca(Role.LEARNER), token), null),
                    target -> Channels.create(target, MAX_MESSAGE, Security.NONE.withToken(token), null),
                    target -> Channels.create(target, MAX_MESSAGE, new Security(own.cert(Role.LEARNER),
                            own.key(Role.LEARNER), other.ca(Role.LEARNER), token), null));
            for (int i = 0; i < handshakeFailures.size(); i++) {
                Status ps1 = publishFails(handshakeFailures.get(i).apply(psTarget), next);
                assertEquals(Status.Code.UNAVAILABLE, ps1.getCode(), "case " + i + ": " + ps1);
                Status l1 = statusFails(handshakeFailures.get(i).apply(learnerTarget));
                assertEquals(Status.Code.UNAVAILABLE, l1.getCode(), "case " + i + ": " + l1);
            }
            assertEquals(0.0, rejected(psRegistry, "token_missing") + rejected(psRegistry, "token_invalid"),
                    "handshake failures never reach the token check");

            // The right certificate without the token, or with a wrong one: UNAUTHENTICATED, naming why.
            Security noToken = new Security(own.cert(Role.LEARNER), own.key(Role.LEARNER), own.ca(Role.LEARNER), null);
            Security wrongToken = noToken.withToken(token.substring(1) + "0");
            Status missing = publishFails(Channels.create(psTarget, MAX_MESSAGE, noToken, null), next);
            assertEquals(Status.Code.UNAUTHENTICATED, missing.getCode(), missing.toString());
            assertTrue(missing.getDescription().contains("missing bearer token"), missing.toString());
            Status wrong = publishFails(Channels.create(psTarget, MAX_MESSAGE, wrongToken, null), next);
            assertEquals(Status.Code.UNAUTHENTICATED, wrong.getCode(), wrong.toString());
            assertEquals("invalid bearer token", wrong.getDescription());
            Status learnerMissing = statusFails(Channels.create(learnerTarget, MAX_MESSAGE, noToken, null));
            assertEquals(Status.Code.UNAUTHENTICATED, learnerMissing.getCode(), learnerMissing.toString());
            Status chunks = pushFails(Channels.create(learnerTarget, MAX_MESSAGE, wrongToken, null));
            assertEquals(Status.Code.UNAUTHENTICATED, chunks.getCode(), chunks.toString());
            assertEquals("invalid bearer token", chunks.getDescription());

            // Nothing changed: the same snapshot, bit for bit; only the token refusals were counted.
            ParameterSnapshot after = ps.store().current();
            assertSame(before, after);
            assertEquals(before.version(), after.version());
            assertEquals(before.parameters().getWeights(), after.parameters().getWeights());
            assertEquals(1.0, rejected(psRegistry, "token_missing"));
            assertEquals(1.0, rejected(psRegistry, "token_invalid"));
            assertEquals(psRejectedBefore + 2.0, total(psRegistry), "no other rejection: nothing reached validation");
            assertEquals(1.0, rejected(learnerRegistry, "token_missing"));
            assertEquals(1.0, rejected(learnerRegistry, "token_invalid"));
            assertEquals(2.0, total(learnerRegistry), "the chunk never reached the learner's validation");
            assertEquals(0, learner.status().getFrames());
        }
    }

    @Test
    void trainSecureRunsTheClusterOverMutualTlsWithAToken(@TempDir Path dir) throws Exception {
        Path runDir = dir.resolve("run");
        StringWriter out = new StringWriter();
        long before = ProcessHandle.current().children().count();
        CompletableFuture<Integer> training = CompletableFuture.supplyAsync(() -> Main.run(new PrintWriter(out, true),
                new PrintWriter(new StringWriter(), true), "train", "--secure", "--mode", "impala", "--actors", "1",
                "--num-envs", "8", "--unroll", "16", "--lstm-size", "32", "--encoder-size", "32",
                "--target-return", "1000", "--max-frames", "20000", "--max-seconds", "90", "--seed", "3",
                "--run-dir", runDir.toString()));
        int code = training.get(180, TimeUnit.SECONDS);
        String summary = Files.readString(runDir.resolve("summary.json"));
        // 1: the frame budget was reached without solving (0 would be solved, 3 a failure).
        assertEquals(1, code, out + "\n" + summary + "\nlearner log:\n" + tail(runDir.resolve("logs/learner.log"))
                + "\nactor log:\n" + tail(runDir.resolve("logs/actor-0.log")));
        assertTrue(summary.contains("\"failure\": null"), summary);
        assertTrue(Files.readString(runDir.resolve("logs/parameter-server.log")).contains("transport: mutual TLS"),
                "the parameter server ran with mutual TLS");
        assertTrue(Files.readString(runDir.resolve("logs/actor-0.log")).contains("transport: mutual TLS"),
                "the actor ran with mutual TLS");
        // One identity per role, each child reading its own folder (see RoleAuthorizationTest for what each may do).
        for (Role role : Role.values()) {
            for (String file : List.of("ca.pem", "cert.pem", "key.pem", "token")) {
                assertTrue(Files.size(runDir.resolve("tls").resolve(role.id()).resolve(file)) > 0, role + " " + file);
            }
        }
        assertTrue(Files.readString(runDir.resolve("logs/parameter-server.log")).contains("of role parameter-server"),
                "the parameter server presented its own identity");
        assertTrue(Files.readString(runDir.resolve("logs/learner.log")).contains("of role learner"),
                "the learner presented its own identity");
        assertTrue(Files.readString(runDir.resolve("logs/actor-0.log")).contains("of role actor"),
                "the actor presented its own identity");
        assertEquals(before, ProcessHandle.current().children().count(), "child processes outlived the run");
    }

    @Test
    void roleOptionsRejectPartialTlsAndMissingFilesClearly(@TempDir Path dir) throws Exception {
        Path cert = Files.writeString(dir.resolve("cert.pem"), "not really");
        StringWriter err = new StringWriter();
        int code = Main.run(new PrintWriter(new StringWriter(), true), new PrintWriter(err, true), "parameter-server",
                "--port", "0", "--tls-cert", cert.toString());
        assertEquals(2, code, err.toString());
        assertTrue(err.toString().contains("mutual TLS needs --tls-cert, --tls-key and --tls-trust together; missing"
                + " --tls-key, --tls-trust"), err.toString());

        err = new StringWriter();
        code = Main.run(new PrintWriter(new StringWriter(), true), new PrintWriter(err, true), "actor", "--num-envs", "1",
                "--auth-token-file", dir.resolve("no-such-token").toString());
        assertEquals(2, code, err.toString());
        assertTrue(err.toString().contains("bearer token file " + dir.resolve("no-such-token") + " does not exist"),
                err.toString());

        Path empty = Files.writeString(dir.resolve("empty-token"), "\n");
        err = new StringWriter();
        code = Main.run(new PrintWriter(new StringWriter(), true), new PrintWriter(err, true), "learner", "--port", "0",
                "--observation-space", "box(2)", "--action-space", "discrete(2)", "--auth-token-file", empty.toString());
        assertEquals(2, code, err.toString());
        assertTrue(err.toString().contains("is empty"), err.toString());

        StringWriter help = new StringWriter();
        Main.run(new PrintWriter(help, true), new PrintWriter(new StringWriter(), true), "learner", "--help");
        for (String option : List.of("--tls-cert", "--tls-key", "--tls-trust", "--auth-token-file")) {
            assertTrue(help.toString().contains(option), option + " missing from --help");
        }
        help = new StringWriter();
        Main.run(new PrintWriter(help, true), new PrintWriter(new StringWriter(), true), "train", "--help");
        assertTrue(help.toString().contains("--secure"), help.toString());
    }

    private static PublishParametersRequest publish(Parameters held, long version) {
        return PublishParametersRequest.newBuilder().setParameters(held.toBuilder().setVersion(version)).build();
    }

    private static Status publishFails(ManagedChannel channel, Parameters next) {
        try {
            StatusRuntimeException e = assertThrows(StatusRuntimeException.class, () -> ParameterServerGrpc
                    .newBlockingStub(channel).withDeadlineAfter(10, TimeUnit.SECONDS)
                    .publishParameters(PublishParametersRequest.newBuilder().setParameters(next).build()));
            return e.getStatus();
        } finally {
            Channels.close(channel);
        }
    }

    private static Status statusFails(ManagedChannel channel) {
        try {
            return assertThrows(StatusRuntimeException.class, () -> LearnerGrpc.newBlockingStub(channel)
                    .withDeadlineAfter(10, TimeUnit.SECONDS).getStatus(LearnerStatusRequest.getDefaultInstance()))
                    .getStatus();
        } finally {
            Channels.close(channel);
        }
    }

    /** Opens a chunk stream, sends one (empty) chunk and returns how the stream ended. */
    private static Status pushFails(ManagedChannel channel) throws Exception {
        try {
            CompletableFuture<Status> ended = new CompletableFuture<>();
            StreamObserver<TrajectoryChunk> requests = LearnerGrpc.newStub(channel).withDeadlineAfter(10, TimeUnit.SECONDS)
                    .pushTrajectories(new StreamObserver<>() {
                        @Override
                        public void onNext(ChunkAck ack) {
                            ended.completeExceptionally(new AssertionError("acked: " + ack));
                        }

                        @Override
                        public void onError(Throwable t) {
                            ended.complete(Status.fromThrowable(t));
                        }

                        @Override
                        public void onCompleted() {
                            ended.complete(Status.OK);
                        }
                    });
            requests.onNext(TrajectoryChunk.newBuilder().setActorId("intruder").build());
            requests.onCompleted();
            return ended.get(15, TimeUnit.SECONDS);
        } finally {
            Channels.close(channel);
        }
    }

    private static double rejected(MeterRegistry registry, String reason) {
        Counter c = registry.find(Metrics.REJECTED).tag("reason", reason).counter();
        return c == null ? 0 : c.count();
    }

    private static double total(MeterRegistry registry) {
        return registry.find(Metrics.REJECTED).counters().stream().mapToDouble(Counter::count).sum();
    }

    private static String tail(Path log) {
        try {
            List<String> lines = Files.readAllLines(log);
            return String.join("\n", lines.subList(Math.max(0, lines.size() - 30), lines.size()));
        } catch (Exception e) {
            return "(no log)";
        }
    }
}
