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
 * observation -> MLP encoder (tanh layers of {@code encoderSizes}) -> single-layer LSTM of
 * {@code lstmSize} -> a linear head producing the policy's parameters (categorical logits for a
 * {@link Discrete} action space, Gaussian means for a {@link Box} one, whose log standard
 * deviations are a learned vector) and one value.
 */
public record ModelConfig(ObservationSpace observationSpace, ActionSpace actionSpace, List<Integer> encoderSizes,
        int lstmSize) {

    /** Largest accepted width of any layer; keeps a peer-supplied spec from exhausting memory. */
    public static final int MAX_WIDTH = 1 << 16;
    /** Most encoder layers accepted. */
    public static final int MAX_ENCODER_LAYERS = 8;
    /** Default encoder: one tanh layer of 64. */
    public static final List<Integer> DEFAULT_ENCODER_SIZES = List.of(64);
    public static final int DEFAULT_LSTM_SIZE = 128;

    public ModelConfig {
        Objects.requireNonNull(observationSpace, "observationSpace");
        Objects.requireNonNull(actionSpace, "actionSpace");
        if (observationSpace instanceof Image image) {
            throw new IllegalArgumentException("observation space " + image.describe() + ": image observations need"
                    + " the convolutional encoder, which is not built yet; use a box observation");
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

    /** The default architecture (encoder 64, LSTM 128) for these spaces. */
    public static ModelConfig defaults(ObservationSpace observationSpace, ActionSpace actionSpace) {
        return new ModelConfig(observationSpace, actionSpace, DEFAULT_ENCODER_SIZES, DEFAULT_LSTM_SIZE);
    }

    /** Floats in one observation. */
    public int observationSize() {
        return observationSpace.size();
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

    /** The same model with another architecture. */
    public ModelConfig withArchitecture(List<Integer> encoder, int lstm) {
        return new ModelConfig(observationSpace, actionSpace, encoder, lstm);
    }

    /** "obs box(2), actions discrete(2), encoder [64], lstm 128". */
    public String describe() {
        return "obs " + observationSpace.describe() + ", actions " + actionSpace.describe() + ", encoder "
                + encoderSizes + ", lstm " + lstmSize;
    }

    private static void requireRange(String name, int value) {
        if (value < 1 || value > MAX_WIDTH) {
            throw new IllegalArgumentException(name + " must be in [1, " + MAX_WIDTH + "], got " + value);
        }
    }
}
