package dev.starling.envs.remote;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.Test;

/**
 * The Python package's own tests (python/starling-env/tests, unittest) as part of the README's
 * test command: the server's batching, validation and status codes over a real grpcio channel.
 */
class PythonPackageTest {

    @Test
    void thePackagesUnitTestsPass() throws Exception {
        Path pkg = PythonEnvServer.packageDir();
        Process p = new ProcessBuilder(PythonEnvServer.python(), "-m", "unittest", "discover", "-s",
                pkg.resolve("tests").toString(), "-t", pkg.toString())
                .directory(pkg.toFile()).redirectErrorStream(true).start();
        String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        boolean ended = p.waitFor(5, TimeUnit.MINUTES);
        if (!ended) {
            p.destroyForcibly();
        }
        assertEquals(0, ended ? p.exitValue() : -1, "python -m unittest failed:\n" + output);
        Matcher ran = Pattern.compile("Ran (\\d+) tests?").matcher(output);
        assertTrue(ran.find() && Integer.parseInt(ran.group(1)) >= 10, "the package's tests did not run:\n" + output);
    }
}
