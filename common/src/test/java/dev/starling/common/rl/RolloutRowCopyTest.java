package dev.starling.common.rl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.stream.Stream;

import dev.starling.common.model.ModelConfig;
import dev.starling.common.model.TestConfigs;
import dev.starling.env.Discrete;
import dev.starling.env.Image;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * {@link Rollout#copyRowFrom}: every field of a copied sequence, read back at its new row with the
 * documented {@code [t][b] = t * rows + b} layout, equals the source's; and {@link Rollout#bytes}
 * is what the arrays hold.
 */
class RolloutRowCopyTest {

    private static final int T = 5;

    static Stream<ModelConfig> configs() {
        return Stream.of(TestConfigs.discrete(3, 4, 8, 6), TestConfigs.continuous(3, 2, 8, 6),
                new ModelConfig(new Image(2, 5, 4), new Discrete(3), List.of(new ModelConfig.ConvLayer(2, 3, 1)),
                        List.of(8), 6));
    }

    @ParameterizedTest
    @MethodSource("configs")
    void everyRowLandsWhereItWasSentFieldByField(ModelConfig config) {
        int srcRows = 4;
        int dstRows = 6;
        Rollout src = RolloutFixtures.random(config, T, srcRows, RolloutFixtures.Dones.RANDOM, 17);
        // Make sure some flags are set in every row, so a missed copy of them shows.
        for (int b = 0; b < srcRows; b++) {
            src.dones[(b % T) * srcRows + b] = true;
            src.truncated[(b % T) * srcRows + b] = b % 2 == 0;
        }
        Rollout dst = RolloutFixtures.random(config, T, dstRows, RolloutFixtures.Dones.NONE, 18);
        int[] into = {5, 0, 3, 2};
        for (int b = 0; b < srcRows; b++) {
            dst.copyRowFrom(src, b, into[b]);
        }
        Rollout untouched = RolloutFixtures.random(config, T, dstRows, RolloutFixtures.Dones.NONE, 18);
        for (int b = 0; b < srcRows; b++) {
            assertRowEquals(src, b, dst, into[b]);
        }
        // Rows 1 and 4 were never written: still what they were.
        for (int b : new int[] {1, 4}) {
            assertRowEquals(untouched, b, dst, b);
        }
    }

    @Test
    void aRowCanBeCopiedOverAnotherOfTheSameRollout() {
        ModelConfig config = TestConfigs.discrete(3, 4, 8, 6);
        Rollout r = RolloutFixtures.random(config, T, 3, RolloutFixtures.Dones.RANDOM, 4);
        Rollout before = RolloutFixtures.random(config, T, 3, RolloutFixtures.Dones.RANDOM, 4);
        r.copyRowFrom(r, 2, 0);
        assertRowEquals(before, 2, r, 0);
        assertRowEquals(before, 1, r, 1);
        assertRowEquals(before, 2, r, 2);
    }

    @Test
    void shapesAndRowsAreChecked() {
        ModelConfig config = TestConfigs.discrete(3, 4, 8, 6);
        Rollout dst = new Rollout(T, 3, config);
        assertThrows(IllegalArgumentException.class, () -> dst.copyRowFrom(new Rollout(T + 1, 3, config), 0, 0));
        assertThrows(IllegalArgumentException.class,
                () -> dst.copyRowFrom(new Rollout(T, 3, TestConfigs.discrete(4, 4, 8, 6)), 0, 0));
        assertThrows(IllegalArgumentException.class,
                () -> dst.copyRowFrom(new Rollout(T, 3, TestConfigs.continuous(3, 1, 8, 6)), 0, 0));
        assertThrows(IllegalArgumentException.class,
                () -> dst.copyRowFrom(new Rollout(T, 3, TestConfigs.discrete(3, 4, 8, 7)), 0, 0));
        Rollout src = new Rollout(T, 2, config);
        for (int[] bad : new int[][] {{2, 0}, {-1, 0}, {0, 3}, {0, -1}}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> dst.copyRowFrom(src, bad[0], bad[1]));
            assertTrue(e.getMessage().contains("row " + bad[0]), e.getMessage());
        }
    }

    @Test
    void bytesAreWhatTheArraysHold() {
        // Box observations, discrete actions: T 5, B 3, obs 3, H 6 (the sizes written out).
        Rollout box = new Rollout(T, 3, TestConfigs.discrete(3, 4, 8, 6));
        long steps = T * 3;
        long expected = (T + 1) * 3 * 3 * 4L // observations, floats
                + steps * 4 // actions, ints
                + steps * 4 // rewards
                + steps + steps // dones, truncated: one byte each
                + steps * 4 + steps * 4 // bootstrap values, behaviour log-probabilities
                + 2 * 3 * 6 * 4L; // initial h and c
        assertEquals(expected, box.bytes());
        for (ModelConfig c : configs().toList()) {
            Rollout r = new Rollout(T, 7, c);
            assertEquals(arrayBytes(r), r.bytes(), c.describe());
        }
        Rollout pixels = new Rollout(T, 2, configs().toList().get(2));
        assertEquals((T + 1) * 2 * 40L, pixels.pixels.length, "one byte a pixel");
        assertTrue(pixels.bytes() < arrayBytes(new Rollout(T, 2, 40, false, 1, 6)),
                "pixels cost a quarter of floats");
    }

    /** Every array's length times its element's size. */
    private static long arrayBytes(Rollout r) {
        return 4L * r.observations.length + r.pixels.length + 4L * r.actions.length + 4L * r.continuousActions.length
                + 4L * r.rewards.length + r.dones.length + r.truncated.length + 4L * r.bootstrapValues.length
                + 4L * r.behaviourLogProbs.length + 4L * r.initialH.length + 4L * r.initialC.length;
    }

    private static void assertRowEquals(Rollout src, int s, Rollout dst, int d) {
        String where = "row " + s + " -> " + d;
        int obs = src.observationSize;
        for (int t = 0; t <= T; t++) {
            for (int j = 0; j < obs; j++) {
                int from = (t * src.rows + s) * obs + j;
                int to = (t * dst.rows + d) * obs + j;
                if (src.images) {
                    assertEquals(src.pixels[from], dst.pixels[to], where + " pixel " + j + " of x_" + t);
                } else {
                    assertEquals(src.observations[from], dst.observations[to], where + " obs " + j + " of x_" + t);
                }
            }
        }
        for (int t = 0; t < T; t++) {
            int from = t * src.rows + s;
            int to = t * dst.rows + d;
            if (src.continuous) {
                for (int j = 0; j < src.actionSize; j++) {
                    assertEquals(src.continuousActions[from * src.actionSize + j],
                            dst.continuousActions[to * dst.actionSize + j], where + " action " + j + " at " + t);
                }
            } else {
                assertEquals(src.actions[from], dst.actions[to], where + " action at " + t);
            }
            assertEquals(src.rewards[from], dst.rewards[to], where + " reward at " + t);
            assertEquals(src.dones[from], dst.dones[to], where + " done at " + t);
            assertEquals(src.truncated[from], dst.truncated[to], where + " truncated at " + t);
            assertEquals(src.bootstrapValues[from], dst.bootstrapValues[to], where + " bootstrap at " + t);
            assertEquals(src.behaviourLogProbs[from], dst.behaviourLogProbs[to], where + " log mu at " + t);
        }
        for (int j = 0; j < src.lstmSize; j++) {
            assertEquals(src.initialH[s * src.lstmSize + j], dst.initialH[d * dst.lstmSize + j], where + " h0 " + j);
            assertEquals(src.initialC[s * src.lstmSize + j], dst.initialC[d * dst.lstmSize + j], where + " c0 " + j);
        }
    }
}
