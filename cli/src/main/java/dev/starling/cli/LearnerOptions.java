package dev.starling.cli;

import java.util.List;
import java.util.Locale;

import picocli.CommandLine.Option;

/** Optimisation and batching settings, shared by {@code train} and {@code learner}. */
final class LearnerOptions {

    @Option(names = "--optimizer", defaultValue = "rmsprop",
            description = "rmsprop or adam (rmsprop was steadier under policy lag). Default: ${DEFAULT-VALUE}.")
    String optimizer;

    @Option(names = "--learning-rate", defaultValue = "0.001", description = "Default: ${DEFAULT-VALUE}.")
    double learningRate;

    @Option(names = "--batch-chunks", defaultValue = "1",
            description = "Chunks per learner update (impala): B = this x K sequences; with several actors, one chunk"
                    + " from each is a common choice. Default: ${DEFAULT-VALUE}.")
    int batchChunks;

    @Option(names = "--queue-chunks", defaultValue = "1",
            description = "Learner queue capacity in chunks (impala), at least --batch-chunks; actors wait when full, so a"
                    + " shorter queue means less policy lag. Default: ${DEFAULT-VALUE}.")
    int queueChunks;

    @Option(names = "--max-policy-lag", defaultValue = "20",
            description = "Drop chunks more than this many versions old (impala). Default: ${DEFAULT-VALUE}.")
    long maxPolicyLag;

    @Option(names = "--publish-every", defaultValue = "1",
            description = "Updates between weight publishes (impala). Default: ${DEFAULT-VALUE}.")
    int publishEvery;

    @Option(names = "--device", defaultValue = "cpu", description = "Learner device: auto, cpu or cuda. Default: ${DEFAULT-VALUE}.")
    String device;

    /** The same settings as learner command-line arguments. */
    List<String> asArgs() {
        return List.of("--optimizer", optimizer, "--learning-rate", Double.toString(learningRate),
                "--batch-chunks", Integer.toString(batchChunks), "--queue-chunks", Integer.toString(queueChunks),
                "--max-policy-lag", Long.toString(maxPolicyLag), "--publish-every", Integer.toString(publishEvery),
                "--device", device);
    }

    @Override
    public String toString() {
        return String.format(Locale.ROOT, "%s lr %g, batch %d chunks, queue %d, max lag %d, publish every %d, device %s",
                optimizer, learningRate, batchChunks, queueChunks, maxPolicyLag, publishEvery, device);
    }
}
