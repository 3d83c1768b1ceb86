package dev.starling.common.rl;

/**
 * The actor-critic loss and its clipping. Every term is a mean over the T x B samples, so the
 * learning rate does not depend on the batch size:
 * {@code loss = pg + baselineCost * 0.5 * mean((v - V)^2) - entropyCost * mean(H(pi))}.
 *
 * @param rewardScale         rewards are multiplied by this before V-trace (Sample Factory's
 *                            reward_scale): keeps value targets near unit scale
 * @param normalizeAdvantages divide the policy-gradient advantages by their batch standard
 *                            deviation (not centred: see TrainStep#rescale). Off by default: the
 *                            larger policy steps it gives made training collapse under a
 *                            policy lag of 4 versions, where plain advantages still learned
 *                            (measured on masked CartPole)
 * @param policyClip          epsilon of the clipped surrogate policy loss (PPO's, on V-trace
 *                            advantages, as Sample Factory's APPO): 0.2 by default; 0 selects
 *                            IMPALA's policy gradient with the truncated ratio, which diverges on
 *                            continuous actions under policy lag (see TrainStep#clippedSurrogate)
 */
public record LossConfig(VTraceConfig vtrace, double baselineCost, double entropyCost, double maxGradNorm,
        double rewardScale, boolean normalizeAdvantages, double policyClip) {

    public LossConfig {
        if (!(baselineCost >= 0) || Double.isInfinite(baselineCost)) {
            throw new IllegalArgumentException("baselineCost must be finite and >= 0, got " + baselineCost);
        }
        if (!(entropyCost >= 0) || Double.isInfinite(entropyCost)) {
            throw new IllegalArgumentException("entropyCost must be finite and >= 0, got " + entropyCost);
        }
        if (!(maxGradNorm > 0)) {
            throw new IllegalArgumentException("maxGradNorm must be > 0, got " + maxGradNorm);
        }
        if (!(rewardScale > 0) || Double.isInfinite(rewardScale)) {
            throw new IllegalArgumentException("rewardScale must be finite and > 0, got " + rewardScale);
        }
        if (!(policyClip >= 0 && policyClip < 1)) {
            throw new IllegalArgumentException("policyClip must be in [0, 1) (0 = no clipped surrogate), got "
                    + policyClip);
        }
    }

    /** The default clip of the surrogate policy loss. */
    public static final double DEFAULT_POLICY_CLIP = 0.2;

    public LossConfig withPolicyClip(double clip) {
        return new LossConfig(vtrace, baselineCost, entropyCost, maxGradNorm, rewardScale, normalizeAdvantages, clip);
    }

    public LossConfig withRewardScale(double scale) {
        return new LossConfig(vtrace, baselineCost, entropyCost, maxGradNorm, scale, normalizeAdvantages, policyClip);
    }

    public static LossConfig defaults() {
        return new LossConfig(VTraceConfig.defaults(0.99), 0.5, 0.01, 40.0, 1.0, false, DEFAULT_POLICY_CLIP);
    }
}
