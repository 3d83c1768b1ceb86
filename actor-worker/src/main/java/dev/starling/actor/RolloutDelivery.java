package dev.starling.actor;

import com.google.protobuf.Message;
import dev.starling.common.rl.Rollout;
import dev.starling.common.rollout.EpisodeBuffer;
import dev.starling.proto.v1.Parameters;
import io.grpc.ManagedChannel;
import io.grpc.stub.ClientResponseObserver;

/**
 * What a mode does with each finished rollout: the only place the actor's modes differ. The play
 * loop, flow control, reconnects and weights are mode-free ({@link ActorWorker}); impala sends
 * the rollout to the learner ({@link ChunkDelivery}), a3c the gradient of its loss to the
 * parameter server ({@link GradientDelivery}). A new mode is a new implementation.
 *
 * <p>Used by the actor thread only, except {@link #ackSequence} and {@link #accepted}, which the
 * channel's executor calls on acks.
 */
interface RolloutDelivery {

    /**
     * The message for a finished rollout played with {@code playing}, or null when there is
     * nothing worth sending (counted by the implementation).
     */
    Message message(Rollout rollout, Parameters playing, long sequence, EpisodeBuffer finished);

    /** The channel the messages go on. */
    ManagedChannel channel();

    /** Starts the streaming call on {@link #channel()} with {@code observer} as its response side. */
    void open(ClientResponseObserver<Message, Message> observer);

    /** The sequence number an ack answers. */
    long ackSequence(Message ack);

    /** False if the ack says the message was dropped (too stale), not trained on or applied. */
    boolean accepted(Message ack);

    /** "learner at host:port", for messages. */
    String upstreamName();

    /** "trajectory" or "gradient", for messages. */
    String kind();

    /**
     * The one narrowing both protocols need: each call only ever sends the request type of its
     * stub and receives its ack type, and the stream handles them as plain protobuf messages.
     */
    @SuppressWarnings("unchecked")
    static <Req, Ack> ClientResponseObserver<Req, Ack> typed(ClientResponseObserver<Message, Message> s) {
        return (ClientResponseObserver<Req, Ack>) (ClientResponseObserver<?, ?>) s;
    }
}
