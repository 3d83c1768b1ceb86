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
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import javax.imageio.ImageIO;

/**
 * A training run's output folder: {@code metrics.csv} (one row per progress report),
 * {@code training-curve.png} and {@code summary.json}. Not thread-safe.
 */
final class RunFolder implements AutoCloseable {

    static final String CSV_HEADER = "seconds,frames,fps,episodes,average_return,updates,policy_version,policy_lag";

    /** One progress row. */
    record Row(double seconds, long frames, double fps, long episodes, double averageReturn, long updates,
            long policyVersion, double policyLag) {
    }

    private final Path dir;
    private final BufferedWriter csv;
    private final List<Row> rows = new ArrayList<>();

    RunFolder(Path dir) {
        this.dir = dir;
        try {
            Files.createDirectories(dir);
            csv = Files.newBufferedWriter(dir.resolve("metrics.csv"), StandardCharsets.UTF_8);
            csv.write(CSV_HEADER);
            csv.newLine();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create run folder " + dir, e);
        }
    }

    Path dir() {
        return dir;
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
