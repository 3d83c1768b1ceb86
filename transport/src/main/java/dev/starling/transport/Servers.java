package dev.starling.transport;

import java.util.concurrent.ExecutorService;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import io.grpc.Server;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;

/** Server-side settings shared by every Starling gRPC server. */
public final class Servers {

    private static final System.Logger LOG = System.getLogger(Servers.class.getName());

    /** Clients ping every 10 s (see {@link Channels}); the server must permit that. */
    public static final long PERMIT_KEEPALIVE_SECONDS = 10;

    private Servers() {
    }

    /**
     * A Netty builder on {@code port} (0 = ephemeral, all interfaces) that lets long-lived
     * streams live: clients may ping every 10 s even without calls; the server pings idle
     * connections every 60 s and drops them after 20 s without an answer.
     */
    public static NettyServerBuilder netty(int port, int maxMessageBytes) {
        return netty(port, maxMessageBytes, Security.NONE, null, null);
    }

    /**
     * As {@link #netty(int, int)}, secured by {@code security}. With TLS every client must present
     * a certificate the trusted CAs signed (the handshake fails otherwise). With TLS or token
     * digests ({@link Security#authenticates()}) every call, health checks included, is
     * authenticated ({@link Authentication}: the caller's {@link Role} from its certificate and/or
     * its bearer token, else UNAUTHENTICATED, counted in {@code starling.rejected{role,
     * reason=certificate_role|token_missing|token_invalid|role_mismatch}} of {@code registry}),
     * then authorized ({@link Authorization}: a role calling a method it may not is closed with
     * PERMISSION_DENIED, counted with {@code reason=forbidden}); neither reaches the service.
     * Plaintext without token digests authenticates nothing and allows everything.
     * Interceptors added to the builder later run before these checks.
     *
     * @param role this server's role, the {@code role} tag of the counters
     * @throws IllegalArgumentException if the TLS files do not parse, or {@code security} holds a
     *     token to present but no digests to check callers' tokens with (the server would
     *     otherwise accept calls without one)
     */
    public static NettyServerBuilder netty(int port, int maxMessageBytes, Security security, MeterRegistry registry,
            String role) {
        if (security.tokenAuth() && !security.verifiesTokens()) {
            throw new IllegalArgumentException("the " + role + " has a bearer token to present but no token digests to"
                    + " check its callers' tokens against: give it the token hashes file (--auth-token-hashes) too");
        }
        NettyServerBuilder builder;
        try {
            builder = NettyServerBuilder.forPort(port, security.serverCredentials());
        } catch (IllegalArgumentException e) {
            // Netty parses the PEM files here: say which ones it could not use.
            throw new IllegalArgumentException("cannot set up TLS with " + security + ": " + e.getMessage(), e);
        }
        if (security.authenticates()) {
            MeterRegistry counters = registry != null ? registry : new SimpleMeterRegistry();
            // The last interceptor added runs first: authentication, then authorization.
            builder.intercept(Authorization.interceptor(counters, role));
            builder.intercept(new Authentication(security.tls(), security.tokenRoles(), counters, role));
            if (!security.tls()) {
                LOG.log(System.Logger.Level.WARNING, "{0}: bearer tokens without TLS: they travel in clear text", role);
            }
        }
        return builder
                .maxInboundMessageSize(maxMessageBytes)
                .permitKeepAliveTime(PERMIT_KEEPALIVE_SECONDS, TimeUnit.SECONDS)
                .permitKeepAliveWithoutCalls(true)
                .keepAliveTime(60, TimeUnit.SECONDS)
                .keepAliveTimeout(20, TimeUnit.SECONDS);
    }

    /**
     * After {@code shutdown()}: waits up to {@code timeoutSeconds} for running calls, then
     * cancels what is left. Returns false if interrupted (the caller restores the flag).
     */
    public static boolean awaitThenCancel(Server server, long timeoutSeconds) {
        boolean interrupted = false;
        try {
            if (!server.awaitTermination(timeoutSeconds, TimeUnit.SECONDS)) {
                LOG.log(System.Logger.Level.WARNING, "calls still running after {0} s; cancelling them", timeoutSeconds);
            }
        } catch (InterruptedException e) {
            interrupted = true;
        }
        server.shutdownNow();
        return !interrupted;
    }

    /**
     * A bounded call executor (grpc-java's default cached pool grows without limit under load):
     * a fixed number of daemon threads named {@code name-N}.
     */
    public static ExecutorService boundedExecutor(String name, int threads) {
        AtomicInteger n = new AtomicInteger();
        return new ThreadPoolExecutor(threads, threads, 60, TimeUnit.SECONDS, new LinkedBlockingQueue<>(), r -> {
            Thread t = new Thread(r, name + "-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
    }
}
