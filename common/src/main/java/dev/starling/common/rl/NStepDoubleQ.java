package dev.starling.common.rl;

/**
 * R2D2's learning targets: n-step double Q-learning with value rescaling, over time-major
 * {@code [T, B]} arrays in double precision. For step t of row b, with k = min(n, T - t) steps
 * ahead:
 * <pre>
 *   a*  = argmax_a Q_online(x_{t+k}, a)                       (double Q: the online net chooses)
 *   G_t = sum_{j<k} discount^j r_{t+j} + discount^k h^-1(Q_target(x_{t+k}, a*))
 *   y_t = h(G_t)
 * </pre>
 * The Q-values are what the networks output, i.e. already rescaled ({@code h(Q)}); rewards are
 * raw, times the reward scale. An episode that ends at step t+j (j < k) cuts the sum there: a
 * terminated one adds nothing more, a truncated one (a time limit) adds {@code discount^(j+1)
 * h^-1(bootstrap_{t+j})}, the target network's value of the episode's last observation (which
 * the caller computes, as the actor's auto-reset replaced that observation in the sequence).
 * Near the sequence's end k shrinks so every step gets a target from the observations at hand.
 */
public final class NStepDoubleQ {

    private NStepDoubleQ() {
    }

    /**
     * @param n                steps of real rewards before the bootstrap, >= 1
     * @param rewards          r_t, [T, B]
     * @param dones            the episode ended with step t, [T, B]
     * @param truncated        ... by a time limit (implies done), [T, B]
     * @param truncationValues where truncated: the target net's (rescaled) value of the episode's
     *                         last observation, [T, B]
     * @param onlineQ          the online net's (rescaled) Q-values of x_0 .. x_T, [T+1, B, A]
     * @param targetQ          the target net's (rescaled) Q-values of x_0 .. x_T, [T+1, B, A]
     * @param targetsOut       receives y_t, [T, B]
     */
    public static void targets(int unroll, int rows, int actions, int n, double discount, double rewardScale,
            ValueRescaling rescaling, float[] rewards, boolean[] dones, boolean[] truncated, float[] truncationValues,
            float[] onlineQ, float[] targetQ, float[] targetsOut) {
        if (n < 1) {
            throw new IllegalArgumentException("n-step targets need n >= 1, got " + n);
        }
        int steps = unroll * rows;
        if (rewards.length != steps || dones.length != steps || truncated.length != steps
                || truncationValues.length != steps || targetsOut.length != steps
                || onlineQ.length != (unroll + 1) * rows * actions || targetQ.length != onlineQ.length) {
            throw new IllegalArgumentException("n-step targets need [T, B] step arrays and [T+1, B, A] Q-values for T="
                    + unroll + ", B=" + rows + ", A=" + actions);
        }
        for (int t = 0; t < unroll; t++) {
            for (int b = 0; b < rows; b++) {
                int k = Math.min(n, unroll - t);
                double ret = 0;
                double scale = 1;
                boolean ended = false;
                for (int j = 0; j < k && !ended; j++) {
                    int i = (t + j) * rows + b;
                    ret += scale * rewardScale * rewards[i];
                    scale *= discount;
                    if (dones[i]) {
                        ended = true;
                        if (truncated[i]) {
                            ret += scale * rescaling.hInverse(truncationValues[i]);
                        }
                    }
                }
                if (!ended) {
                    ret += scale * rescaling.hInverse(doubleQ(onlineQ, targetQ, (t + k) * rows + b, actions));
                }
                targetsOut[t * rows + b] = (float) rescaling.h(ret);
            }
        }
    }

    /** Q_target(x, argmax_a Q_online(x, a)) for the observation at row {@code at} of the [T+1, B] grid. */
    static double doubleQ(float[] onlineQ, float[] targetQ, int at, int actions) {
        int base = at * actions;
        int best = 0;
        for (int a = 1; a < actions; a++) {
            if (onlineQ[base + a] > onlineQ[base + best]) {
                best = a;
            }
        }
        return targetQ[base + best];
    }
}
