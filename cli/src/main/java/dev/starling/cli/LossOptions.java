package dev.starling.cli;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

import dev.starling.common.rl.LossConfig;
import dev.starling.common.rl.VTraceConfig;
import picocli.CommandLine.Option;

/** The actor-critic loss: used by the learner, and by A3C actors, which compute it themselves. */
final class LossOptions {

    @Option(names = "--discount", defaultValue = "0.99", description = "Default: ${DEFAULT-VALUE}.")
    double discount;

    @Option(names = "--entropy-cost", defaultValue = "0.01", description = "Default: ${DEFAULT-VALUE}.")
    double entropyCost;

    @Option(names = "--baseline-cost", defaultValue = "0.5", description = "Default: ${DEFAULT-VALUE}.")
    double baselineCost;

    @Option(names = "--max-grad-norm", defaultValue = "40", description = "Global-norm gradient clip. Default: ${DEFAULT-VALUE}.")
    double maxGradNorm;

    @Option(names = "--reward-scale", description = "Reward multiplier. Default: the environment's (0.05 for CartPole);"
            + " 1 for the roles that do not load the environment.")
    Double rewardScale;

    @Option(names = "--policy-clip", defaultValue = "0.2",
            description = "Clip epsilon of the policy loss, PPO's clipped surrogate on V-trace advantages; 0 = IMPALA's"
                    + " plain policy gradient. Default: ${DEFAULT-VALUE}.")
    double policyClip;

    @Option(names = "--normalize-advantages", defaultValue = "false", fallbackValue = "true", arity = "0..1",
            description = "Divide advantages by their batch std (helps on-policy, hurts under policy lag). Default: ${DEFAULT-VALUE}.")
    boolean normalizeAdvantages;

    /** The loss, with {@code --reward-scale} or else {@code environmentScale}. */
    LossConfig loss(double environmentScale) {
        double scale = rewardScale != null ? rewardScale : environmentScale;
        return new LossConfig(new VTraceConfig(discount, 1.0, 1.0, 1.0), baselineCost, entropyCost, maxGradNorm, scale,
                normalizeAdvantages, policyClip);
    }

    /** The same settings as command-line arguments, for child processes, with the reward scale resolved. */
    List<String> asArgs(double environmentScale) {
        List<String> a = new ArrayList<>(List.of("--discount", Double.toString(discount),
                "--entropy-cost", Double.toString(entropyCost), "--baseline-cost", Double.toString(baselineCost),
                "--max-grad-norm", Double.toString(maxGradNorm), "--policy-clip", Double.toString(policyClip),
                "--normalize-advantages", Boolean.toString(normalizeAdvantages)));
        a.addAll(List.of("--reward-scale", Double.toString(rewardScale != null ? rewardScale : environmentScale)));
        return a;
    }

    @Override
    public String toString() {
        return String.format(Locale.ROOT, "discount %g, entropy %g, baseline %g, clip %g, policy clip %g, reward scale %s, "
                + "normalize advantages %s", discount, entropyCost, baselineCost, maxGradNorm, policyClip,
                rewardScale == null ? "env default" : rewardScale, normalizeAdvantages);
    }
}
