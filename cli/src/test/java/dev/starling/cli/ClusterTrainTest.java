package dev.starling.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import dev.starling.proto.v1.Checkpoint;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The product end to end: {@code starling train} starts a parameter server, a learner and two
 * actors as separate JVMs on loopback, they learn masked CartPole over real gRPC, every child
 * is shut down, and the run folder holds the final checkpoint, which {@code eval} can play.
 * Budget: target 150 (a random policy scores ~22) within 3M frames / 300 s; the cluster usually
 * gets there in under 0.5M frames.
 */
class ClusterTrainTest {

    @Test
    void clusterOfSeparateJvmsLearnsMaskedCartPoleAndLeavesNoChildren(@TempDir Path dir) throws Exception {
        Path runDir = dir.resolve("run");
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        long before = ProcessHandle.current().children().count();
        int code = Main.run(new PrintWriter(out, true), new PrintWriter(err, true), "train", "--mode", "impala",
                "--actors", "2", "--target-return", "150", "--max-frames", "3000000",
                "--max-seconds", "300", "--seed", "7", "--run-dir", runDir.toString());
        String summary = Files.readString(runDir.resolve("summary.json"));
        assertEquals(0, code, "not solved: " + out + "\n" + summary + "\nlearner log:\n"
                + tail(runDir.resolve("logs/learner.log")));
        assertTrue(summary.contains("\"solved\": true"), summary);
        assertTrue(summary.contains("\"mode\": \"impala\""), summary);
        Matcher avg = Pattern.compile("\"final_avg_return\": ([0-9.e+]+)").matcher(summary);
        assertTrue(avg.find() && Double.parseDouble(avg.group(1)) >= 150, summary);

        assertEquals(before, ProcessHandle.current().children().count(), "child processes outlived the run");
        for (String log : List.of("parameter-server", "learner", "actor-0", "actor-1")) {
            assertTrue(Files.size(runDir.resolve("logs/" + log + ".log")) > 0, log + " wrote no log");
        }
        assertTrue(Files.readAllLines(runDir.resolve("metrics.csv")).size() > 2);
        assertTrue(Files.exists(runDir.resolve("training-curve.png")));

        // The parameter server wrote a final checkpoint on SIGTERM, as new as the last published version.
        Matcher version = Pattern.compile("\"policy_version\": (\\d+)").matcher(summary);
        assertTrue(version.find());
        Checkpoint ckpt = EvalCommand.load(runDir);
        assertTrue(ckpt.getParameters().getVersion() >= Long.parseLong(version.group(1)),
                "checkpoint version " + ckpt.getParameters().getVersion() + " older than " + version.group(1));
        assertTrue(ckpt.hasOptimizerState(), "the learner's optimizer state is checkpointed");
        try (Stream<Path> files = Files.list(runDir.resolve("checkpoints"))) {
            assertFalse(files.anyMatch(p -> p.toString().endsWith(".tmp")), "no temporary files left");
        }

        StringWriter evalOut = new StringWriter();
        int evalCode = Main.run(new PrintWriter(evalOut, true), new PrintWriter(new StringWriter(), true), "eval",
                "--checkpoint", runDir.toString(), "--episodes", "20");
        assertEquals(0, evalCode);
        Matcher mean = Pattern.compile("mean return ([0-9.]+)").matcher(evalOut.toString());
        assertTrue(mean.find(), evalOut.toString());
        assertTrue(Double.parseDouble(mean.group(1)) > 60,
                "the trained policy should play far better than random (~22): " + evalOut);
    }

    @Test
    void a3cModeLearnsWithActorsPushingGradientsToTheParameterServer(@TempDir Path dir) throws Exception {
        Path runDir = dir.resolve("run");
        StringWriter out = new StringWriter();
        int code = Main.run(new PrintWriter(out, true), new PrintWriter(new StringWriter(), true), "train", "--mode", "a3c",
                "--actors", "2", "--target-return", "150", "--max-frames", "3000000", "--max-seconds", "300",
                "--seed", "7", "--run-dir", runDir.toString());
        String summary = Files.readString(runDir.resolve("summary.json"));
        assertEquals(0, code, "not solved: " + out + "\n" + summary + "\nparameter server log:\n"
                + tail(runDir.resolve("logs/parameter-server.log")));
        assertTrue(summary.contains("\"mode\": \"a3c\""), summary);
        assertFalse(Files.exists(runDir.resolve("logs/learner.log")), "a3c runs no learner");
        Checkpoint ckpt = EvalCommand.load(runDir);
        assertTrue(ckpt.hasOptimizerState() && ckpt.getOptimizerState().getAlgorithm().equals("rmsprop"),
                "the parameter server's shared optimizer state is checkpointed");
    }

    private static String tail(Path log) {
        try {
            List<String> lines = Files.readAllLines(log);
            return String.join("\n", lines.subList(Math.max(0, lines.size() - 30), lines.size()));
        } catch (Exception e) {
            return "(no log)";
        }
    }
}
