package dev.starling.common.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;

import org.junit.jupiter.api.Test;

/**
 * Epsilon-greedy acting of a Q-network against the distribution it claims to sample: Ape-X's
 * epsilons from the paper's formula written out here, sampling frequencies within 5 sigma of
 * (1 - eps) + eps/n for the argmax and eps/n for every other action, and the reported
 * log-probability equal to the log of that probability.
 */
class EpsilonGreedyTest {

    @Test
    void apeXEpsilonsFollowThePapersFormula() {
        assertEquals(0.4, EpsilonGreedy.APE_X_BASE);
        assertEquals(7, EpsilonGreedy.APE_X_ALPHA);
        for (int total : new int[] {1, 2, 3, 8, 256}) {
            float[] eps = EpsilonGreedy.apeX(0, total, total, 0.4, 7);
            assertEquals(total, eps.length);
            for (int i = 0; i < total; i++) {
                // eps_i = 0.4^(1 + 7 i / (N - 1)); a lone explorer gets 0.4.
                double expected = total == 1 ? 0.4 : Math.pow(0.4, 1 + 7.0 * i / (total - 1));
                assertEquals(expected, eps[i], 1e-7 * expected, "explorer " + i + " of " + total);
            }
        }
        assertEquals(0.4f, EpsilonGreedy.apeX(0, 1, 1, 0.4, 7)[0]);
        float[] eight = EpsilonGreedy.apeX(0, 8, 8, 0.4, 7);
        // 0.4 and 0.4^8 at the two ends, 0.4^2 next to the first (1 + 7/7).
        assertEquals(0.4, eight[0], 1e-7);
        assertEquals(0.16, eight[1], 1e-7);
        assertEquals(0.00065536, eight[7], 1e-10);
        for (int i = 1; i < 8; i++) {
            assertTrue(eight[i] < eight[i - 1], "epsilons fall with the explorer's index");
        }
    }

    @Test
    void aSliceOfExplorersIsTheSameSliceOfTheWholeSpread() {
        float[] all = EpsilonGreedy.apeX(0, 12, 12, 0.4, 7);
        for (int first = 0; first < 12; first++) {
            for (int count = 1; first + count <= 12; count++) {
                float[] part = EpsilonGreedy.apeX(first, count, 12, 0.4, 7);
                assertArrayEquals(java.util.Arrays.copyOfRange(all, first, first + count), part,
                        "explorers " + first + ".." + (first + count - 1));
            }
        }
        // Another base and exponent: base^(1 + alpha i / (N - 1)).
        float[] other = EpsilonGreedy.apeX(1, 2, 3, 0.5, 2);
        assertEquals(Math.pow(0.5, 2), other[0], 1e-7);
        assertEquals(Math.pow(0.5, 3), other[1], 1e-7);
    }

    @Test
    void explorersOutsideTheSpreadAreRefused() {
        for (int[] bad : new int[][] {{-1, 2, 8}, {0, 0, 8}, {7, 2, 8}, {0, 9, 8}, {0, 1, 0}}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> EpsilonGreedy.apeX(bad[0], bad[1], bad[2], 0.4, 7));
            assertTrue(e.getMessage().contains("within 0.." + (bad[2] - 1)), e.getMessage());
        }
    }

    @Test
    void samplingFrequenciesAndLogProbabilitiesMatchTheEpsilonGreedyDistribution() {
        int n = 4;
        // Two environments' head outputs [n Q-values, max Q] side by side; different argmaxes (2
        // and 0), and a large last slot that must not be read as an action's Q-value.
        float[] q = {0.1f, -0.3f, 0.7f, 0.2f, 99f, 0.9f, 0.5f, -1f, 0.8f, 99f};
        int[] greedy = {2, 0};
        float[] epsilons = {0.3f, 1.0f};
        EpsilonGreedy policy = new EpsilonGreedy(n, epsilons);
        SplittableRandom rng = new SplittableRandom(20240601L);
        int draws = 200_000;
        for (int k = 0; k < 2; k++) {
            long[] counts = new long[n];
            int[] out = new int[2];
            double eps = epsilons[k];
            for (int d = 0; d < draws; d++) {
                float logP = policy.sample(q, k * (n + 1), null, rng, out, null, k);
                int a = out[k];
                assertTrue(a >= 0 && a < n, "action " + a + " out of range");
                double p = (a == greedy[k] ? 1 - eps : 0) + eps / n;
                assertEquals(Math.log(p), logP, 1e-6, "log-probability of action " + a + " in environment " + k);
                counts[a]++;
            }
            for (int a = 0; a < n; a++) {
                double p = (a == greedy[k] ? 1 - eps : 0) + eps / n;
                double mean = draws * p;
                double sigma = Math.sqrt(draws * p * (1 - p));
                assertTrue(Math.abs(counts[a] - mean) < 5 * sigma, "environment " + k + " action " + a + ": "
                        + counts[a] + " draws, expected " + mean + " +- " + sigma);
            }
        }
    }

    @Test
    void environmentsBeyondTheEpsilonsReuseThemInTurn() {
        EpsilonGreedy policy = new EpsilonGreedy(3, new float[] {0.5f, 0f});
        assertEquals(0.5f, policy.epsilon(0));
        assertEquals(0f, policy.epsilon(1));
        assertEquals(0.5f, policy.epsilon(2));
        assertEquals(0f, policy.epsilon(3));
        // Environment 3 (epsilon 0) always acts greedily.
        float[] q = new float[4 * 4];
        q[3 * 4 + 1] = 1;
        int[] out = new int[4];
        SplittableRandom rng = new SplittableRandom(3);
        for (int d = 0; d < 1000; d++) {
            assertEquals(0f, policy.sample(q, 3 * 4, null, rng, out, null, 3));
            assertEquals(1, out[3]);
        }
    }

    @Test
    void epsilonZeroAndTheGreedyPolicyAlwaysTakeTheArgmax() {
        SplittableRandom values = new SplittableRandom(11);
        SplittableRandom rng = new SplittableRandom(12);
        EpsilonGreedy zero = new EpsilonGreedy(5, new float[] {0f});
        EpsilonGreedy greedy = EpsilonGreedy.greedy(5);
        assertEquals(0, greedy.epsilons().length);
        assertEquals(0f, greedy.epsilon(0));
        assertEquals(0f, greedy.epsilon(17));
        for (int trial = 0; trial < 2000; trial++) {
            float[] q = new float[6];
            int best = 0;
            for (int j = 0; j < 5; j++) {
                q[j] = (float) values.nextGaussian();
                if (q[j] > q[best]) {
                    best = j;
                }
            }
            q[5] = 1e9f;
            int[] out = {-1};
            assertEquals(0f, zero.sample(q, 0, null, rng, out, null, 0), "log 1");
            assertEquals(best, out[0]);
            out[0] = -1;
            assertEquals(0f, greedy.sample(q, 0, null, rng, out, null, 0), "log 1");
            assertEquals(best, out[0]);
            out[0] = -1;
            greedy.mode(q, 0, out, null, 0);
            assertEquals(best, out[0], "the mode is the argmax");
            out[0] = -1;
            new EpsilonGreedy(5, new float[] {1f}).mode(q, 0, out, null, 0);
            assertEquals(best, out[0], "the mode ignores epsilon");
        }
    }

    @Test
    void badEpsilonsAndActionCountsAreRefused() {
        for (float bad : new float[] {-0.01f, 1.01f, Float.NaN, Float.POSITIVE_INFINITY}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> new EpsilonGreedy(3, new float[] {0.1f, bad}));
            assertTrue(e.getMessage().contains("epsilon must be in [0, 1]"), e.getMessage());
        }
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new EpsilonGreedy(0, new float[0]));
        assertTrue(e.getMessage().contains("at least one action"), e.getMessage());
        new EpsilonGreedy(3, new float[] {0f, 1f});
    }

    @Test
    void theEpsilonsAreCopiedOnConstruction() {
        float[] eps = {0.2f};
        EpsilonGreedy policy = new EpsilonGreedy(2, eps);
        eps[0] = 0.9f;
        assertEquals(0.2f, policy.epsilon(0));
    }

    @Test
    void aQNetworkHasNoPolicyGradientLosses() {
        EpsilonGreedy policy = EpsilonGreedy.greedy(3);
        UnsupportedOperationException logProb = assertThrows(UnsupportedOperationException.class,
                () -> policy.logProb(null, null, null));
        assertTrue(logProb.getMessage().contains("r2d2"), logProb.getMessage());
        UnsupportedOperationException entropy = assertThrows(UnsupportedOperationException.class,
                () -> policy.entropy(null, null));
        assertTrue(entropy.getMessage().contains("r2d2"), entropy.getMessage());
    }

    @Test
    void aDuelingQModelActsGreedilyByDefault() {
        ModelConfig dueling = TestConfigs.discrete(3, 5, 8, 8).withHead(ModelConfig.Head.DUELING_Q);
        EpsilonGreedy policy = assertInstanceOf(EpsilonGreedy.class, PolicyDistribution.of(dueling));
        assertEquals(5, policy.n());
        assertEquals(0, policy.epsilons().length);
        // The same layers as an actor-critic are still a softmax policy.
        assertEquals(new Categorical(5), PolicyDistribution.of(dueling.withHead(ModelConfig.Head.ACTOR_CRITIC)));
    }
}
