package dev.starling.cli;

import java.util.List;

import dev.starling.common.model.ModelConfig;
import dev.starling.env.ActionSpace;
import dev.starling.env.ObservationSpace;
import picocli.CommandLine.Option;

/**
 * The architecture and the seed: every role of one run must agree on the architecture (the spec
 * hash checks it, together with the spaces).
 */
final class ModelOptions {

    @Option(names = {"--encoder-sizes", "--encoder-size"}, defaultValue = "64", split = ",", paramLabel = "WIDTH",
            description = "Widths of the MLP encoder's tanh layers, comma-separated (e.g. 128,64). Default: ${DEFAULT-VALUE}.")
    List<Integer> encoderSizes;

    @Option(names = "--lstm-size", defaultValue = "128", description = "LSTM width. Default: ${DEFAULT-VALUE}.")
    int lstmSize;

    @Option(names = "--seed", defaultValue = "1", description = "Root seed. Default: ${DEFAULT-VALUE}.")
    long seed;

    /** The model of this architecture for these spaces; throws {@link IllegalArgumentException} naming what is wrong. */
    ModelConfig config(ObservationSpace observation, ActionSpace action) {
        return new ModelConfig(observation, action, encoderSizes, lstmSize);
    }

    /** The same settings as command-line arguments, for child processes. */
    List<String> asArgs() {
        return List.of("--encoder-sizes", String.join(",", encoderSizes.stream().map(String::valueOf).toList()),
                "--lstm-size", Integer.toString(lstmSize));
    }
}
