package dev.starling.actor;

import dev.starling.common.model.TestConfigs;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;

import dev.starling.common.model.ModelConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

class ActorConfigTest {

    private static final ActorConfig BASE = ActorConfig.defaults("actor-0", "localhost:1", "localhost:2", "cartpole", 1);

    @Test
    void defaults() {
        assertEquals(32, BASE.numEnvs());
        assertEquals(32, BASE.unroll());
        assertEquals(java.util.List.of(64), BASE.encoderSizes());
        assertEquals(128, BASE.lstmSize());
        assertEquals(2, BASE.maxInFlight());
        assertEquals(64 << 20, BASE.maxMessageBytes());
        assertEquals(Duration.ofSeconds(30), BASE.ackTimeout());
        assertEquals(Duration.ofSeconds(60), BASE.startupTimeout());
        assertEquals(TestConfigs.discrete(4, 2, 64, 128), BASE.modelConfig());
    }

    @Test
    void invalidValuesNameTheField() {
        assertNames("actorId", () -> ActorConfig.defaults(" ", "l:1", "p:2", "cartpole", 1));
        assertNames("learner", () -> ActorConfig.defaults("a", "", "p:2", "cartpole", 1));
        assertNames("parameterServer", () -> ActorConfig.defaults("a", "l:1", null, "cartpole", 1));
        assertNames("unknown environment 'breakout'", () -> ActorConfig.defaults("a", "l:1", "p:2", "breakout", 1));
        assertNames("numEnvs", () -> BASE.withNumEnvs(0));
        assertNames("unroll", () -> BASE.withUnroll(0));
        assertNames("lstmSize", () -> BASE.withModelSizes(java.util.List.of(64), 0));
        assertNames("encoder width", () -> BASE.withModelSizes(java.util.List.of(-1), 8));
        assertNames("maxInFlight", () -> BASE.withMaxInFlight(0));
        assertNames("ackTimeout", () -> BASE.withAckTimeout(Duration.ZERO));
        assertNames("startupTimeout", () -> BASE.withStartupTimeout(null));
        assertNames("maxMessageBytes", () -> BASE.withMaxMessageBytes(100));
        assertNames("maxMessageBytes", () -> BASE.withNumEnvs(4096).withUnroll(1024).withMaxMessageBytes(1 << 20));
    }

    private static void assertNames(String field, Executable make) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, make);
        assertTrue(e.getMessage().startsWith(field), "message should name " + field + ": " + e.getMessage());
    }
}
