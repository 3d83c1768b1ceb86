package dev.starling.transport;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.health.v1.HealthGrpc;
import io.grpc.protobuf.services.HealthStatusManager;
import io.grpc.stub.MetadataUtils;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link Security}'s validation and the bearer-token check over real Netty on loopback (mutual
 * TLS with generated certificates is tested in the cli module, which generates them).
 */
class SecurityTest {

    private static final String TOKEN = "0123456789abcdef-token";

    @RegisterExtension
    final GrpcCleanupExtension grpc = new GrpcCleanupExtension();

    @Test
    void theTokenIsRequiredOnEveryCallHealthIncluded() throws Exception {
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        HealthStatusManager health = new HealthStatusManager();
        // The server checks callers' tokens against their digests; it holds no token itself.
        Security server = new Security(null, null, null, null, TokenRoles.of(Map.of(Role.OBSERVER, TOKEN)));
        int port = grpc.register(Servers.netty(0, 1 << 20, server, registry, "test")
                .addService(health.getHealthService()).build().start()).getPort();
        String target = "localhost:" + port;

        ManagedChannel good = grpc.register(Channels.create(target, 1 << 20, Security.NONE.withToken(TOKEN), null));
        assertEquals(ServingStatus.SERVING, check(good).getStatus());

        StatusRuntimeException none = assertThrows(StatusRuntimeException.class,
                () -> check(grpc.register(Channels.plaintext(target, 1 << 20))));
        assertEquals(Status.Code.UNAUTHENTICATED, none.getStatus().getCode());
        assertTrue(none.getStatus().getDescription().contains("missing bearer token"), none.getStatus().toString());

        StatusRuntimeException wrong = assertThrows(StatusRuntimeException.class,
                () -> check(grpc.register(Channels.create(target, 1 << 20, Security.NONE.withToken(TOKEN + "x"), null))));
        assertEquals(Status.Code.UNAUTHENTICATED, wrong.getStatus().getCode());
        assertEquals("invalid bearer token", wrong.getStatus().getDescription());

        Metadata basic = new Metadata();
        basic.put(Security.AUTHORIZATION, "Basic " + TOKEN);
        StatusRuntimeException notBearer = assertThrows(StatusRuntimeException.class, () -> HealthGrpc
                .newBlockingStub(grpc.register(Channels.plaintext(target, 1 << 20)))
                .withInterceptors(MetadataUtils.newAttachHeadersInterceptor(basic))
                .withDeadlineAfter(5, TimeUnit.SECONDS).check(HealthCheckRequest.getDefaultInstance()));
        assertEquals(Status.Code.UNAUTHENTICATED, notBearer.getStatus().getCode());
        assertTrue(notBearer.getStatus().getDescription().contains("not a bearer token"), notBearer.getStatus().toString());

        assertEquals(1.0, rejected(registry, "token_missing"));
        assertEquals(2.0, rejected(registry, "token_invalid"));
        assertEquals(ServingStatus.SERVING, check(good).getStatus(), "refusals leave the good client working");
    }

    @Test
    void configurationErrorsNameWhatIsWrong(@TempDir Path dir) throws Exception {
        Path cert = Files.writeString(dir.resolve("cert.pem"), "x");
        Path key = Files.writeString(dir.resolve("key.pem"), "x");
        IllegalArgumentException partial = assertThrows(IllegalArgumentException.class,
                () -> new Security(cert, key, null, null));
        assertTrue(partial.getMessage().contains("all three or none") && partial.getMessage().contains("trusted CA"),
                partial.getMessage());
        IllegalArgumentException missing = assertThrows(IllegalArgumentException.class,
                () -> new Security(cert, key, dir.resolve("nope.pem"), null));
        assertTrue(missing.getMessage().contains("nope.pem") && missing.getMessage().contains("does not exist"),
                missing.getMessage());

        Security garbage = new Security(cert, key, cert, null);
        IllegalArgumentException server = assertThrows(IllegalArgumentException.class,
                () -> Servers.netty(0, 1 << 20, garbage, new SimpleMeterRegistry(), "test"));
        assertTrue(server.getMessage().contains("cannot set up TLS") && server.getMessage().contains("cert.pem"),
                server.getMessage());
        IllegalArgumentException client = assertThrows(IllegalArgumentException.class,
                () -> Channels.create("localhost:1", 1 << 20, garbage, null));
        assertTrue(client.getMessage().contains("cannot set up TLS") && client.getMessage().contains("cert.pem"),
                client.getMessage());

        Path empty = Files.writeString(dir.resolve("empty"), "  \n");
        assertTrue(assertThrows(IllegalArgumentException.class, () -> Security.readToken(empty)).getMessage()
                .contains("is empty"));
        Path spaced = Files.writeString(dir.resolve("spaced"), "two words\n");
        assertTrue(assertThrows(IllegalArgumentException.class, () -> Security.readToken(spaced)).getMessage()
                .contains("visible ASCII"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> Security.readToken(dir.resolve("absent")))
                .getMessage().contains("absent"));

        Path tokenFile = Files.writeString(dir.resolve("token"), TOKEN + "\n");
        Security s = Security.fromFiles(null, null, null, tokenFile);
        assertEquals(TOKEN, s.token());
        assertFalse(s.toString().contains(TOKEN), "toString hides the token: " + s);
        assertTrue(Security.NONE.plaintext());
    }

    private static io.grpc.health.v1.HealthCheckResponse check(ManagedChannel channel) {
        return HealthGrpc.newBlockingStub(channel).withDeadlineAfter(5, TimeUnit.SECONDS)
                .check(HealthCheckRequest.getDefaultInstance());
    }

    private static double rejected(SimpleMeterRegistry registry, String reason) {
        Counter c = registry.find("starling.rejected").tags("role", "test", "reason", reason).counter();
        return c == null ? 0 : c.count();
    }
}
