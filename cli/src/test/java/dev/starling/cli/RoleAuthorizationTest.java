package dev.starling.cli;

import dev.starling.common.model.TestConfigs;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.InputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.math.BigInteger;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Date;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Stream;

import com.google.protobuf.ByteString;
import dev.starling.transport.Authorization;
import dev.starling.transport.Channels;
import dev.starling.transport.Role;
import dev.starling.transport.SingleCall;
import dev.starling.transport.Security;
import dev.starling.transport.TokenRoles;
import dev.starling.transport.metrics.Metrics;
import dev.starling.common.model.ModelConfig;
import dev.starling.common.model.ModelSpecs;
import dev.starling.learner.Learner;
import dev.starling.learner.LearnerConfig;
import dev.starling.proto.v1.GetParametersRequest;
import dev.starling.proto.v1.GradientUpdate;
import dev.starling.proto.v1.LearnerGrpc;
import dev.starling.proto.v1.LearnerStatusRequest;
import dev.starling.proto.v1.ParameterServerGrpc;
import dev.starling.proto.v1.Parameters;
import dev.starling.proto.v1.PublishParametersRequest;
import dev.starling.proto.v1.TrajectoryChunk;
import dev.starling.proto.v1.WatchParametersRequest;
import dev.starling.ps.ParameterServer;
import dev.starling.ps.ParameterServerConfig;
import dev.starling.ps.ParameterSnapshot;
import io.grpc.ManagedChannel;
import io.grpc.MethodDescriptor;
import io.grpc.Status;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthGrpc;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 12, item 3: each role's own identity and what it may call, over real Netty with mutual
 * TLS and per-role tokens ({@link LocalTls}, as {@code train --secure} makes them). Every role
 * calls every method of a real parameter server (impala, and a3c for gradients) and a real
 * learner: allowed calls get through; forbidden ones are PERMISSION_DENIED naming the role and
 * the method, counted as {@code forbidden}, and leave the weights and version bit-identical. A
 * certificate and a token of different roles are UNAUTHENTICATED. Also: the identity rule on
 * certificates, certificates alone as identity, and the {@code credentials} command with the
 * roles' {@code --credentials} option.
 */
class RoleAuthorizationTest {

    private static final int MAX_MESSAGE = 4 << 20;
    private static final Set<Role> ANY = EnumSet.allOf(Role.class);

    private final List<ManagedChannel> channels = new ArrayList<>();

    @AfterEach
    void closeChannels() {
        channels.forEach(Channels::close);
    }

    @Test
    void everyRoleCallsEveryMethodOnlyAllowedOnesGetThroughAndForbiddenOnesChangeNothing(@TempDir Path dir)
            throws Exception {
        LocalTls tls = LocalTls.generate(dir.resolve("tls"));
        SimpleMeterRegistry psRegistry = new SimpleMeterRegistry();
        SimpleMeterRegistry a3cRegistry = new SimpleMeterRegistry();
        SimpleMeterRegistry learnerRegistry = new SimpleMeterRegistry();
        Security psIdentity = tls.security(Role.PARAMETER_SERVER);
        try (ParameterServer ps = ParameterServer.forPort(ParameterServerConfig.defaults(0, null), psRegistry,
                psIdentity).start();
                ParameterServer a3c = ParameterServer.forPort(ParameterServerConfig.defaults(0, null)
                        .withA3c(TestConfigs.discrete(2, 2, 8, 8), 7), a3cRegistry, psIdentity).start();
                // The learner loads its weights from the parameter server with the optimizer state and
                // publishes over mutual TLS with its own identity, or start() fails.
                Learner learner = Learner.forPort(LearnerConfig.defaults("cartpole", "localhost:" + ps.port())
                        .withPort(0).withModel(java.util.List.of(16), 16).withStartupTimeout(Duration.ofSeconds(30)), learnerRegistry,
                        tls.security(Role.LEARNER)).start()) {
            String psTarget = "localhost:" + ps.port();
            String a3cTarget = "localhost:" + a3c.port();
            String learnerTarget = "localhost:" + learner.port();
            Parameters held = ps.store().current().parameters();
            // The attack from the issue: zeroed weights, version + 1000.
            ByteString zeros = ByteString.copyFrom(new byte[held.getWeights().size()]);
            PublishParametersRequest zeroed = PublishParametersRequest.newBuilder()
                    .setParameters(held.toBuilder().setVersion(held.getVersion() + 1000).setWeights(zeros)).build();

            int expectedForbiddenPs = 0;
            int expectedForbiddenA3c = 0;
            int expectedForbiddenLearner = 0;
            for (Role role : Role.values()) {
                Security identity = tls.security(role);
                ManagedChannel toPs = channel(psTarget, identity);
                ManagedChannel toA3c = channel(a3cTarget, identity);
                ManagedChannel toLearner = channel(learnerTarget, identity);
                Parameters a3cHeld = a3c.store().current().parameters();
                GradientUpdate gradient = gradient(a3cHeld);

                record Attempt(String what, ManagedChannel channel, MethodDescriptor<?, ?> method, Object request,
                        Set<Role> allowed) {
                }
                List<Attempt> attempts = new ArrayList<>(List.of(
                        new Attempt("GetParameters", toPs, ParameterServerGrpc.getGetParametersMethod(),
                                GetParametersRequest.getDefaultInstance(), EnumSet.of(Role.LEARNER, Role.ACTOR)),
                        new Attempt("GetParameters with the optimizer state", toPs,
                                ParameterServerGrpc.getGetParametersMethod(),
                                GetParametersRequest.newBuilder().setIncludeOptimizerState(true).build(),
                                EnumSet.of(Role.LEARNER)),
                        new Attempt("WatchParameters", toPs, ParameterServerGrpc.getWatchParametersMethod(),
                                WatchParametersRequest.newBuilder().setSubscriberId("test").build(),
                                EnumSet.of(Role.LEARNER, Role.ACTOR)),
                        new Attempt("ParameterServer/GetStatus", toPs, ParameterServerGrpc.getGetStatusMethod(),
                                LearnerStatusRequest.getDefaultInstance(), ANY),
                        new Attempt("Health/Check (parameter server)", toPs, HealthGrpc.getCheckMethod(),
                                HealthCheckRequest.getDefaultInstance(), ANY),
                        new Attempt("Health/Watch (parameter server)", toPs, HealthGrpc.getWatchMethod(),
                                HealthCheckRequest.getDefaultInstance(), ANY),
                        new Attempt("PushGradients", toA3c, ParameterServerGrpc.getPushGradientsMethod(), gradient,
                                EnumSet.of(Role.ACTOR)),
                        new Attempt("ParameterServer/GetStatus (a3c)", toA3c, ParameterServerGrpc.getGetStatusMethod(),
                                LearnerStatusRequest.getDefaultInstance(), ANY),
                        new Attempt("PushTrajectories", toLearner, LearnerGrpc.getPushTrajectoriesMethod(),
                                TrajectoryChunk.newBuilder().setActorId("test").build(), EnumSet.of(Role.ACTOR)),
                        new Attempt("Learner/GetStatus", toLearner, LearnerGrpc.getGetStatusMethod(),
                                LearnerStatusRequest.getDefaultInstance(), ANY),
                        new Attempt("Health/Check (learner)", toLearner, HealthGrpc.getCheckMethod(),
                                HealthCheckRequest.getDefaultInstance(), ANY)));
                if (role != Role.LEARNER) {
                    // The learner's own publish comes last, after every other role's attempt.
                    attempts.add(new Attempt("PublishParameters", toPs, ParameterServerGrpc.getPublishParametersMethod(),
                            zeroed, EnumSet.of(Role.LEARNER)));
                }
                for (Attempt a : attempts) {
                    String what = role + " calling " + a.what();
                    ParameterSnapshot psBefore = ps.store().current();
                    ParameterSnapshot a3cBefore = a3c.store().current();
                    Status status = call(a.channel(), a.method(), a.request());
                    if (a.allowed().contains(role)) {
                        assertNotEquals(Status.Code.PERMISSION_DENIED, status.getCode(), what + ": " + status);
                        assertNotEquals(Status.Code.UNAUTHENTICATED, status.getCode(), what + ": " + status);
                        if (a.method() != LearnerGrpc.getPushTrajectoriesMethod()) {
                            assertEquals(Status.Code.OK, status.getCode(), what + ": " + status);
                        } else {
                            // A chunk of no model reaches the learner's validation, which refuses it.
                            assertEquals(Status.Code.FAILED_PRECONDITION, status.getCode(), what + ": " + status);
                        }
                        continue;
                    }
                    assertEquals(Status.Code.PERMISSION_DENIED, status.getCode(), what + ": " + status);
                    assertTrue(status.getDescription().startsWith("role " + role.id() + " may not call "
                            + a.method().getFullMethodName()), what + ": " + status);
                    if (a.channel() == toPs) {
                        expectedForbiddenPs++;
                    } else if (a.channel() == toA3c) {
                        expectedForbiddenA3c++;
                    } else {
                        expectedForbiddenLearner++;
                    }
                    // Nothing changed, bit for bit, on either parameter server.
                    assertUnchanged(psBefore, ps.store().current(), what);
                    assertUnchanged(a3cBefore, a3c.store().current(), what);
                }
            }
            assertEquals(3 + 2 + 2 + 3, expectedForbiddenPs, "parameter-server, actor, observer: publish and the"
                    + " optimizer state; parameter-server, observer: the weights");
            assertEquals(3, expectedForbiddenA3c, "gradients: all but the actor");
            assertEquals(3, expectedForbiddenLearner, "chunks: all but the actor");
            assertEquals(expectedForbiddenPs, rejected(psRegistry, Authorization.FORBIDDEN));
            assertEquals(expectedForbiddenA3c, rejected(a3cRegistry, Authorization.FORBIDDEN));
            assertEquals(expectedForbiddenLearner, rejected(learnerRegistry, Authorization.FORBIDDEN));
            assertEquals(expectedForbiddenPs, total(psRegistry), "nothing else was refused on the parameter server");
            assertEquals(expectedForbiddenA3c, total(a3cRegistry), "nothing else was refused on the a3c server");
            assertEquals(1.0, a3c.a3cStatus().orElseThrow().applied(), "only the actor's gradient was applied");
            assertEquals(0, learner.status().getFrames(), "no chunk reached the learner's queue");

            // A certificate of one role with another role's token: UNAUTHENTICATED, whatever the pair.
            Credentials own = tls.credentials();
            ParameterSnapshot before = ps.store().current();
            for (Role[] pair : new Role[][] {{Role.ACTOR, Role.LEARNER}, {Role.LEARNER, Role.ACTOR},
                {Role.OBSERVER, Role.LEARNER}}) {
                Security mixed = new Security(own.cert(pair[0]), own.key(pair[0]), own.ca(pair[0]),
                        tls.security(pair[1]).token());
                Status status = call(channel(psTarget, mixed), ParameterServerGrpc.getPublishParametersMethod(), zeroed);
                assertEquals(Status.Code.UNAUTHENTICATED, status.getCode(), status.toString());
                assertEquals("the client certificate names role " + pair[0] + " but the bearer token is " + pair[1]
                        + "'s: both must name the same role", status.getDescription());
            }
            assertUnchanged(before, ps.store().current(), "mixed identities");
            assertEquals(3.0, rejected(psRegistry, "role_mismatch"));

            // The very request every other role was refused: the learner may make it.
            Status published = call(channel(psTarget, tls.security(Role.LEARNER)),
                    ParameterServerGrpc.getPublishParametersMethod(), zeroed);
            assertEquals(Status.Code.OK, published.getCode(), published.toString());
            assertEquals(held.getVersion() + 1000, ps.store().current().version());
        }
    }

    @Test
    void certificatesAloneIdentifyTheCaller(@TempDir Path dir) throws Exception {
        Credentials c = LocalTls.generate(dir.resolve("tls")).credentials();
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        Security serverCertOnly = new Security(c.cert(Role.PARAMETER_SERVER), c.key(Role.PARAMETER_SERVER),
                c.ca(Role.PARAMETER_SERVER), null);
        try (ParameterServer ps = ParameterServer.forPort(ParameterServerConfig.defaults(0, null), registry,
                serverCertOnly).start()) {
            String target = "localhost:" + ps.port();
            Parameters weights = Parameters.newBuilder().setVersion(1).build();
            PublishParametersRequest publish = PublishParametersRequest.newBuilder().setParameters(weights).build();
            for (Role role : List.of(Role.ACTOR, Role.OBSERVER, Role.PARAMETER_SERVER)) {
                Security certOnly = new Security(c.cert(role), c.key(role), c.ca(role), null);
                Status status = call(channel(target, certOnly), ParameterServerGrpc.getPublishParametersMethod(), publish);
                assertEquals(Status.Code.PERMISSION_DENIED, status.getCode(), role + ": " + status);
                assertEquals("role " + role + " may not call starling.v1.ParameterServer/PublishParameters (allowed:"
                        + " learner)", status.getDescription());
                assertEquals(Status.Code.OK, call(channel(target, certOnly), ParameterServerGrpc.getGetStatusMethod(),
                        LearnerStatusRequest.getDefaultInstance()).getCode());
            }
            assertNull(ps.store().current(), "no forbidden publish was stored");
            Security learnerCert = new Security(c.cert(Role.LEARNER), c.key(Role.LEARNER), c.ca(Role.LEARNER), null);
            Status learnerPublish = call(channel(target, learnerCert), ParameterServerGrpc.getPublishParametersMethod(),
                    publish);
            assertNotEquals(Status.Code.PERMISSION_DENIED, learnerPublish.getCode(), learnerPublish.toString());
            assertEquals(3.0, rejected(registry, Authorization.FORBIDDEN));
        }
    }

    @Test
    void aCertificateNamesItsRoleInExactlyOneSanUri() throws Exception {
        assertEquals(Role.LEARNER, Role.ofCertificate(certificate("starling:role:learner")));
        assertEquals(Role.PARAMETER_SERVER, Role.ofCertificate(certificate("starling:role:parameter-server",
                "https://example.org/not-a-role")));
        assertEquals(Role.ACTOR, Role.ofCertificate(certificate("starling:role:actor", "starling:role:actor")));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> Role.ofCertificate(certificate()))
                .getMessage().contains("names no Starling role"), "CN=learner alone is not a role");
        assertTrue(assertThrows(IllegalArgumentException.class, () -> Role.ofCertificate(
                certificate("starling:role:admin"))).getMessage().contains("unknown role 'admin'"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> Role.ofCertificate(
                certificate("starling:role:actor", "starling:role:learner"))).getMessage()
                .contains("more than one role: [actor, learner]"));
    }

    @Test
    void theCredentialsCommandGivesEachRoleItsOwnFolderAndTheRolesRunFromIt(@TempDir Path dir) throws Exception {
        Path out = dir.resolve("creds");
        StringWriter stdout = new StringWriter();
        StringWriter err = new StringWriter();
        int code = Main.run(new PrintWriter(stdout, true), new PrintWriter(err, true), "credentials", "--out",
                out.toString(), "--host", "parameter-server=ps.example.org", "--days", "10");
        assertEquals(0, code, err.toString());
        assertTrue(stdout.toString().contains("starling learner --credentials " + out), stdout.toString());
        Credentials c = new Credentials(out);
        List<String> tokens = new ArrayList<>();
        for (Role role : Role.values()) {
            tokens.add(Security.readToken(c.token(role)));
        }
        assertEquals(Role.values().length, new TreeSet<>(tokens).size(), "every role has its own token");
        for (Role role : Role.values()) {
            Path folder = c.roleDir(role);
            assertEquals("rwx------", PosixFilePermissions.toString(Files.getPosixFilePermissions(folder)));
            assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(c.key(role))));
            assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(c.token(role))));
            Set<String> files = new TreeSet<>();
            try (Stream<Path> list = Files.list(folder)) {
                list.forEach(f -> files.add(f.getFileName().toString()));
            }
            boolean serving = role == Role.PARAMETER_SERVER || role == Role.LEARNER;
            assertEquals(serving ? Set.of("ca.pem", "cert.pem", "key.pem", "token", "token-hashes")
                    : Set.of("ca.pem", "cert.pem", "key.pem", "token"), files, role.id());
            assertEquals(role, Role.ofCertificateFile(c.cert(role)));
            X509Certificate cert = read(c.cert(role));
            assertTrue(cert.getNotAfter().toInstant().isBefore(Instant.now().plus(Duration.ofDays(11))));
            String secret = Security.readToken(c.token(role));
            for (String file : files) {
                String content = Files.readString(folder.resolve(file));
                for (Role other : Role.values()) {
                    if (other != role) {
                        assertFalse(content.contains(Security.readToken(c.token(other))),
                                role + "'s " + file + " holds " + other + "'s token");
                        assertFalse(content.contains(Files.readString(c.key(other)).strip()),
                                role + "'s " + file + " holds " + other + "'s key");
                    }
                }
            }
            if (serving) {
                String hashes = Files.readString(c.tokenHashes(role));
                assertFalse(hashes.contains(secret), "token hashes hold digests, not tokens");
                TokenRoles verifier = TokenRoles.load(c.tokenHashes(role));
                for (Role caller : Role.values()) {
                    assertEquals(caller, verifier.roleOf(Security.readToken(c.token(caller))));
                }
            }
        }
        List<String> psNames = dnsNames(read(c.cert(Role.PARAMETER_SERVER)));
        assertTrue(psNames.containsAll(List.of("localhost", "parameter-server", "parameter-server.starling.svc",
                "ps.example.org")), psNames.toString());
        assertFalse(psNames.contains("learner"), psNames.toString());
        assertTrue(dnsNames(read(c.cert(Role.LEARNER))).contains("learner.starling.svc.cluster.local"));
        assertEquals(List.of(), dnsNames(read(c.cert(Role.ACTOR))), "client certificates name no host");

        // Not over existing credentials without --force; bad host names say what is expected.
        err = new StringWriter();
        assertEquals(2, Main.run(new PrintWriter(new StringWriter(), true), new PrintWriter(err, true), "credentials",
                "--out", out.toString()));
        assertTrue(err.toString().contains("is not empty"), err.toString());
        err = new StringWriter();
        assertEquals(2, Main.run(new PrintWriter(new StringWriter(), true), new PrintWriter(err, true), "credentials",
                "--out", dir.resolve("other").toString(), "--host", "actor=a.example.org"));
        assertTrue(err.toString().contains("expected parameter-server=NAME or learner=NAME"), err.toString());

        // Each role command reads its own folder.
        Security ps = roleSecurity(new ParameterServerCommand(), "--credentials", out.toString());
        assertEquals(c.cert(Role.PARAMETER_SERVER), ps.certChain());
        assertTrue(ps.tls() && ps.verifiesTokens());
        Security learner = roleSecurity(new LearnerCommand(), "--credentials", out.toString());
        assertEquals(c.cert(Role.LEARNER), learner.certChain());
        assertEquals(Security.readToken(c.token(Role.LEARNER)), learner.token());
        assertTrue(learner.verifiesTokens());
        Security actor = roleSecurity(new ActorCommand(), "--credentials", out.toString());
        assertEquals(c.cert(Role.ACTOR), actor.certChain());
        assertFalse(actor.verifiesTokens(), "an actor serves nothing and gets no token hashes");

        // Mistakes are named: mixing the two ways, another role's certificate, a server without hashes.
        IllegalArgumentException both = assertThrows(IllegalArgumentException.class, () -> roleSecurity(
                new ActorCommand(), "--credentials", out.toString(), "--auth-token-file", c.token(Role.ACTOR).toString()));
        assertEquals("--credentials replaces --auth-token-file: give one or the other", both.getMessage());
        IllegalArgumentException otherRole = assertThrows(IllegalArgumentException.class, () -> roleSecurity(
                new ActorCommand(), "--tls-cert", c.cert(Role.LEARNER).toString(), "--tls-key",
                c.key(Role.LEARNER).toString(), "--tls-trust", c.ca(Role.LEARNER).toString()));
        assertTrue(otherRole.getMessage().contains("names the role learner (SAN starling:role:learner), but this is"
                + " the actor"), otherRole.getMessage());
        IllegalArgumentException noHashes = assertThrows(IllegalArgumentException.class, () -> roleSecurity(
                new LearnerCommand(), "--auth-token-file", c.token(Role.LEARNER).toString()));
        assertTrue(noHashes.getMessage().contains("needs --auth-token-hashes too"), noHashes.getMessage());
        IllegalArgumentException missing = assertThrows(IllegalArgumentException.class, () -> roleSecurity(
                new ActorCommand(), "--credentials", dir.resolve("nowhere").toString()));
        assertTrue(missing.getMessage().contains("no credentials for the actor"), missing.getMessage());
        // By hand with the separate options works as well.
        Security byHand = roleSecurity(new LearnerCommand(), "--tls-cert", c.cert(Role.LEARNER).toString(),
                "--tls-key", c.key(Role.LEARNER).toString(), "--tls-trust", c.ca(Role.LEARNER).toString(),
                "--auth-token-file", c.token(Role.LEARNER).toString(), "--auth-token-hashes",
                c.tokenHashes(Role.LEARNER).toString());
        assertEquals(learner.token(), byHand.token());
        assertEquals(Role.LEARNER, byHand.tokenRoles().roleOf(learner.token()));
    }

    /** Parses {@code args} into {@code command} as {@code starling <command>} would and returns its security. */
    private static Security roleSecurity(Object command, String... args) throws Exception {
        Main.commandLine(command, null).parseArgs(args);
        RoleOptions options;
        if (command instanceof ParameterServerCommand c) {
            options = c.role;
        } else if (command instanceof LearnerCommand c) {
            options = c.role;
        } else {
            options = ((ActorCommand) command).role;
        }
        return options.security();
    }

    private ManagedChannel channel(String target, Security security) {
        ManagedChannel channel = Channels.create(target, MAX_MESSAGE, security, null);
        channels.add(channel);
        return channel;
    }

    @SuppressWarnings("unchecked")
    private static Status call(ManagedChannel channel, MethodDescriptor<?, ?> method, Object request) throws Exception {
        return SingleCall.status(channel, (MethodDescriptor<Object, Object>) method, request, Duration.ofSeconds(15));
    }

    /** A small valid gradient on {@code held}: 0.01 for every weight. */
    private static GradientUpdate gradient(Parameters held) {
        int n = (int) ModelSpecs.elementCount(held.getSpec());
        ByteBuffer buf = ByteBuffer.allocate(n * Float.BYTES).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < n; i++) {
            buf.putFloat(0.01f);
        }
        return GradientUpdate.newBuilder().setActorId("actor-test").setSequence(1).setBaseVersion(held.getVersion())
                .setSpecHash(held.getSpec().getHash()).setGradient(ByteString.copyFrom(buf.array())).setFrames(32)
                .build();
    }

    private static void assertUnchanged(ParameterSnapshot before, ParameterSnapshot after, String what) {
        assertSame(before, after, what + " replaced the state");
        assertEquals(before.version(), after.version(), what);
        assertArrayEquals(before.parameters().getWeights().toByteArray(), after.parameters().getWeights().toByteArray(),
                what);
    }

    private static double rejected(MeterRegistry registry, String reason) {
        Counter c = registry.find(Metrics.REJECTED).tag("reason", reason).counter();
        return c == null ? 0 : c.count();
    }

    private static double total(MeterRegistry registry) {
        return registry.find(Metrics.REJECTED).counters().stream().mapToDouble(Counter::count).sum();
    }

    private static X509Certificate read(Path pem) throws Exception {
        try (InputStream in = Files.newInputStream(pem)) {
            return (X509Certificate) CertificateFactory.getInstance("X.509").generateCertificate(in);
        }
    }

    private static List<String> dnsNames(X509Certificate cert) throws Exception {
        List<String> names = new ArrayList<>();
        for (List<?> san : cert.getSubjectAlternativeNames()) {
            if ((Integer) san.get(0) == GeneralName.dNSName) {
                names.add((String) san.get(1));
            }
        }
        return names;
    }

    /** A self-signed certificate with subject CN=learner and these SAN URIs. */
    private static X509Certificate certificate(String... uris) throws Exception {
        KeyPairGenerator generator = KeyPairGenerator.getInstance("EC");
        generator.initialize(new ECGenParameterSpec("secp256r1"));
        KeyPair keys = generator.generateKeyPair();
        X500Name name = new X500Name("CN=learner");
        Instant now = Instant.now();
        X509v3CertificateBuilder builder = new JcaX509v3CertificateBuilder(name, BigInteger.ONE,
                Date.from(now.minusSeconds(60)), Date.from(now.plusSeconds(3600)), name, keys.getPublic());
        if (uris.length > 0) {
            GeneralName[] sans = new GeneralName[uris.length];
            for (int i = 0; i < uris.length; i++) {
                sans[i] = new GeneralName(GeneralName.uniformResourceIdentifier, uris[i]);
            }
            builder.addExtension(Extension.subjectAlternativeName, false, new GeneralNames(sans));
        }
        return new JcaX509CertificateConverter()
                .getCertificate(builder.build(new JcaContentSignerBuilder("SHA256withECDSA").build(keys.getPrivate())));
    }
}
