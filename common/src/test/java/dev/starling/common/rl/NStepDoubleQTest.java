package dev.starling.common.rl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.SplittableRandom;

import org.junit.jupiter.api.Test;

/**
 * R2D2's n-step double-Q targets against a hand-worked sequence and against a plain recursive
 * double-precision reference (the return defined one step at a time) on random sequences with
 * terminations and truncations inside them.
 */
class NStepDoubleQTest {

    private static final double EPS = 1e-3;

    /** The paper's h and h^-1, written here from the formula (the reference does not use the class). */
    private static double h(double x) {
        return Math.signum(x) * (Math.sqrt(Math.abs(x) + 1) - 1) + EPS * x;
    }

    private static double hInverse(double x) {
        double root = (Math.sqrt(1 + 4 * EPS * (Math.abs(x) + 1 + EPS)) - 1) / (2 * EPS);
        return Math.signum(x) * (root * root - 1);
    }

    @Test
    void aHandWorkedSequenceWithoutEpisodeEnds() {
        // T 3, B 1, A 2, n 2, discount 0.5. The online net prefers action 1 at x2 and 0 at x3.
        float[] rewards = {1, 2, 3};
        float[] online = {0, 1, 1, 0, 0, 1, 1, 0};
        float[] target = {10, 20, 30, 40, 50, 60, 70, 80};
        float[] y = new float[3];
        NStepDoubleQ.targets(3, 1, 2, 2, 0.5, 1.0, new ValueRescaling(EPS), rewards, new boolean[3], new boolean[3],
                new float[3], online, target, y);
        assertEquals(h(1 + 0.5 * 2 + 0.25 * hInverse(60)), y[0], 1e-5, "Q_target(x2, a=1)");
        assertEquals(h(2 + 0.5 * 3 + 0.25 * hInverse(70)), y[1], 1e-5, "Q_target(x3, a=0)");
        assertEquals(h(3 + 0.5 * hInverse(70)), y[2], 1e-5, "one step left before x3");
    }

    @Test
    void episodeEndsCutTheSumAndOnlyTruncationsBootstrap() {
        // T 3, B 1, A 1, n 3, discount 0.9, reward scale 2. Step 0 terminates, step 1 truncates
        // with bootstrap value 5 (rescaled), step 2 runs into x3 (target Q 7).
        float[] rewards = {1, 2, 4};
        boolean[] dones = {true, true, false};
        boolean[] truncated = {false, true, false};
        float[] truncationValues = {0, 5, 0};
        float[] q = {100, 100, 100, 7};
        float[] y = new float[3];
        NStepDoubleQ.targets(3, 1, 1, 3, 0.9, 2.0, new ValueRescaling(EPS), rewards, dones, truncated,
                truncationValues, q, q, y);
        assertEquals(h(2 * 1), y[0], 1e-6, "terminated: the reward alone");
        assertEquals(h(2 * 2 + 0.9 * hInverse(5)), y[1], 1e-5, "truncated: the reward, then the episode's last value");
        assertEquals(h(2 * 4 + 0.9 * hInverse(7)), y[2], 1e-5);
    }

    @Test
    void randomSequencesEqualTheRecursiveReference() {
        SplittableRandom rng = new SplittableRandom(17);
        for (int trial = 0; trial < 50; trial++) {
            int t = 1 + rng.nextInt(12);
            int b = 1 + rng.nextInt(4);
            int a = 1 + rng.nextInt(5);
            int n = 1 + rng.nextInt(6);
            double discount = 0.9 + 0.1 * rng.nextDouble();
            double scale = 0.1 + rng.nextDouble();
            float[] rewards = new float[t * b];
            boolean[] dones = new boolean[t * b];
            boolean[] truncated = new boolean[t * b];
            float[] truncationValues = new float[t * b];
            for (int i = 0; i < t * b; i++) {
                rewards[i] = (float) (10 * rng.nextGaussian());
                dones[i] = rng.nextDouble() < 0.2;
                truncated[i] = dones[i] && rng.nextBoolean();
                truncationValues[i] = truncated[i] ? (float) (5 * rng.nextGaussian()) : 0f;
            }
            float[] online = new float[(t + 1) * b * a];
            float[] target = new float[online.length];
            for (int i = 0; i < online.length; i++) {
                online[i] = (float) (3 * rng.nextGaussian());
                target[i] = (float) (3 * rng.nextGaussian());
            }
            float[] y = new float[t * b];
            NStepDoubleQ.targets(t, b, a, n, discount, scale, new ValueRescaling(EPS), rewards, dones, truncated,
                    truncationValues, online, target, y);
            for (int s = 0; s < t; s++) {
                for (int row = 0; row < b; row++) {
                    double expected = h(reference(s, row, n, t, b, a, discount, scale, rewards, dones, truncated,
                            truncationValues, online, target));
                    assertEquals(expected, y[s * b + row], 1e-4 * Math.max(1, Math.abs(expected)),
                            "trial " + trial + " step " + s + " row " + row);
                }
            }
        }
    }

    /**
     * The unscaled n-step return from step s, one step at a time: a step's reward, then either
     * the end of its episode (a truncation bootstraps), or the return from the next step with one
     * step fewer; with no steps left, or at the sequence's end, the double-Q bootstrap.
     */
    private static double reference(int s, int row, int remaining, int t, int b, int a, double discount, double scale,
            float[] rewards, boolean[] dones, boolean[] truncated, float[] truncationValues, float[] online,
            float[] target) {
        if (remaining == 0 || s == t) {
            int base = (s * b + row) * a;
            int best = 0;
            for (int i = 1; i < a; i++) {
                if (online[base + i] > online[base + best]) {
                    best = i;
                }
            }
            return hInverse(target[base + best]);
        }
        int i = s * b + row;
        double r = scale * rewards[i];
        if (dones[i]) {
            return r + (truncated[i] ? discount * hInverse(truncationValues[i]) : 0);
        }
        return r + discount * reference(s + 1, row, remaining - 1, t, b, a, discount, scale, rewards, dones, truncated,
                truncationValues, online, target);
    }

    @Test
    void wrongShapesAndNAreRefused() {
        ValueRescaling r = ValueRescaling.defaults();
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> NStepDoubleQ.targets(2, 1, 2,
                0, 0.99, 1, r, new float[2], new boolean[2], new boolean[2], new float[2], new float[6], new float[6],
                new float[2]));
        assertEquals("n-step targets need n >= 1, got 0", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> NStepDoubleQ.targets(2, 1, 2, 5, 0.99, 1, r,
                new float[2], new boolean[2], new boolean[2], new float[2], new float[4], new float[4], new float[2]));
        assertEquals("n-step targets need [T, B] step arrays and [T+1, B, A] Q-values for T=2, B=1, A=2",
                e.getMessage());
    }
}
