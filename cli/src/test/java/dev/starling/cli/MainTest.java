package dev.starling.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class MainTest {

    private record Run(int code, String out, String err) {
    }

    private static Run run(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int code = Main.run(new PrintWriter(out, true), new PrintWriter(err, true), args);
        return new Run(code, out.toString(), err.toString());
    }

    @Test
    void everyCommandHasHelp() {
        for (String cmd : new String[] {"train", "bench"}) {
            Run r = run(cmd, "--help");
            assertEquals(0, r.code(), cmd);
            assertTrue(r.out().contains("Usage: starling " + cmd), r.out());
        }
        assertTrue(run("train", "--help").out().contains("masked-cartpole"), "help lists the environments");
    }

    @Test
    void versionLoadsLibtorchAndNamesTheDevices() {
        Run r = run("--version");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("libtorch 2.10.0"), r.out());
        // No GPU on the build machines: the CPU build of libtorch sees only the CPU.
        assertTrue(r.out().contains("devices cpu\n") || r.out().contains("devices cpu" + System.lineSeparator()), r.out());
    }

    @Test
    void badInputGetsAClearErrorNamingWhatWasWrong() {
        Run unknownEnv = run("train", "--env", "breakout", "--max-frames", "1000");
        assertEquals(2, unknownEnv.code());
        assertTrue(unknownEnv.err().contains("unknown environment 'breakout'"), unknownEnv.err());
        Run badMode = run("train", "--mode", "warp");
        assertEquals(2, badMode.code());
        assertTrue(badMode.err().contains("--mode 'warp'"), badMode.err());
        Run badNumber = run("train", "--num-envs", "lots");
        assertEquals(2, badNumber.code());
        assertTrue(badNumber.err().contains("--num-envs"), badNumber.err());
        Run missingConfig = run("train", "--config", "/nonexistent/starling.properties");
        assertEquals(2, missingConfig.code());
        assertTrue(missingConfig.err().contains("/nonexistent/starling.properties"), missingConfig.err());
    }

    @Test
    void shortTrainingRunWritesTheRunFolder(@TempDir Path dir) throws Exception {
        Path config = dir.resolve("starling.properties");
        Files.writeString(config, "mode=sync\nmax-frames=20480\nnum-envs=16\n");
        Path runDir = dir.resolve("run");
        Run r = run("train", "--config", config.toString(), "--run-dir", runDir.toString(), "--seed", "2");
        assertEquals(1, r.code(), "not solved within 20k frames: exit code 1. " + r.err());
        String summary = Files.readString(runDir.resolve("summary.json"));
        for (String key : new String[] {"solved", "wall_seconds", "frames", "fps", "final_avg_return",
            "policy_version", "mode", "env"}) {
            assertTrue(summary.contains("\"" + key + "\""), "summary.json lacks " + key + ": " + summary);
        }
        assertTrue(summary.contains("\"frames\": 20480"), "config file value was applied: " + summary);
        assertTrue(summary.contains("\"solved\": false"));
        assertTrue(Files.readAllLines(runDir.resolve("metrics.csv")).get(0).startsWith("seconds,frames,fps"));
        assertTrue(Files.size(runDir.resolve("training-curve.png")) > 1000);
        assertTrue(r.out().contains("not solved"), r.out());
    }
}
