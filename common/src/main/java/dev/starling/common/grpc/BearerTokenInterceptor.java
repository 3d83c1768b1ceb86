package dev.starling.common.grpc;

import java.lang.System.Logger.Level;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import dev.starling.common.metrics.Metrics;
import io.grpc.Grpc;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;

/**
 * Refuses every call whose {@code authorization} header is not {@code Bearer <token>}: the call
 * is closed with UNAUTHENTICATED before any handler sees it, and
 * {@code starling.rejected{reason=token_missing|token_invalid}} counts it. Tokens are compared as
 * SHA-256 digests with {@link MessageDigest#isEqual} (constant time, and independent of the
 * length of the guess). Refusals are logged at most once a second so a client cannot flood the
 * log. Thread-safe.
 */
final class BearerTokenInterceptor implements ServerInterceptor {

    private static final System.Logger LOG = System.getLogger(BearerTokenInterceptor.class.getName());
    private static final long LOG_EVERY_NANOS = TimeUnit.SECONDS.toNanos(1);

    private final byte[] expected;
    private final Counter missing;
    private final Counter invalid;
    private final AtomicLong lastLog = new AtomicLong(System.nanoTime() - LOG_EVERY_NANOS);

    BearerTokenInterceptor(String token, MeterRegistry registry, String role) {
        this.expected = sha256(token);
        this.missing = Metrics.rejected(registry, role, "token_missing");
        this.invalid = Metrics.rejected(registry, role, "token_invalid");
    }

    @Override
    public <ReqT, RespT> ServerCall.Listener<ReqT> interceptCall(ServerCall<ReqT, RespT> call, Metadata headers,
            ServerCallHandler<ReqT, RespT> next) {
        String value = headers.get(Security.AUTHORIZATION);
        String problem;
        Counter counter;
        if (value == null) {
            problem = "missing bearer token: this server requires the header 'authorization: Bearer <token>'";
            counter = missing;
        } else if (!value.regionMatches(true, 0, Security.BEARER_PREFIX, 0, Security.BEARER_PREFIX.length())) {
            problem = "the authorization header is not a bearer token ('Bearer <token>')";
            counter = invalid;
        } else if (!MessageDigest.isEqual(expected, sha256(value.substring(Security.BEARER_PREFIX.length()).strip()))) {
            problem = "invalid bearer token";
            counter = invalid;
        } else {
            return next.startCall(call, headers);
        }
        counter.increment();
        long now = System.nanoTime();
        long last = lastLog.get();
        if (now - last >= LOG_EVERY_NANOS && lastLog.compareAndSet(last, now)) {
            LOG.log(Level.WARNING, "refused {0} from {1}: {2}", call.getMethodDescriptor().getFullMethodName(),
                    call.getAttributes().get(Grpc.TRANSPORT_ATTR_REMOTE_ADDR), problem);
        }
        call.close(Status.UNAUTHENTICATED.withDescription(problem), new Metadata());
        return new ServerCall.Listener<>() {
        };
    }

    private static byte[] sha256(String s) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every Java platform has SHA-256", e);
        }
    }
}
