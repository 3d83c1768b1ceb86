package dev.starling.common.rl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

/** h and h^-1 against the formula of Pohlen et al. worked by hand, and against each other. */
class ValueRescalingTest {

    private final ValueRescaling r = ValueRescaling.defaults();

    @Test
    void hMatchesThePapersFormulaAtHandWorkedPoints() {
        assertEquals(0.0, r.h(0), 0);
        // sign(3) (sqrt(4) - 1) + 0.001 * 3
        assertEquals(1.003, r.h(3), 1e-12);
        // sign(-8) (sqrt(9) - 1) + 0.001 * -8
        assertEquals(-2.008, r.h(-8), 1e-12);
        // sqrt(100) - 1 + 0.099
        assertEquals(9.099, r.h(99), 1e-12);
        assertEquals(0.001, new ValueRescaling(0.001).epsilon());
    }

    @Test
    void hInverseUndoesHOverManyMagnitudes() {
        for (double x : new double[] {0, 1e-6, -1e-6, 0.5, -0.5, 1, -3, 21, -21, 475, 1e4, -1e5, 1e6}) {
            assertEquals(x, r.hInverse(r.h(x)), 1e-9 * Math.max(1, Math.abs(x)), "h^-1(h(" + x + "))");
            assertEquals(x, r.h(r.hInverse(x)), 1e-9 * Math.max(1, Math.abs(x)), "h(h^-1(" + x + "))");
        }
        // h^-1 at the hand-worked points above.
        assertEquals(3.0, r.hInverse(1.003), 1e-9);
        assertEquals(-8.0, r.hInverse(-2.008), 1e-9);
    }

    @Test
    void aBadEpsilonIsRefused() {
        for (double eps : new double[] {0, -1e-3, Double.NaN, Double.POSITIVE_INFINITY}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new ValueRescaling(eps));
            assertEquals("value rescaling epsilon must be finite and > 0, got " + eps, e.getMessage());
        }
    }
}
