package dev.starling.common.model;

import java.util.SplittableRandom;

import dev.starling.common.rl.Rollout;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;

/**
 * A Gaussian with independent dimensions: means from the head, one learned log standard
 * deviation per action dimension (state-independent, as in PPO's and IMPALA's continuous
 * baselines). Actions are sampled unbounded; the vector environment clips them to the action
 * box, so the log-density is that of the unclipped sample, which is what the learner's ratio
 * needs.
 */
public record DiagonalGaussian(int dims) implements PolicyDistribution {

    private static final double HALF_LOG_TWO_PI = 0.5 * Math.log(2 * Math.PI);

    @Override
    public float sample(float[] means, int offset, float[] logStd, SplittableRandom rng, int[] discreteOut,
            float[] continuousOut, int k) {
        double logProb = 0;
        for (int d = 0; d < dims; d++) {
            double z = gaussian(rng);
            double std = Math.exp(logStd[d]);
            continuousOut[k * dims + d] = (float) (means[offset + d] + std * z);
            logProb += -0.5 * z * z - logStd[d] - HALF_LOG_TWO_PI;
        }
        return (float) logProb;
    }

    @Override
    public void mode(float[] means, int offset, int[] discreteOut, float[] continuousOut, int k) {
        System.arraycopy(means, offset, continuousOut, k * dims, dims);
    }

    @Override
    public Tensor logProb(ActorCritic model, Tensor means, Rollout r) {
        Tensor actions = Torch.floats(r.continuousActions, model.device(), r.unroll, r.rows, dims);
        Tensor logStd = model.logStd();
        Tensor z = actions.sub(means).mul(logStd.neg().exp());
        return z.square().mul(new Scalar(-0.5)).sub(logStd).sub(new Scalar(HALF_LOG_TWO_PI)).sum(2);
    }

    @Override
    public Tensor entropy(ActorCritic model, Tensor means) {
        // Per step: sum over dimensions of log(std) + 0.5 * log(2 pi e); the same for every step.
        return model.logStd().add(new Scalar(HALF_LOG_TWO_PI + 0.5)).sum();
    }

    /** A standard normal draw (Box-Muller; one of the pair is discarded to stay allocation-free and simple). */
    private static double gaussian(SplittableRandom rng) {
        double u1 = 1.0 - rng.nextDouble();
        double u2 = rng.nextDouble();
        return Math.sqrt(-2.0 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
    }
}
