package dev.starling.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import dev.starling.common.model.Torch;
import org.junit.jupiter.api.Test;

/**
 * glibc reads its allocator variables only at process start, so every entry point sets them
 * itself: the {@code starling} script, the launcher for its roles, and the tests' JVMs. Each must
 * carry exactly {@link Torch#ALLOCATOR_ENVIRONMENT}'s values (the container images are checked
 * in {@link DeployManifestsTest}; the launcher's real children in {@link LauncherShutdownTest}).
 */
class AllocatorSettingsTest {

    private static final Path ROOT = Path.of("").toAbsolutePath().getParent();

    @Test
    void theStarlingScriptExportsExactlyTheAllocatorSettings() throws Exception {
        String script = Files.readString(ROOT.resolve("starling"));
        Map<String, String> exported = new HashMap<>();
        Matcher m = Pattern.compile("export (MALLOC_\\w+)=\"\\$\\{\\1:-(\\d+)}\"").matcher(script);
        while (m.find()) {
            exported.put(m.group(1), m.group(2));
        }
        assertEquals(Torch.ALLOCATOR_ENVIRONMENT, exported);
        assertTrue(script.indexOf("MALLOC_TOP_PAD_") < script.indexOf("exec java"), "set before java starts");
    }

    @Test
    void testJvmsRunWithTheAllocatorSettings() throws Exception {
        String pom = Files.readString(ROOT.resolve("pom.xml"));
        Torch.ALLOCATOR_ENVIRONMENT.forEach((name, value) ->
                assertTrue(pom.contains("<" + name + ">" + value + "</" + name + ">"), "pom.xml surefire lacks " + name));
        // And this very JVM, forked by surefire, got them.
        assertTrue(Torch.allocatorConfigured(System.getenv()), "surefire did not pass the allocator settings");
    }

    @Test
    void roleEnvironmentAddsTheSettingsAndKeepsAUsersOwn() {
        Map<String, String> env = new HashMap<>(Map.of("MALLOC_TOP_PAD_", "1024", "PATH", "/bin"));
        ChildProcess.roleEnvironment(env);
        assertEquals("1024", env.get("MALLOC_TOP_PAD_"), "a user's own value wins");
        assertEquals(Torch.ALLOCATOR_ENVIRONMENT.get("MALLOC_MMAP_THRESHOLD_"), env.get("MALLOC_MMAP_THRESHOLD_"));
        assertEquals(Torch.ALLOCATOR_ENVIRONMENT.get("MALLOC_TRIM_THRESHOLD_"), env.get("MALLOC_TRIM_THRESHOLD_"));
        assertEquals("1", env.get("OMP_NUM_THREADS"));
        assertEquals("/bin", env.get("PATH"));
    }
}
