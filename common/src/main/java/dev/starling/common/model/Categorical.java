package dev.starling.common.model;

import java.util.SplittableRandom;

import dev.starling.common.rl.Rollout;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/** Softmax over the head's {@code n} logits: the policy of a discrete action space. */
public record Categorical(int n) implements PolicyDistribution {

    @Override
    public float sample(float[] logits, int offset, float[] logStd, SplittableRandom rng, int[] discreteOut,
            float[] continuousOut, int k) {
        float max = Float.NEGATIVE_INFINITY;
        for (int j = 0; j < n; j++) {
            max = Math.max(max, logits[offset + j]);
        }
        double sum = 0;
        for (int j = 0; j < n; j++) {
            sum += Math.exp(logits[offset + j] - max);
        }
        double u = rng.nextDouble() * sum;
        int chosen = n - 1;
        for (int j = 0; j < n - 1; j++) {
            u -= Math.exp(logits[offset + j] - max);
            if (u < 0) {
                chosen = j;
                break;
            }
        }
        discreteOut[k] = chosen;
        return (float) (logits[offset + chosen] - max - Math.log(sum));
    }

    @Override
    public void mode(float[] logits, int offset, int[] discreteOut, float[] continuousOut, int k) {
        int best = 0;
        for (int j = 1; j < n; j++) {
            if (logits[offset + j] > logits[offset + best]) {
                best = j;
            }
        }
        discreteOut[k] = best;
    }

    @Override
    public Tensor logProb(ActorCritic model, Tensor logits, Rollout r) {
        long[] idx = new long[r.unroll * r.rows];
        for (int i = 0; i < idx.length; i++) {
            idx[i] = r.actions[i];
        }
        Tensor actions = Torch.longs(idx, model.device(), r.unroll, r.rows, 1);
        return torch.log_softmax(logits, 2).gather(2, actions).squeeze(2);
    }

    @Override
    public Tensor entropy(ActorCritic model, Tensor logits) {
        Tensor logp = torch.log_softmax(logits, 2);
        return logp.exp().mul(logp).sum(2).mean().neg();
    }
}
