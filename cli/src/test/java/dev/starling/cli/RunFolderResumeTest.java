package dev.starling.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;

import dev.starling.proto.v1.LearnerStatus;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;
import picocli.CommandLine.Model.OptionSpec;

/**
 * A run folder holds one run: reusing one is refused, {@code --resume} takes its saved options
 * back (refusing a conflicting one in one line, letting the budgets change), its metrics rows
 * continue, and no earlier port file survives. Without processes: every case here is decided
 * before anything starts; {@link ResumeTest} resumes a real run.
 */
class RunFolderResumeTest {

    @TempDir
    Path dir;

    @Test
    void aFolderThatHoldsARunIsNotReusedWithoutResume() throws Exception {
        Path run = savedRun("--actors", "2", "--max-frames", "300000");
        String before = Files.readString(run.resolve("metrics.csv"));
        Result r = train("--run-dir", run.toString(), "--max-frames", "1000");
        assertEquals(2, r.code(), r.err());
        assertEquals("starling train: --run-dir " + run + " already holds a run (config.properties): continue it with"
                + " --resume, or choose another --run-dir", r.err().strip());
        assertEquals(before, Files.readString(run.resolve("metrics.csv")), "the old run's files are untouched");
    }

    @Test
    void resumeNeedsAFolderWithSavedOptions() {
        Result noDir = train("--resume");
        assertEquals(2, noDir.code());
        assertEquals("starling train: --resume needs --run-dir DIR, the folder of the run to continue", noDir.err().strip());
        Result empty = train("--resume", "--run-dir", dir.toString());
        assertEquals(2, empty.code());
        assertEquals("starling train: --resume: " + dir + " holds no run to resume (no config.properties)",
                empty.err().strip());
    }

    @Test
    void aConflictingOptionIsRefusedInOneLineNamingIt() throws Exception {
        Path run = savedRun("--actors", "2", "--lstm-size", "128");
        Result r = train("--run-dir", run.toString(), "--resume", "--actors", "3");
        assertEquals(2, r.code(), r.err());
        assertEquals("starling train: --actors 3 conflicts with this run's --actors 2 (" + run.resolve("config.properties")
                + "); a resumed run keeps its options: only --max-frames, --max-restarts, --max-seconds, --metrics,"
                + " --secure, --target-return may change", r.err().strip());

        // A value from a --config file counts as set, like one on the command line.
        Path config = dir.resolve("other.properties");
        Files.writeString(config, "lstm-size=64\n");
        Result fromFile = train("--config", config.toString(), "--run-dir", run.toString(), "--resume");
        assertEquals(2, fromFile.code(), fromFile.err());
        assertTrue(fromFile.err().strip().startsWith("starling train: --lstm-size 64 conflicts with this run's --lstm-size 128"),
                fromFile.err());
        assertEquals(1, fromFile.err().strip().lines().count());
    }

    @Test
    void budgetsMayChangeAndTheSameValueInAnotherSpellingIsNoConflict() throws Exception {
        Path run = savedRun("--learning-rate", "0.001", "--max-frames", "300000");
        // The run used its frames: the saved budget applies unless a larger one is given.
        Result r = train("--run-dir", run.toString(), "--resume", "--learning-rate", "1e-3", "--target-return", "100");
        assertEquals(2, r.code(), r.err());
        assertEquals("starling train: --resume: " + run + " already used its budget (300000 frames, --max-frames 300000):"
                + " give a larger --max-frames", r.err().strip());
        Result smaller = train("--run-dir", run.toString(), "--resume", "--max-frames", "200000");
        assertEquals(2, smaller.code());
        assertTrue(smaller.err().contains("give a larger --max-frames"), smaller.err());
    }

    @Test
    void aSyncRunCannotBeResumed() throws Exception {
        Path run = savedRun("--mode", "sync");
        Result r = train("--run-dir", run.toString(), "--resume");
        assertEquals(2, r.code());
        assertEquals("starling train: --resume: " + run + " holds a sync-mode run, which cannot be resumed: its"
                + " checkpoint holds the final weights only, no optimizer state", r.err().strip());
    }

    @Test
    void savedOptionsComeBackExactly() throws Exception {
        Path run = savedRun("--mode", "a3c", "--actors", "3", "--num-envs", "16", "--lstm-size", "64", "--seed", "9",
                "--learning-rate", "2.5e-4", "--reward-scale", "0.1", "--normalize-advantages", "--metrics",
                "--max-seconds", "123.5", "--max-restarts", "2", "--optimizer", "adam");
        TrainCommand original = parsed("--mode", "a3c", "--actors", "3", "--num-envs", "16", "--lstm-size", "64", "--seed",
                "9", "--learning-rate", "2.5e-4", "--reward-scale", "0.1", "--normalize-advantages", "--metrics",
                "--max-seconds", "123.5", "--max-restarts", "2", "--optimizer", "adam");
        TrainCommand resumed = new TrainCommand();
        CommandLine cli = new CommandLine(resumed);
        cli.parseArgs("--run-dir", run.toString(), "--resume");
        SavedOptions.restore(cli.getCommandSpec(), run);
        for (OptionSpec o : original.spec.options()) {
            if (Set.of("--run-dir", "--resume", "--config", "--help", "--version").contains(o.longestName())) {
                continue;
            }
            assertEquals((Object) o.getValue(), cli.getCommandSpec().findOption(o.longestName()).getValue(), o.longestName());
        }
        assertTrue(Files.readString(run.resolve("config.properties")).contains("\nlstm-size=64\n"));
    }

    @Test
    void resumedMetricsContinueAfterTheLastCompleteRowAndNoPortFileSurvives() throws Exception {
        Path run = dir.resolve("run");
        Files.createDirectories(run.resolve("ports"));
        Files.writeString(run.resolve("ports/learner.port"), "35513");
        Files.writeString(run.resolve("ports/parameter-server.metrics"), "40001");
        Files.writeString(run.resolve("metrics.csv"), RunFolder.CSV_HEADER + "\n"
                + "1.000,1000,1000.0,3,20.000,2,2,0.500,,,,\n"
                + "2.000,3000,1500.0,9,25.000,6,6,0.500,-0.0125000,3.50000,0.687500,1.25000\n"
                + "3.0,40"); // a row the killed launcher wrote half of
        try (RunFolder folder = RunFolder.resume(run)) {
            assertEquals(3000, folder.last().orElseThrow().frames());
            assertEquals(new RunFolder.Losses(-0.0125, 3.5, 0.6875, 1.25), folder.last().orElseThrow().losses());
            assertFalse(Files.exists(run.resolve("ports/learner.port")), "a stale port file was left");
            assertFalse(Files.exists(run.resolve("ports/parameter-server.metrics")), "a stale metrics port file was left");
            folder.add(new RunFolder.Row(3.5, 3500, 1000.0, 10, 26, 7, 7, 0.5));
            folder.add(new RunFolder.Row(4.5, 4500, 1000.0, 11, 27, 8, 8, 0.5, new RunFolder.Losses(0.5, 2, Double.NaN, 4)));
        }
        assertEquals(List.of(RunFolder.CSV_HEADER, "1.000,1000,1000.0,3,20.000,2,2,0.500,,,,",
                "2.000,3000,1500.0,9,25.000,6,6,0.500,-0.0125000,3.50000,0.687500,1.25000",
                "3.500,3500,1000.0,10,26.000,7,7,0.500,,,,", "4.500,4500,1000.0,11,27.000,8,8,0.500,0.500000,2.00000,,4.00000"),
                Files.readAllLines(run.resolve("metrics.csv")));
        assertEquals(new RunFolder.Losses(0.5, 2, Double.NaN, 4), RunFolder.rows(run).get(3).losses());

        Files.writeString(run.resolve("metrics.csv"), "time,steps\n1,2\n");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> RunFolder.rows(run));
        assertTrue(e.getMessage().contains("does not start with the header"), e.getMessage());
    }

    @Test
    void aMetricsFileWithoutTheLossColumnsIsReadAndResumedUnderTheNewHeader() throws Exception {
        Path run = dir.resolve("old");
        Files.createDirectories(run);
        Files.writeString(run.resolve("metrics.csv"), RunFolder.CSV_HEADER_WITHOUT_LOSSES + "\n"
                + "1.000,1000,1000.0,3,20.000,2,2,0.500\n"
                + "2.000,3000,1500.0,9,25.000,6,6,0.250\n"
                + "3.0,40"); // a row the killed launcher wrote half of
        List<RunFolder.Row> old = RunFolder.rows(run);
        assertEquals(List.of(new RunFolder.Row(1, 1000, 1000, 3, 20, 2, 2, 0.5, RunFolder.Losses.NONE),
                new RunFolder.Row(2, 3000, 1500, 9, 25, 6, 6, 0.25, RunFolder.Losses.NONE)), old);
        assertTrue(Double.isNaN(old.get(1).losses().gradNorm()), "absent, not 0");

        try (RunFolder folder = RunFolder.resume(run)) {
            assertEquals(old.get(1), folder.last().orElseThrow());
            folder.add(new RunFolder.Row(3, 4000, 1000, 10, 26, 7, 7, 0.5, new RunFolder.Losses(-0.5, 1.5, 0.25, 2)));
        }
        // One header, the new one; the old rows with empty loss fields; the new row with its losses.
        assertEquals(List.of(RunFolder.CSV_HEADER, "1.000,1000,1000.0,3,20.000,2,2,0.500,,,,",
                "2.000,3000,1500.0,9,25.000,6,6,0.250,,,,", "3.000,4000,1000.0,10,26.000,7,7,0.500,-0.500000,1.50000,0.250000,2.00000"),
                Files.readAllLines(run.resolve("metrics.csv")));
        List<RunFolder.Row> after = RunFolder.rows(run);
        assertEquals(old, after.subList(0, 2));
        assertEquals(new RunFolder.Losses(-0.5, 1.5, 0.25, 2), after.get(2).losses());

        // A row with a field count of neither format is refused.
        Files.writeString(run.resolve("metrics.csv"), RunFolder.CSV_HEADER_WITHOUT_LOSSES + "\n"
                + "1.000,1000,1000.0,3,20.000,2,2,0.500,1,2,3,4\n");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> RunFolder.rows(run));
        assertTrue(e.getMessage().contains("malformed row (12 fields)"), e.getMessage());
    }

    @Test
    void runTotalsCarryEachReporterProcessAndTheEarlierSessions() {
        RunTotals totals = RunTotals.after(new RunFolder.Row(100, 50_000, 500, 40, 30, 20, 20, 1));
        assertEquals(110.0, totals.seconds(10), 1e-9);
        LearnerStatus first = totals.add(1, status(1000, 5, 3, 25));
        assertEquals(List.of(51_000L, 45L, 23L, 25L), counts(first));
        LearnerStatus later = totals.add(1, status(4000, 12, 9, 30));
        assertEquals(List.of(54_000L, 52L, 29L, 30L), counts(later));
        // The reporter was started again: it counts from 0, the run goes on from where its last answer left it.
        LearnerStatus restarted = totals.add(2, status(500, 1, 1, 31));
        assertEquals(List.of(54_500L, 53L, 30L, 31L), counts(restarted));
        assertEquals(List.of(0L, 0L, 0L, 0L), counts(RunTotals.fresh().add(1, status(0, 0, 0, 0))));
    }

    // ------------------------------------------------------------------ helpers

    private record Result(int code, String out, String err) {
    }

    private static Result train(String... args) {
        Set<Long> before = descendants();
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        String[] all = new String[args.length + 1];
        all[0] = "train";
        System.arraycopy(args, 0, all, 1, args.length);
        int code = Main.run(new PrintWriter(out, true), new PrintWriter(err, true), all);
        assertEquals(before, descendants(), "a process was started");
        return new Result(code, out.toString(), err.toString());
    }

    /** A folder as a run with these options leaves it: its options, and metrics up to its frame budget. */
    private Path savedRun(String... options) throws Exception {
        Path run = Files.createDirectories(dir.resolve("run-" + System.nanoTime()));
        TrainCommand cmd = parsed(options);
        SavedOptions.save(cmd.spec, run);
        Files.writeString(run.resolve("metrics.csv"), RunFolder.CSV_HEADER + "\n"
                + String.format(java.util.Locale.ROOT, "10.000,%d,30000.0,800,60.000,100,100,0.700%n", cmd.maxFrames));
        return run;
    }

    private static TrainCommand parsed(String... options) {
        TrainCommand cmd = new TrainCommand();
        new CommandLine(cmd).parseArgs(options);
        return cmd;
    }

    private static LearnerStatus status(long frames, long episodes, long updates, long version) {
        return LearnerStatus.newBuilder().setFrames(frames).setEpisodes(episodes).setUpdates(updates)
                .setPolicyVersion(version).setAverageReturn(50).build();
    }

    private static List<Long> counts(LearnerStatus s) {
        return List.of(s.getFrames(), s.getEpisodes(), s.getUpdates(), s.getPolicyVersion());
    }

    private static Set<Long> descendants() {
        return ProcessHandle.current().descendants().map(ProcessHandle::pid).collect(Collectors.toSet());
    }
}
