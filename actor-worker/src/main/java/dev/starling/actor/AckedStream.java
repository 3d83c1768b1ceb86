package dev.starling.actor;

import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Iterator;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.BooleanSupplier;
import java.util.function.ToLongFunction;

import io.grpc.Status;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;

/**
 * One client stream of acked messages, {@code PushTrajectories} (chunks to the learner) or
 * {@code PushGradients} (A3C gradients to the parameter server): the actor's side of the flow
 * control. "Chunk" below means either message; acks name it by sequence number.
 *
 * <p>A chunk may be sent only while fewer than {@code maxInFlight} chunks are unacked and the
 * transport {@linkplain ClientCallStreamObserver#isReady() is ready}; {@link #awaitPermit} blocks
 * (on a condition, never spinning) until both hold, the call fails, the oldest unacked chunk is
 * older than the ack timeout, or the owner stops. So the actor never holds more than
 * {@code maxInFlight} chunks in gRPC's buffers and never more than one chunk beyond what the
 * transport accepted.
 *
 * <p>Threads: the request side ({@link #send}, {@link #halfClose}, {@link #cancel}) is called only
 * by the actor thread, so the request observer is never used from two threads. The response
 * callbacks (acks, readiness, errors) arrive on the channel's executor; they update the state
 * below under the owner's lock and signal its condition. No gRPC method is called while that lock
 * is held, so the lock cannot join a cycle with the transport's own locks.
 *
 * <p>Public for the ingest benchmark's synthetic actors ({@code dev.starling.bench.IngestBenchmark}
 * in the {@code bench} module), which use the same flow control.
 */
public final class AckedStream<Req, Ack> implements ClientResponseObserver<Req, Ack> {

    /** What {@link #awaitPermit} found. */
    public enum Permit { SEND, FAILED, STOPPED }

    /** Receives acks (on the channel's executor, under the owner's lock). */
    public interface AckListener<Ack> {
        /**
         * @param sent the chunk the ack names, as {@link #awaitPermit} counted it, or null if no
         *     chunk in flight has that sequence number
         */
        void acked(Ack ack, InFlight sent);
    }

    /** A chunk sent and not yet acked: its sequence number and when it was permitted ({@link System#nanoTime()}). */
    public record InFlight(long sequence, long sentNanos) {
    }

    private final ReentrantLock lock;
    private final Condition changed;
    private final int maxInFlight;
    private final long ackTimeoutNanos;
    private final AckListener<Ack> listener;
    private final ToLongFunction<Ack> sequenceOf;
    private volatile ClientCallStreamObserver<Req> call;

    // Guarded by lock.
    private final ArrayDeque<InFlight> inFlight = new ArrayDeque<>();
    private Status failure;
    private long acks;
    private long readySignals;
    private boolean halfClosed;
    /** Written under lock; volatile so {@link #completed()} need not take it. */
    private volatile boolean completed;

    /**
     * A stream whose state is guarded by the owner's {@code lock}; every change signals
     * {@code changed}. Pass it to the async stub's streaming call.
     */
    public AckedStream(ReentrantLock lock, Condition changed, int maxInFlight, Duration ackTimeout,
            ToLongFunction<Ack> sequenceOf, AckListener<Ack> listener) {
        this.sequenceOf = sequenceOf;
        this.lock = lock;
        this.changed = changed;
        this.maxInFlight = maxInFlight;
        this.ackTimeoutNanos = ackTimeout.toNanos();
        this.listener = listener;
    }

    @Override
    public void beforeStart(ClientCallStreamObserver<Req> requestStream) {
        call = requestStream;
        requestStream.setOnReadyHandler(() -> {
            lock.lock();
            try {
                readySignals++;
                changed.signalAll();
            } finally {
                lock.unlock();
            }
        });
    }

    @Override
    public void onNext(Ack ack) {
        lock.lock();
        try {
            InFlight sent = null;
            for (Iterator<InFlight> it = inFlight.iterator(); it.hasNext(); ) {
                InFlight f = it.next();
                if (f.sequence() == sequenceOf.applyAsLong(ack)) {
                    it.remove();
                    sent = f;
                    break;
                }
            }
            acks++;
            listener.acked(ack, sent);
            changed.signalAll();
        } finally {
            lock.unlock();
        }
    }

    @Override
    public void onError(Throwable t) {
        fail(Status.fromThrowable(t));
    }

    /** The server ended the stream: the normal end after {@link #halfClose}, else a failure. */
    @Override
    public void onCompleted() {
        lock.lock();
        try {
            if (halfClosed) {
                completed = true;
                changed.signalAll();
                return;
            }
        } finally {
            lock.unlock();
        }
        fail(Status.UNAVAILABLE.withDescription("the server ended the stream"));
    }

    /**
     * Waits until a chunk may be sent; on {@link Permit#SEND} the chunk {@code sequence} is
     * counted as in flight from now. {@code stopped} is read under the lock; whoever sets it must
     * signal the condition.
     */
    public Permit awaitPermit(long sequence, BooleanSupplier stopped) throws InterruptedException {
        long waitStart = System.nanoTime();
        while (true) {
            long signalsBefore;
            lock.lock();
            try {
                signalsBefore = readySignals;
            } finally {
                lock.unlock();
            }
            // Read outside the lock: isReady takes the transport's lock. A call that failed to
            // start has no request observer; its failure is already recorded.
            ClientCallStreamObserver<Req> c = call;
            boolean ready = c != null && c.isReady();
            lock.lock();
            try {
                if (stopped.getAsBoolean()) {
                    return Permit.STOPPED;
                }
                if (failure != null) {
                    return Permit.FAILED;
                }
                long now = System.nanoTime();
                if (ready && inFlight.size() < maxInFlight) {
                    inFlight.addLast(new InFlight(sequence, now));
                    return Permit.SEND;
                }
                long since = inFlight.isEmpty() ? waitStart : Math.min(waitStart, inFlight.peekFirst().sentNanos());
                long remaining = since + ackTimeoutNanos - now;
                if (remaining <= 0) {
                    failure = Status.DEADLINE_EXCEEDED.withDescription(inFlight.isEmpty()
                            ? "the stream stayed unwritable for " + TimeUnit.NANOSECONDS.toMillis(ackTimeoutNanos) + " ms"
                            : "chunk " + inFlight.peekFirst().sequence() + " was not acked within "
                                    + TimeUnit.NANOSECONDS.toMillis(ackTimeoutNanos) + " ms");
                    return Permit.FAILED;
                }
                if (readySignals != signalsBefore) {
                    // The transport became ready after we read isReady(): look again.
                    continue;
                }
                changed.awaitNanos(remaining);
            } finally {
                lock.unlock();
            }
        }
    }

    /** Sends a chunk after {@link Permit#SEND}; a transport exception fails the stream. */
    public void send(Req chunk) {
        try {
            requestStream().onNext(chunk);
        } catch (RuntimeException e) {
            fail(Status.UNAVAILABLE.withDescription("sending a chunk failed: " + e).withCause(e));
        }
    }

    /** Ends the request side cleanly (the learner sees the end of the stream). */
    public void halfClose() {
        lock.lock();
        try {
            halfClosed = true;
        } finally {
            lock.unlock();
        }
        try {
            requestStream().onCompleted();
        } catch (RuntimeException e) {
            // Already cancelled or closed underneath: nothing left to end.
            fail(Status.CANCELLED.withDescription("half-close failed: " + e));
        }
    }

    /** Abandons the call (after a failure or an ack timeout). */
    public void cancel(String why) {
        ClientCallStreamObserver<Req> c = call;
        if (c != null) {
            c.cancel(why, null);
        }
    }

    /** Why the call failed, or null while it is healthy. */
    public Status failure() {
        lock.lock();
        try {
            return failure;
        } finally {
            lock.unlock();
        }
    }

    /** Acks received on this call. */
    long acks() {
        lock.lock();
        try {
            return acks;
        } finally {
            lock.unlock();
        }
    }

    /** Chunks sent on this call and not acked (lost if the call failed). */
    public int inFlight() {
        lock.lock();
        try {
            return inFlight.size();
        } finally {
            lock.unlock();
        }
    }

    /** The server ended the stream cleanly after {@link #halfClose}. */
    public boolean completed() {
        return completed;
    }

    private ClientCallStreamObserver<Req> requestStream() {
        ClientCallStreamObserver<Req> c = call;
        if (c == null) {
            throw new IllegalStateException("the call did not start");
        }
        return c;
    }

    /**
     * Fails the stream (the first failure is kept): {@link #awaitPermit} returns
     * {@link Permit#FAILED} from now on. For the transport's callbacks, or an owner that finds the
     * peer misbehaving.
     */
    public void fail(Status status) {
        lock.lock();
        try {
            if (failure == null) {
                failure = status;
            }
            changed.signalAll();
        } finally {
            lock.unlock();
        }
    }
}
