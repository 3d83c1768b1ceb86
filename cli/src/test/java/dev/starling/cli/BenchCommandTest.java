package dev.starling.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code starling bench} writes its table; the figures themselves are the benchmark's business. */
class BenchCommandTest {

    @Test
    void writesTheSectionsAskedForAsMarkdownAndJson(@TempDir Path dir) throws Exception {
        StringWriter err = new StringWriter();
        int code = Main.run(new PrintWriter(new StringWriter(), true), new PrintWriter(err, true),
                "bench", "--quick", "--sections", "4", "--out", dir.toString());
        assertEquals(0, code, err.toString());
        String md = Files.readString(dir.resolve("bench.md"));
        assertTrue(md.contains("| **4 weight broadcast** |"), md);
        assertTrue(md.contains("| measurement | ms per call | value | unit | target |"), md);
        // The 0.4 MB p99 line carries its target, met or missed.
        assertTrue(md.matches("(?s).*p99.*< 10\\.00: (met|missed).*"), md);
        assertFalse(md.contains("1 learner update"), "only the sections asked for");
        String json = Files.readString(dir.resolve("bench.json"));
        assertTrue(json.contains("\"section\": \"4 weight broadcast\"") && json.contains("\"quick\": true"), json);
    }

    @Test
    void theMedianOfSeedsCountsAnUnsolvedRunAsSlowerThanAnySolvedOne() {
        java.util.function.ToDoubleFunction<java.util.Map<String, Object>> t = m -> ((Number) m.get("t")).doubleValue();
        assertEquals(20.0, BenchCommand.median(runs(30.0, 10.0, 20.0), t));
        assertEquals(30.0, BenchCommand.median(runs(Double.NaN, 10.0, 30.0), t), "NaN (unsolved) sorts last");
        assertTrue(Double.isNaN(BenchCommand.median(runs(Double.NaN, Double.NaN, 30.0), t)), "most unsolved: no median");
        assertEquals(15.0, BenchCommand.median(runs(10.0, 20.0), t));
    }

    private static java.util.List<java.util.Map<String, Object>> runs(double... times) {
        return java.util.Arrays.stream(times).mapToObj(x -> java.util.Map.<String, Object>of("t", x)).toList();
    }

    @Test
    void unknownSectionIsAClearError(@TempDir Path dir) {
        StringWriter err = new StringWriter();
        int code = Main.run(new PrintWriter(new StringWriter(), true), new PrintWriter(err, true),
                "bench", "--sections", "9", "--out", dir.toString());
        assertEquals(2, code);
        assertTrue(err.toString().contains("--sections takes numbers 1 to 8, got 9"), err.toString());
    }

    /**
     * Section 7 on a machine whose Python lacks the packages (a stand-in package folder whose
     * scripts fail as they do there) fails at once, before any other section, naming the Debian
     * packages: it never skips silently.
     */
    @Test
    void remoteEnvironmentsWithoutPythonPackagesFailNamingTheDebianPackages(@TempDir Path dir) throws Exception {
        Path pkg = dir.resolve("starling-env");
        Files.createDirectories(pkg.resolve("examples"));
        Files.writeString(pkg.resolve("generate_stubs.py"),
                "import sys\nsys.exit(\"generate_stubs: protoc not found on PATH\")\n");
        Files.writeString(pkg.resolve("examples/cartpole.py"), "import grpc_missing_for_this_test\n");
        String previous = System.setProperty("starling.python.dir", pkg.toString());
        try {
            StringWriter err = new StringWriter();
            int code = Main.run(new PrintWriter(new StringWriter(), true), new PrintWriter(err, true),
                    "bench", "--quick", "--sections", "1,7", "--out", dir.resolve("out").toString());
            assertEquals(2, code, err.toString());
            assertTrue(err.toString().contains("sudo apt-get install python3-grpcio python3-protobuf python3-numpy"
                    + " protobuf-compiler protobuf-compiler-grpc"), err.toString());
            assertFalse(Files.exists(dir.resolve("out/bench.md")), "no section ran");
        } finally {
            if (previous == null) {
                System.clearProperty("starling.python.dir");
            } else {
                System.setProperty("starling.python.dir", previous);
            }
        }
    }
}
