package dev.starling.cli;

import java.io.BufferedWriter;
import java.io.IOException;
import java.io.Reader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalDouble;
import java.util.Properties;
import java.util.logging.Logger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import dev.starling.common.rl.UpdateStats;
import dev.starling.proto.v1.LearnerStatus;

/**
 * A training run's output folder: {@code config.properties} (the effective train options, see
 * {@link SavedOptions}), {@code metrics.csv} (one row per progress report),
 * {@code training-curve.png} (a page of panels drawn by {@link TrainingReport}, with the
 * evaluations of {@code evaluations.csv} if there is one) and {@code summary.json}, beside the
 * {@code checkpoints/}, {@code logs/} and {@code ports/} the roles write. A folder holds one run:
 * {@link #create} refuses a folder that already holds one, and {@link #resume} continues one,
 * appending to its {@code metrics.csv} (its report covers every session). Not thread-safe.
 */
final class RunFolder implements AutoCloseable {

    private static final Logger LOG = Logger.getLogger(RunFolder.class.getName());

    static final String CSV_HEADER = "seconds,frames,fps,episodes,average_return,updates,policy_version,policy_lag,"
            + "policy_loss,baseline_loss,entropy,grad_norm";
    /**
     * The header of earlier versions, without the loss columns: {@link #rows} reads it (the losses
     * absent), {@link #resume} rewrites such a file with {@link #CSV_HEADER} before appending.
     */
    static final String CSV_HEADER_WITHOUT_LOSSES =
            "seconds,frames,fps,episodes,average_return,updates,policy_version,policy_lag";
    static final String METRICS = "metrics.csv";
    static final String CURVE = "training-curve.png";
    /** What a run writes into its folder; any of them there means the folder holds a run. */
    static final List<String> RUN_FILES = List.of(SavedOptions.FILE, METRICS, "summary.json", "training-curve.png",
            "checkpoints", "logs", "ports", "tls", "soak.csv", "best", "evaluating", EvaluationJudge.EVALUATIONS);

    private static final int COLUMNS_WITHOUT_LOSSES = 8;
    private static final int COLUMNS = 12;
    private static final Pattern SUMMARY_TARGET = Pattern.compile("\"target_return\"\\s*:\\s*([-+0-9.eE]+)");

    /**
     * One progress row.
     *
     * @param losses the loss terms reported with it ({@link Losses#NONE} in a3c mode, before the
     *     first update, and in rows of a metrics.csv written before the loss columns)
     */
    record Row(double seconds, long frames, double fps, long episodes, double averageReturn, long updates,
            long policyVersion, double policyLag, Losses losses) {

        /** A row without loss terms. */
        Row(double seconds, long frames, double fps, long episodes, double averageReturn, long updates,
                long policyVersion, double policyLag) {
            this(seconds, frames, fps, episodes, averageReturn, updates, policyVersion, policyLag, Losses.NONE);
        }
    }

    /**
     * The loss terms of recent updates, each NaN when not reported (written as an empty field).
     *
     * @param policyLoss the policy loss term
     * @param baselineLoss the baseline (value) loss, before its cost
     * @param entropy the policy's mean entropy, before its cost
     * @param gradNorm the gradient's global norm before clipping
     */
    record Losses(double policyLoss, double baselineLoss, double entropy, double gradNorm) {

        static final Losses NONE = new Losses(Double.NaN, Double.NaN, Double.NaN, Double.NaN);

        /** The means a status carries (each unset field, as in a3c mode, is NaN). */
        static Losses of(LearnerStatus s) {
            return new Losses(s.hasPolicyLoss() ? s.getPolicyLoss() : Double.NaN,
                    s.hasBaselineLoss() ? s.getBaselineLoss() : Double.NaN,
                    s.hasEntropy() ? s.getEntropy() : Double.NaN,
                    s.hasGradNorm() ? s.getGradNorm() : Double.NaN);
        }

        /** One update's terms; {@link #NONE} for none or a skipped (non-finite) update. */
        static Losses of(UpdateStats u) {
            return u == null || !u.applied() ? NONE
                    : new Losses(u.policyLoss(), u.baselineLoss(), u.entropy(), u.gradNorm());
        }
    }

    private final Path dir;
    private final BufferedWriter csv;
    private final List<Row> rows = new ArrayList<>();

    private RunFolder(Path dir, List<Row> previous, boolean append) {
        this.dir = dir;
        rows.addAll(previous);
        try {
            Files.createDirectories(dir);
            Path metrics = dir.resolve(METRICS);
            if (append) {
                csv = Files.newBufferedWriter(metrics, StandardCharsets.UTF_8, StandardOpenOption.APPEND);
            } else {
                csv = Files.newBufferedWriter(metrics, StandardCharsets.UTF_8);
                csv.write(CSV_HEADER);
                csv.newLine();
            }
            deleteStalePortFiles();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create run folder " + dir, e);
        }
    }

    /**
     * A new run in {@code dir} (created if missing).
     *
     * @throws IllegalArgumentException if {@code dir} already holds a run
     */
    static RunFolder create(Path dir) {
        refuseExistingRun(dir);
        return new RunFolder(dir, List.of(), false);
    }

    /**
     * Continues the run in {@code dir}: its metrics rows so far are kept (a row a crash left half
     * written is cut off) and new rows are appended. A metrics.csv of an earlier version (without
     * the loss columns) is first rewritten with empty loss fields, so the file keeps one header.
     *
     * @throws IllegalArgumentException if {@code dir}'s metrics.csv is not one this version writes
     */
    static RunFolder resume(Path dir) {
        List<Row> previous = rows(dir);
        Path metrics = dir.resolve(METRICS);
        try {
            if (!Files.exists(metrics)) {
                Files.writeString(metrics, CSV_HEADER + System.lineSeparator(), StandardCharsets.UTF_8);
            } else {
                cutTornLine(metrics);
                addLossColumns(metrics);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot open " + metrics, e);
        }
        return new RunFolder(dir, previous, true);
    }

    /** Throws {@link IllegalArgumentException} if {@code dir} holds a run (any of {@link #RUN_FILES}). */
    static void refuseExistingRun(Path dir) {
        for (String name : RUN_FILES) {
            if (Files.exists(dir.resolve(name))) {
                throw new IllegalArgumentException("--run-dir " + dir + " already holds a run (" + name + "): continue it"
                        + " with --resume, or choose another --run-dir");
            }
        }
    }

    /**
     * The complete rows of {@code dir}'s metrics.csv (none if there is no file). A file with
     * {@link #CSV_HEADER_WITHOUT_LOSSES}, and rows of 8 fields under {@link #CSV_HEADER}, give
     * rows with {@link Losses#NONE}.
     *
     * @throws IllegalArgumentException if its header is neither of those, or a row is malformed
     */
    static List<Row> rows(Path dir) {
        Path metrics = dir.resolve(METRICS);
        if (!Files.exists(metrics)) {
            return List.of();
        }
        String text;
        try {
            text = Files.readString(metrics, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + metrics, e);
        }
        List<String> lines = new ArrayList<>(List.of(text.split("\\R", -1)));
        // The last element is what follows the last line break: empty, or a torn row.
        lines.remove(lines.size() - 1);
        if (lines.isEmpty()) {
            return List.of();
        }
        boolean withLosses = lines.get(0).equals(CSV_HEADER);
        if (!withLosses && !lines.get(0).equals(CSV_HEADER_WITHOUT_LOSSES)) {
            throw new IllegalArgumentException(metrics + " does not start with the header this version writes ("
                    + CSV_HEADER + ") or the earlier one without the loss columns");
        }
        List<Row> rows = new ArrayList<>();
        for (String line : lines.subList(1, lines.size())) {
            String[] f = line.split(",", -1);
            if (f.length != COLUMNS_WITHOUT_LOSSES && (!withLosses || f.length != COLUMNS)) {
                throw new IllegalArgumentException(metrics + " has a malformed row (" + f.length + " fields): '"
                        + line + "'");
            }
            try {
                Losses losses = f.length == COLUMNS
                        ? new Losses(optional(f[8]), optional(f[9]), optional(f[10]), optional(f[11]))
                        : Losses.NONE;
                rows.add(new Row(Double.parseDouble(f[0]), Long.parseLong(f[1]), Double.parseDouble(f[2]),
                        Long.parseLong(f[3]), Double.parseDouble(f[4]), Long.parseLong(f[5]), Long.parseLong(f[6]),
                        Double.parseDouble(f[7]), losses));
            } catch (RuntimeException e) {
                throw new IllegalArgumentException(metrics + " has a malformed row: '" + line + "'");
            }
        }
        return rows;
    }

    /** An optional number: empty is NaN (not reported). */
    private static double optional(String field) {
        return field.isEmpty() ? Double.NaN : Double.parseDouble(field);
    }

    /** The field for an optional number: empty if NaN. */
    private static String optional(double value) {
        return Double.isNaN(value) ? "" : String.format(Locale.ROOT, "%.6g", value);
    }

    /**
     * Rewrites a metrics.csv with {@link #CSV_HEADER_WITHOUT_LOSSES} as one with {@link #CSV_HEADER},
     * each row with empty loss fields (a temporary file, then a rename).
     */
    private static void addLossColumns(Path metrics) throws IOException {
        List<String> lines = Files.readAllLines(metrics, StandardCharsets.UTF_8);
        if (lines.isEmpty() || !lines.get(0).equals(CSV_HEADER_WITHOUT_LOSSES)) {
            return;
        }
        LOG.info("adding the loss columns to " + metrics + " (written by an earlier version)");
        StringBuilder text = new StringBuilder(CSV_HEADER).append(System.lineSeparator());
        for (String line : lines.subList(1, lines.size())) {
            text.append(line).append(",,,,").append(System.lineSeparator());
        }
        Path temp = metrics.resolveSibling("." + METRICS + ".tmp");
        Files.writeString(temp, text, StandardCharsets.UTF_8);
        Files.move(temp, metrics, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }

    /** Cuts a last line without a line break (a row a killed launcher wrote half of). */
    private static void cutTornLine(Path file) throws IOException {
        byte[] bytes = Files.readAllBytes(file);
        int end = bytes.length;
        while (end > 0 && bytes[end - 1] != '\n') {
            end--;
        }
        if (end < bytes.length) {
            LOG.warning("cutting a half-written last row off " + file);
            try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
                ch.truncate(end);
            }
        }
    }

    /** Port files of earlier processes: the roles write theirs again once serving. */
    private void deleteStalePortFiles() throws IOException {
        Path ports = dir.resolve("ports");
        if (!Files.isDirectory(ports)) {
            return;
        }
        try (Stream<Path> files = Files.list(ports)) {
            for (Path f : files.filter(Files::isRegularFile).toList()) {
                Files.delete(f);
            }
        }
    }

    Path dir() {
        return dir;
    }

    /** The last row so far (of this session or an earlier one), if any. */
    Optional<Row> last() {
        return rows.isEmpty() ? Optional.empty() : Optional.of(rows.get(rows.size() - 1));
    }

    void add(Row r) {
        rows.add(r);
        try {
            Losses l = r.losses();
            csv.write(String.format(Locale.ROOT, "%.3f,%d,%.1f,%d,%.3f,%d,%d,%.3f,%s,%s,%s,%s", r.seconds(), r.frames(),
                    r.fps(), r.episodes(), r.averageReturn(), r.updates(), r.policyVersion(), r.policyLag(),
                    optional(l.policyLoss()), optional(l.baselineLoss()), optional(l.entropy()),
                    optional(l.gradNorm())));
            csv.newLine();
            csv.flush();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    void writeSummary(Map<String, ?> summary) {
        try {
            Files.writeString(dir.resolve("summary.json"), Json.write(summary), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * Draws the report ({@link TrainingReport}) of every row so far into {@code training-curve.png},
     * with the evaluations of {@code evaluations.csv} if there is one, and the target return if
     * known: the {@code target-return} saved in {@code config.properties}, else the
     * {@code target_return} of an earlier session's {@code summary.json}.
     */
    void writeCurve(String title) {
        writeCurve(title, savedTarget());
    }

    /** As {@link #writeCurve(String)}, with the target return given (empty: none drawn). */
    void writeCurve(String title, OptionalDouble targetReturn) {
        TrainingReport.write(dir.resolve(CURVE), title, rows,
                TrainingReport.readEvaluations(dir.resolve(EvaluationJudge.EVALUATIONS)), targetReturn,
                savedOptions().getProperty("mode", ""));
    }

    /** The target return this folder records, if any (finite). */
    private OptionalDouble savedTarget() {
        String saved = savedOptions().getProperty("target-return");
        OptionalDouble target = OptionalDouble.empty();
        try {
            if (saved != null) {
                target = OptionalDouble.of(Double.parseDouble(saved.strip()));
            } else if (Files.isRegularFile(dir.resolve("summary.json"))) {
                Matcher m = SUMMARY_TARGET.matcher(Files.readString(dir.resolve("summary.json"), StandardCharsets.UTF_8));
                if (m.find()) {
                    target = OptionalDouble.of(Double.parseDouble(m.group(1)));
                }
            }
        } catch (IOException | NumberFormatException e) {
            LOG.warning("cannot read the target return of " + dir + " (" + e.getMessage() + "): drawing none");
            return OptionalDouble.empty();
        }
        return target.isPresent() && Double.isFinite(target.getAsDouble()) ? target : OptionalDouble.empty();
    }

    /** The options saved in {@code config.properties}; none if it is missing or unreadable. */
    private Properties savedOptions() {
        Properties p = new Properties();
        Path file = dir.resolve(SavedOptions.FILE);
        if (Files.isRegularFile(file)) {
            try (Reader in = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
                p.load(in);
            } catch (IOException | IllegalArgumentException e) {
                LOG.warning("cannot read " + file + " (" + e.getMessage() + "): the report goes without it");
            }
        }
        return p;
    }

    @Override
    public void close() {
        try {
            csv.close();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
