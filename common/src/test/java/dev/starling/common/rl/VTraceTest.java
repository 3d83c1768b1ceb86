package dev.starling.common.rl;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.SplittableRandom;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * V-trace against the paper's equations written out as plain sums in double precision, with
 * terminations and truncations (which bootstrap from the value of the episode's last observation).
 */
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
        VTrace.compute(T, B, in.mu, in.pi, in.rewards, 1.0, in.dones, in.truncated, in.bootstrap, in.values, config, vs, adv);
        for (int b = 0; b < B; b++) {
            double[] ref = referenceTargets(in, b, config);
            for (int s = 0; s < T; s++) {
                assertEquals(ref[s], vs[s * B + b], 1e-4, "v_" + s + " of row " + b);
                double ratio = Math.exp(in.pi[s * B + b] - in.mu[s * B + b]);
                double rho = Math.min(rhoBar, ratio);
                int i = s * B + b;
                double next = in.dones[i] ? (in.truncated[i] ? discount * in.bootstrap[i] : 0)
                        : discount * (s + 1 < T ? ref[s + 1] : in.values[T * B + b]);
                double refAdv = rho * (in.rewards[i] + next - in.values[i]);
                assertEquals(refAdv, adv[s * B + b], 1e-4, "advantage_" + s + " of row " + b);
            }
        }
    }

    @Test
    void onPolicyTargetsAreNStepBootstrappedReturns() {
        Inputs in = Inputs.random(7, true).withoutTruncations();
        double discount = 0.95;
        float[] vs = new float[T * B];
        float[] adv = new float[T * B];
        VTrace.compute(T, B, in.mu, in.pi, in.rewards, 1.0, in.dones, in.truncated, in.bootstrap, in.values, VTraceConfig.defaults(discount), vs, adv);
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
        VTrace.compute(T, B, in.mu, in.pi, in.rewards, 0.1, in.dones, in.truncated, in.bootstrap, in.values, c, vsA, advA);
        VTrace.compute(T, B, in.mu, in.pi, scaled, 1.0, in.dones, in.truncated, in.bootstrap, in.values, c, vsB, advB);
        for (int i = 0; i < vsA.length; i++) {
            assertEquals(vsB[i], vsA[i], 1e-5);
            assertEquals(advB[i], advA[i], 1e-5);
        }
    }

    /**
     * A task whose only ending is a time limit: reward 1 on every step, truncated every L steps.
     * Its true value is 1 / (1 - gamma) everywhere, since the task itself never ends. With that
     * value function and bootstrap, the on-policy targets must equal it at every step (a
     * truncation bootstraps), advantages must be zero; cutting the return at the limit as if it
     * were terminal would give 1 + gamma + ... up to the limit instead.
     */
    @Test
    void aTimeLimitBootstrapsToTheClosedFormValue() {
        double discount = 0.9;
        float value = (float) (1 / (1 - discount));
        int limit = 4;
        float[] logp = new float[T * B];
        float[] rewards = new float[T * B];
        boolean[] dones = new boolean[T * B];
        boolean[] truncated = new boolean[T * B];
        float[] bootstrap = new float[T * B];
        float[] values = new float[(T + 1) * B];
        java.util.Arrays.fill(rewards, 1f);
        java.util.Arrays.fill(values, value);
        for (int t = 0; t < T; t++) {
            for (int b = 0; b < B; b++) {
                // Row b starts b steps into its episode, so the limit falls on different steps.
                boolean end = (t + b + 1) % limit == 0;
                dones[t * B + b] = end;
                truncated[t * B + b] = end;
                bootstrap[t * B + b] = end ? value : 0f;
            }
        }
        float[] vs = new float[T * B];
        float[] adv = new float[T * B];
        VTrace.compute(T, B, logp, logp, rewards, 1.0, dones, truncated, bootstrap, values,
                VTraceConfig.defaults(discount), vs, adv);
        for (int i = 0; i < T * B; i++) {
            assertEquals(value, vs[i], 1e-4, "target at " + i);
            assertEquals(0, adv[i], 1e-4, "advantage at " + i);
        }
        // The same ends treated as terminations cut the return: the last step's target is its reward.
        boolean[] none = new boolean[T * B];
        VTrace.compute(T, B, logp, logp, rewards, 1.0, dones, none, bootstrap, values,
                VTraceConfig.defaults(discount), vs, adv);
        int lastStepOfRow0 = (limit - 1) * B;
        assertEquals(1.0, vs[lastStepOfRow0], 1e-6);
    }

    /**
     * Equation (1) of Espeholt et al. with per-step discounts g_i = gamma (1 - done_i) in the
     * traces, and the one-step term of a truncated step bootstrapping from its bootstrap value.
     */
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
                int j = t * B + b;
                double ratio = Math.exp(in.pi[j] - in.mu[j]);
                double rho = Math.min(c.rhoBar(), ratio);
                double next = in.dones[j] ? (in.truncated[j] ? c.discount() * in.bootstrap[j] : 0)
                        : c.discount() * in.values[(t + 1) * B + b];
                double delta = rho * (in.rewards[j] + next - in.values[j]);
                sum += prod * delta;
            }
            out[s] = in.values[s * B + b] + sum;
        }
        return out;
    }

    private record Inputs(float[] mu, float[] pi, float[] rewards, boolean[] dones, boolean[] truncated,
            float[] bootstrap, float[] values) {

        Inputs withoutTruncations() {
            return new Inputs(mu, pi, rewards, dones, new boolean[truncated.length], bootstrap, values);
        }

        static Inputs random(long seed, boolean onPolicy) {
            SplittableRandom rng = new SplittableRandom(seed);
            float[] mu = new float[T * B];
            float[] pi = new float[T * B];
            float[] rewards = new float[T * B];
            boolean[] dones = new boolean[T * B];
            boolean[] truncated = new boolean[T * B];
            float[] bootstrap = new float[T * B];
            float[] values = new float[(T + 1) * B];
            for (int i = 0; i < T * B; i++) {
                mu[i] = (float) Math.log(0.05 + 0.9 * rng.nextDouble());
                pi[i] = onPolicy ? mu[i] : (float) Math.log(0.05 + 0.9 * rng.nextDouble());
                rewards[i] = (float) rng.nextGaussian();
                dones[i] = rng.nextDouble() < 0.2;
                truncated[i] = dones[i] && rng.nextBoolean();
                bootstrap[i] = truncated[i] ? (float) rng.nextGaussian() : 0f;
            }
            for (int i = 0; i < values.length; i++) {
                values[i] = (float) rng.nextGaussian();
            }
            return new Inputs(mu, pi, rewards, dones, truncated, bootstrap, values);
        }
    }
}
