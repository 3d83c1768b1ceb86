package dev.starling.ps;

import java.lang.System.Logger.Level;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;

import dev.starling.proto.v1.Parameters;
import io.grpc.Status;
import io.grpc.stub.ServerCallStreamObserver;
import io.micrometer.core.instrument.Timer;

/**
 * One WatchParameters subscriber. It holds at most one message that is waiting to be sent: a
 * reference to the newest snapshot this subscriber has not received yet. A newer publish simply
 * replaces it, so a slow subscriber skips versions instead of building a backlog.
 *
 * <p>Concurrency: {@link #offer} may be called from any thread (publishing threads, the watch
 * handler). Sending happens in {@link #drain()}, which runs under {@code sendLock} so that
 * {@code onNext}/{@code onError} are never called on the observer from two threads at once. It is
 * invoked from the broadcast executor (after an offer) and from the transport's onReady callback.
 * A drain that stops because the transport is not ready is resumed by onReady; a drain that
 * finds nothing pending is resumed by the next offer. Because an offer always schedules a drain
 * after it has stored the snapshot, no version can be left behind unsent.
 */
final class ParameterWatcher {

    private static final System.Logger LOG = System.getLogger(ParameterWatcher.class.getName());

    /** A snapshot waiting to be sent; {@code timed}: it was offered by a publish (not the catch-up). */
    private record Pending(ParameterSnapshot snapshot, boolean timed) {
    }

    private final String subscriberId;
    private final ServerCallStreamObserver<Parameters> observer;
    private final Executor executor;
    private final Timer broadcastTimer;
    private final Runnable onClosed;
    private final AtomicReference<Pending> pending = new AtomicReference<>();
    private final AtomicBoolean drainScheduled = new AtomicBoolean();
    private final AtomicBoolean closed = new AtomicBoolean();
    private final Object sendLock = new Object();
    /** Highest version sent (or already held by the subscriber). Guarded by {@code sendLock}. */
    private long lastSentVersion;

    /**
     * @param afterVersion versions up to this one are never sent; -1 sends every version
     * @param onClosed called once when the stream ends (cancelled, failed or closed by the server)
     */
    ParameterWatcher(String subscriberId, long afterVersion, ServerCallStreamObserver<Parameters> observer,
            Executor executor, Timer broadcastTimer, Runnable onClosed) {
        this.subscriberId = subscriberId;
        this.lastSentVersion = afterVersion;
        this.observer = observer;
        this.executor = executor;
        this.broadcastTimer = broadcastTimer;
        this.onClosed = onClosed;
    }

    String subscriberId() {
        return subscriberId;
    }

    /** Hooks into the call; must run inside the service method, before it returns. */
    void attach() {
        observer.setOnCancelHandler(() -> {
            LOG.log(Level.DEBUG, "watcher {0} cancelled", subscriberId);
            markClosed();
        });
        observer.setOnReadyHandler(this::drain);
    }

    /**
     * Makes {@code snapshot} the next message unless something newer is already waiting, then
     * schedules a send. {@code timed}: record publish-to-send time.
     */
    void offer(ParameterSnapshot snapshot, boolean timed) {
        if (snapshot == null || closed.get()) {
            return;
        }
        Pending offered = new Pending(snapshot, timed);
        pending.accumulateAndGet(offered,
                (old, neu) -> old == null || neu.snapshot().version() > old.snapshot().version() ? neu : old);
        scheduleDrain();
    }

    /** Runs a drain on the executor unless one is already queued. */
    void scheduleDrain() {
        if (drainScheduled.compareAndSet(false, true)) {
            try {
                executor.execute(() -> {
                    // Cleared before draining: an offer arriving during the drain queues another.
                    drainScheduled.set(false);
                    drain();
                });
            } catch (RejectedExecutionException e) {
                drainScheduled.set(false);
            }
        }
    }

    /** Sends the waiting snapshot if the transport can take it now. */
    void drain() {
        synchronized (sendLock) {
            while (!closed.get() && observer.isReady()) {
                Pending p = pending.getAndSet(null);
                if (p == null) {
                    return;
                }
                ParameterSnapshot s = p.snapshot();
                if (s.version() <= lastSentVersion) {
                    continue;
                }
                // Publish-to-send latency, recorded as the message is handed to gRPC: before
                // onNext, so a subscriber that has the message always finds it counted.
                if (p.timed()) {
                    broadcastTimer.record(System.nanoTime() - s.publishedAtNanos(), TimeUnit.NANOSECONDS);
                }
                try {
                    observer.onNext(s.parameters());
                } catch (RuntimeException e) {
                    // The call was cancelled or failed underneath us: nothing more can be sent.
                    LOG.log(Level.DEBUG, "watcher {0}: send failed: {1}", subscriberId, e.toString());
                    markClosed();
                    return;
                }
                lastSentVersion = s.version();
            }
        }
    }

    /** Ends the stream from the server side with {@code status} (e.g. UNAVAILABLE at shutdown). */
    void close(Status status) {
        synchronized (sendLock) {
            if (!markClosed()) {
                return;
            }
            try {
                observer.onError(status.asRuntimeException());
            } catch (RuntimeException e) {
                LOG.log(Level.DEBUG, "watcher {0}: close failed: {1}", subscriberId, e.toString());
            }
        }
    }

    boolean isClosed() {
        return closed.get();
    }

    private boolean markClosed() {
        if (closed.compareAndSet(false, true)) {
            pending.set(null);
            onClosed.run();
            return true;
        }
        return false;
    }
}
