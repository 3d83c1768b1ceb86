package dev.starling.env;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class BoxTest {

    private static final Box ACTIONS = new Box(new float[] {-1f, -2f}, new float[] {1f, 2f}, 2);

    @Test
    void clipHoldsEachElementToItsOwnBounds() {
        assertEquals(1f, ACTIONS.clip(0, 5f));
        assertEquals(-1f, ACTIONS.clip(0, -5f));
        assertEquals(2f, ACTIONS.clip(1, 5f));
        assertEquals(-2f, ACTIONS.clip(1, -5f));
        assertEquals(0.25f, ACTIONS.clip(0, 0.25f), "inside: unchanged");
        assertEquals(-1f, ACTIONS.clip(0, -1f), "on a bound: unchanged");
        assertEquals(2f, ACTIONS.clip(1, 2f));
        assertEquals(1f, ACTIONS.clip(0, Float.POSITIVE_INFINITY));
        assertEquals(-2f, ACTIONS.clip(1, Float.NEGATIVE_INFINITY));
        assertEquals(-1f, ACTIONS.clip(0, Float.NaN), "NaN becomes the lower bound");
        assertEquals(-2f, ACTIONS.clip(1, Float.NaN));
    }

    @Test
    void clipOfAnUnboundedBoxChangesNothingButNaN() {
        Box b = Box.of(1);
        assertEquals(1e30f, b.clip(0, 1e30f));
        assertEquals(Float.POSITIVE_INFINITY, b.clip(0, Float.POSITIVE_INFINITY));
        assertEquals(Float.NEGATIVE_INFINITY, b.clip(0, Float.NEGATIVE_INFINITY));
        assertEquals(Float.NEGATIVE_INFINITY, b.clip(0, Float.NaN));
    }

    @Test
    void containsChecksEveryElementAtTheOffset() {
        float[] values = {9f, 9f, 0.5f, -2f, 1f, 2.5f};
        assertTrue(ACTIONS.contains(values, 2), "[0.5, -2]");
        assertFalse(ACTIONS.contains(values, 0), "[9, 9]");
        assertFalse(ACTIONS.contains(values, 4), "[1, 2.5]: the second is out");
        assertTrue(ACTIONS.contains(new float[] {1f, 2f}, 0), "bounds are inclusive");
        assertFalse(ACTIONS.contains(new float[] {Float.NaN, 0f}, 0), "NaN is never contained");
        assertFalse(ACTIONS.contains(new float[] {0f, Float.NaN}, 0));
        assertTrue(Box.of(2).contains(new float[] {Float.NEGATIVE_INFINITY, Float.MAX_VALUE}, 0));
        assertFalse(Box.of(1).contains(new float[] {Float.NaN}, 0), "not even in an unbounded box");
    }

    @Test
    void shapeSizeAndBoundedness() {
        Box b = Box.bounded(-1f, 1f, 2, 3);
        assertArrayEquals(new int[] {2, 3}, b.shape());
        assertEquals(6, b.size());
        assertTrue(b.isBounded());
        assertEquals(-1f, b.low(5));
        assertEquals(1f, b.high(5));
        b.shape()[0] = 99;
        assertArrayEquals(new int[] {2, 3}, b.shape(), "shape() is a copy");
        assertFalse(Box.of(2).isBounded());
        assertFalse(new Box(new float[] {0f, -1f}, new float[] {Float.POSITIVE_INFINITY, 1f}, 2).isBounded());
    }

    @Test
    void theConstructorCopiesItsArrays() {
        float[] low = {-1f};
        float[] high = {1f};
        int[] shape = {1};
        Box b = new Box(low, high, shape);
        low[0] = -7f;
        high[0] = 7f;
        shape[0] = 5;
        assertEquals(Box.bounded(-1f, 1f, 1), b);
    }

    @Test
    void equalityFollowsShapeAndBounds() {
        assertEquals(Box.of(2), Box.of(2));
        assertEquals(Box.of(2).hashCode(), Box.of(2).hashCode());
        assertEquals(Box.bounded(-2f, 2f, 1), new Box(new float[] {-2f}, new float[] {2f}, 1));
        assertNotEquals(Box.of(2), Box.of(1, 2), "same size, other shape");
        assertNotEquals(Box.of(2), Box.bounded(-1f, 1f, 2));
        assertNotEquals(Box.bounded(-1f, 1f, 2), Box.bounded(-1f, 2f, 2));
        assertEquals("box(-1,1;2)", Box.bounded(-1f, 1f, 2).toString());
    }

    @Test
    void invalidBoxesAreRejected() {
        assertMessage(() -> Box.of(), "at least one dimension");
        assertMessage(() -> Box.of(2, 0), "dimensions must be at least 1");
        assertMessage(() -> Box.bounded(-1f, 1f, -1), "dimensions must be at least 1");
        assertMessage(() -> new Box(new float[1], new float[2], 1), "needs 1 lower and 1 upper bounds");
        assertMessage(() -> new Box(null, new float[1], 1), "needs 1 lower and 1 upper bounds");
        assertMessage(() -> Box.bounded(1f, -1f, 1), "element 0", "need low <= high");
        assertMessage(() -> Box.bounded(Float.NaN, 1f, 1), "not NaN");
        assertMessage(() -> Box.bounded(-1f, Float.NaN, 1), "not NaN");
        assertMessage(() -> Box.bounded(Float.POSITIVE_INFINITY, Float.POSITIVE_INFINITY, 1), "element 0");
        assertMessage(() -> Box.bounded(Float.NEGATIVE_INFINITY, Float.NEGATIVE_INFINITY, 1), "element 0");
        assertMessage(() -> Box.of(1 << 12, 1 << 12), "more than " + Spaces.MAX_SIZE);
    }

    @Test
    void discreteAndImage() {
        Discrete d = new Discrete(3);
        assertTrue(d.contains(0));
        assertTrue(d.contains(2));
        assertFalse(d.contains(3));
        assertFalse(d.contains(-1));
        assertEquals(1, d.size());
        assertMessage(() -> new Discrete(1), "between 2 and " + Spaces.MAX_SIZE, "got 1");
        assertMessage(() -> new Discrete(Spaces.MAX_SIZE + 1), "got " + (Spaces.MAX_SIZE + 1));

        Image i = new Image(3, 84, 84);
        assertArrayEquals(new int[] {3, 84, 84}, i.shape());
        assertEquals(3 * 84 * 84, i.size());
        assertMessage(() -> new Image(1, 0, 4), "at least one channel, row and column", "[1, 0, 4]");
        assertMessage(() -> new Image(4, 2048, 2048), "more than " + Spaces.MAX_SIZE + " pixels");
    }

    private static void assertMessage(Runnable call, String... fragments) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, call::run);
        for (String f : fragments) {
            assertTrue(e.getMessage().contains(f), e.getMessage());
        }
    }
}
