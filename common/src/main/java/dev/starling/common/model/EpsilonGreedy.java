package dev.starling.common.model;

import java.util.SplittableRandom;

import dev.starling.common.rl.Rollout;
import org.bytedeco.pytorch.Tensor;

/**
 * How a Q-network acts (r2d2): the action of the highest Q-value, or with probability epsilon a
 * uniformly random one. Each environment k has its own epsilon, {@code epsilons[k]} (Ape-X's
 * spread, {@link #apeX}); no epsilons is the greedy policy (evaluation, the policy API). The
 * outputs read are the head's first n, the Q-values ({@link ModelConfig.Head#DUELING_Q}).
 *
 * <p>A Q-network learns by temporal differences, never by a policy gradient: {@link #logProb} and
 * {@link #entropy}, which only the actor-critic losses call, refuse.
 */
public record EpsilonGreedy(int n, float[] epsilons) implements PolicyDistribution {

    /** Ape-X's base epsilon and exponent: eps_i = 0.4^(1 + 7 i / (N - 1)). */
    public static final double APE_X_BASE = 0.4;
    public static final double APE_X_ALPHA = 7;

    public EpsilonGreedy {
        if (n < 1) {
            throw new IllegalArgumentException("need at least one action, got " + n);
        }
        epsilons = epsilons.clone();
        for (float e : epsilons) {
            if (!(e >= 0 && e <= 1)) {
                throw new IllegalArgumentException("an epsilon must be in [0, 1], got " + e);
            }
        }
    }

    /** A copy of the epsilons, one per environment (none when greedy). */
    @Override
    public float[] epsilons() {
        return epsilons.clone();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof EpsilonGreedy e && e.n == n && java.util.Arrays.equals(e.epsilons, epsilons);
    }

    @Override
    public int hashCode() {
        return 31 * n + java.util.Arrays.hashCode(epsilons);
    }

    @Override
    public String toString() {
        return "EpsilonGreedy[n=" + n + ", epsilons=" + epsilons.length + " from "
                + (epsilons.length == 0 ? 0 : epsilons[0]) + " to " + (epsilons.length == 0 ? 0 : epsilons[epsilons.length - 1])
                + "]";
    }

    /** Always the action of the highest Q-value. */
    public static EpsilonGreedy greedy(int n) {
        return new EpsilonGreedy(n, new float[0]);
    }

    /**
     * Ape-X's exploration rates for {@code count} of {@code total} explorers, starting at explorer
     * {@code first}: {@code base^(1 + alpha i / (total - 1))} for i = first .. first + count - 1
     * (a lone explorer gets {@code base}).
     */
    public static float[] apeX(int first, int count, int total, double base, double alpha) {
        if (first < 0 || count < 1 || first + count > total) {
            throw new IllegalArgumentException("explorers " + first + ".." + (first + count - 1) + " are not within 0.."
                    + (total - 1));
        }
        float[] eps = new float[count];
        for (int i = 0; i < count; i++) {
            double exponent = total == 1 ? 1 : 1 + alpha * (first + i) / (total - 1);
            eps[i] = (float) Math.pow(base, exponent);
        }
        return eps;
    }

    /** Environment k's epsilon (0 when greedy). A second lane of environments reuses the first's. */
    public float epsilon(int k) {
        return epsilons.length == 0 ? 0f : epsilons[k % epsilons.length];
    }

    @Override
    public float sample(float[] q, int offset, float[] logStd, SplittableRandom rng, int[] discreteOut,
            float[] continuousOut, int k) {
        int greedy = argmax(q, offset);
        float eps = epsilon(k);
        int chosen = eps > 0 && rng.nextDouble() < eps ? rng.nextInt(n) : greedy;
        discreteOut[k] = chosen;
        return (float) Math.log(eps / n + (chosen == greedy ? 1 - eps : 0));
    }

    @Override
    public void mode(float[] q, int offset, int[] discreteOut, float[] continuousOut, int k) {
        discreteOut[k] = argmax(q, offset);
    }

    private int argmax(float[] q, int offset) {
        int best = 0;
        for (int j = 1; j < n; j++) {
            if (q[offset + j] > q[offset + best]) {
                best = j;
            }
        }
        return best;
    }

    @Override
    public Tensor logProb(ActorCritic model, Tensor policyOutputs, Rollout rollout) {
        throw new UnsupportedOperationException("a Q-network (r2d2) learns by temporal differences: it has no"
                + " policy-gradient loss; train it with --mode r2d2");
    }

    @Override
    public Tensor entropy(ActorCritic model, Tensor policyOutputs) {
        throw new UnsupportedOperationException("a Q-network (r2d2) learns by temporal differences: it has no"
                + " entropy bonus; train it with --mode r2d2");
    }
}
