package dev.starling.actor;

import java.lang.System.Logger.Level;
import java.util.Iterator;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Supplier;

import dev.starling.transport.Backoff;
import dev.starling.transport.wire.Lineage;
import dev.starling.proto.v1.ParameterServerGrpc;
import dev.starling.proto.v1.Parameters;
import dev.starling.proto.v1.WatchParametersRequest;
import io.grpc.ConnectivityState;
import io.grpc.Context;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;

/**
 * Keeps a {@code WatchParameters} stream to the parameter server open and holds the newest
 * weights it has received: one {@link AtomicReference}, never a queue, so a slow reader skips
 * versions and memory stays at one weight blob.
 *
 * <p>The stream asks for versions after the newest one held (0 at first, which the server
 * answers with version 0 too), naming that version's incarnation: a restarted server (a new
 * incarnation, maybe holding a lower version) answers with its current weights, which replace
 * the ones held ({@link Lineage}). It is long-lived, so it has no deadline; the channel's keepalive
 * detects a dead peer. On any stream error or end it reconnects with {@link Backoff#reconnect()}
 * (exponential, full jitter), logging one WARNING per outage rather than per attempt; a received
 * message ends the outage and resets the backoff. A status that retrying cannot fix (see
 * {@link Statuses#isFatal}) stops the subscriber and is reported by {@link #fatalStatus()}.
 *
 * <p>Thread-safe. Owns one daemon thread (started by {@link #start()}, ended by {@link #close()});
 * does not own the channel. {@code onChange} runs on that thread after each newer version and
 * after a fatal status, and must not block.
 */
final class WeightsSubscriber implements AutoCloseable {

    private static final System.Logger LOG = System.getLogger(WeightsSubscriber.class.getName());

    private final ManagedChannel channel;
    private final String subscriberId;
    private final String target;
    private final Runnable onChange;
    private final Supplier<Backoff> backoffs;
    private final AtomicReference<Parameters> newest = new AtomicReference<>();
    private final AtomicReference<Status> fatal = new AtomicReference<>();
    private final AtomicReference<Context.CancellableContext> current = new AtomicReference<>();
    private final AtomicLong received = new AtomicLong();
    private final AtomicLong reconnects = new AtomicLong();
    private final ReentrantLock lock = new ReentrantLock();
    /** Signalled by close(): wakes the backoff wait. */
    private final Condition closing = lock.newCondition();
    private final Thread thread;
    private volatile boolean closed;
    /** Confined to the subscriber thread. */
    private Backoff backoff;
    /** Confined to the subscriber thread: a failure was logged and no message arrived since. */
    private boolean outage;

    /**
     * @param channel channel to the parameter server (not owned)
     * @param subscriberId who is watching, sent to the server for its metrics
     * @param target the server's address, for log messages
     * @param onChange called after a newer version was stored or a fatal status recorded
     */
    WeightsSubscriber(ManagedChannel channel, String subscriberId, String target, Runnable onChange) {
        this(channel, subscriberId, target, onChange, Backoff::reconnect);
    }

    WeightsSubscriber(ManagedChannel channel, String subscriberId, String target, Runnable onChange,
            Supplier<Backoff> backoffs) {
        this.channel = Objects.requireNonNull(channel, "channel");
        this.subscriberId = Objects.requireNonNull(subscriberId, "subscriberId");
        this.target = Objects.requireNonNull(target, "target");
        this.onChange = Objects.requireNonNull(onChange, "onChange");
        this.backoffs = Objects.requireNonNull(backoffs, "backoffs");
        this.thread = new Thread(this::run, "starling-weights-" + subscriberId);
        this.thread.setDaemon(true);
    }

    /** Starts watching. Call once. */
    void start() {
        thread.start();
    }

    /** The newest weights received, or null before the first. */
    Parameters newest() {
        return newest.get();
    }

    /** Version of {@link #newest()}, or -1 before the first. */
    long newestVersion() {
        Parameters p = newest.get();
        return p == null ? -1 : p.getVersion();
    }

    /** The status that stopped the subscriber for good, or null while it is retrying or healthy. */
    Status fatalStatus() {
        return fatal.get();
    }

    /** Messages received over all streams. */
    long received() {
        return received.get();
    }

    /** Streams opened after a failed or ended one. */
    long reconnects() {
        return reconnects.get();
    }

    /** Cancels the stream and stops reconnecting; waits briefly for the thread. Idempotent. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        Context.CancellableContext ctx = current.get();
        if (ctx != null) {
            ctx.cancel(null);
        }
        lock.lock();
        try {
            closing.signalAll();
        } finally {
            lock.unlock();
        }
        if (thread.isAlive() && thread != Thread.currentThread()) {
            try {
                thread.join(TimeUnit.SECONDS.toMillis(2));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    private void run() {
        backoff = backoffs.get();
        boolean first = true;
        while (!closed) {
            if (!first) {
                reconnects.incrementAndGet();
                if (channel.getState(false) == ConnectivityState.TRANSIENT_FAILURE) {
                    // Our backoff decides when to try; do not also wait out the channel's own.
                    channel.resetConnectBackoff();
                }
            }
            first = false;
            Status status = watchOnce(newest.get());
            if (closed) {
                break;
            }
            if (Statuses.isFatal(status.getCode())) {
                LOG.log(Level.ERROR, "watching weights on the parameter server at {0} failed ({1});"
                        + " not retrying (a configuration mismatch or a bug)", target, Statuses.describe(status));
                fatal.set(status);
                onChange.run();
                return;
            }
            if (!outage) {
                outage = true;
                LOG.log(Level.WARNING, "weights stream from the parameter server at {0} ended ({1});"
                        + " reconnecting with backoff, keeping version {2,number,#}", target, Statuses.describe(status),
                        newestVersion());
            } else {
                LOG.log(Level.DEBUG, "weights stream attempt failed: {0}", status);
            }
            if (!pause(backoff.nextDelayMillis())) {
                break;
            }
        }
    }

    /**
     * One stream, after the weights held (null: none): returns how it ended (UNAVAILABLE if the
     * server completed it).
     */
    private Status watchOnce(Parameters held) {
        Context.CancellableContext ctx = Context.current().withCancellation();
        current.set(ctx);
        if (closed) {
            ctx.cancel(null);
            return Status.CANCELLED;
        }
        Context previous = ctx.attach();
        try {
            WatchParametersRequest.Builder request = WatchParametersRequest.newBuilder().setSubscriberId(subscriberId);
            if (held != null) {
                request.setAfterVersion(held.getVersion()).setAfterIncarnation(held.getIncarnation());
            }
            // No deadline: the stream lives as long as the actor. The blocking iterator requests
            // one message at a time, so the server's latest-only pending slot does the skipping.
            Iterator<Parameters> it = ParameterServerGrpc.newBlockingStub(channel).watchParameters(request.build());
            while (it.hasNext()) {
                Parameters p = it.next();
                received.incrementAndGet();
                LOG.log(Level.DEBUG, "received weights version {0,number,#}", p.getVersion());
                backoff.reset();
                if (outage) {
                    outage = false;
                    LOG.log(Level.INFO, "weights stream from the parameter server at {0} restored", target);
                }
                Parameters before = newest.getAndAccumulate(p, (old, neu) -> Lineage.supersedes(neu, old) ? neu : old);
                if (Lineage.supersedes(p, before)) {
                    if (before != null && before.getIncarnation() != p.getIncarnation()) {
                        LOG.log(Level.INFO, "the parameter server at {0} is a new incarnation (it restarted): following"
                                + " it from version {1,number,#} (held version {2,number,#} of the previous one)", target,
                                p.getVersion(), before.getVersion());
                    }
                    onChange.run();
                }
            }
            return Status.UNAVAILABLE.withDescription("the parameter server ended the stream");
        } catch (StatusRuntimeException e) {
            return e.getStatus();
        } catch (RuntimeException e) {
            return Status.UNKNOWN.withDescription(e.toString()).withCause(e);
        } finally {
            ctx.detach(previous);
            ctx.cancel(null);
            current.compareAndSet(ctx, null);
        }
    }

    /** Waits {@code millis} unless closed first; false if closed or interrupted. */
    private boolean pause(long millis) {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(millis);
        lock.lock();
        try {
            while (!closed) {
                long remaining = deadline - System.nanoTime();
                if (remaining <= 0) {
                    return true;
                }
                closing.awaitNanos(remaining);
            }
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        } finally {
            lock.unlock();
        }
    }
}
