package dev.starling.learner;

import java.lang.System.Logger.Level;
import java.util.Queue;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.function.Supplier;

import dev.starling.transport.metrics.Metrics;
import dev.starling.common.model.ModelConfig;
import dev.starling.common.rl.Rollout;
import dev.starling.transport.wire.ChunkCodec;
import dev.starling.transport.wire.ChunkLimits;
import dev.starling.transport.wire.InvalidMessageException;
import dev.starling.transport.wire.RequestParsing;
import dev.starling.proto.v1.ChunkAck;
import dev.starling.proto.v1.LearnerGrpc;
import dev.starling.proto.v1.LearnerStatus;
import dev.starling.proto.v1.LearnerStatusRequest;
import dev.starling.proto.v1.TrajectoryChunk;
import io.grpc.BindableService;
import io.grpc.ServerMethodDefinition;
import io.grpc.ServerServiceDefinition;
import io.grpc.Status;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;

/**
 * The Learner gRPC service: validates incoming trajectory chunks, queues them for the trainer and
 * acks them, with server-side flow control; answers GetStatus.
 *
 * <p>Validation: {@link ChunkCodec#decode} checks each chunk's content; on one stream sequences
 * must also strictly increase. Requests are read through {@link RequestParsing}, so bytes that do
 * not parse are one more malformed chunk: INVALID_ARGUMENT, counted as {@code unparseable}. (The
 * service implements {@code AsyncService} and {@link BindableService} itself rather than extending
 * {@code LearnerImplBase}, whose {@code bindService()} is final.)
 *
 * <p>Flow control (grpc-java's {@code ManualFlowControlServer}): every stream disables automatic
 * inbound requests and asks its client for one chunk at a time. After handling a chunk it asks
 * for the next one only if the {@link ChunkQueue} has room and the stream's outbound side is
 * ready; otherwise it parks itself on a wait list (queue full) or waits for its onReady callback
 * (acks not being read). The trainer calls {@link #wakeWaiting()} after taking a batch, which
 * resumes parked streams while the queue has room. So the memory held for chunks is bounded by
 * the queue capacity plus at most one received-but-not-yet-queued chunk per stream (several
 * streams may find room for the same free slot; the losers keep their chunk, unacked, until the
 * next slot frees).
 *
 * <p>Thread-safety: each stream's state and its response observer are guarded by the stream's
 * own monitor, so acks and the final onError/onCompleted are never sent concurrently or after
 * completion, whether they come from a gRPC executor thread, the trainer thread or an onReady
 * callback. {@code request(1)} is called outside that monitor. Lock order: a stream monitor,
 * then the queue's lock or the stats monitor; no thread ever takes a stream monitor while it
 * holds another lock, and {@link #wakeWaiting()} runs with no monitor held.
 */
final class LearnerService implements LearnerGrpc.AsyncService, BindableService {

    private static final System.Logger LOG = System.getLogger(LearnerService.class.getName());

    static final String ROLE = "learner";

    private final ModelConfig model;
    private final long specHash;
    private final int unroll;
    private final ChunkLimits limits;
    private final long maxPolicyLag;
    private final ChunkQueue queue;
    private final LearnerStats stats;
    private final Publisher publisher;
    private final Supplier<LearnerStatus> status;
    private final MeterRegistry registry;
    private final Counter droppedStale;
    /** Streams waiting for room in the queue; each at most once (see ChunkStream.waiting). */
    private final Queue<ChunkStream> waiting = new ConcurrentLinkedQueue<>();
    private final Set<ChunkStream> open = ConcurrentHashMap.newKeySet();
    private volatile boolean closed;

    /**
     * @param publisher what the parameter server holds: its {@link Publisher#validationVersion()}
     *     (chunks claiming a newer version are from the future), its acknowledged version (policy
     *     lag is measured against it) and its incarnation (chunks of another one are dropped, and
     *     make the publisher {@link Publisher#republish()})
     */
    LearnerService(ModelConfig model, long specHash, int unroll, ChunkLimits limits, long maxPolicyLag,
            ChunkQueue queue, LearnerStats stats, Publisher publisher, Supplier<LearnerStatus> status,
            MeterRegistry registry) {
        this.model = model;
        this.specHash = specHash;
        this.unroll = unroll;
        this.limits = limits;
        this.maxPolicyLag = maxPolicyLag;
        this.queue = queue;
        this.stats = stats;
        this.publisher = publisher;
        this.status = status;
        this.registry = registry;
        this.droppedStale = Counter.builder(Metrics.DROPPED_STALE)
                .description("Chunks dropped because their policy lag exceeded the maximum, or their weights"
                        + " were of another parameter server incarnation")
                .tag("role", ROLE)
                .register(registry);
    }

    @Override
    public RequestParsing.ParsedRequestObserver<TrajectoryChunk> pushTrajectories(
            StreamObserver<ChunkAck> responseObserver) {
        ServerCallStreamObserver<ChunkAck> call = (ServerCallStreamObserver<ChunkAck>) responseObserver;
        call.disableAutoRequest();
        ChunkStream stream = new ChunkStream(call);
        call.setOnCancelHandler(stream::cancelled);
        call.setOnReadyHandler(stream::onReady);
        if (closed) {
            stream.fail(Status.UNAVAILABLE.withDescription("the learner is shutting down"));
            return stream;
        }
        open.add(stream);
        if (closed) {
            stream.fail(Status.UNAVAILABLE.withDescription("the learner is shutting down"));
            return stream;
        }
        stream.requestFirst();
        return stream;
    }

    /**
     * The service definition, with requests read through {@link RequestParsing}: a chunk whose
     * bytes do not parse ends its stream with INVALID_ARGUMENT and counts as {@code unparseable},
     * like any other malformed chunk (plain gRPC would answer UNKNOWN and log a stack trace).
     */
    @Override
    public ServerServiceDefinition bindService() {
        ServerServiceDefinition plain = LearnerGrpc.bindService(this);
        @SuppressWarnings("unchecked")
        ServerMethodDefinition<LearnerStatusRequest, LearnerStatus> getStatus =
                (ServerMethodDefinition<LearnerStatusRequest, LearnerStatus>) plain.getMethod(
                        LearnerGrpc.getGetStatusMethod().getFullMethodName());
        return RequestParsing.rebind(plain,
                RequestParsing.streamingRequests(LearnerGrpc.getPushTrajectoriesMethod(), this::pushTrajectories),
                RequestParsing.singleRequest(getStatus, message -> rejected(RequestParsing.REASON,
                        "GetStatus request", message)));
    }

    @Override
    public void getStatus(LearnerStatusRequest request, StreamObserver<LearnerStatus> responseObserver) {
        responseObserver.onNext(status.get());
        responseObserver.onCompleted();
    }

    /**
     * Resumes streams parked on a full queue while it has room. Called by the trainer after it
     * took a batch, and by a stream right after it parked itself (so a batch taken in between is
     * never missed: either the stream sees the room or the trainer sees the stream).
     */
    void wakeWaiting() {
        while (queue.hasRoom()) {
            ChunkStream s = waiting.poll();
            if (s == null) {
                return;
            }
            s.resume();
        }
    }

    /** Number of open PushTrajectories streams. */
    int openStreams() {
        return open.size();
    }

    /** Ends every stream with UNAVAILABLE and refuses new ones. Idempotent. */
    void close() {
        closed = true;
        Status status = Status.UNAVAILABLE.withDescription("the learner is shutting down");
        for (ChunkStream s : open) {
            s.fail(status);
        }
        waiting.clear();
    }

    private void rejected(InvalidMessageException e, TrajectoryChunk chunk) {
        rejected(e.reason(), "chunk " + Long.toUnsignedString(chunk.getSequence()) + " from actor '"
                + ChunkCodec.loggable(chunk.getActorId()) + "' (" + e.code() + ")", e.getMessage());
    }

    private void rejected(String reason, String what, String message) {
        Metrics.rejected(registry, ROLE, reason).increment();
        LOG.log(Level.WARNING, "rejected {0}: {1}", what, message);
    }

    /** One PushTrajectories call: the inbound observer plus the guarded outbound side. */
    private final class ChunkStream implements RequestParsing.ParsedRequestObserver<TrajectoryChunk> {

        private final ServerCallStreamObserver<ChunkAck> call;
        // All guarded by this.
        private boolean done;
        private boolean halfClosed;
        /** A request(1) was issued and its chunk has not arrived yet. */
        private boolean outstanding;
        /** On the service's wait list for room in the queue. */
        private boolean waitingForRoom;
        /** Waiting for the onReady callback (the client is not reading acks). */
        private boolean waitingForReady;
        /** Received and valid, but the queue was full: queued (and acked) when room frees. */
        private QueuedChunk parked;
        private TrajectoryChunk parkedMessage;
        // Only touched by onNext, which gRPC never runs concurrently for one call.
        /** Sequence of the newest valid chunk on this stream; meaningless while {@code !sequenced}. */
        private long lastSequence;
        private boolean sequenced;

        ChunkStream(ServerCallStreamObserver<ChunkAck> call) {
            this.call = call;
        }

        void requestFirst() {
            synchronized (this) {
                if (done) {
                    return;
                }
                outstanding = true;
            }
            call.request(1);
        }

        @Override
        public void onNext(TrajectoryChunk chunk) {
            synchronized (this) {
                outstanding = false;
                if (done) {
                    return;
                }
            }
            // Versions compare only within the parameter server's incarnation (0: unknown, compared as ours).
            long ours = publisher.incarnation();
            boolean otherIncarnation = chunk.getIncarnation() != 0 && ours != 0 && chunk.getIncarnation() != ours;
            Rollout rollout;
            try {
                rollout = ChunkCodec.decode(chunk, model, specHash,
                        otherIncarnation ? Long.MAX_VALUE : publisher.validationVersion(), unroll, limits);
                checkSequence(chunk.getSequence());
            } catch (InvalidMessageException e) {
                rejected(e, chunk);
                fail(e.status());
                return;
            }
            lastSequence = chunk.getSequence();
            sequenced = true;
            long lag = publisher.acknowledgedVersion() - chunk.getPolicyVersion();
            boolean request;
            if (otherIncarnation || lag > maxPolicyLag) {
                droppedStale.increment();
                if (otherIncarnation) {
                    // The actor plays weights of a parameter server incarnation this learner has not
                    // published to: the server restarted. Publishing tells us its incarnation and
                    // puts our newer weights in front of the actors again.
                    LOG.log(Level.DEBUG, "dropped chunk {0} from ''{1}'': weights of another parameter server"
                            + " incarnation", chunk.getSequence(), chunk.getActorId());
                    publisher.republish();
                } else {
                    LOG.log(Level.DEBUG, "dropped chunk {0} from ''{1}'': policy lag {2} > {3}",
                            chunk.getSequence(), chunk.getActorId(), lag, maxPolicyLag);
                }
                synchronized (this) {
                    ack(chunk.getSequence(), false);
                    request = nextRequest();
                }
            } else {
                QueuedChunk item = new QueuedChunk(rollout, chunk.getPolicyVersion(), chunk.getActorId(),
                        chunk.getSequence());
                synchronized (this) {
                    if (done) {
                        return;
                    }
                    if (!enqueue(item, chunk)) {
                        parked = item;
                        parkedMessage = chunk;
                    }
                    request = nextRequest();
                }
            }
            after(request);
        }

        /**
         * An actor numbers its chunks +1 each and never resends one on the same stream (a new
         * stream continues with the next number), so on one stream sequences strictly increase
         * (unsigned, as on the wire). A repeated or older one would make the acks ambiguous.
         */
        private void checkSequence(long sequence) throws InvalidMessageException {
            if (sequenced && Long.compareUnsigned(sequence, lastSequence) <= 0) {
                throw new InvalidMessageException(Status.Code.INVALID_ARGUMENT, "sequence", "sequence "
                        + Long.toUnsignedString(sequence) + " does not follow the previous chunk's sequence "
                        + Long.toUnsignedString(lastSequence) + " on this stream (sequences must increase)");
            }
        }

        /** A message arrived whose bytes are not a TrajectoryChunk: rejected like a malformed chunk. */
        @Override
        public void unparseable(String parseError) {
            synchronized (this) {
                outstanding = false;
                if (done) {
                    return;
                }
            }
            Status status = RequestParsing.unparseable(LearnerGrpc.getPushTrajectoriesMethod(), parseError);
            rejected(RequestParsing.REASON, "a chunk that does not parse", status.getDescription());
            fail(status);
        }

        @Override
        public void onError(Throwable t) {
            cancelled();
        }

        @Override
        public void onCompleted() {
            synchronized (this) {
                if (done) {
                    return;
                }
                halfClosed = true;
                if (parked != null) {
                    // Completed once the parked chunk is queued and acked (see resume).
                    return;
                }
                finish();
            }
            open.remove(this);
        }

        /** The client cancelled (or the call ended under us): forget everything. */
        void cancelled() {
            synchronized (this) {
                done = true;
                parked = null;
                parkedMessage = null;
            }
            open.remove(this);
            waiting.remove(this);
        }

        /** Ends the stream with an error status, unless it already ended. */
        void fail(Status status) {
            synchronized (this) {
                if (done) {
                    return;
                }
                done = true;
                parked = null;
                parkedMessage = null;
                call.onError(status.asRuntimeException());
            }
            open.remove(this);
            waiting.remove(this);
        }

        /**
         * Called from the wait list when the queue has room again. Never calls
         * {@link #wakeWaiting()} itself: the caller's loop re-checks the room.
         */
        void resume() {
            boolean request;
            boolean finished = false;
            synchronized (this) {
                waitingForRoom = false;
                if (done) {
                    return;
                }
                if (parked != null && enqueue(parked, parkedMessage)) {
                    parked = null;
                    parkedMessage = null;
                    if (halfClosed) {
                        finish();
                        finished = true;
                    }
                }
                request = nextRequest();
            }
            if (finished) {
                open.remove(this);
            }
            if (request) {
                call.request(1);
            }
        }

        void onReady() {
            boolean request;
            synchronized (this) {
                if (!waitingForReady || done) {
                    return;
                }
                waitingForReady = false;
                request = nextRequest();
            }
            after(request);
        }

        /** Queues and acks; false if the queue was full. Holds this. */
        private boolean enqueue(QueuedChunk item, TrajectoryChunk chunk) {
            if (!queue.offer(item)) {
                return false;
            }
            stats.accepted(chunk, item.frames());
            ack(item.sequence(), true);
            return true;
        }

        private void ack(long sequence, boolean accepted) {
            if (!done) {
                call.onNext(ChunkAck.newBuilder().setSequence(sequence).setAccepted(accepted).build());
            }
        }

        private void finish() {
            done = true;
            call.onCompleted();
        }

        /**
         * Decides whether to ask the client for the next chunk; holds this. Registers the stream
         * for a wake-up when it must wait (queue full or outbound side not ready).
         */
        private boolean nextRequest() {
            if (done || halfClosed || outstanding) {
                return false;
            }
            if (parked != null || !queue.hasRoom()) {
                if (!waitingForRoom) {
                    waitingForRoom = true;
                    waiting.add(this);
                }
                return false;
            }
            if (!call.isReady()) {
                waitingForReady = true;
                return false;
            }
            outstanding = true;
            return true;
        }

        /** Outside the monitor: issue the request, or re-check the room we may have missed. */
        private void after(boolean request) {
            if (request) {
                call.request(1);
            } else {
                wakeWaiting();
            }
        }
    }
}
