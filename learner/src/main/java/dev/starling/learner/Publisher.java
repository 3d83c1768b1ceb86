package dev.starling.learner;

import java.lang.System.Logger.Level;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

import dev.starling.transport.Backoff;
import dev.starling.transport.Channels;
import dev.starling.common.model.ModelSpecs;
import dev.starling.common.model.ParameterCodec;
import dev.starling.common.rl.Optimizer;
import dev.starling.proto.v1.GetParametersRequest;
import dev.starling.proto.v1.OptimizerState;
import dev.starling.proto.v1.ParameterServerGrpc;
import dev.starling.proto.v1.Parameters;
import dev.starling.proto.v1.PublishParametersRequest;
import dev.starling.proto.v1.PublishParametersResponse;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;

/**
 * Sends the learner's weights to the parameter server from its own thread, so training never
 * waits for the network. Holds at most one snapshot waiting to be sent: a newer one replaces it
 * (the server only needs the newest weights). Each send is a PublishParameters call with a
 * deadline of {@link Channels#UNARY_DEADLINE} and version = last acknowledged + 1.
 *
 * <p>Failures are retried with {@link Backoff} (with the newest snapshot at the time of the
 * retry), logged at WARNING once per outage and at INFO when the server answers again.
 * FAILED_PRECONDITION (the server already holds that version: a publish whose response was lost
 * to a deadline, or a restored checkpoint) makes the publisher read the server's version and
 * continue above it.
 *
 * <p>Thread-safe. {@link #close()} stops the thread; the caller owns the channel.
 */
final class Publisher implements AutoCloseable {

    private static final System.Logger LOG = System.getLogger(Publisher.class.getName());

    /** Weights to publish (version assigned at send time), maybe with the optimizer state. */
    record Snapshot(Parameters parameters, OptimizerState optimizerState, long learnerUpdates, long optimizerSteps) {

        /** The model's current weights, with the optimizer state if asked. */
        static Snapshot of(ParameterCodec codec, Optimizer optimizer, long learnerUpdates, boolean withOptimizerState) {
            return new Snapshot(codec.encode(0), withOptimizerState ? optimizer.exportState(codec.specHash()) : null,
                    learnerUpdates, optimizer.steps());
        }
    }

    private final ParameterServerGrpc.ParameterServerBlockingStub stub;
    private final String target;
    private final long specHash;
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition changed = lock.newCondition();
    private final Backoff backoff = Backoff.reconnect();
    private Thread thread;
    // Guarded by lock.
    private Snapshot pending;
    private boolean inFlight;
    private boolean stopping;
    private boolean retryNow;
    private boolean outage;
    private int failedAttempts;

    private volatile long acknowledged = -1;
    /** The parameter server's incarnation, as its newest answer said; 0 before the first. */
    private volatile long incarnation;
    /** The newest snapshot sent, for {@link #republish()}; guarded by lock. */
    private Snapshot lastSent;
    private long lastRepublishNanos;
    /** Newest version the server may hold: the acknowledged one or the one in flight. */
    private volatile long mayHold = -1;
    private volatile long optimizerStateAckNanos = System.nanoTime();
    private volatile long optimizerStateAckSteps = -1;

    Publisher(ParameterServerGrpc.ParameterServerBlockingStub stub, String target, long specHash) {
        this.stub = stub;
        this.target = target;
        this.specHash = specHash;
    }

    /** Newest version the parameter server acknowledged; -1 before the first. */
    long acknowledgedVersion() {
        return acknowledged;
    }

    /**
     * Newest version the parameter server may hold: a publish in flight may already be applied
     * and broadcast to actors before its response reaches us, so chunks of that version are not
     * "from the future".
     */
    long validationVersion() {
        return Math.max(acknowledged, mayHold);
    }

    /**
     * The parameter server's incarnation as of its newest answer (0 before the first). Versions
     * are comparable only within it: a chunk of another incarnation's weights has no lag.
     */
    long incarnation() {
        return incarnation;
    }

    /**
     * Sends the newest weights again soon (at most once a second), as the next version. Called
     * when actors play weights of an incarnation this learner does not know: the parameter server
     * restarted from an older checkpoint and serves those. The publish tells this learner the new
     * incarnation and puts its newer weights in front of the actors again.
     */
    void republish() {
        lock.lock();
        try {
            long now = System.nanoTime();
            if (lastSent == null || pending != null || inFlight || stopping
                    || now - lastRepublishNanos < TimeUnit.SECONDS.toNanos(1)) {
                return;
            }
            lastRepublishNanos = now;
            pending = lastSent;
            changed.signalAll();
        } finally {
            lock.unlock();
        }
    }

    /** Nanoseconds since the server last acknowledged a publish carrying the optimizer state. */
    long nanosSinceOptimizerStateAck() {
        return System.nanoTime() - optimizerStateAckNanos;
    }

    /** Optimizer steps of the newest optimizer state the server acknowledged; -1 for none. */
    long acknowledgedOptimizerSteps() {
        return optimizerStateAckSteps;
    }

    /**
     * Records what the server held at start-up (weights of {@code version}, with an optimizer
     * state of {@code optimizerSteps} steps that this learner now uses).
     */
    void restored(long version, long optimizerSteps, long serverIncarnation) {
        incarnation = serverIncarnation;
        acknowledged = version;
        mayHold = version;
        optimizerStateAckSteps = optimizerSteps;
        optimizerStateAckNanos = System.nanoTime();
    }

    /**
     * Publishes {@code s} as {@code version} on the calling thread (start-up, before the
     * publisher thread runs).
     *
     * @throws StatusRuntimeException if the server refuses or cannot be reached
     */
    void publishNow(Snapshot s, long version) {
        send(s, version);
        lock.lock();
        try {
            lastSent = s;
        } finally {
            lock.unlock();
        }
    }

    /** Starts the sending thread. */
    void start() {
        lock.lock();
        try {
            if (thread != null || stopping) {
                return;
            }
            thread = new Thread(this::run, "starling-learner-publisher");
            thread.setDaemon(true);
            thread.start();
        } finally {
            lock.unlock();
        }
    }

    /** Queues {@code s} for sending, replacing a snapshot that was not sent yet. */
    void offer(Snapshot s) {
        lock.lock();
        try {
            pending = s;
            changed.signalAll();
        } finally {
            lock.unlock();
        }
    }

    /**
     * Waits until everything offered was acknowledged (retrying at once rather than after the
     * current backoff), or the timeout passed.
     *
     * @return whether nothing is left to send
     */
    boolean flush(Duration timeout) throws InterruptedException {
        long remaining = timeout.toNanos();
        lock.lock();
        try {
            retryNow = true;
            changed.signalAll();
            while (pending != null || inFlight) {
                if (remaining <= 0 || stopping) {
                    return false;
                }
                remaining = changed.awaitNanos(remaining);
            }
            return true;
        } finally {
            lock.unlock();
        }
    }

    /** Stops the thread, dropping anything not sent; waits for a call in flight (its deadline). */
    @Override
    public void close() {
        Thread t;
        lock.lock();
        try {
            stopping = true;
            pending = null;
            changed.signalAll();
            t = thread;
        } finally {
            lock.unlock();
        }
        if (t == null || t == Thread.currentThread()) {
            return;
        }
        try {
            t.join(Channels.UNARY_DEADLINE.toMillis() + 1000);
            if (t.isAlive()) {
                t.interrupt();
                t.join(1000);
            }
        } catch (InterruptedException e) {
            t.interrupt();
            Thread.currentThread().interrupt();
        }
    }

    private void run() {
        while (true) {
            Snapshot s;
            long version;
            lock.lock();
            try {
                while (pending == null && !stopping) {
                    changed.await();
                }
                if (stopping) {
                    return;
                }
                s = pending;
                pending = null;
                inFlight = true;
                version = acknowledged + 1;
            } catch (InterruptedException e) {
                return;
            } finally {
                lock.unlock();
            }
            boolean ok = false;
            StatusRuntimeException failure = null;
            try {
                send(s, version);
                ok = true;
            } catch (StatusRuntimeException e) {
                failure = e;
            } catch (RuntimeException e) {
                failure = Status.INTERNAL.withDescription(e.toString()).withCause(e).asRuntimeException();
            }
            if (ok) {
                succeeded(s, version);
            } else {
                if (failure.getStatus().getCode() == Status.Code.FAILED_PRECONDITION) {
                    catchUp(failure);
                }
                if (!failed(s, version, failure)) {
                    return;
                }
            }
        }
    }

    private void send(Snapshot s, long version) {
        mayHold = Math.max(mayHold, version);
        PublishParametersRequest.Builder request = PublishParametersRequest.newBuilder()
                .setParameters(s.parameters().toBuilder().setVersion(version))
                .setLearnerUpdates(s.learnerUpdates());
        if (s.optimizerState() != null) {
            request.setOptimizerState(s.optimizerState());
        }
        PublishParametersResponse response = stub
                .withDeadlineAfter(Channels.UNARY_DEADLINE.toMillis(), TimeUnit.MILLISECONDS)
                .publishParameters(request.build());
        long held = Math.max(version, response.getVersion());
        long previousIncarnation = incarnation;
        if (response.getIncarnation() != previousIncarnation) {
            incarnation = response.getIncarnation();
            if (previousIncarnation != 0) {
                LOG.log(Level.INFO, "the parameter server at {0} is a new incarnation (it restarted); it now holds"
                        + " this learner''s version {1,number,#}", target, held);
            }
        }
        acknowledged = held;
        mayHold = Math.max(mayHold, held);
        if (s.optimizerState() != null) {
            optimizerStateAckSteps = s.optimizerSteps();
            optimizerStateAckNanos = System.nanoTime();
        }
    }

    private void succeeded(Snapshot s, long version) {
        lock.lock();
        try {
            inFlight = false;
            lastSent = s;
            if (outage) {
                LOG.log(Level.INFO, "parameter server at {0} is back: published version {1} after {2} failed attempts",
                        target, version, failedAttempts);
            }
            outage = false;
            failedAttempts = 0;
            backoff.reset();
            changed.signalAll();
        } finally {
            lock.unlock();
        }
        LOG.log(Level.TRACE, "published version {0}", version);
    }

    /** Requeues {@code s} (unless a newer one is waiting) and waits out the backoff; false to stop. */
    private boolean failed(Snapshot s, long version, StatusRuntimeException e) {
        lock.lock();
        try {
            inFlight = false;
            failedAttempts++;
            if (!outage) {
                outage = true;
                LOG.log(Level.WARNING, "publishing version {0} to the parameter server at {1} failed ({2}); training"
                        + " continues and the newest weights are retried with backoff", version, target, describe(e));
            } else {
                LOG.log(Level.DEBUG, "publish attempt {0} failed: {1}", failedAttempts, describe(e));
            }
            if (pending == null) {
                pending = s;
            }
            changed.signalAll();
            long waitNanos = TimeUnit.MILLISECONDS.toNanos(backoff.nextDelayMillis());
            while (waitNanos > 0 && !stopping && !retryNow) {
                waitNanos = changed.awaitNanos(waitNanos);
            }
            retryNow = false;
            return !stopping;
        } catch (InterruptedException ie) {
            return false;
        } finally {
            lock.unlock();
        }
    }

    /**
     * The server refused the version as not newer than its own: read its version and continue
     * above it, if it holds weights of this model.
     */
    private void catchUp(StatusRuntimeException refusal) {
        try {
            Parameters held = stub.withDeadlineAfter(Channels.UNARY_DEADLINE.toMillis(), TimeUnit.MILLISECONDS)
                    .getParameters(GetParametersRequest.getDefaultInstance())
                    .getParameters();
            if (held.getSpec().getHash() != specHash) {
                LOG.log(Level.ERROR, "the parameter server at {0} now holds weights of model spec {1}, not this"
                        + " learner''s {2} (another learner publishing there?); refused: {3}", target,
                        ModelSpecs.hex(held.getSpec().getHash()), ModelSpecs.hex(specHash), describe(refusal));
                return;
            }
            if (held.getVersion() > acknowledged) {
                LOG.log(Level.WARNING, "the parameter server at {0} already holds version {1} (a publish whose"
                        + " response was lost, or another publisher); continuing above it", target, held.getVersion());
                acknowledged = held.getVersion();
                mayHold = Math.max(mayHold, held.getVersion());
            }
        } catch (StatusRuntimeException e) {
            LOG.log(Level.DEBUG, "could not read the parameter server''s version: {0}", describe(e));
        }
    }

    private static String describe(StatusRuntimeException e) {
        Status s = e.getStatus();
        return s.getCode() + (s.getDescription() == null ? "" : ": " + s.getDescription());
    }
}
