package dev.starling.transport;

import java.lang.System.Logger.Level;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import io.grpc.Grpc;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.Status;
import io.micrometer.core.instrument.Counter;

/**
 * Ends a call the server refuses before any handler sees it: counts it, logs it (at most once a
 * second, so a client cannot flood the log) and closes it with the status. Thread-safe.
 */
final class Refusals {

    private static final long LOG_EVERY_NANOS = TimeUnit.SECONDS.toNanos(1);

    private final System.Logger log;
    private final AtomicLong lastLog = new AtomicLong(System.nanoTime() - LOG_EVERY_NANOS);

    Refusals(System.Logger log) {
        this.log = log;
    }

    /** Counts, logs and closes {@code call} with {@code status}; the caller forwards nothing more. */
    void refuse(ServerCall<?, ?> call, Status status, Counter counter) {
        counter.increment();
        long now = System.nanoTime();
        long last = lastLog.get();
        if (now - last >= LOG_EVERY_NANOS && lastLog.compareAndSet(last, now)) {
            log.log(Level.WARNING, "refused {0} from {1}: {2} {3}", call.getMethodDescriptor().getFullMethodName(),
                    call.getAttributes().get(Grpc.TRANSPORT_ATTR_REMOTE_ADDR), status.getCode(), status.getDescription());
        }
        call.close(status, new Metadata());
    }

    /** A listener for a refused call: it ignores everything. */
    static <ReqT> ServerCall.Listener<ReqT> ignoring() {
        return new ServerCall.Listener<>() {
        };
    }
}
