package dev.starling.cli;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.logging.Logger;
import java.util.stream.Stream;

import javax.imageio.ImageIO;

/**
 * A training run's output folder: {@code config.properties} (the effective train options, see
 * {@link SavedOptions}), {@code metrics.csv} (one row per progress report),
 * {@code training-curve.png} and {@code summary.json}, beside the {@code checkpoints/},
 * {@code logs/} and {@code ports/} the roles write. A folder holds one run: {@link #create}
 * refuses a folder that already holds one, and {@link #resume} continues one, appending to its
 * {@code metrics.csv} (its curve covers every session). Not thread-safe.
 */
final class RunFolder implements AutoCloseable {

    private static final Logger LOG = Logger.getLogger(RunFolder.class.getName());

    static final String CSV_HEADER = "seconds,frames,fps,episodes,average_return,updates,policy_version,policy_lag";
    static final String METRICS = "metrics.csv";
    /** What a run writes into its folder; any of them there means the folder holds a run. */
    static final List<String> RUN_FILES = List.of(SavedOptions.FILE, METRICS, "summary.json", "training-curve.png",
            "checkpoints", "logs", "ports", "tls", "soak.csv");

    /** One progress row. */
    record Row(double seconds, long frames, double fps, long episodes, double averageReturn, long updates,
            long policyVersion, double policyLag) {
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
     * written is cut off) and new rows are appended.
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
     * The complete rows of {@code dir}'s metrics.csv (none if there is no file).
     *
     * @throws IllegalArgumentException if its header is not {@link #CSV_HEADER}
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
        if (!lines.get(0).equals(CSV_HEADER)) {
            throw new IllegalArgumentException(metrics + " does not start with the header this version writes ("
                    + CSV_HEADER + ")");
        }
        List<Row> rows = new ArrayList<>();
        for (String line : lines.subList(1, lines.size())) {
            String[] f = line.split(",");
            try {
                rows.add(new Row(Double.parseDouble(f[0]), Long.parseLong(f[1]), Double.parseDouble(f[2]),
                        Long.parseLong(f[3]), Double.parseDouble(f[4]), Long.parseLong(f[5]), Long.parseLong(f[6]),
                        Double.parseDouble(f[7])));
            } catch (RuntimeException e) {
                throw new IllegalArgumentException(metrics + " has a malformed row: '" + line + "'");
            }
        }
        return rows;
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
            csv.write(String.format(Locale.ROOT, "%.3f,%d,%.1f,%d,%.3f,%d,%d,%.3f", r.seconds(), r.frames(), r.fps(),
                    r.episodes(), r.averageReturn(), r.updates(), r.policyVersion(), r.policyLag()));
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

    /** Average return against frames, 800 x 480. */
    void writeCurve(String title) {
        int w = 800;
        int h = 480;
        int left = 70;
        int right = 20;
        int top = 40;
        int bottom = 50;
        BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = img.createGraphics();
        g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
        g.setColor(Color.WHITE);
        g.fillRect(0, 0, w, h);
        double maxFrames = 1;
        double maxReturn = 1;
        double minReturn = 0;
        for (Row r : rows) {
            maxFrames = Math.max(maxFrames, r.frames());
            maxReturn = Math.max(maxReturn, r.averageReturn());
            minReturn = Math.min(minReturn, r.averageReturn());
        }
        g.setColor(Color.BLACK);
        g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 13));
        g.drawString(title, left, 24);
        g.drawLine(left, h - bottom, w - right, h - bottom);
        g.drawLine(left, top, left, h - bottom);
        for (int i = 0; i <= 4; i++) {
            int y = h - bottom - i * (h - top - bottom) / 4;
            double v = minReturn + i * (maxReturn - minReturn) / 4;
            g.drawString(String.format(Locale.ROOT, "%.0f", v), 10, y + 4);
            int x = left + i * (w - left - right) / 4;
            g.drawString(String.format(Locale.ROOT, "%.2gM", maxFrames * i / 4 / 1e6), x - 12, h - bottom + 18);
        }
        g.drawString("frames", w / 2, h - 12);
        g.drawString("avg return (last 100 episodes)", left + 8, top - 4);
        g.setColor(new Color(31, 119, 180));
        g.setStroke(new BasicStroke(2f));
        int px = -1;
        int py = -1;
        for (Row r : rows) {
            int x = left + (int) ((w - left - right) * r.frames() / maxFrames);
            int y = h - bottom - (int) ((h - top - bottom) * (r.averageReturn() - minReturn) / (maxReturn - minReturn));
            if (px >= 0) {
                g.drawLine(px, py, x, y);
            }
            px = x;
            py = y;
        }
        g.dispose();
        try {
            ImageIO.write(img, "png", dir.resolve("training-curve.png").toFile());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
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
