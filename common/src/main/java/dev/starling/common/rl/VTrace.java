package dev.starling.common.rl;

/**
 * V-trace off-policy correction (Espeholt et al. 2018), computed backwards in double
 * precision over time-major {@code [T, B]} arrays:
 * <pre>
 *   rho_t = min(rhoBar, pi/mu),  c_t = lambda * min(cBar, pi/mu),  g_t = discount * (1 - done_t)
 *   v_t - V(x_t) = rho_t (r_t + g_t V(x_{t+1}) - V(x_t)) + g_t c_t (v_{t+1} - V(x_{t+1})),  v_T = V(x_T)
 *   advantage_t = rho_t (r_t + g_t v_{t+1} - V(x_t))
 * </pre>
 * With pi == mu, rhoBar, cBar >= 1 and lambda = 1, v_t is the n-step bootstrapped return.
 */
public final class VTrace {

    private VTrace() {
    }

    /**
     * @param behaviourLogProb log mu(a_t|x_t), [T, B]
     * @param targetLogProb    log pi(a_t|x_t), [T, B]
     * @param values           V(x_t) for t = 0..T, [T+1, B]
     * @param vsOut            receives the value targets v_t, [T, B]
     * @param advantagesOut    receives the policy-gradient advantages, [T, B]
     */
    public static void compute(int unroll, int rows, float[] behaviourLogProb, float[] targetLogProb,
            float[] rewards, boolean[] dones, float[] values, VTraceConfig config,
            float[] vsOut, float[] advantagesOut) {
        compute(unroll, rows, behaviourLogProb, targetLogProb, rewards, 1.0, dones, values, config, vsOut, advantagesOut);
    }

    /** As above, with every reward multiplied by {@code rewardScale}. */
    public static void compute(int unroll, int rows, float[] behaviourLogProb, float[] targetLogProb,
            float[] rewards, double rewardScale, boolean[] dones, float[] values, VTraceConfig config,
            float[] vsOut, float[] advantagesOut) {
        double[] acc = new double[rows];
        double[] nextVs = new double[rows];
        for (int b = 0; b < rows; b++) {
            nextVs[b] = values[unroll * rows + b];
        }
        for (int t = unroll - 1; t >= 0; t--) {
            for (int b = 0; b < rows; b++) {
                int i = t * rows + b;
                double ratio = Math.exp((double) targetLogProb[i] - behaviourLogProb[i]);
                double rho = Math.min(config.rhoBar(), ratio);
                double c = config.lambda() * Math.min(config.cBar(), ratio);
                double g = dones[i] ? 0.0 : config.discount();
                double v = values[i];
                double vNext = values[i + rows];
                double reward = rewards[i] * rewardScale;
                double delta = rho * (reward + g * vNext - v);
                acc[b] = delta + g * c * acc[b];
                double vs = v + acc[b];
                advantagesOut[i] = (float) (rho * (reward + g * nextVs[b] - v));
                vsOut[i] = (float) vs;
                nextVs[b] = vs;
            }
        }
    }
}
