package dev.starling.cli;

import picocli.CommandLine.Option;

/**
 * What defines the model and the data: every role of one run must agree on these (the spec
 * hash checks it).
 */
final class ModelOptions {

    @Option(names = "--env", defaultValue = "masked-cartpole",
            description = "Environment: ${COMPLETION-CANDIDATES}. Default: ${DEFAULT-VALUE}.",
            completionCandidates = TrainCommand.EnvNames.class)
    String env;

    @Option(names = "--encoder-size", defaultValue = "64", description = "Encoder width. Default: ${DEFAULT-VALUE}.")
    int encoderSize;

    @Option(names = "--lstm-size", defaultValue = "128", description = "LSTM width. Default: ${DEFAULT-VALUE}.")
    int lstmSize;

    @Option(names = "--seed", defaultValue = "1", description = "Root seed. Default: ${DEFAULT-VALUE}.")
    long seed;
}
