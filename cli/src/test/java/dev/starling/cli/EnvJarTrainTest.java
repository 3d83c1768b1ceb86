package dev.starling.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A user's environment, built outside Starling's code (examples/tmaze, its own Maven project
 * depending only on the environment API), trains on the cluster from its jar: the actors load
 * it with --env-jar, the learner and the parameter server only get its spaces. The T-maze needs
 * memory: a policy without it scores 0.4 at best, the target is 0.8 (the optimum is 0.9).
 */
class EnvJarTrainTest {

    /** Built by the reactor before this module (examples/tmaze comes first in the root pom). */
    static final Path TMAZE_JAR = Path.of("..", "examples", "tmaze", "target", "starling-example-tmaze-0.1.0-SNAPSHOT.jar")
            .toAbsolutePath().normalize();

    @Test
    void theExamplesJarTrainsOnTheClusterAndEvalPlaysIt(@TempDir Path dir) throws Exception {
        assertTrue(Files.isRegularFile(TMAZE_JAR), "build the example first (mvn package in examples/tmaze): "
                + TMAZE_JAR);
        StringWriter listing = new StringWriter();
        assertEquals(0, Main.run(new PrintWriter(listing, true), new PrintWriter(new StringWriter(), true), "envs",
                "--env-jar", TMAZE_JAR.toString()));
        assertTrue(listing.toString().matches("(?s).*tmaze +box\\(3\\) +discrete\\(3\\) +1 +0\\.8 +--env-jar .*"),
                listing.toString());

        Path runDir = dir.resolve("run");
        StringWriter out = new StringWriter();
        int code = Main.run(new PrintWriter(out, true), new PrintWriter(new StringWriter(), true), "train",
                "--env-jar", TMAZE_JAR.toString(), "--env", "tmaze", "--max-frames", "6000000", "--max-seconds", "300",
                "--run-dir", runDir.toString());
        String summary = Files.readString(runDir.resolve("summary.json"));
        assertEquals(0, code, "not solved: " + out + "\n" + summary);
        Matcher avg = Pattern.compile("\"final_avg_return\": ([0-9.e+-]+)").matcher(summary);
        assertTrue(avg.find() && Double.parseDouble(avg.group(1)) >= 0.8, summary);
        assertTrue(summary.contains("\"env\": \"tmaze\""), summary);
        // Only the actors load the jar: the learner and the parameter server were given the spaces.
        for (String role : new String[] {"learner", "parameter-server"}) {
            String log = Files.readString(runDir.resolve("logs/" + role + ".log"));
            assertFalse(log.contains(TMAZE_JAR.getFileName().toString()), role + " was given the jar:\n" + log);
        }
        assertTrue(Files.readString(runDir.resolve("logs/learner.log")).contains("observationSpace=box(3)"));

        StringWriter evalOut = new StringWriter();
        assertEquals(0, Main.run(new PrintWriter(evalOut, true), new PrintWriter(new StringWriter(), true), "eval",
                "--checkpoint", runDir.toString(), "--env-jar", TMAZE_JAR.toString(), "--env", "tmaze",
                "--episodes", "100", "--greedy"));
        Matcher mean = Pattern.compile("mean return (-?[0-9.]+)").matcher(evalOut.toString());
        assertTrue(mean.find(), evalOut.toString());
        // Greedy play of a policy that turns right 90% of the time while sampling: well above the
        // 0.4 that any memoryless policy is held to.
        assertTrue(Double.parseDouble(mean.group(1)) > 0.6, evalOut.toString());
    }
}
