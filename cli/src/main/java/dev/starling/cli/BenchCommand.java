package dev.starling.cli;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDate;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;

import dev.starling.learner.bench.FoundationBenchmark;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code starling bench}: measures this machine and writes a Markdown and a JSON table. */
@Command(name = "bench", mixinStandardHelpOptions = true,
        description = {"Measure this machine: learner update, actor speed, or every mode.",
            "%nMeasures the learner update (fast split-at-done path vs the reference loop) and actor collection speed side by side in one run; or, with --modes, trains in each mode one after another. Reports; asserts nothing."})
final class BenchCommand implements Callable<Integer> {

    @Option(names = "--quick", description = "Shorter measurements (about a minute).")
    boolean quick;

    @Option(names = "--modes", description = "Instead: train masked CartPole to 475 in each mode (impala, a3c, sync), one after another in"
            + " this run, and compare frames/s, time to solve and updates/s.")
    boolean modes;

    @Option(names = "--max-seconds", defaultValue = "300", description = "--modes: time budget per mode. Default: ${DEFAULT-VALUE}.")
    double maxSeconds;

    @Option(names = "--out", paramLabel = "DIR", defaultValue = "bench-results",
            description = "Where bench.md and bench.json go. Default: ${DEFAULT-VALUE}.")
    Path out;

    @Override
    public Integer call() throws Exception {
        if (modes) {
            return modes();
        }
        PrintStream log = System.out;
        log.println("benchmark (one libtorch thread, OMP_NUM_THREADS=" + System.getenv("OMP_NUM_THREADS") + ")");
        List<FoundationBenchmark.Line> lines = FoundationBenchmark.run(quick, log);
        Files.createDirectories(out);
        StringBuilder md = new StringBuilder();
        md.append("| measurement | ms per call | rate | unit |\n|---|---:|---:|---|\n");
        Map<String, Object> json = new LinkedHashMap<>();
        json.put("date", LocalDate.now().toString());
        json.put("cores", Runtime.getRuntime().availableProcessors());
        json.put("provenance", Provenance.all());
        Map<String, Object> results = new LinkedHashMap<>();
        for (FoundationBenchmark.Line l : lines) {
            md.append(String.format(Locale.ROOT, "| %s | %s | %.2f | %s |%n", l.name(),
                    Double.isNaN(l.msPerCall()) ? "" : String.format(Locale.ROOT, "%.3f", l.msPerCall()),
                    l.perSecond(), l.unit()));
            Map<String, Object> entry = new LinkedHashMap<>();
            entry.put("ms_per_call", l.msPerCall());
            entry.put("rate", l.perSecond());
            entry.put("unit", l.unit());
            results.put(l.name(), entry);
        }
        json.put("results", results);
        Files.writeString(out.resolve("bench.md"), md, StandardCharsets.UTF_8);
        Files.writeString(out.resolve("bench.json"), Json.write(json), StandardCharsets.UTF_8);
        log.println("wrote " + out.resolve("bench.md") + " and " + out.resolve("bench.json"));
        return 0;
    }

    /** Each training mode to the target on the same machine, one after another, with default settings. */
    private int modes() throws IOException {
        Files.createDirectories(out);
        StringBuilder md = new StringBuilder("| mode | solved | wall s | frames | frames/s | updates | updates/s | final avg return |\n"
                + "|---|---|---:|---:|---:|---:|---:|---:|\n");
        Map<String, Object> results = new LinkedHashMap<>();
        for (String mode : List.of("impala", "a3c", "sync")) {
            TrainCommand train = new TrainCommand();
            CommandLine cli = new CommandLine(train);
            cli.setDefaultValueProvider(new Main.Defaults(null));
            cli.execute("--mode", mode, "--max-seconds", Double.toString(maxSeconds),
                    "--run-dir", out.resolve("run-" + mode).toString());
            Map<String, Object> s = train.lastSummary;
            if (s == null) {
                throw new IllegalStateException("mode " + mode + " produced no summary; see the log above");
            }
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
