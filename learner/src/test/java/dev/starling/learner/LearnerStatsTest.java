package dev.starling.learner;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import dev.starling.common.rl.UpdateStats;
import dev.starling.proto.v1.LearnerStatus;
import org.junit.jupiter.api.Test;

/** The loss terms of GetStatus: means over the last applied updates, unset before the first. */
class LearnerStatsTest {

    private static final long[] NO_LAG = {0};

    @Test
    void lossTermsAreMeansOverTheLastAppliedUpdatesAndUnsetBeforeTheFirst() {
        LearnerStats stats = new LearnerStats();
        assertUnset(stats.status(0, 0));
        stats.updated(skipped(), NO_LAG);
        assertUnset(stats.status(0, 0));

        stats.updated(new UpdateStats(true, 1, 0.5, 2, 0.7, 3), NO_LAG);
        stats.updated(new UpdateStats(true, 1, -0.25, 4, 0.5, 5), NO_LAG);
        LearnerStatus two = stats.status(2, 0);
        assertEquals(0.125, two.getPolicyLoss(), 1e-12);
        assertEquals(3.0, two.getBaselineLoss(), 1e-12);
        assertEquals(0.6, two.getEntropy(), 1e-12);
        assertEquals(4.0, two.getGradNorm(), 1e-12);

        // A full window of newer updates pushes those two out; a skipped (NaN) one does not count.
        for (int i = 0; i < LearnerStats.LOSS_WINDOW_UPDATES; i++) {
            stats.updated(new UpdateStats(true, 1, i, 10 * i, 0.1, 100 + i), NO_LAG);
            if (i == 3) {
                stats.updated(skipped(), NO_LAG);
            }
        }
        double mean = (LearnerStats.LOSS_WINDOW_UPDATES - 1) / 2.0;
        LearnerStatus full = stats.status(12, 0);
        assertEquals(mean, full.getPolicyLoss(), 1e-12);
        assertEquals(10 * mean, full.getBaselineLoss(), 1e-12);
        assertEquals(0.1, full.getEntropy(), 1e-12);
        assertEquals(100 + mean, full.getGradNorm(), 1e-12);
        assertEquals(2 + LearnerStats.LOSS_WINDOW_UPDATES, full.getUpdates());
    }

    private static UpdateStats skipped() {
        return new UpdateStats(false, Double.NaN, Double.NaN, Double.NaN, Double.NaN, Double.NaN);
    }

    private static void assertUnset(LearnerStatus s) {
        assertFalse(s.hasPolicyLoss() || s.hasBaselineLoss() || s.hasEntropy() || s.hasGradNorm(), s.toString());
    }
}
