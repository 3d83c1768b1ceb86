package dev.starling.ps;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

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
