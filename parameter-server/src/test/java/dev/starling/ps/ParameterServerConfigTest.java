package dev.starling.ps;

import dev.starling.common.model.TestConfigs;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

import dev.starling.common.model.ModelConfig;
import org.junit.jupiter.api.Test;

class ParameterServerConfigTest {

    @Test
    void defaults() {
        ParameterServerConfig c = ParameterServerConfig.defaults(0, null);
        assertEquals(30, c.checkpointIntervalSeconds());
        assertEquals(3, c.keepCheckpoints());
        assertEquals(64 * 1024 * 1024, c.maxMessageBytes());
        assertEquals(Map.of(), c.provenance());
        assertTrue(!c.checkpointsEnabled());
        assertEquals(ParameterServerConfig.A3c.DISABLED, c.a3c());
        assertFalse(c.a3cEnabled());
        assertEquals("rmsprop", c.a3c().optimizer());
        assertEquals(1e-3, c.a3c().learningRate());
        assertEquals(10, c.a3c().maxStaleness());
        assertEquals(5, c.a3c().optimizerStateEverySeconds());
        assertNull(c.a3c().model());
        assertEquals(ParameterServerConfig.A3c.DISABLED,
                new ParameterServerConfig(0, null, 30, 3, 1 << 20, null).a3c(), "the six-argument constructor is impala");
        assertEquals(ParameterServerConfig.A3c.DISABLED,
                new ParameterServerConfig(0, null, 30, 3, 1 << 20, null, null).a3c(), "null a3c is impala");
    }

    @Test
    void a3cWithMethodsKeepEverythingElse() {
        ModelConfig model = TestConfigs.discrete(4, 2, 16, 32);
        ParameterServerConfig base = ParameterServerConfig.defaults(9000, Path.of("ckpt")).withKeepCheckpoints(5);
        ParameterServerConfig c = base.withMaxStaleness(3)
                .withA3cOptimizer("adam", 5e-4)
                .withOptimizerStateEverySeconds(0)
                .withA3c(model, 42);
        assertTrue(c.a3cEnabled());
        assertEquals(new ParameterServerConfig.A3c(true, model, 42, "adam", 5e-4, 3, 0), c.a3c());
        assertEquals(5, c.keepCheckpoints());
        assertEquals(9000, c.port());
        ParameterServerConfig off = c.withoutA3c();
        assertFalse(off.a3cEnabled());
        assertEquals(3, off.a3c().maxStaleness());
        assertEquals(c, off.withA3c(model, 42));
        assertEquals(c.a3c(), c.withCheckpointIntervalSeconds(7).a3c(), "other with-methods keep the a3c settings");
    }

    @Test
    void invalidValuesNameTheField() {
        assertMessage("port", () -> new ParameterServerConfig(70000, null, 30, 3, 1 << 20, null));
        assertMessage("port", () -> new ParameterServerConfig(-1, null, 30, 3, 1 << 20, null));
        assertMessage("checkpointIntervalSeconds", () -> ParameterServerConfig.defaults(0, null).withCheckpointIntervalSeconds(0));
        assertMessage("keepCheckpoints", () -> ParameterServerConfig.defaults(0, null).withKeepCheckpoints(0));
        assertMessage("maxMessageBytes", () -> ParameterServerConfig.defaults(0, null).withMaxMessageBytes(100));
        Map<String, String> withNull = new HashMap<>();
        withNull.put("seed", null);
        assertMessage("provenance", () -> ParameterServerConfig.defaults(0, null).withProvenance(withNull));
        ParameterServerConfig d = ParameterServerConfig.defaults(0, null);
        assertMessage("a3c.model", () -> d.withA3c(null, 1));
        assertMessage("a3c.optimizer", () -> d.withA3cOptimizer("sgd", 1e-3));
        assertMessage("a3c.learningRate", () -> d.withA3cOptimizer("adam", 0));
        assertMessage("a3c.learningRate", () -> d.withA3cOptimizer("adam", Double.POSITIVE_INFINITY));
        assertMessage("a3c.learningRate", () -> d.withA3cOptimizer("adam", Double.NaN));
        assertMessage("a3c.maxStaleness", () -> d.withMaxStaleness(-1));
        assertMessage("a3c.optimizerStateEverySeconds", () -> d.withOptimizerStateEverySeconds(-1));
    }

    @Test
    void provenanceIsCopiedAndImmutable() {
        Map<String, String> m = new HashMap<>(Map.of("b", "2", "a", "1"));
        ParameterServerConfig c = ParameterServerConfig.defaults(8000, Path.of("ckpt")).withProvenance(m);
        m.put("c", "3");
        assertEquals(Map.of("a", "1", "b", "2"), c.provenance());
        assertThrows(UnsupportedOperationException.class, () -> c.provenance().put("x", "y"));
        assertEquals("[a, b]", c.provenance().keySet().toString(), "sorted for reproducible checkpoints");
    }

    private static void assertMessage(String field, org.junit.jupiter.api.function.Executable e) {
        IllegalArgumentException ex = assertThrows(IllegalArgumentException.class, e);
        assertTrue(ex.getMessage().startsWith(field), ex.getMessage());
    }
}
