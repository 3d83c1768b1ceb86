package dev.starling.cli;

import java.util.ArrayList;
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

    @Option(names = "--conv-layers", split = ",", paramLabel = "C:K:S",
            description = "Conv layers of the image encoder, each CHANNELS:KERNEL:STRIDE (ReLU, no padding), comma-separated;"
                    + " images only. Default for an image: 16:3:2,32:3:2,32:3:2 (a 32x32 frame becomes 32 x 3 x 3).")
    List<String> convLayers = new ArrayList<>();

    @Option(names = {"--encoder-sizes", "--encoder-size"}, defaultValue = "64", split = ",", paramLabel = "WIDTH",
            description = "Widths of the MLP encoder's tanh layers, comma-separated (e.g. 128,64). Default: ${DEFAULT-VALUE}.")
    List<Integer> encoderSizes;

    @Option(names = "--lstm-size", defaultValue = "128", description = "LSTM width. Default: ${DEFAULT-VALUE}.")
    int lstmSize;

    @Option(names = "--seed", defaultValue = "1", description = "Root seed. Default: ${DEFAULT-VALUE}.")
    long seed;

    /** The model of this architecture for these spaces; throws {@link IllegalArgumentException} naming what is wrong. */
    ModelConfig config(ObservationSpace observation, ActionSpace action) {
        return ModelConfig.of(observation, action, convLayers(), encoderSizes, lstmSize);
    }

    /** The conv layers given; empty: the default for the observation. */
    List<ModelConfig.ConvLayer> convLayers() {
        try {
            return convLayers.stream().map(ModelConfig.ConvLayer::parse).toList();
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("--conv-layers: " + e.getMessage(), e);
        }
    }

    /** The same settings as command-line arguments, for child processes. */
    List<String> asArgs() {
        List<String> args = new ArrayList<>(List.of("--encoder-sizes",
                String.join(",", encoderSizes.stream().map(String::valueOf).toList()), "--lstm-size",
                Integer.toString(lstmSize)));
        if (!convLayers.isEmpty()) {
            args.addAll(List.of("--conv-layers", String.join(",", convLayers)));
        }
        return args;
    }
}
