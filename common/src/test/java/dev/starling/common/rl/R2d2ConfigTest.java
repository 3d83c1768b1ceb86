package dev.starling.common.rl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.function.Consumer;

import org.junit.jupiter.api.Test;

/** R2D2's settings: the paper's defaults, the chunk arithmetic, and each bad value refused by its option's name. */
class R2d2ConfigTest {

    /** A valid small config whose fields a test changes one at a time. */
    static final class Settings {
        int sequenceLength = 12;
        int overlap = 6;
        int burnIn = 4;
        int nStep = 3;
        double discount = 0.9;
        double valueRescalingEps = 1e-3;
        double priorityExponent = 0.9;
        double importanceExponent = 0.6;
        double priorityEta = 0.9;
        int targetUpdateEvery = 100;
        int batchSequences = 2;
        int replaySequences = 10;
        long replayBytes = 1 << 20;
        int minReplaySequences = 2;
        double updatesPerChunk = 1;
        double maxGradNorm = 40;
        double rewardScale = 1;

        R2d2Config build() {
            return new R2d2Config(sequenceLength, overlap, burnIn, nStep, discount, valueRescalingEps,
                    priorityExponent, importanceExponent, priorityEta, targetUpdateEvery, batchSequences,
                    replaySequences, replayBytes, minReplaySequences, updatesPerChunk, maxGradNorm, rewardScale, null);
        }

        static R2d2Config with(Consumer<Settings> change) {
            Settings s = new Settings();
            change.accept(s);
            return s.build();
        }
    }

    @Test
    void defaultsAreThePapers() {
        R2d2Config c = R2d2Config.defaults();
        assertEquals(80, c.sequenceLength());
        assertEquals(40, c.overlap());
        assertEquals(40, c.burnIn());
        assertEquals(5, c.nStep());
        assertEquals(0.997, c.discount());
        assertEquals(1e-3, c.valueRescalingEps());
        assertEquals(0.9, c.priorityExponent());
        assertEquals(0.6, c.importanceExponent());
        assertEquals(0.9, c.priorityEta());
        assertEquals(2500, c.targetUpdateEvery());
        assertEquals(64, c.batchSequences());
        assertEquals(1.0, c.rewardScale());
        assertEquals(40, c.chunkSteps());
        assertEquals(2, c.chunksPerSequence());
        assertEquals(40, c.trainedSteps());
    }

    @Test
    void sequencesAreMadeOfWholeChunks() {
        // m = 12: overlap 0 -> one chunk of 12, 6 -> two of 6, 8 -> three of 4, 9 -> four of 3, 11 -> twelve of 1.
        int[][] cases = {{0, 12, 1}, {6, 6, 2}, {8, 4, 3}, {9, 3, 4}, {10, 2, 6}, {11, 1, 12}};
        for (int[] k : cases) {
            R2d2Config c = Settings.with(s -> s.overlap = k[0]);
            assertEquals(k[1], c.chunkSteps(), "overlap " + k[0]);
            assertEquals(k[2], c.chunksPerSequence(), "overlap " + k[0]);
            assertEquals(12, c.chunkSteps() * c.chunksPerSequence());
        }
        assertEquals(8, Settings.with(s -> s.burnIn = 4).trainedSteps());
        assertEquals(12, Settings.with(s -> s.burnIn = 0).trainedSteps());
    }

    @Test
    void eachBadValueIsRefusedNamingItsOption() {
        bad("--sequence-length", s -> s.sequenceLength = 1);
        bad("--sequence-length", s -> s.sequenceLength = 100_001);
        bad("--overlap", s -> s.overlap = -1);
        bad("--overlap", s -> s.overlap = 12);
        // 12 is not a multiple of 12 - 5 = 7, nor of 12 - 7 = 5: no whole chunks.
        bad("--overlap", s -> s.overlap = 5);
        bad("--overlap", s -> s.overlap = 7);
        bad("--overlap", s -> s.overlap = 1);
        bad("--burn-in", s -> s.burnIn = -1);
        bad("--burn-in", s -> s.burnIn = 12);
        bad("--n-step", s -> s.nStep = 0);
        bad("--n-step", s -> s.nStep = 13);
        bad("--value-rescaling-eps", s -> s.valueRescalingEps = 0); // h's inverse divides by it
        for (double v : new double[] {-0.01, 1.01, Double.NaN}) {
            bad("--discount", s -> s.discount = v);
            bad("--value-rescaling-eps", s -> s.valueRescalingEps = v);
            bad("--priority-exponent", s -> s.priorityExponent = v);
            bad("--importance-exponent", s -> s.importanceExponent = v);
            bad("--priority-eta", s -> s.priorityEta = v);
        }
        bad("--target-update-every", s -> s.targetUpdateEvery = 0);
        bad("--batch-sequences", s -> s.batchSequences = 0);
        bad("--batch-sequences", s -> {
            s.batchSequences = 65_537;
            s.replaySequences = 100_000;
            s.minReplaySequences = 100_000;
        });
        bad("--replay-sequences", s -> s.replaySequences = 1);
        bad("--replay-bytes", s -> s.replayBytes = 0);
        bad("--min-replay-sequences", s -> s.minReplaySequences = 1);
        bad("--min-replay-sequences", s -> s.minReplaySequences = 11);
        for (double v : new double[] {0, -1, Double.NaN, Double.POSITIVE_INFINITY}) {
            bad("--updates-per-chunk", s -> s.updatesPerChunk = v);
            bad("reward scale", s -> s.rewardScale = v);
        }
        for (double v : new double[] {0, -1, Double.NaN}) {
            bad("--max-grad-norm", s -> s.maxGradNorm = v);
        }
    }

    @Test
    void theEdgesOfEachRangeAreAccepted() {
        Settings.with(s -> {
            s.sequenceLength = 2;
            s.overlap = 0;
            s.burnIn = 0;
            s.nStep = 1;
        });
        Settings.with(s -> {
            s.sequenceLength = 2;
            s.overlap = 1;
            s.burnIn = 1;
            s.nStep = 2;
        });
        Settings.with(s -> s.burnIn = 11);
        Settings.with(s -> s.nStep = 12);
        Settings.with(s -> {
            s.discount = 0;
            s.priorityExponent = 0;
            s.importanceExponent = 0;
            s.priorityEta = 0;
        });
        Settings.with(s -> {
            s.discount = 1;
            s.priorityExponent = 1;
            s.importanceExponent = 1;
            s.priorityEta = 1;
            s.valueRescalingEps = 1;
        });
        Settings.with(s -> {
            s.minReplaySequences = 10;
            s.batchSequences = 10;
        });
        Settings.with(s -> s.updatesPerChunk = 0.01);
    }

    private static void bad(String option, Consumer<Settings> change) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Settings.with(change),
                option + " should have been refused");
        assertTrue(e.getMessage().startsWith(option), "'" + e.getMessage() + "' should name " + option);
    }
}
