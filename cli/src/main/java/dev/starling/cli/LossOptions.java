package dev.starling.cli;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

import dev.starling.common.env.Environments;
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

    @Option(names = "--reward-scale", description = "Reward multiplier. Default: the environment's (0.05 for CartPole).")
    Double rewardScale;

    @Option(names = "--normalize-advantages", defaultValue = "false", fallbackValue = "true", arity = "0..1",
            description = "Divide advantages by their batch std (helps on-policy, hurts under policy lag). Default: ${DEFAULT-VALUE}.")
    boolean normalizeAdvantages;

    LossConfig loss(String env) {
        double scale = rewardScale != null ? rewardScale : Environments.info(env).rewardScale();
        return new LossConfig(new VTraceConfig(discount, 1.0, 1.0, 1.0), baselineCost, entropyCost, maxGradNorm, scale,
                normalizeAdvantages);
    }

    /** The same settings as command-line arguments, for child processes. */
    List<String> asArgs() {
        List<String> a = new ArrayList<>(List.of("--discount", Double.toString(discount),
                "--entropy-cost", Double.toString(entropyCost), "--baseline-cost", Double.toString(baselineCost),
                "--max-grad-norm", Double.toString(maxGradNorm),
                "--normalize-advantages", Boolean.toString(normalizeAdvantages)));
        if (rewardScale != null) {
            a.addAll(List.of("--reward-scale", Double.toString(rewardScale)));
        }
        return a;
    }

    @Override
    public String toString() {
        return String.format(Locale.ROOT, "discount %g, entropy %g, baseline %g, clip %g, reward scale %s, "
                + "normalize advantages %s", discount, entropyCost, baselineCost, maxGradNorm,
                rewardScale == null ? "env default" : rewardScale, normalizeAdvantages);
    }
}
