package dev.starling.common.model;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.SplittableRandom;

import dev.starling.common.rl.Rollout;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.junit.jupiter.api.Test;

/** The Gaussian policy against its closed forms, on the actor's (Java) and the learner's (libtorch) side. */
class DiagonalGaussianTest {

    private static double logDensity(double a, double mean, double logStd) {
        double std = Math.exp(logStd);
        double z = (a - mean) / std;
        return -0.5 * z * z - logStd - 0.5 * Math.log(2 * Math.PI);
    }

    @Test
    void samplesHaveTheMeanAndStdAndReportTheirDensity() {
        DiagonalGaussian g = new DiagonalGaussian(2);
        float[] means = {0.5f, -1.0f};
        float[] logStd = {(float) Math.log(0.3), (float) Math.log(2.0)};
        SplittableRandom rng = new SplittableRandom(4);
        int n = 200_000;
        double[] sum = new double[2];
        double[] sq = new double[2];
        float[] out = new float[2];
        for (int i = 0; i < n; i++) {
            float lp = g.sample(means, 0, logStd, rng, null, out, 0);
            double expected = logDensity(out[0], means[0], logStd[0]) + logDensity(out[1], means[1], logStd[1]);
            assertEquals(expected, lp, 1e-4);
            for (int d = 0; d < 2; d++) {
                sum[d] += out[d];
                sq[d] += (out[d] - means[d]) * (out[d] - means[d]);
            }
        }
        // Standard errors: 0.3 / sqrt(n) = 7e-4 and 2 / sqrt(n) = 4.5e-3; 5 sigma.
        assertEquals(0.5, sum[0] / n, 0.0035);
        assertEquals(-1.0, sum[1] / n, 0.023);
        assertEquals(0.3, Math.sqrt(sq[0] / n), 0.003);
        assertEquals(2.0, Math.sqrt(sq[1] / n), 0.02);
    }

    @Test
    void theLearnersLogProbAndEntropyMatchTheClosedForm() {
        ModelConfig config = TestConfigs.continuous(3, 2, 8, 8);
        try (ActorCritic model = new ActorCritic(config, 1, Torch.device("cpu"));
                PointerScope scope = new PointerScope()) {
            model.logStd().detach().copy_(Torch.floats(new float[] {-0.7f, 0.4f}, model.device(), 2));
            Rollout r = new Rollout(2, 3, config);
            float[] means = new float[2 * 3 * 2];
            SplittableRandom rng = new SplittableRandom(2);
            for (int i = 0; i < means.length; i++) {
                means[i] = (float) rng.nextGaussian();
                r.continuousActions[i] = (float) (3 * rng.nextGaussian());
            }
            Tensor m = Torch.floats(means, model.device(), 2, 3, 2);
            float[] lp = Torch.toArray(model.distribution().logProb(model, m, r).detach().contiguous());
            for (int i = 0; i < 6; i++) {
                double expected = logDensity(r.continuousActions[2 * i], means[2 * i], -0.7)
                        + logDensity(r.continuousActions[2 * i + 1], means[2 * i + 1], 0.4);
                assertEquals(expected, lp[i], 1e-5);
            }
            double entropy = model.distribution().entropy(model, m).item_float();
            assertEquals(-0.7 + 0.4 + Math.log(2 * Math.PI * Math.E), entropy, 1e-5);
        }
    }
}
