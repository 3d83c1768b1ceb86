package dev.starling.actor;

import com.google.protobuf.Message;
import dev.starling.common.model.ParameterCodec;
import dev.starling.common.rl.Rollout;
import dev.starling.common.rl.TrainStep;
import dev.starling.common.rl.UpdateStats;
import dev.starling.common.rollout.EpisodeBuffer;
import dev.starling.proto.v1.GradientAck;
import dev.starling.proto.v1.GradientUpdate;
import dev.starling.proto.v1.ParameterServerGrpc;
import dev.starling.proto.v1.Parameters;
import io.grpc.ManagedChannel;
import io.grpc.stub.ClientResponseObserver;

/**
 * A3c: the actor computes the loss gradient of every rollout on its own copy of the model (the
 * weights it played with) and pushes it to the parameter server, whose optimizer applies it.
 */
final class GradientDelivery implements RolloutDelivery {

    private final String actorId;
    private final ManagedChannel parameterServer;
    private final String target;
    private final ParameterCodec codec;
    private final TrainStep gradients;

    GradientDelivery(String actorId, ManagedChannel parameterServer, String target, ParameterCodec codec,
            TrainStep gradients) {
        this.actorId = actorId;
        this.parameterServer = parameterServer;
        this.target = target;
        this.codec = codec;
        this.gradients = gradients;
    }

    /** Null for a non-finite loss or gradient: nothing worth sending (the step counts it). */
    @Override
    public Message message(Rollout rollout, Parameters playing, long sequence, EpisodeBuffer finished) {
        UpdateStats stats = gradients.computeGradients(rollout);
        if (!stats.applied()) {
            return null;
        }
        GradientUpdate.Builder b = GradientUpdate.newBuilder()
                .setActorId(actorId)
                .setSequence(sequence)
                .setBaseVersion(playing.getVersion())
                .setBaseIncarnation(playing.getIncarnation())
                .setSpecHash(codec.specHash())
                .setGradient(codec.encodeGradients())
                .setFrames(rollout.frames());
        for (int i = 0; i < finished.size(); i++) {
            b.addEpisodeReturns(finished.returnAt(i));
            b.addEpisodeLengths(finished.lengthAt(i));
        }
        return b.build();
    }

    @Override
    public ManagedChannel channel() {
        return parameterServer;
    }

    @Override
    public void open(ClientResponseObserver<Message, Message> observer) {
        ParameterServerGrpc.newStub(parameterServer).pushGradients(RolloutDelivery.typed(observer));
    }

    @Override
    public long ackSequence(Message ack) {
        return ((GradientAck) ack).getSequence();
    }

    @Override
    public boolean accepted(Message ack) {
        return ((GradientAck) ack).getApplied();
    }

    @Override
    public String upstreamName() {
        return "parameter server at " + target;
    }

    @Override
    public String kind() {
        return "gradient";
    }
}
