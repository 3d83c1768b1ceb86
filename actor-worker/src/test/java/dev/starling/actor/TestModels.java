package dev.starling.actor;

import java.util.List;

import dev.starling.common.model.ActorCritic;
import dev.starling.common.model.ModelConfig;
import dev.starling.common.model.ParameterCodec;
import dev.starling.common.model.Torch;
import dev.starling.common.rl.Rollout;
import dev.starling.env.EnvironmentDefinition;
import dev.starling.envs.EnvironmentRegistry;
import dev.starling.proto.v1.Parameters;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;

/** Small real models, their weight messages, and an independent replay of a chunk. */
final class TestModels {

    static final int ENCODER = 8;
    static final int LSTM = 8;

    private TestModels() {
    }

    static ModelConfig config(String env, int encoder, int lstm) {
        EnvironmentDefinition def = EnvironmentRegistry.builtIn().get(env);
        return new ModelConfig(def.observationSpace(), def.actionSpace(), List.of(encoder), lstm);
    }

    static ModelConfig config(String env) {
        return config(env, ENCODER, LSTM);
    }

    /** A freshly initialised model; the caller closes it. */
    static ActorCritic model(ModelConfig config, long seed) {
        return new ActorCritic(config, seed, Torch.device("cpu"));
    }

    /** Multiplies the policy head by {@code factor}: logits far from another seed's near-zero ones. */
    @SuppressWarnings("try")
    static ActorCritic sharpen(ActorCritic model, double factor) {
        try (PointerScope scope = new PointerScope(); NoGradGuard ignored = new NoGradGuard()) {
            model.parameter("head.weight").mul_(new Scalar(factor));
        }
        return model;
    }

    static Parameters params(ActorCritic model, long version) {
        return new ParameterCodec(model).encode(version);
    }

    /**
     * What the model computes on a chunk of discrete actions, from its stored initial state: the
     * log-probability of each taken action {@code [T, K]} and the final state.
     */
    record Replay(float[] logProbs, float[] finalH, float[] finalC) {
    }

    /**
     * Replays a chunk with the full LSTM module as the learner runs it (not the actor's cell),
     * one step at a time, zeroing the state after each done: the behaviour log-probabilities it should carry
     * and the state after its last step (zero where that step ended an episode). It goes through
     * {@link ActorCritic#lstmForward}, as the learner does: a raw module call under no-grad is
     * wrong on AVX-512 CPUs at the hidden size used here (8), which made this oracle, not the
     * actor, fail on such machines.
     */
    @SuppressWarnings("try")
    static Replay replay(ActorCritic model, Rollout r) {
        int k = r.rows;
        int t = r.unroll;
        int a = model.config().policyOutputs();
        int hidden = r.lstmSize;
        int obs = r.observationSize;
        int out = a + 1;
        float[] logProbs = new float[t * k];
        float[] finalH = new float[k * hidden];
        float[] finalC = new float[k * hidden];
        float[] step = new float[k * out];
        float[] x = new float[k * obs];
        try (PointerScope scope = new PointerScope(); NoGradGuard ignored = new NoGradGuard()) {
            Tensor h = Torch.floats(r.initialH, model.device(), 1, k, hidden);
            Tensor c = Torch.floats(r.initialC, model.device(), 1, k, hidden);
            for (int s = 0; s < t; s++) {
                if (s > 0) {
                    Tensor keep = keep(r, s - 1, model);
                    h = h.mul(keep);
                    c = c.mul(keep);
                }
                System.arraycopy(r.observations, s * k * obs, x, 0, x.length);
                Tensor e = model.encode(Torch.floats(x, model.device(), 1, k, obs));
                ActorCritic.LstmOutput res = model.lstmForward(e, h, c);
                h = res.h();
                c = res.c();
                Torch.read(model.head(res.output()).contiguous(), step);
                for (int j = 0; j < k; j++) {
                    logProbs[s * k + j] = logSoftmaxAt(step, j * out, a, r.actions[s * k + j]);
                }
            }
            Tensor keep = keep(r, t - 1, model);
            Torch.read(h.mul(keep).contiguous(), finalH);
            Torch.read(c.mul(keep).contiguous(), finalC);
        }
        return new Replay(logProbs, finalH, finalC);
    }

    /** log softmax(x[offset .. offset+n))[chosen], in double precision. */
    private static float logSoftmaxAt(float[] x, int offset, int n, int chosen) {
        double max = Double.NEGATIVE_INFINITY;
        for (int i = 0; i < n; i++) {
            max = Math.max(max, x[offset + i]);
        }
        double sum = 0;
        for (int i = 0; i < n; i++) {
            sum += Math.exp(x[offset + i] - max);
        }
        return (float) (x[offset + chosen] - max - Math.log(sum));
    }

    private static Tensor keep(Rollout r, int step, ActorCritic model) {
        float[] keep = new float[r.rows];
        for (int j = 0; j < r.rows; j++) {
            keep[j] = r.dones[step * r.rows + j] ? 0f : 1f;
        }
        return Torch.floats(keep, model.device(), 1, r.rows, 1);
    }

    static double maxAbsDiff(float[] x, float[] y) {
        if (x.length != y.length) {
            throw new IllegalArgumentException("lengths differ: " + x.length + " vs " + y.length);
        }
        double worst = 0;
        for (int i = 0; i < x.length; i++) {
            worst = Math.max(worst, Math.abs(x[i] - y[i]));
        }
        return worst;
    }
}
