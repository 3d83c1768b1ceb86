package dev.starling.env;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.function.Function;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class SpacesTest {

    @Test
    void unboundedBox() {
        ObservationSpace s = Spaces.observation("box(2)");
        assertEquals(Box.of(2), s);
        assertArrayEquals(new int[] {2}, s.shape());
        assertEquals(2, s.size());
        assertEquals("box(2)", s.describe());
        assertFalse(((Box) s).isBounded());
        assertEquals(Float.NEGATIVE_INFINITY, ((Box) s).low(1));
        assertEquals(Float.POSITIVE_INFINITY, ((Box) s).high(1));
    }

    @Test
    void boxWithSharedBounds() {
        ActionSpace s = Spaces.action("box(-2,2;1)");
        assertEquals(Box.bounded(-2f, 2f, 1), s);
        assertEquals(1, s.size());
        assertEquals("box(-2,2;1)", s.describe());
        assertEquals(s, Spaces.observation("box(-2,2;1)"), "an observation box may be bounded too");
        assertEquals("box(-0.5,0.25;3)", Spaces.action(" box( -0.5 , 0.25 ; 3 ) ").describe(), "spaces are trimmed");
    }

    @Test
    void boxWithBoundsPerElement() {
        Box b = (Box) Spaces.action("box([-1 -2],[1 2];2)");
        assertEquals(new Box(new float[] {-1f, -2f}, new float[] {1f, 2f}, 2), b);
        assertEquals(-2f, b.low(1));
        assertEquals(2f, b.high(1));
        assertEquals("box([-1 -2],[1 2];2)", b.describe());
        assertEquals("box([-1 -2],2;2)", Spaces.action("box([-1 -2],[2 2];2)").describe(),
                "uniform bounds are written once");
    }

    @Test
    void multiDimensionalBox() {
        ObservationSpace s = Spaces.observation("box(3,4)");
        assertArrayEquals(new int[] {3, 4}, s.shape());
        assertEquals(12, s.size());
        assertEquals("box(3,4)", s.describe());
        assertEquals("box(0,1;2,3,4)", Spaces.observation("box(0,1;2,3,4)").describe());
        assertEquals(24, Spaces.observation("box(0,1;2,3,4)").size());
    }

    @Test
    void image() {
        ObservationSpace s = Spaces.observation("image(1,42,42)");
        assertEquals(new Image(1, 42, 42), s);
        assertArrayEquals(new int[] {1, 42, 42}, s.shape());
        assertEquals(1764, s.size());
        assertEquals("image(1,42,42)", s.describe());
    }

    @Test
    void discrete() {
        ActionSpace s = Spaces.action("discrete(3)");
        assertEquals(new Discrete(3), s);
        assertEquals(1, s.size());
        assertEquals("discrete(3)", s.describe());
        assertEquals(s, Spaces.action("DISCRETE(3)"), "the kind is case-insensitive");
    }

    @ParameterizedTest
    @ValueSource(strings = {"box(2)", "box(3,4)", "box(-2,2;1)", "box([-1 -2],[1 2];2)", "box(0,inf;2)",
        "box(-inf,0;1,2)", "box(-0.5,1.5;2)", "box([-1.25 0 3],[1e-05 1 4];3)", "box(-0,1;2)", "box([-1 -0],[0 1];2)",
        "image(1,42,42)", "image(3,84,84)"})
    void observationDescriptionsParseBackToTheSameSpace(String text) {
        ObservationSpace s = Spaces.observation(text);
        assertEquals(s, Spaces.observation(s.describe()), text + " -> " + s.describe());
        assertEquals(s.describe(), Spaces.observation(s.describe()).describe());
    }

    @ParameterizedTest
    @ValueSource(strings = {"discrete(2)", "discrete(3)", "box(-2,2;1)", "box([-1 -2],[1 2];2)", "box(-1,1;2,3)",
        "box(-3.4028235e38,3.4028235e38;1)"})
    void actionDescriptionsParseBackToTheSameSpace(String text) {
        ActionSpace s = Spaces.action(text);
        assertEquals(s, Spaces.action(s.describe()), text + " -> " + s.describe());
    }

    @Test
    void infiniteBoundsAreWrittenAsInf() {
        assertEquals("box(2)", Spaces.observation("box(-inf,inf;2)").describe());
        assertEquals("box(0,inf;2)", Spaces.observation("box(0,+inf;2)").describe());
    }

    @Test
    void garbageIsRejectedWithTheTextAndAnExample() {
        assertMessage(Spaces::observation, "hello", "'hello' is not a space", "box(4)");
        assertMessage(Spaces::observation, "box", "'box' is not a space");
        assertMessage(Spaces::observation, "box(2", "'box(2' is not a space");
        assertMessage(Spaces::observation, "(2)", "is not a space");
        assertMessage(Spaces::observation, "", "is not a space");
        assertMessage(Spaces::observation, null, "a space is required");
        assertMessage(Spaces::observation, "box()", "no dimensions");
        assertMessage(Spaces::observation, "box(two)", "'two' is not a whole number");
        assertMessage(Spaces::observation, "box(2.5)", "'2.5' is not a whole number");
        assertMessage(Spaces::observation, "box(low,1;2)", "'low' is not a number");
        assertMessage(Spaces::observation, "box(-1,0,1;2)", "box bounds are LOW,HIGH");
        assertMessage(Spaces::observation, "box([-1 -2 -3],[1 2];2)", "3 bounds in [-1 -2 -3] for 2 values");
        assertMessage(Spaces::observation, "box(2,1;1)", "need low <= high");
        assertMessage(Spaces::observation, "box(NaN,1;1)", "not NaN");
        assertMessage(Spaces::observation, "discrete(2)", "expected box(...) or image(C,H,W)");
        assertMessage(Spaces::observation, "image(42,42)", "image takes 3 number(s), got 2");
        assertMessage(Spaces::observation, "image(0,1;1,42,42)", "image takes no bounds");
        assertMessage(Spaces::action, "image(1,42,42)", "expected discrete(N) or box(LOW,HIGH;SHAPE)");
        assertMessage(Spaces::action, "discrete(2,3)", "discrete takes 1 number(s), got 2");
        assertMessage(Spaces::action, "discrete(0,1;2)", "discrete takes no bounds");
    }

    @Test
    void anUnboundedActionBoxIsRejected() {
        assertMessage(Spaces::action, "box(2)", "'box(2)'", "needs finite bounds", "box(-1,1;2)");
        assertMessage(Spaces::action, "box(0,inf;2)", "needs finite bounds");
        assertMessage(Spaces::action, "box([-1 -inf],[1 1];2)", "needs finite bounds");
    }

    @Test
    void discreteNeedsAtLeastTwoActions() {
        assertMessage(Spaces::action, "discrete(1)", "between 2 and", "got 1");
        assertMessage(Spaces::action, "discrete(0)", "got 0");
        assertMessage(Spaces::action, "discrete(-3)", "got -3");
    }

    @Test
    void zeroOrNegativeDimensionsAreRejected() {
        assertMessage(Spaces::observation, "box(0)", "dimensions must be at least 1");
        assertMessage(Spaces::observation, "box(3,0)", "dimensions must be at least 1");
        assertMessage(Spaces::observation, "box(-1,1;0)", "dimensions must be at least 1");
        assertMessage(Spaces::observation, "box(-2)", "dimensions must be at least 1");
        assertMessage(Spaces::observation, "image(0,42,42)", "at least one channel, row and column");
        assertMessage(Spaces::observation, "image(1,42,0)", "at least one channel, row and column");
    }

    @Test
    void tooLargeSpacesAreRejected() {
        assertMessage(Spaces::observation, "box(4194305)", "more than " + Spaces.MAX_SIZE);
        assertMessage(Spaces::observation, "box(65536,65536)", "more than " + Spaces.MAX_SIZE);
        assertMessage(Spaces::observation, "image(3,2048,2048)", "more than " + Spaces.MAX_SIZE);
        assertEquals(Spaces.MAX_SIZE, Spaces.observation("box(" + Spaces.MAX_SIZE + ")").size());
    }

    private static void assertMessage(Function<String, ?> parse, String text, String... fragments) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> parse.apply(text));
        for (String f : fragments) {
            assertTrue(e.getMessage().contains(f), "'" + text + "': " + e.getMessage());
        }
    }
}
