package dev.starling.env;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** {@link Observation} and {@link Action}: windows into a batch buffer that a driver moves. */
class WindowTest {

    @Test
    void observationWritesOnlyInsideItsWindow() {
        float[] buffer = new float[10];
        Observation o = Observation.ofFloats(buffer, 4);
        assertEquals(4, o.size());
        assertEquals(0, o.offset());
        assertSame(o, o.moveTo(1));
        assertEquals(4, o.offset());
        o.set(0, 1f);
        o.set(3, 4f);
        assertArrayEquals(new float[] {0, 0, 0, 0, 1, 0, 0, 4, 0, 0}, buffer);
        assertSame(buffer, o.floats());
        o.floats()[o.offset() + 1] = 2f;
        assertEquals(2f, buffer[5]);
    }

    @Test
    void observationWindowBounds() {
        Observation o = Observation.ofFloats(new float[10], 4);
        o.moveTo(0);
        o.moveTo(1);
        IndexOutOfBoundsException e = assertThrows(IndexOutOfBoundsException.class, () -> o.moveTo(2));
        assertTrue(e.getMessage().contains("observation 2 of 4 values is outside a buffer of 10"), e.getMessage());
        assertThrows(IndexOutOfBoundsException.class, () -> o.moveTo(-1));
        assertThrows(IndexOutOfBoundsException.class, () -> o.moveTo(Integer.MAX_VALUE), "no int overflow");
        assertEquals(4, o.offset(), "a rejected move leaves the window where it was");

        e = assertThrows(IndexOutOfBoundsException.class, () -> o.set(4, 1f));
        assertTrue(e.getMessage().contains("value 4 of an observation of 4"), e.getMessage());
        assertThrows(IndexOutOfBoundsException.class, () -> o.set(-1, 1f));

        Observation exact = Observation.ofFloats(new float[8], 4);
        exact.moveTo(1);
        assertThrows(IndexOutOfBoundsException.class, () -> exact.moveTo(2));
    }

    @Test
    void observationKinds() {
        byte[] pixels = new byte[2 * 6];
        Observation image = Observation.ofBytes(pixels, 6).moveTo(1);
        image.setPixel(0, 255);
        image.setPixel(5, 7);
        assertEquals((byte) 255, pixels[6]);
        assertEquals(7, pixels[11]);
        assertSame(pixels, image.bytes());
        assertThrows(IndexOutOfBoundsException.class, () -> image.setPixel(6, 1));
        assertThrows(IllegalStateException.class, image::floats);

        Observation floats = Observation.ofFloats(new float[3], 3);
        assertThrows(IllegalStateException.class, floats::bytes);

        assertThrows(IllegalArgumentException.class, () -> Observation.ofFloats(new float[3], 0));
        assertThrows(IllegalArgumentException.class, () -> Observation.ofBytes(new byte[3], -1));
        assertThrows(NullPointerException.class, () -> Observation.ofFloats(null, 3));
    }

    @Test
    void discreteActionWindow() {
        int[] buffer = {3, 1, 4};
        Action a = Action.ofDiscrete(buffer);
        assertEquals(1, a.size());
        assertEquals(3, a.discrete());
        assertEquals(4, a.moveTo(2).discrete());
        assertThrows(IndexOutOfBoundsException.class, () -> a.moveTo(3));
        assertThrows(IndexOutOfBoundsException.class, () -> a.moveTo(-1));
        assertEquals(4, a.discrete(), "a rejected move leaves the window where it was");
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> a.value(0));
        assertTrue(e.getMessage().contains("discrete"), e.getMessage());
    }

    @Test
    void continuousActionWindow() {
        float[] buffer = {0.1f, 0.2f, 0.3f, 0.4f, 0.5f};
        Action a = Action.ofContinuous(buffer, 2);
        assertEquals(2, a.size());
        assertEquals(0.2f, a.value(1));
        a.moveTo(1);
        assertEquals(0.3f, a.value(0));
        assertEquals(0.4f, a.value(1));
        IndexOutOfBoundsException e = assertThrows(IndexOutOfBoundsException.class, () -> a.value(2));
        assertTrue(e.getMessage().contains("value 2 of an action of 2"), e.getMessage());
        assertThrows(IndexOutOfBoundsException.class, () -> a.value(-1));
        assertThrows(IndexOutOfBoundsException.class, () -> a.moveTo(2), "values 4 and 5 of a buffer of 5");
        assertThrows(IllegalStateException.class, a::discrete);
        assertThrows(IllegalArgumentException.class, () -> Action.ofContinuous(buffer, 0));
        assertThrows(NullPointerException.class, () -> Action.ofDiscrete(null));
    }
}
