package dev.starling.actor;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

import dev.starling.proto.v1.ChunkAck;
import dev.starling.proto.v1.LearnerGrpc;
import dev.starling.proto.v1.TrajectoryChunk;
import io.grpc.Status;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;

/**
 * The learner's side of {@code PushTrajectories}, as the protocol describes it, with knobs for
 * the faults the actor must survive: it records every chunk and acks it (accepted or dropped),
 * or withholds acks, or fails streams with a chosen status. Thread-safe.
 */
final class RecordingLearner extends LearnerGrpc.LearnerImplBase {

    private final List<TrajectoryChunk> chunks = new ArrayList<>();
    private final Set<Call> open = ConcurrentHashMap.newKeySet();
    private final AtomicInteger streams = new AtomicInteger();
    private final AtomicInteger halfClosed = new AtomicInteger();
    private volatile boolean withholdAcks;
    private volatile boolean accept = true;
    private volatile Status failNewStreams;

    @Override
    public StreamObserver<TrajectoryChunk> pushTrajectories(StreamObserver<ChunkAck> responseObserver) {
        streams.incrementAndGet();
        Status fail = failNewStreams;
        if (fail != null) {
            responseObserver.onError(fail.asRuntimeException());
            return new StreamObserver<>() {
                @Override
                public void onNext(TrajectoryChunk value) {
                }

                @Override
                public void onError(Throwable t) {
                }

                @Override
                public void onCompleted() {
                }
            };
        }
        Call call = new Call((ServerCallStreamObserver<ChunkAck>) responseObserver);
        open.add(call);
        return call;
    }

    /** Streams opened so far (including the ones failed at once). */
    int streams() {
        return streams.get();
    }

    /** Streams the actor ended cleanly (half-close). */
    int halfClosed() {
        return halfClosed.get();
    }

    synchronized int chunkCount() {
        return chunks.size();
    }

    synchronized List<TrajectoryChunk> chunks() {
        return List.copyOf(chunks);
    }

    void withholdAcks(boolean withhold) {
        withholdAcks = withhold;
    }

    /** Whether acks say accepted (queued) or dropped as stale. */
    void accept(boolean accepted) {
        accept = accepted;
    }

    /** Fails every stream opened from now on with {@code status}; null accepts them again. */
    void failNewStreams(Status status) {
        failNewStreams = status;
    }

    /** Ends every open stream with {@code status}. */
    void failOpenStreams(Status status) {
        for (Call c : open) {
            c.fail(status);
        }
    }

    /** Acks everything withheld so far (and stops withholding). */
    void releaseAcks() {
        withholdAcks = false;
        for (Call c : open) {
            c.releaseAcks();
        }
    }

    private synchronized void record(TrajectoryChunk chunk) {
        chunks.add(chunk);
    }

    /** One stream. Its methods are synchronized: the response observer is not thread-safe. */
    private final class Call implements StreamObserver<TrajectoryChunk> {

        private final ServerCallStreamObserver<ChunkAck> out;
        private final List<Long> withheld = new ArrayList<>();
        private boolean done;

        Call(ServerCallStreamObserver<ChunkAck> out) {
            this.out = out;
            out.setOnCancelHandler(() -> {
                synchronized (this) {
                    done = true;
                }
                open.remove(this);
            });
        }

        @Override
        public synchronized void onNext(TrajectoryChunk chunk) {
            if (done) {
                // Still in the transport when this call was failed: a real server drops it too.
                return;
            }
            record(chunk);
            if (withholdAcks) {
                withheld.add(chunk.getSequence());
            } else {
                ack(chunk.getSequence());
            }
        }

        @Override
        public synchronized void onError(Throwable t) {
            done = true;
            open.remove(this);
        }

        @Override
        public synchronized void onCompleted() {
            halfClosed.incrementAndGet();
            open.remove(this);
            if (!done) {
                done = true;
                out.onCompleted();
            }
        }

        synchronized void fail(Status status) {
            open.remove(this);
            if (!done) {
                done = true;
                out.onError(status.asRuntimeException());
            }
        }

        synchronized void releaseAcks() {
            for (long s : withheld) {
                ack(s);
            }
            withheld.clear();
        }

        private void ack(long sequence) {
            if (!done) {
                out.onNext(ChunkAck.newBuilder().setSequence(sequence).setAccepted(accept).build());
            }
        }
    }
}
