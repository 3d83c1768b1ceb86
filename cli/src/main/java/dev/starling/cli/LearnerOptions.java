package dev.starling.cli;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

import dev.starling.common.env.Environments;
import dev.starling.common.rl.LossConfig;
import dev.starling.common.rl.VTraceConfig;
import picocli.CommandLine.Option;

/** Optimisation settings, shared by {@code train} and {@code learner}. */
final class LearnerOptions {

    @Option(names = "--optimizer", defaultValue = "rmsprop",
            description = "rmsprop or adam (rmsprop was steadier under policy lag). Default: ${DEFAULT-VALUE}.")
    String optimizer;

    @Option(names = "--learning-rate", defaultValue = "0.001", description = "Default: ${DEFAULT-VALUE}.")
    double learningRate;

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

    @Option(names = "--batch-chunks", defaultValue = "2",
            description = "Chunks per learner update (impala): B = this x K sequences. Default: ${DEFAULT-VALUE}.")
    int batchChunks;

    @Option(names = "--queue-chunks", defaultValue = "2",
            description = "Learner queue capacity in chunks (impala); actors wait when full. Default: ${DEFAULT-VALUE}.")
    int queueChunks;

    @Option(names = "--max-policy-lag", defaultValue = "20",
            description = "Drop chunks more than this many versions old (impala). Default: ${DEFAULT-VALUE}.")
    long maxPolicyLag;

    @Option(names = "--publish-every", defaultValue = "1",
            description = "Updates between weight publishes (impala). Default: ${DEFAULT-VALUE}.")
    int publishEvery;

    @Option(names = "--device", defaultValue = "cpu", description = "Learner device: auto, cpu or cuda. Default: ${DEFAULT-VALUE}.")
    String device;

    LossConfig loss(String env) {
        double scale = rewardScale != null ? rewardScale : Environments.info(env).rewardScale();
        return new LossConfig(new VTraceConfig(discount, 1.0, 1.0, 1.0), baselineCost, entropyCost, maxGradNorm, scale,
                normalizeAdvantages);
    }

    /** The same settings as learner command-line arguments. */
    List<String> asArgs() {
        List<String> a = new ArrayList<>(List.of("--optimizer", optimizer, "--learning-rate", Double.toString(learningRate),
                "--discount", Double.toString(discount), "--entropy-cost", Double.toString(entropyCost),
                "--baseline-cost", Double.toString(baselineCost), "--max-grad-norm", Double.toString(maxGradNorm),
                "--batch-chunks", Integer.toString(batchChunks), "--queue-chunks", Integer.toString(queueChunks),
                "--max-policy-lag", Long.toString(maxPolicyLag), "--publish-every", Integer.toString(publishEvery),
                "--device", device, "--normalize-advantages", Boolean.toString(normalizeAdvantages)));
        if (rewardScale != null) {
            a.addAll(List.of("--reward-scale", Double.toString(rewardScale)));
        }
        return a;
    }

    @Override
    public String toString() {
        return String.format(Locale.ROOT, "%s lr %g, discount %g, entropy %g, baseline %g, clip %g, reward scale %s, "
                + "normalize advantages %s, batch %d chunks, queue %d, max lag %d, publish every %d, device %s", optimizer, learningRate, discount,
                entropyCost, baselineCost, maxGradNorm, rewardScale == null ? "env default" : rewardScale, normalizeAdvantages, batchChunks,
                queueChunks, maxPolicyLag, publishEvery, device);
    }
}
