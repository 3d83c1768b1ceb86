package dev.starling.transport;

import java.security.cert.Certificate;
import java.security.cert.X509Certificate;

import javax.net.ssl.SSLPeerUnverifiedException;
import javax.net.ssl.SSLSession;

import dev.starling.transport.metrics.Metrics;
import io.grpc.Context;
import io.grpc.Contexts;
import io.grpc.Grpc;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;

/**
 * Finds the caller's {@link Role} on a secured server, or closes the call with UNAUTHENTICATED
 * before any handler sees it.
 *
 * <ul>
 *   <li>With TLS the role is the one the verified client certificate names (SAN URI
 *       {@code starling:role:<role>}); a certificate naming none, an unknown one or two is
 *       refused ({@code starling.rejected{reason=certificate_role}}).
 *   <li>With token digests the {@code authorization} header must be {@code Bearer <token>} of a
 *       known token, whose role it is ({@code reason=token_missing}, {@code token_invalid}).
 *   <li>With both, the certificate and the token must name the same role ({@code reason=role_mismatch}).
 * </ul>
 *
 * The role is then in {@link Role#caller()} for the rest of the call (the {@link Authorization}
 * interceptor reads it there). Thread-safe.
 */
final class Authentication implements ServerInterceptor {

    static final String TOKEN_MISSING = "token_missing";
    static final String TOKEN_INVALID = "token_invalid";
    static final String CERTIFICATE_ROLE = "certificate_role";
    static final String ROLE_MISMATCH = "role_mismatch";

    private static final System.Logger LOG = System.getLogger(Authentication.class.getName());

    private final boolean tls;
    private final TokenRoles tokens;
    private final Counter missing;
    private final Counter invalid;
    private final Counter certificate;
    private final Counter mismatch;
    private final Refusals refusals = new Refusals(LOG);

    /**
     * @param tls whether callers present verified client certificates (the server requires them)
     * @param tokens callers' token digests, or null if tokens are not checked
     * @param role the serving process's role, the {@code role} tag of its counters
     */
    Authentication(boolean tls, TokenRoles tokens, MeterRegistry registry, String role) {
        if (!tls && tokens == null) {
            throw new IllegalArgumentException("authentication needs client certificates or token digests");
        }
        this.tls = tls;
        this.tokens = tokens;
        this.missing = Metrics.rejected(registry, role, TOKEN_MISSING);
        this.invalid = Metrics.rejected(registry, role, TOKEN_INVALID);
        this.certificate = Metrics.rejected(registry, role, CERTIFICATE_ROLE);
        this.mismatch = Metrics.rejected(registry, role, ROLE_MISMATCH);
    }

    @Override
    public <ReqT, RespT> ServerCall.Listener<ReqT> interceptCall(ServerCall<ReqT, RespT> call, Metadata headers,
            ServerCallHandler<ReqT, RespT> next) {
        Role certificateRole = null;
        if (tls) {
            try {
                certificateRole = Role.ofCertificate(peerCertificate(call));
            } catch (IllegalArgumentException e) {
                return refuse(call, "the client certificate is not a Starling identity: " + e.getMessage(), certificate);
            }
        }
        Role tokenRole = null;
        if (tokens != null) {
            String value = headers.get(Security.AUTHORIZATION);
            if (value == null) {
                return refuse(call,
                        "missing bearer token: this server requires the header 'authorization: Bearer <token>'", missing);
            }
            if (!value.regionMatches(true, 0, Security.BEARER_PREFIX, 0, Security.BEARER_PREFIX.length())) {
                return refuse(call, "the authorization header is not a bearer token ('Bearer <token>')", invalid);
            }
            tokenRole = tokens.roleOf(value.substring(Security.BEARER_PREFIX.length()).strip());
            if (tokenRole == null) {
                return refuse(call, "invalid bearer token", invalid);
            }
        }
        if (certificateRole != null && tokenRole != null && certificateRole != tokenRole) {
            return refuse(call, "the client certificate names role " + certificateRole + " but the bearer token is "
                    + tokenRole + "'s: both must name the same role", mismatch);
        }
        Role caller = certificateRole != null ? certificateRole : tokenRole;
        return Contexts.interceptCall(Context.current().withValue(Role.CALLER, caller), call, headers, next);
    }

    private <ReqT> ServerCall.Listener<ReqT> refuse(ServerCall<ReqT, ?> call, String problem, Counter counter) {
        refusals.refuse(call, Status.UNAUTHENTICATED.withDescription(problem), counter);
        return Refusals.ignoring();
    }

    /** The verified leaf certificate of the client (the server required one in the handshake). */
    private static X509Certificate peerCertificate(ServerCall<?, ?> call) {
        SSLSession session = call.getAttributes().get(Grpc.TRANSPORT_ATTR_SSL_SESSION);
        if (session == null) {
            throw new IllegalArgumentException("the call has no TLS session");
        }
        try {
            Certificate[] chain = session.getPeerCertificates();
            if (chain.length == 0 || !(chain[0] instanceof X509Certificate leaf)) {
                throw new IllegalArgumentException("the client presented no X.509 certificate");
            }
            return leaf;
        } catch (SSLPeerUnverifiedException e) {
            throw new IllegalArgumentException("the client presented no verified certificate", e);
        }
    }
}
