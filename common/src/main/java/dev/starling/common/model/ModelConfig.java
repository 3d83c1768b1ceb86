package dev.starling.common.model;

import java.util.List;
import java.util.Objects;

import dev.starling.env.ActionSpace;
import dev.starling.env.Box;
import dev.starling.env.Discrete;
import dev.starling.env.Image;
import dev.starling.env.ObservationSpace;

/**
 * The LSTM actor-critic a run trains, built from the environment's spaces and an architecture:
 * observation -> encoder -> single-layer LSTM of {@code lstmSize} -> a linear head producing the
 * policy's parameters (categorical logits for a {@link Discrete} action space, Gaussian means for
 * a {@link Box} one, whose log standard deviations are a learned vector) and one value. The
 * encoder is tanh layers of {@code encoderSizes}; for an {@link Image} observation the
 * {@code convLayers} (ReLU, no padding) come first, on pixels scaled to [0, 1], and their
 * flattened output feeds the tanh layers. A box observation has no conv layers.
 */
public record ModelConfig(ObservationSpace observationSpace, ActionSpace actionSpace, List<ConvLayer> convLayers,
        List<Integer> encoderSizes, int lstmSize, Head head) {

    /** What the head's {@link #policyOutputs()} + 1 outputs mean. */
    public enum Head {
        /** The policy's parameters, then the state value (impala, a3c, sync). */
        ACTOR_CRITIC,
        /**
         * A dueling Q-network (r2d2; discrete actions only): Q(x, a) = V(x) + A(x, a) - mean A(x, .)
         * for each action, then max_a Q(x, a), the greedy policy's value (what a truncated
         * episode bootstraps from). Greedy acting takes the argmax of the first outputs, as the
         * categorical policy's mode does.
         */
        DUELING_Q
    }

    /**
     * One convolution of the image encoder.
     *
     * @param channels output channels
     * @param kernel square kernel size
     * @param stride stride in both directions
     */
    public record ConvLayer(int channels, int kernel, int stride) {

        public ConvLayer {
            if (channels < 1 || channels > 1024 || kernel < 1 || kernel > 16 || stride < 1 || stride > 16) {
                throw new IllegalArgumentException("a conv layer needs 1-1024 channels, a kernel of 1-16 and a stride"
                        + " of 1-16, got " + channels + ":" + kernel + ":" + stride);
            }
        }

        /** CHANNELS:KERNEL:STRIDE, such as {@code 16:3:2}. */
        public String describe() {
            return channels + ":" + kernel + ":" + stride;
        }

        /**
         * Reads {@link #describe()}'s form, {@code CHANNELS:KERNEL:STRIDE}.
         *
         * @throws IllegalArgumentException naming the text, if it is not three numbers in range
         */
        public static ConvLayer parse(String text) {
            String[] parts = text.strip().split(":");
            try {
                if (parts.length == 3) {
                    return new ConvLayer(Integer.parseInt(parts[0]), Integer.parseInt(parts[1]),
                            Integer.parseInt(parts[2]));
                }
            } catch (NumberFormatException e) {
                // Reported below with the expected form.
            }
            throw new IllegalArgumentException("conv layer '" + text + "' is not CHANNELS:KERNEL:STRIDE, such as 16:3:2");
        }
    }

    /** Largest accepted width of any layer; keeps a peer-supplied spec from exhausting memory. */
    public static final int MAX_WIDTH = 1 << 16;
    /** Most encoder layers accepted. */
    public static final int MAX_ENCODER_LAYERS = 8;
    /** Default encoder: one tanh layer of 64. */
    public static final List<Integer> DEFAULT_ENCODER_SIZES = List.of(64);
    /** Default image encoder before the tanh layers: three 3x3 convolutions of stride 2 (32x32 -> 3x3). */
    public static final List<ConvLayer> DEFAULT_CONV_LAYERS = List.of(new ConvLayer(16, 3, 2), new ConvLayer(32, 3, 2),
            new ConvLayer(32, 3, 2));
    /** Most conv layers accepted. */
    public static final int MAX_CONV_LAYERS = 8;
    public static final int DEFAULT_LSTM_SIZE = 128;

    public ModelConfig {
        Objects.requireNonNull(observationSpace, "observationSpace");
        Objects.requireNonNull(actionSpace, "actionSpace");
        Objects.requireNonNull(head, "head");
        if (head == Head.DUELING_Q && !(actionSpace instanceof Discrete)) {
            throw new IllegalArgumentException("a Q-network (r2d2) needs a discrete action space, got "
                    + actionSpace.describe());
        }
        convLayers = List.copyOf(Objects.requireNonNull(convLayers, "convLayers"));
        if (observationSpace instanceof Image image) {
            if (convLayers.isEmpty() || convLayers.size() > MAX_CONV_LAYERS) {
                throw new IllegalArgumentException("an image observation " + image.describe() + " needs 1 to "
                        + MAX_CONV_LAYERS + " conv layers, got " + convLayers.size());
            }
            int features = convOutputSize(image, convLayers);
            if (features > MAX_WIDTH) {
                throw new IllegalArgumentException("the conv layers " + convLayers.stream().map(ConvLayer::describe)
                        .toList() + " leave " + features + " values of " + image.describe() + "; at most " + MAX_WIDTH
                        + " are accepted: use more stride");
            }
        } else if (!convLayers.isEmpty()) {
            throw new IllegalArgumentException("conv layers encode image observations; " + observationSpace.describe()
                    + " is not an image");
        }
        if (observationSpace.size() > MAX_WIDTH) {
            throw new IllegalArgumentException("observation space " + observationSpace.describe() + " has "
                    + observationSpace.size() + " values; at most " + MAX_WIDTH + " are accepted");
        }
        if (actionSpace instanceof Box box && !box.isBounded()) {
            throw new IllegalArgumentException("action space " + box.describe() + " needs finite bounds");
        }
        if (actionSpace instanceof Discrete d && d.n() > MAX_WIDTH || actionSpace.size() > MAX_WIDTH) {
            throw new IllegalArgumentException("action space " + actionSpace.describe() + " is wider than " + MAX_WIDTH);
        }
        Objects.requireNonNull(encoderSizes, "encoderSizes");
        encoderSizes = List.copyOf(encoderSizes);
        if (encoderSizes.isEmpty() || encoderSizes.size() > MAX_ENCODER_LAYERS) {
            throw new IllegalArgumentException("the encoder needs 1 to " + MAX_ENCODER_LAYERS + " layers, got "
                    + encoderSizes.size());
        }
        for (int w : encoderSizes) {
            requireRange("encoder width", w);
        }
        requireRange("lstmSize", lstmSize);
    }

    /** An actor-critic model of these layers. */
    public ModelConfig(ObservationSpace observationSpace, ActionSpace actionSpace, List<ConvLayer> convLayers,
            List<Integer> encoderSizes, int lstmSize) {
        this(observationSpace, actionSpace, convLayers, encoderSizes, lstmSize, Head.ACTOR_CRITIC);
    }

    /**
     * A model of these widths; an image observation gets the default conv layers
     * ({@link #DEFAULT_CONV_LAYERS}), a box none.
     */
    public ModelConfig(ObservationSpace observationSpace, ActionSpace actionSpace, List<Integer> encoderSizes,
            int lstmSize) {
        this(observationSpace, actionSpace, observationSpace instanceof Image ? DEFAULT_CONV_LAYERS : List.of(),
                encoderSizes, lstmSize);
    }

    /**
     * A model of these layers, where no conv layers means the default for the observation: an
     * image gets {@link #DEFAULT_CONV_LAYERS}, a box none (what a command line without
     * {@code --conv-layers} asks for).
     */
    public static ModelConfig of(ObservationSpace observationSpace, ActionSpace actionSpace, List<ConvLayer> convLayers,
            List<Integer> encoderSizes, int lstmSize) {
        return convLayers.isEmpty() ? new ModelConfig(observationSpace, actionSpace, encoderSizes, lstmSize)
                : new ModelConfig(observationSpace, actionSpace, convLayers, encoderSizes, lstmSize);
    }

    /** The default architecture (encoder 64, LSTM 128; images: the default conv layers first) for these spaces. */
    public static ModelConfig defaults(ObservationSpace observationSpace, ActionSpace actionSpace) {
        return new ModelConfig(observationSpace, actionSpace, DEFAULT_ENCODER_SIZES, DEFAULT_LSTM_SIZE);
    }

    /** Width of what the tanh layers read: the observation's size, or the flattened conv output. */
    public int encoderInputSize() {
        return observationSpace instanceof Image image ? convOutputSize(image, convLayers) : observationSpace.size();
    }

    /**
     * Values the conv layers output for {@code image}: channels x height x width after each layer
     * takes {@code (size - kernel) / stride + 1}.
     *
     * @throws IllegalArgumentException if a layer's kernel is larger than what reaches it
     */
    private static int convOutputSize(Image image, List<ConvLayer> layers) {
        int h = image.height();
        int w = image.width();
        for (ConvLayer l : layers) {
            if (l.kernel() > h || l.kernel() > w) {
                throw new IllegalArgumentException("conv layer " + l.describe() + " has a kernel larger than its "
                        + h + "x" + w + " input (of " + image.describe() + ")");
            }
            h = (h - l.kernel()) / l.stride() + 1;
            w = (w - l.kernel()) / l.stride() + 1;
        }
        return layers.get(layers.size() - 1).channels() * h * w;
    }

    /** Values in one observation (floats, or pixels for an image). */
    public int observationSize() {
        return observationSpace.size();
    }

    /** True if observations are images: uint8 pixels from the environment to the model. */
    public boolean pixels() {
        return observationSpace instanceof Image;
    }

    /** Width of the encoder's last layer: the LSTM's input. */
    public int encoderSize() {
        return encoderSizes.get(encoderSizes.size() - 1);
    }

    /** Values the policy head outputs per step: the logits, or the Gaussian means. */
    public int policyOutputs() {
        return actionSpace instanceof Discrete d ? d.n() : actionSpace.size();
    }

    /** True for a continuous (Gaussian) policy. */
    public boolean continuous() {
        return actionSpace instanceof Box;
    }

    /** Values in one action as the rollout stores it: 1 for discrete, the box's size otherwise. */
    public int actionSize() {
        return actionSpace.size();
    }

    /** The same model with another architecture (the same conv layers). */
    public ModelConfig withArchitecture(List<Integer> encoder, int lstm) {
        return new ModelConfig(observationSpace, actionSpace, convLayers, encoder, lstm, head);
    }

    /** The same layers with another head. */
    public ModelConfig withHead(Head other) {
        return new ModelConfig(observationSpace, actionSpace, convLayers, encoderSizes, lstmSize, other);
    }

    /**
     * "obs box(2), actions discrete(2), encoder [64], lstm 128"; images add "conv [16:3:2, ...]", a
     * Q-network ", head dueling-q".
     */
    public String describe() {
        return "obs " + observationSpace.describe() + ", actions " + actionSpace.describe()
                + (convLayers.isEmpty() ? "" : ", conv " + convLayers.stream().map(ConvLayer::describe).toList())
                + ", encoder " + encoderSizes + ", lstm " + lstmSize
                + (head == Head.ACTOR_CRITIC ? "" : ", head dueling-q");
    }

    private static void requireRange(String name, int value) {
        if (value < 1 || value > MAX_WIDTH) {
            throw new IllegalArgumentException(name + " must be in [1, " + MAX_WIDTH + "], got " + value);
        }
    }
}
