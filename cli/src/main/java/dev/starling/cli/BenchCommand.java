package dev.starling.cli;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.Callable;
import java.util.stream.Stream;

import dev.starling.cli.bench.ActorsAlone;
import dev.starling.cli.bench.BroadcastBenchmark;
import dev.starling.cli.bench.IngestBenchmark;

import dev.starling.learner.bench.BenchLine;
import dev.starling.learner.bench.FoundationBenchmark;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code starling bench}: measures this machine and writes a Markdown and a JSON table. */
@Command(name = "bench", mixinStandardHelpOptions = true,
        description = {"Measure this machine: every benchmark side by side in one run, or every training mode.",
            "%nSections: 1 learner update (fast split-at-done path vs the reference loop, T 32/80, LSTM 128/256),"
                    + " 2 actor inference (K = 1..256, time in env / model / encoding), 3 learner ingest over loopback"
                    + " gRPC (training off), 4 weight broadcast to 16 subscribers, 5 the cluster vs the synchronous"
                    + " baseline (training masked CartPole), 6 roofline (the cluster against its slowest part alone)."
                    + " Each ratio is measured in the same run, so a noisy machine still gives a fair figure. Writes"
                    + " bench.md and bench.json to --out; reports targets met or missed; asserts nothing."})
final class BenchCommand implements Callable<Integer> {

    static final String PARALLEL = "5 parallel vs synchronous";
    static final String ROOFLINE = "6 roofline";

    @Option(names = "--quick", description = "Shorter measurements and 90 s training budgets (a few minutes in all).")
    boolean quick;

    @Option(names = "--sections", split = ",", paramLabel = "N",
            description = "Which sections to run (1-6), e.g. --sections 3,4. Default: all.")
    Set<Integer> sections;

    @Option(names = "--modes", description = "Instead: train masked CartPole to 475 in each mode (impala, a3c, sync), one after another in"
            + " this run, and compare frames/s, time to solve and updates/s.")
    boolean modes;

    @Option(names = "--max-seconds", paramLabel = "S",
            description = "Time budget of each training run (sections 5 and 6, --modes). Default: 90 with --quick, else 300.")
    Double maxSeconds;

    @Option(names = "--out", paramLabel = "DIR", defaultValue = "bench-results",
            description = "Where bench.md and bench.json go. Default: ${DEFAULT-VALUE}.")
    Path out;

    @Override
    public Integer call() throws Exception {
        if (modes) {
            return modes();
        }
        if (sections == null || sections.isEmpty()) {
            sections = new TreeSet<>(List.of(1, 2, 3, 4, 5, 6));
        }
        for (int section : sections) {
            if (section < 1 || section > 6) {
                throw new IllegalArgumentException("--sections takes numbers 1 to 6, got " + section);
            }
        }
        PrintStream log = System.out;
        log.println("benchmark, sections " + sections + (quick ? ", quick" : "") + " (one libtorch thread, OMP_NUM_THREADS="
                + System.getenv("OMP_NUM_THREADS") + ")");
        List<BenchLine> lines = new ArrayList<>();
        if (sections.contains(1) || sections.contains(2) || sections.contains(6)) {
            lines.addAll(FoundationBenchmark.run(quick, log));
        }
        if (sections.contains(3)) {
            lines.addAll(IngestBenchmark.run(quick, log));
        }
        if (sections.contains(4)) {
            lines.addAll(BroadcastBenchmark.run(quick, log));
        }
        if (sections.contains(5) || sections.contains(6)) {
            lines.addAll(clusterVsSyncAndRoofline(lines, log));
        }
        lines.removeIf(l -> !sections.contains(sectionNumber(l)));
        write(lines);
        return 0;
    }

    /**
     * Section 5 trains impala (2 actors x 32 envs, batches of 2 chunks) and then the synchronous
     * baseline on the same batch shape (64 envs, T 32) and hyper-parameters; section 6 sets the
     * cluster's frames/s against the slower of its parts alone: the actors with no learner (as
     * many threads as actor processes, the whole actor loop with encoding) and the learner fed
     * from memory (section 1's fast update at T 32, B 64, LSTM 128).
     */
    private List<BenchLine> clusterVsSyncAndRoofline(List<BenchLine> measured, PrintStream log) throws Exception {
        double budget = maxSeconds != null ? maxSeconds : quick ? 90 : 300;
        List<BenchLine> lines = new ArrayList<>();
        Map<String, Object> cluster = train(List.of("--mode", "impala"), budget, "impala");
        Map<String, Object> sync = train(List.of("--mode", "sync", "--num-envs", "64"), budget, "sync");
        double clusterFps = number(cluster, "fps");
        double syncFps = number(sync, "fps");
        lines.add(BenchLine.of(PARALLEL, "cluster (impala, 2 actors x 32 envs, LSTM 128) frames/s", Double.NaN, clusterFps,
                "frames/s").atLeast(30_000));
        lines.add(BenchLine.of(PARALLEL, "synchronous (one thread, 64 envs, same batch and hyper-parameters) frames/s",
                Double.NaN, syncFps, "frames/s"));
        lines.add(BenchLine.of(PARALLEL, "cluster / synchronous frames/s", Double.NaN, clusterFps / syncFps, "x").atLeast(1.8));
        double clusterSolve = solveSeconds(cluster);
        double syncSolve = solveSeconds(sync);
        lines.add(BenchLine.of(PARALLEL, "cluster time to solve (475 over 100 episodes)" + unsolved(clusterSolve, budget),
                Double.NaN, clusterSolve, "s"));
        lines.add(BenchLine.of(PARALLEL, "synchronous time to solve" + unsolved(syncSolve, budget), Double.NaN, syncSolve, "s"));
        lines.add(BenchLine.of(PARALLEL, "synchronous / cluster time to solve", Double.NaN, syncSolve / clusterSolve, "x"));

        double actorsAlone = ActorsAlone.stepsPerSecond("masked-cartpole", 2, 32, 32, 64, 128, quick ? 5 : 15);
        double learnerAlone = measured.stream()
                .filter(l -> l.name().startsWith(FoundationBenchmark.CLUSTER_SHAPED_UPDATE))
                .mapToDouble(BenchLine::value).findFirst().orElse(Double.NaN);
        lines.add(BenchLine.of(ROOFLINE, "actors alone (2 threads x 32 envs, collect + encode, no learner)", Double.NaN,
                actorsAlone, "env steps/s"));
        lines.add(BenchLine.of(ROOFLINE, "learner alone, fed from memory (" + FoundationBenchmark.CLUSTER_SHAPED_UPDATE + ")",
                Double.NaN, learnerAlone, "samples/s"));
        lines.add(BenchLine.of(ROOFLINE, "cluster frames/s / min(actors alone, learner alone)", Double.NaN,
                clusterFps / Math.min(actorsAlone, learnerAlone), "x").atLeast(0.8));
        for (BenchLine l : lines) {
            log.println(l.format());
        }
        return lines;
    }

    /**
     * One training run of {@code budget} seconds into {@code <out>/run-<name>}, replacing that
     * folder from an earlier bench (train refuses a folder that holds a run); its summary.
     */
    private Map<String, Object> train(List<String> args, double budget, String name) throws IOException {
        Path runDir = out.resolve("run-" + name);
        deleteRecursively(runDir);
        TrainCommand train = new TrainCommand();
        CommandLine cli = new CommandLine(train);
        cli.setDefaultValueProvider(new Main.Defaults(null));
        List<String> all = new ArrayList<>(args);
        all.addAll(List.of("--max-seconds", Double.toString(budget), "--run-dir", runDir.toString()));
        cli.execute(all.toArray(String[]::new));
        if (train.lastSummary == null) {
            throw new IllegalStateException("training " + name + " produced no summary; see the log above");
        }
        return train.lastSummary;
    }

    private static void deleteRecursively(Path dir) throws IOException {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> paths = Files.walk(dir)) {
            for (Path p : paths.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        }
    }

    private static double number(Map<String, Object> summary, String key) {
        return ((Number) summary.get(key)).doubleValue();
    }

    private static double solveSeconds(Map<String, Object> summary) {
        return Boolean.TRUE.equals(summary.get("solved")) ? number(summary, "wall_seconds") : Double.NaN;
    }

    private static String unsolved(double seconds, double budget) {
        return Double.isNaN(seconds) ? String.format(Locale.ROOT, " (not solved in %.0f s)", budget) : "";
    }

    private static int sectionNumber(BenchLine l) {
        return Integer.parseInt(l.section().substring(0, l.section().indexOf(' ')));
    }

    /** bench.md (one table, a header row per section) and bench.json. */
    private void write(List<BenchLine> lines) throws IOException {
        Files.createDirectories(out);
        StringBuilder md = new StringBuilder();
        md.append(String.format(Locale.ROOT, "%s, %d cores, %s, %s%n%n", LocalDate.now(),
                Runtime.getRuntime().availableProcessors(), quick ? "--quick" : "full", Provenance.all()));
        md.append("| measurement | ms per call | value | unit | target |\n|---|---:|---:|---|---|\n");
        Map<String, Object> json = new LinkedHashMap<>();
        json.put("date", LocalDate.now().toString());
        json.put("cores", Runtime.getRuntime().availableProcessors());
        json.put("quick", quick);
        json.put("provenance", Provenance.all());
        Map<String, Object> results = new LinkedHashMap<>();
        String section = "";
        for (BenchLine l : lines) {
            if (!l.section().equals(section)) {
                section = l.section();
                md.append("| **").append(section).append("** | | | | |\n");
            }
            md.append(String.format(Locale.ROOT, "| %s | %s | %s | %s | %s |%n", l.name(),
                    Double.isNaN(l.msPerCall()) ? "" : String.format(Locale.ROOT, "%.3f", l.msPerCall()),
                    BenchLine.number(l.value()), l.unit(), l.target()));
            Map<String, Object> entry = new LinkedHashMap<>();
            entry.put("section", l.section());
            entry.put("ms_per_call", l.msPerCall());
            entry.put("value", l.value());
            entry.put("unit", l.unit());
            entry.put("target", l.target());
            results.put(l.name(), entry);
        }
        json.put("results", results);
        Files.writeString(out.resolve("bench.md"), md, StandardCharsets.UTF_8);
        Files.writeString(out.resolve("bench.json"), Json.write(json), StandardCharsets.UTF_8);
        System.out.print(md);
        System.out.println("wrote " + out.resolve("bench.md") + " and " + out.resolve("bench.json"));
    }

    /** Each training mode to the target on the same machine, one after another, with default settings. */
    private int modes() throws IOException {
        Files.createDirectories(out);
        StringBuilder md = new StringBuilder("| mode | solved | wall s | frames | frames/s | updates | updates/s | final avg return |\n"
                + "|---|---|---:|---:|---:|---:|---:|---:|\n");
        Map<String, Object> results = new LinkedHashMap<>();
        for (String mode : List.of("impala", "a3c", "sync")) {
            Map<String, Object> s = train(List.of("--mode", mode), maxSeconds != null ? maxSeconds : 300, mode);
            double wall = ((Number) s.get("wall_seconds")).doubleValue();
            long updates = ((Number) s.get("updates")).longValue();
            md.append(String.format(Locale.ROOT, "| %s | %s | %.1f | %,d | %,.0f | %,d | %.1f | %.1f |%n", mode, s.get("solved"),
                    wall, ((Number) s.get("frames")).longValue(), ((Number) s.get("fps")).doubleValue(), updates,
                    wall > 0 ? updates / wall : 0, ((Number) s.get("final_avg_return")).doubleValue()));
            results.put(mode, s);
        }
        Map<String, Object> json = new LinkedHashMap<>();
        json.put("date", LocalDate.now().toString());
        json.put("cores", Runtime.getRuntime().availableProcessors());
        json.put("modes", results);
        Files.writeString(out.resolve("modes.md"), md, StandardCharsets.UTF_8);
        Files.writeString(out.resolve("modes.json"), Json.write(json), StandardCharsets.UTF_8);
        System.out.print(md);
        System.out.println("wrote " + out.resolve("modes.md") + " and " + out.resolve("modes.json"));
        return 0;
    }
}
