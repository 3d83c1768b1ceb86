package dev.starling.common.rl;

import java.nio.file.Path;

/**
 * R2D2's settings (Kapturowski et al., ICLR 2019), each with the paper's default where it has one.
 * Actors send chunks of {@link #chunkSteps()} = m - overlap steps; the learner joins each actor's
 * last m / (m - overlap) chunks into a sequence of m steps that starts with its stored LSTM state.
 *
 * @param sequenceLength      m: steps per replayed sequence
 * @param overlap             steps two consecutive sequences of one environment share; m must be a
 *                            multiple of m - overlap
 * @param burnIn              leading steps of a sequence replayed without gradient to warm the state
 * @param nStep               n of the n-step double-Q target
 * @param discount            gamma
 * @param valueRescalingEps   eps of h(x) = sign(x)(sqrt(|x| + 1) - 1) + eps x
 * @param priorityExponent    alpha: sampling probability proportional to priority^alpha
 * @param importanceExponent  beta of the importance weights
 * @param priorityEta         eta of p = eta max|delta| + (1 - eta) mean|delta|
 * @param targetUpdateEvery   updates between copies of the online network into the target network
 * @param batchSequences      sequences per update
 * @param replaySequences     replay bound in sequences (oldest evicted first)
 * @param replayBytes         replay bound in bytes of held arrays
 * @param minReplaySequences  no update before the replay holds this many
 * @param updatesPerChunk     updates per chunk received (sets the replay ratio)
 * @param maxGradNorm         global gradient-norm clip
 * @param rewardScale         rewards are multiplied by this before the target
 * @param replayDir           where the learner saves its replay when it closes and loads it when it
 *                            starts; null: the replay lives in memory only (a restart refills it)
 */
public record R2d2Config(int sequenceLength, int overlap, int burnIn, int nStep, double discount,
        double valueRescalingEps, double priorityExponent, double importanceExponent, double priorityEta,
        int targetUpdateEvery, int batchSequences, int replaySequences, long replayBytes, int minReplaySequences,
        double updatesPerChunk, double maxGradNorm, double rewardScale, Path replayDir) {

    public static final int DEFAULT_SEQUENCE_LENGTH = 80;
    public static final int DEFAULT_OVERLAP = 40;
    public static final int DEFAULT_BURN_IN = 40;
    public static final int DEFAULT_N_STEP = 5;
    public static final double DEFAULT_DISCOUNT = 0.997;
    public static final double DEFAULT_PRIORITY_EXPONENT = 0.9;
    public static final double DEFAULT_IMPORTANCE_EXPONENT = 0.6;
    public static final double DEFAULT_PRIORITY_ETA = 0.9;
    public static final int DEFAULT_TARGET_UPDATE_EVERY = 2500;
    public static final int DEFAULT_BATCH_SEQUENCES = 64;
    public static final int DEFAULT_REPLAY_SEQUENCES = 100_000;
    public static final long DEFAULT_REPLAY_BYTES = 2L << 30;
    public static final int DEFAULT_MIN_REPLAY_SEQUENCES = 1_000;
    public static final double DEFAULT_UPDATES_PER_CHUNK = 1;
    public static final double DEFAULT_MAX_GRAD_NORM = 40;

    public R2d2Config {
        checkSequences(sequenceLength, overlap);
        if (burnIn < 0 || burnIn >= sequenceLength) {
            throw new IllegalArgumentException("--burn-in must be in [0, " + (sequenceLength - 1) + "] (steps left to"
                    + " train on), got " + burnIn);
        }
        if (nStep < 1 || nStep > sequenceLength) {
            throw new IllegalArgumentException("--n-step must be in [1, " + sequenceLength + "], got " + nStep);
        }
        if (!(discount >= 0 && discount <= 1)) {
            throw new IllegalArgumentException("--discount must be in [0, 1], got " + discount);
        }
        if (!(valueRescalingEps > 0 && valueRescalingEps <= 1)) {
            throw new IllegalArgumentException("--value-rescaling-eps must be in (0, 1] (h's inverse divides by it), got "
                    + valueRescalingEps);
        }
        if (!(priorityExponent >= 0 && priorityExponent <= 1)) {
            throw new IllegalArgumentException("--priority-exponent must be in [0, 1], got " + priorityExponent);
        }
        if (!(importanceExponent >= 0 && importanceExponent <= 1)) {
            throw new IllegalArgumentException("--importance-exponent must be in [0, 1], got " + importanceExponent);
        }
        if (!(priorityEta >= 0 && priorityEta <= 1)) {
            throw new IllegalArgumentException("--priority-eta must be in [0, 1], got " + priorityEta);
        }
        if (targetUpdateEvery < 1) {
            throw new IllegalArgumentException("--target-update-every must be >= 1, got " + targetUpdateEvery);
        }
        if (batchSequences < 1 || batchSequences > 65_536) {
            throw new IllegalArgumentException("--batch-sequences must be in [1, 65536], got " + batchSequences);
        }
        if (replaySequences < batchSequences) {
            throw new IllegalArgumentException("--replay-sequences must be at least --batch-sequences ("
                    + batchSequences + "), got " + replaySequences);
        }
        if (replayBytes < 1) {
            throw new IllegalArgumentException("--replay-bytes must be >= 1, got " + replayBytes);
        }
        if (minReplaySequences < batchSequences || minReplaySequences > replaySequences) {
            throw new IllegalArgumentException("--min-replay-sequences must be in [--batch-sequences, --replay-sequences]"
                    + " = [" + batchSequences + ", " + replaySequences + "], got " + minReplaySequences);
        }
        if (!(updatesPerChunk > 0) || Double.isInfinite(updatesPerChunk)) {
            throw new IllegalArgumentException("--updates-per-chunk must be finite and > 0, got " + updatesPerChunk);
        }
        if (!(maxGradNorm > 0)) {
            throw new IllegalArgumentException("--max-grad-norm must be > 0, got " + maxGradNorm);
        }
        if (!(rewardScale > 0) || Double.isInfinite(rewardScale)) {
            throw new IllegalArgumentException("reward scale must be finite and > 0, got " + rewardScale);
        }
    }

    /**
     * Checks that sequences of {@code sequenceLength} steps overlapping by {@code overlap} can be
     * built from whole chunks of length - overlap steps (what actors check before they start).
     */
    public static void checkSequences(int sequenceLength, int overlap) {
        if (sequenceLength < 2 || sequenceLength > 100_000) {
            throw new IllegalArgumentException("--sequence-length must be in [2, 100000], got " + sequenceLength);
        }
        if (overlap < 0 || overlap >= sequenceLength || sequenceLength % (sequenceLength - overlap) != 0) {
            throw new IllegalArgumentException("--overlap must be in [0, " + (sequenceLength - 1) + "] with the"
                    + " sequence length " + sequenceLength + " a multiple of (length - overlap), got " + overlap
                    + " (sequences are built from whole chunks of length - overlap steps)");
        }
    }

    /** Every default; rewards unscaled. */
    public static R2d2Config defaults() {
        return new R2d2Config(DEFAULT_SEQUENCE_LENGTH, DEFAULT_OVERLAP, DEFAULT_BURN_IN, DEFAULT_N_STEP,
                DEFAULT_DISCOUNT, ValueRescaling.DEFAULT_EPSILON, DEFAULT_PRIORITY_EXPONENT, DEFAULT_IMPORTANCE_EXPONENT,
                DEFAULT_PRIORITY_ETA, DEFAULT_TARGET_UPDATE_EVERY,
                DEFAULT_BATCH_SEQUENCES, DEFAULT_REPLAY_SEQUENCES, DEFAULT_REPLAY_BYTES, DEFAULT_MIN_REPLAY_SEQUENCES,
                DEFAULT_UPDATES_PER_CHUNK, DEFAULT_MAX_GRAD_NORM, 1, null);
    }

    /** T of the chunks actors send: m - overlap. */
    public int chunkSteps() {
        return sequenceLength - overlap;
    }

    /** Chunks that make one sequence: m / (m - overlap). */
    public int chunksPerSequence() {
        return sequenceLength / chunkSteps();
    }

    /** Steps of a sequence that are trained on (after the burn-in). */
    public int trainedSteps() {
        return sequenceLength - burnIn;
    }
}
