package dev.starling.env;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.function.Supplier;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class EnvironmentDefinitionTest {

    /** An environment that only states its spaces. */
    record Stub(ObservationSpace observationSpace, ActionSpace actionSpace) implements Environment {

        @Override
        public void reset(long seed, Observation observation) {
        }

        @Override
        public float step(Action action, Observation observation) {
            return 0f;
        }

        @Override
        public boolean terminated() {
            return false;
        }

        @Override
        public boolean truncated() {
            return false;
        }
    }

    private static final Supplier<Environment> STUB = () -> new Stub(Box.of(4), new Discrete(2));

    private static EnvironmentDefinition named(String name) {
        return EnvironmentDefinition.of(name, "a stub", Box.of(4), new Discrete(2), STUB);
    }

    @ParameterizedTest
    @ValueSource(strings = {"cartpole", "warehouse-v1", "a", "7", "x.y_z-1", "gym.pendulum_v1",
        "abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz01"})
    void validNames(String name) {
        assertEquals(name, named(name).name());
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "CartPole", "-cartpole", ".hidden", "_x", "two words", "cart/pole", "pendel-ä",
        "abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz012", "tab\tname"})
    void invalidNamesAreRejectedWithTheRule(String name) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> named(name));
        assertTrue(e.getMessage().contains("'" + name + "'"), e.getMessage());
        assertTrue(e.getMessage().contains("1-64 lower-case letters, digits, '.', '_' or '-'"), e.getMessage());
    }

    @Test
    void requiredPartsAreNamed() {
        assertThrows(NullPointerException.class, () -> named(null));
        NullPointerException e = assertThrows(NullPointerException.class,
                () -> EnvironmentDefinition.of("grid", "d", null, new Discrete(2), STUB));
        assertTrue(e.getMessage().contains("observationSpace of grid"), e.getMessage());
        e = assertThrows(NullPointerException.class,
                () -> EnvironmentDefinition.of("grid", "d", Box.of(1), null, STUB));
        assertTrue(e.getMessage().contains("actionSpace of grid"), e.getMessage());
        e = assertThrows(NullPointerException.class,
                () -> EnvironmentDefinition.of("grid", "d", Box.of(1), new Discrete(2), null));
        assertTrue(e.getMessage().contains("factory of grid"), e.getMessage());
        assertThrows(NullPointerException.class,
                () -> EnvironmentDefinition.of("grid", null, Box.of(1), new Discrete(2), STUB));
    }

    @Test
    void anUnboundedActionBoxIsRejected() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> EnvironmentDefinition.of("arm", "d", Box.of(3), Box.of(2), STUB));
        assertTrue(e.getMessage().contains("environment 'arm'") && e.getMessage().contains("finite bounds")
                && e.getMessage().contains("box(2)"), e.getMessage());
    }

    @Test
    void rewardScaleMustBeFiniteAndPositive() {
        for (double scale : new double[] {0, -1, Double.NaN, Double.POSITIVE_INFINITY}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> new EnvironmentDefinition("grid", "d", Box.of(1), new Discrete(2), scale, STUB));
            assertTrue(e.getMessage().contains("rewardScale must be finite and > 0"), e.getMessage());
        }
        assertEquals(0.05, new EnvironmentDefinition("grid", "d", Box.of(1), new Discrete(2), 0.05, STUB)
                .rewardScale());
        assertEquals(1.0, named("grid").rewardScale(), "of(...) scales by 1");
    }

    @Test
    void createReturnsANewInstanceWithTheStatedSpaces() {
        EnvironmentDefinition d = named("grid");
        Environment a = d.create();
        Environment b = d.create();
        assertNotSame(a, b);
        assertEquals(Box.of(4), a.observationSpace());

        Environment only = new Stub(Box.of(4), new Discrete(2));
        assertSame(only, EnvironmentDefinition.of("same", "d", Box.of(4), new Discrete(2), () -> only).create());
    }

    @Test
    void createRejectsAnInstanceWithOtherSpaces() {
        EnvironmentDefinition wrongObservation = EnvironmentDefinition.of("grid", "d", Box.of(4), new Discrete(2),
                () -> new Stub(Box.of(5), new Discrete(2)));
        IllegalStateException e = assertThrows(IllegalStateException.class, wrongObservation::create);
        assertTrue(e.getMessage().contains("'grid'") && e.getMessage().contains("box(4)")
                && e.getMessage().contains("box(5)"), e.getMessage());

        EnvironmentDefinition wrongAction = EnvironmentDefinition.of("arm", "d", Box.of(4), Box.bounded(-1f, 1f, 2),
                () -> new Stub(Box.of(4), Box.bounded(-2f, 2f, 2)));
        e = assertThrows(IllegalStateException.class, wrongAction::create);
        assertTrue(e.getMessage().contains("box(-1,1;2)") && e.getMessage().contains("box(-2,2;2)"), e.getMessage());

        EnvironmentDefinition nothing = EnvironmentDefinition.of("void", "d", Box.of(4), new Discrete(2), () -> null);
        e = assertThrows(IllegalStateException.class, nothing::create);
        assertTrue(e.getMessage().contains("factory of environment 'void' returned null"), e.getMessage());
    }
}
