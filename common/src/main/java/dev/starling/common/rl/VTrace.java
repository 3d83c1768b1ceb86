package dev.starling.common.rl;

/**
 * V-trace off-policy correction (Espeholt et al. 2018), computed backwards in double
 * precision over time-major {@code [T, B]} arrays:
 * <pre>
 *   rho_t = min(rhoBar, pi/mu),  c_t = lambda * min(cBar, pi/mu)
 *   v_t - V(x_t) = rho_t (r_t + discount V'_{t+1} - V(x_t)) + discount c_t (v_{t+1} - V(x_{t+1})) [not after a done]
 *   advantage_t = rho_t (r_t + discount v'_{t+1} - V(x_t))
 * </pre>
 * where, inside an episode, {@code V'_{t+1} = V(x_{t+1})} and {@code v'_{t+1} = v_{t+1}}
 * ({@code v_T = V(x_T)}); after a terminated step both are 0; after a truncated step (a time
 * limit, not a terminal state) both are the bootstrap value of the episode's last observation,
 * and no trace crosses into the next episode. With pi == mu, rhoBar, cBar >= 1 and lambda = 1,
 * v_t is the n-step bootstrapped return.
 */
public final class VTrace {

    private VTrace() {
    }

    /**
     * @param behaviourLogProb log mu(a_t|x_t), [T, B]
     * @param targetLogProb    log pi(a_t|x_t), [T, B]
     * @param rewardScale      every reward is multiplied by it
     * @param dones            the episode ended at step t, [T, B]
     * @param truncated        ... by truncation (implies done), [T, B]
     * @param bootstrapValues  where truncated: the value to bootstrap from, [T, B]
     * @param values           V(x_t) for t = 0..T, [T+1, B]
     * @param vsOut            receives the value targets v_t, [T, B]
     * @param advantagesOut    receives the policy-gradient advantages, [T, B]
     */
    public static void compute(int unroll, int rows, float[] behaviourLogProb, float[] targetLogProb,
            float[] rewards, double rewardScale, boolean[] dones, boolean[] truncated, float[] bootstrapValues,
            float[] values, VTraceConfig config, float[] vsOut, float[] advantagesOut) {
        compute(unroll, rows, behaviourLogProb, targetLogProb, rewards, rewardScale, dones, truncated, bootstrapValues,
                values, config, vsOut, advantagesOut, true);
    }

    /**
     * As above; with {@code weightByRho} false the advantages are {@code r_t + discount v'_{t+1} -
     * V(x_t)} without the {@code rho_t} factor, for a policy loss that applies the ratio itself
     * (the clipped surrogate).
     */
    public static void compute(int unroll, int rows, float[] behaviourLogProb, float[] targetLogProb,
            float[] rewards, double rewardScale, boolean[] dones, boolean[] truncated, float[] bootstrapValues,
            float[] values, VTraceConfig config, float[] vsOut, float[] advantagesOut, boolean weightByRho) {
        double discount = config.discount();
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
                double v = values[i];
                double reward = rewards[i] * rewardScale;
                double nextValue;
                double nextTarget;
                double carry;
                if (dones[i]) {
                    nextValue = truncated[i] ? bootstrapValues[i] : 0.0;
                    nextTarget = nextValue;
                    carry = 0.0;
                } else {
                    nextValue = values[i + rows];
                    nextTarget = nextVs[b];
                    carry = discount * c * acc[b];
                }
                acc[b] = rho * (reward + discount * nextValue - v) + carry;
                double vs = v + acc[b];
                advantagesOut[i] = (float) ((weightByRho ? rho : 1.0) * (reward + discount * nextTarget - v));
                vsOut[i] = (float) vs;
                nextVs[b] = vs;
            }
        }
    }
}
