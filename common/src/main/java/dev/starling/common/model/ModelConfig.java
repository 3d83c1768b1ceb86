package dev.starling.common.model;

/**
 * Sizes of the LSTM actor-critic: observation -> tanh(Linear encoder) -> LSTM -> Linear head
 * producing {@code numActions} policy logits and one value.
 */
public record ModelConfig(int observationSize, int numActions, int encoderSize, int lstmSize) {

    /** Largest accepted width of any layer; keeps a peer-supplied spec from exhausting memory. */
    public static final int MAX_WIDTH = 1 << 16;

    public ModelConfig {
        requireRange("observationSize", observationSize);
        requireRange("numActions", numActions);
        requireRange("encoderSize", encoderSize);
        requireRange("lstmSize", lstmSize);
        if (numActions < 2) {
            throw new IllegalArgumentException("numActions must be at least 2, got " + numActions);
        }
    }

    /** The defaults used by {@code ./starling train}: encoder 64, LSTM 128. */
    public static ModelConfig defaults(int observationSize, int numActions) {
        return new ModelConfig(observationSize, numActions, 64, 128);
    }

    private static void requireRange(String name, int value) {
        if (value < 1 || value > MAX_WIDTH) {
            throw new IllegalArgumentException(name + " must be in [1, " + MAX_WIDTH + "], got " + value);
        }
    }
}
