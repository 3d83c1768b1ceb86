package dev.starling.ps;

import dev.starling.common.model.TestConfigs;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.HashMap;
import java.util.Map;
import java.util.SplittableRandom;

import com.google.protobuf.ByteString;
import dev.starling.common.model.ActorCritic;
import dev.starling.common.model.ModelConfig;
import dev.starling.common.model.ModelSpecs;
import dev.starling.common.model.ParameterCodec;
import dev.starling.common.model.Torch;
import dev.starling.proto.v1.GradientUpdate;
import dev.starling.proto.v1.OptimizerState;
import dev.starling.proto.v1.Parameters;
import dev.starling.proto.v1.PublishParametersRequest;

/** Real weight messages from small libtorch models, built once per (config, seed) and cached. */
final class TestModels {

    /** {@code p} without the server's incarnation stamp: what the publisher sent. */
    static Parameters plain(Parameters p) {
        return p.toBuilder().clearIncarnation().build();
    }

    static final ModelConfig CONFIG = TestConfigs.discrete(2, 2, 8, 8);
    static final ModelConfig OTHER_CONFIG = TestConfigs.discrete(3, 2, 8, 8);

    private static final Map<String, Parameters> CACHE = new HashMap<>();

    private TestModels() {
    }

    /** Weights of a model with {@link #CONFIG} and the given seed, tagged {@code version}. */
    static Parameters params(long version, long seed) {
        return model(CONFIG, seed).toBuilder().setVersion(version).build();
    }

    static Parameters params(long version) {
        return params(version, 1);
    }

    /** Valid weights of another model spec. */
    static Parameters foreign(long version) {
        return model(OTHER_CONFIG, 1).toBuilder().setVersion(version).build();
    }

    static PublishParametersRequest publish(Parameters p) {
        return PublishParametersRequest.newBuilder().setParameters(p).setLearnerUpdates(p.getVersion() * 10).build();
    }

    /** An Adam state for {@code p}'s spec: two buffers per parameter filled with {@code fill}. */
    static OptimizerState adam(Parameters p, float fill, long step) {
        long elements = ModelSpecs.elementCount(p.getSpec());
        ByteBuffer buf = ByteBuffer.allocate((int) (elements * 2 * Float.BYTES)).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < elements * 2; i++) {
            buf.putFloat(fill + i * 1e-6f);
        }
        return OptimizerState.newBuilder().setAlgorithm("adam").setStep(step)
                .setBuffers(ByteString.copyFrom(buf.array())).setSpecHash(p.getSpec().getHash()).build();
    }

    /** A gradient of {@link #CONFIG}'s layout: Gaussian values with standard deviation 0.1. */
    static float[] gradient(long seed) {
        int n = (int) ModelSpecs.elementCount(params(0).getSpec());
        SplittableRandom rng = new SplittableRandom(seed);
        float[] g = new float[n];
        for (int i = 0; i < n; i++) {
            g[i] = (float) (0.1 * rng.nextGaussian());
        }
        return g;
    }

    /** A GradientUpdate of {@link #CONFIG} carrying {@code gradient}, computed on {@code baseVersion}. */
    static GradientUpdate update(long sequence, long baseVersion, float[] gradient) {
        ByteBuffer buf = ByteBuffer.allocate(gradient.length * Float.BYTES).order(ByteOrder.LITTLE_ENDIAN);
        buf.asFloatBuffer().put(gradient);
        return GradientUpdate.newBuilder()
                .setActorId("actor-test")
                .setSequence(sequence)
                .setBaseVersion(baseVersion)
                .setSpecHash(params(0).getSpec().getHash())
                .setGradient(ByteString.copyFrom(buf.array()))
                .setFrames(32)
                .addEpisodeReturns(9.5f)
                .addEpisodeLengths(20)
                .build();
    }

    /** {@code p} with float {@code index} of its weights replaced by {@code value}. */
    static Parameters withWeight(Parameters p, int index, float value) {
        byte[] w = p.getWeights().toByteArray();
        ByteBuffer.wrap(w).order(ByteOrder.LITTLE_ENDIAN).putFloat(index * Float.BYTES, value);
        return p.toBuilder().setWeights(ByteString.copyFrom(w)).build();
    }

    private static synchronized Parameters model(ModelConfig config, long seed) {
        return CACHE.computeIfAbsent(config + "/" + seed, k -> {
            try (ActorCritic model = new ActorCritic(config, seed, Torch.device("cpu"))) {
                return new ParameterCodec(model).encode(0);
            }
        });
    }
}
