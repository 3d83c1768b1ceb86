package dev.starling.common.rl;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.SplittableRandom;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** V-trace against the paper's equations written out as plain sums in double precision. */
class VTraceTest {

    private static final int T = 9;
    private static final int B = 5;

    @ParameterizedTest
    @CsvSource({"0.99,1.0,1.0,1.0", "0.9,0.5,0.8,1.0", "0.97,2.0,1.5,0.9", "1.0,1.0,1.0,0.5"})
    void matchesThePaperEquations(double discount, double rhoBar, double cBar, double lambda) {
        VTraceConfig config = new VTraceConfig(discount, rhoBar, cBar, lambda);
        Inputs in = Inputs.random(123, false);
        float[] vs = new float[T * B];
        float[] adv = new float[T * B];
        VTrace.compute(T, B, in.mu, in.pi, in.rewards, in.dones, in.values, config, vs, adv);
        for (int b = 0; b < B; b++) {
            double[] ref = referenceTargets(in, b, config);
            for (int s = 0; s < T; s++) {
                assertEquals(ref[s], vs[s * B + b], 1e-4, "v_" + s + " of row " + b);
                double ratio = Math.exp(in.pi[s * B + b] - in.mu[s * B + b]);
                double rho = Math.min(rhoBar, ratio);
                double g = in.dones[s * B + b] ? 0 : discount;
                double next = s + 1 < T ? ref[s + 1] : in.values[T * B + b];
                double refAdv = rho * (in.rewards[s * B + b] + g * next - in.values[s * B + b]);
                assertEquals(refAdv, adv[s * B + b], 1e-4, "advantage_" + s + " of row " + b);
            }
        }
    }

    @Test
    void onPolicyTargetsAreNStepBootstrappedReturns() {
        Inputs in = Inputs.random(7, true);
        double discount = 0.95;
        float[] vs = new float[T * B];
        float[] adv = new float[T * B];
        VTrace.compute(T, B, in.mu, in.pi, in.rewards, in.dones, in.values, VTraceConfig.defaults(discount), vs, adv);
        for (int b = 0; b < B; b++) {
            for (int s = 0; s < T; s++) {
                // G_s = sum_{t=s}^{T-1} (prod_{i<t} g_i) r_t + (prod_{i<T} g_i) V(x_T)
                double g = 0;
                double weight = 1;
                for (int t = s; t < T; t++) {
                    g += weight * in.rewards[t * B + b];
                    weight *= in.dones[t * B + b] ? 0 : discount;
                }
                g += weight * in.values[T * B + b];
                assertEquals(g, vs[s * B + b], 1e-4, "n-step return at step " + s + " of row " + b);
            }
        }
    }

    @Test
    void rewardScaleScalesRewardsOnly() {
        Inputs in = Inputs.random(5, false);
        float[] scaled = in.rewards.clone();
        for (int i = 0; i < scaled.length; i++) {
            scaled[i] *= 0.1f;
        }
        float[] vsA = new float[T * B];
        float[] advA = new float[T * B];
        float[] vsB = new float[T * B];
        float[] advB = new float[T * B];
        VTraceConfig c = VTraceConfig.defaults(0.99);
        VTrace.compute(T, B, in.mu, in.pi, in.rewards, 0.1, in.dones, in.values, c, vsA, advA);
        VTrace.compute(T, B, in.mu, in.pi, scaled, in.dones, in.values, c, vsB, advB);
        for (int i = 0; i < vsA.length; i++) {
            assertEquals(vsB[i], vsA[i], 1e-5);
            assertEquals(advB[i], advA[i], 1e-5);
        }
    }

    /** Equation (1) of Espeholt et al. with per-step discounts g_i = gamma (1 - done_i). */
    private static double[] referenceTargets(Inputs in, int b, VTraceConfig c) {
        double[] out = new double[T];
        for (int s = 0; s < T; s++) {
            double sum = 0;
            for (int t = s; t < T; t++) {
                double prod = 1;
                for (int i = s; i < t; i++) {
                    double ratio = Math.exp(in.pi[i * B + b] - in.mu[i * B + b]);
                    double g = in.dones[i * B + b] ? 0 : c.discount();
                    prod *= g * c.lambda() * Math.min(c.cBar(), ratio);
                }
                double ratio = Math.exp(in.pi[t * B + b] - in.mu[t * B + b]);
                double rho = Math.min(c.rhoBar(), ratio);
                double g = in.dones[t * B + b] ? 0 : c.discount();
                double delta = rho * (in.rewards[t * B + b] + g * in.values[(t + 1) * B + b] - in.values[t * B + b]);
                sum += prod * delta;
            }
            out[s] = in.values[s * B + b] + sum;
        }
        return out;
    }

    private record Inputs(float[] mu, float[] pi, float[] rewards, boolean[] dones, float[] values) {
        static Inputs random(long seed, boolean onPolicy) {
            SplittableRandom rng = new SplittableRandom(seed);
            float[] mu = new float[T * B];
            float[] pi = new float[T * B];
            float[] rewards = new float[T * B];
            boolean[] dones = new boolean[T * B];
            float[] values = new float[(T + 1) * B];
            for (int i = 0; i < T * B; i++) {
                mu[i] = (float) Math.log(0.05 + 0.9 * rng.nextDouble());
                pi[i] = onPolicy ? mu[i] : (float) Math.log(0.05 + 0.9 * rng.nextDouble());
                rewards[i] = (float) rng.nextGaussian();
                dones[i] = rng.nextDouble() < 0.2;
            }
            for (int i = 0; i < values.length; i++) {
                values[i] = (float) rng.nextGaussian();
            }
            return new Inputs(mu, pi, rewards, dones, values);
        }
    }
}
