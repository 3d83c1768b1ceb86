package dev.starling.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

import dev.starling.ps.CheckpointStore;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code starling train --resume} on a real run's folder (issue 12, item 4): a run stopped by its
 * frame budget is continued from its newest checkpoint with its saved options. The parameter
 * server's versions go on from that checkpoint, metrics.csv is appended to with frames, episodes
 * and seconds going on from its last row, and summary.json counts the whole run. Reusing the
 * finished folder without {@code --resume}, or resuming with a conflicting option, is refused in
 * one line before anything starts; stale port files are never read.
 */
class ResumeTest {

    @Test
    void aRunResumedFromItsFolderContinuesItsVersionsFramesAndCurve(@TempDir Path dir) throws Exception {
        Path runDir = dir.resolve("run");
        Result first = train("--actors", "2", "--max-frames", "300000", "--max-seconds", "300", "--seed", "7",
                "--run-dir", runDir.toString());
        assertEquals(1, first.code(), "a 300k-frame budget ends the run unsolved:\n" + first);
        List<RunFolder.Row> before = RunFolder.rows(runDir);
        RunFolder.Row last = before.get(before.size() - 1);
        assertTrue(last.frames() >= 300_000, last.toString());
        long checkpointVersion = newestCheckpoint(runDir);
        assertTrue(checkpointVersion >= last.policyVersion(), "the final checkpoint " + checkpointVersion
                + " is older than the last reported version " + last.policyVersion());

        // The finished folder is not reused without --resume, and a resume keeps the run's options.
        Result reuse = train("--run-dir", runDir.toString());
        assertEquals(2, reuse.code(), reuse.toString());
        assertEquals("starling train: --run-dir " + runDir + " already holds a run (config.properties): continue it with"
                + " --resume, or choose another --run-dir", reuse.err().strip());
        Result conflict = train("--run-dir", runDir.toString(), "--resume", "--num-envs", "16", "--max-frames", "600000");
        assertEquals(2, conflict.code(), conflict.toString());
        assertEquals("starling train: --num-envs 16 conflicts with this run's --num-envs 64 ("
                + runDir.resolve("config.properties") + "); a resumed run keeps its options: only --max-frames,"
                + " --max-restarts, --max-seconds, --metrics, --secure, --target-return may change", conflict.err().strip());
        assertEquals(before, RunFolder.rows(runDir), "a refused command changed metrics.csv");

        // Port files the first run's roles left, here pointing nowhere: the resumed run must not read them.
        Files.writeString(runDir.resolve("ports/parameter-server.port"), "1");
        Files.writeString(runDir.resolve("ports/learner.port"), "1");

        Result resumed = train("--run-dir", runDir.toString(), "--resume", "--max-frames", "600000");
        assertEquals(1, resumed.code(), "the resumed run ends at its new budget, unsolved:\n" + resumed);

        // metrics.csv: the first run's rows unchanged, then rows that go on from its last one.
        List<String> lines = Files.readAllLines(runDir.resolve("metrics.csv"));
        assertEquals(1, lines.stream().filter(RunFolder.CSV_HEADER::equals).count(), "one header");
        List<RunFolder.Row> after = RunFolder.rows(runDir);
        assertEquals(before, after.subList(0, before.size()), "the first run's rows changed");
        List<RunFolder.Row> added = after.subList(before.size(), after.size());
        assertTrue(added.size() >= 3, "the resumed run wrote " + added.size() + " rows");
        assertTrue(added.get(0).policyVersion() >= checkpointVersion, "the first version reported after the resume, "
                + added.get(0).policyVersion() + ", is older than the checkpoint it resumed from, " + checkpointVersion);
        RunFolder.Row previous = last;
        for (RunFolder.Row r : added) {
            assertTrue(r.seconds() > previous.seconds() && r.frames() >= previous.frames()
                    && r.episodes() >= previous.episodes() && r.policyVersion() >= previous.policyVersion(),
                    "metrics.csv goes back: " + previous + " -> " + r);
            previous = r;
        }
        assertTrue(previous.frames() >= 600_000, "the frame budget counts the whole run: " + previous);
        assertTrue(newestCheckpoint(runDir) > checkpointVersion, "the resumed run checkpointed no newer version");

        String summary = Files.readString(runDir.resolve("summary.json"));
        assertTrue(summary.contains("\"frames\": " + previous.frames() + ","), summary);
        Matcher from = Pattern.compile("\"resumed_from\": \\{\\s*\"seconds\": ([0-9.e+]+),\\s*\"frames\": (\\d+),")
                .matcher(summary);
        assertTrue(from.find(), summary);
        assertEquals(last.seconds(), Double.parseDouble(from.group(1)), 0.01);
        assertEquals(last.frames(), Long.parseLong(from.group(2)));

        // The port file is the resumed parameter server's: the port its log says it listens on.
        String psLog = Files.readString(runDir.resolve("logs/parameter-server.log"), StandardCharsets.UTF_8);
        Matcher listening = Pattern.compile("parameter server listening on port (\\d+)").matcher(psLog);
        String port = null;
        while (listening.find()) {
            port = listening.group(1);
        }
        assertEquals(port, Files.readString(runDir.resolve("ports/parameter-server.port")).trim());
        assertTrue(psLog.contains("---- ") && psLog.contains(" starting parameter-server ----"),
                "the second session's log follows a separator:\n" + psLog);
        assertTrue(psLog.replace(",", "").contains("restored version " + checkpointVersion), psLog);
    }

    private record Result(int code, String out, String err) {
    }

    private static Result train(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        String[] all = new String[args.length + 1];
        all[0] = "train";
        System.arraycopy(args, 0, all, 1, args.length);
        Set<Long> before = ProcessHandle.current().children().map(ProcessHandle::pid).collect(Collectors.toSet());
        int code = Main.run(new PrintWriter(out, true), new PrintWriter(err, true), all);
        assertEquals(before, ProcessHandle.current().children().map(ProcessHandle::pid).collect(Collectors.toSet()),
                "child processes outlived the command");
        return new Result(code, out.toString(), err.toString());
    }

    private static long newestCheckpoint(Path runDir) throws Exception {
        List<Path> files = new CheckpointStore(runDir.resolve("checkpoints"), 1).list();
        assertTrue(!files.isEmpty(), "no checkpoint in " + runDir);
        return CheckpointStore.read(files.get(0)).getParameters().getVersion();
    }
}
