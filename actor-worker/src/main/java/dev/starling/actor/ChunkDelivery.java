package dev.starling.actor;

import com.google.protobuf.Message;
import dev.starling.common.rl.Rollout;
import dev.starling.common.rollout.EpisodeBuffer;
import dev.starling.transport.wire.ChunkCodec;
import dev.starling.proto.v1.ChunkAck;
import dev.starling.proto.v1.LearnerGrpc;
import dev.starling.proto.v1.Parameters;
import io.grpc.ManagedChannel;
import io.grpc.stub.ClientResponseObserver;

/** Impala: every rollout goes to the learner as a trajectory chunk. */
final class ChunkDelivery implements RolloutDelivery {

    private final String actorId;
    private final ManagedChannel learner;
    private final String target;
    private final long specHash;

    ChunkDelivery(String actorId, ManagedChannel learner, String target, long specHash) {
        this.actorId = actorId;
        this.learner = learner;
        this.target = target;
        this.specHash = specHash;
    }

    @Override
    public Message message(Rollout rollout, Parameters playing, long sequence, EpisodeBuffer finished) {
        return ChunkCodec.encode(rollout, actorId, sequence, playing.getVersion(), playing.getIncarnation(), specHash,
                finished);
    }

    @Override
    public ManagedChannel channel() {
        return learner;
    }

    @Override
    public void open(ClientResponseObserver<Message, Message> observer) {
        LearnerGrpc.newStub(learner).pushTrajectories(RolloutDelivery.typed(observer));
    }

    @Override
    public long ackSequence(Message ack) {
        return ((ChunkAck) ack).getSequence();
    }

    @Override
    public boolean accepted(Message ack) {
        return ((ChunkAck) ack).getAccepted();
    }

    @Override
    public String upstreamName() {
        return "learner at " + target;
    }

    @Override
    public String kind() {
        return "trajectory";
    }
}
