package dev.starling.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.Color;
import java.awt.Rectangle;
import java.awt.geom.Point2D;
import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Locale;
import java.util.OptionalDouble;
import java.util.Set;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;

import javax.imageio.ImageIO;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The page {@code training-curve.png}: drawn from a metrics.csv of either format, every panel
 * with data shows its line in its colour, panels without values show a note and none of it, and
 * the evaluation markers (the best ones in their own colour) and the target return's dashed line
 * appear exactly when the run folder has them, where their data puts them. Checked on the pixels
 * of the written PNG; where a point should be comes from the panel's chart
 * ({@link TrainingReport.Page#toPage}).
 */
class TrainingReportTest {

    /** Pixels this close (per channel) to a colour count as drawn in it (antialiased edges do not). */
    private static final int TOLERANCE = 24;
    /**
     * A line across a panel covers hundreds of pixels; a legend's sample of it (about 50) is not
     * a line.
     */
    private static final int LINE_PIXELS = 150;
    /** A marker (9 pixels across) covers about 40 pixels of its colour; its edges and a line's crossing, a few. */
    private static final int MARKER_PIXELS = 15;

    private static final Set<TrainingReport.Panel> LOSSES = EnumSet.of(TrainingReport.Panel.POLICY_LOSS,
            TrainingReport.Panel.BASELINE_LOSS, TrainingReport.Panel.ENTROPY, TrainingReport.Panel.GRAD_NORM);
    private static final Set<TrainingReport.Panel> RETURNS = EnumSet.of(TrainingReport.Panel.RETURN_FRAMES,
            TrainingReport.Panel.RETURN_SECONDS);

    @TempDir
    Path dir;

    @Test
    void anOldMetricsFileWithoutEvaluationsDrawsEveryPanelButTheLossTerms() throws Exception {
        Files.writeString(dir.resolve("metrics.csv"), RunFolder.CSV_HEADER_WITHOUT_LOSSES + "\n" + rows(false));
        Files.writeString(dir.resolve("config.properties"), "mode=a3c\n");
        Drawn d = draw(RunFolder.rows(dir), List.of(), OptionalDouble.empty());

        for (TrainingReport.Panel p : TrainingReport.Panel.values()) {
            if (LOSSES.contains(p)) {
                assertNote(d, p);
            } else {
                assertLine(d.png, p);
            }
        }
        for (TrainingReport.Panel p : RETURNS) {
            Rectangle r = p.bounds();
            assertEquals(0, count(d.png, r, TrainingReport.EVALUATION_COLOR), p + ": no evaluations.csv");
            assertEquals(0, count(d.png, r, TrainingReport.BEST_COLOR), p + ": no evaluations.csv");
            assertEquals(0, count(d.png, r, TrainingReport.TARGET_COLOR), p + ": no target saved");
        }
        assertEquals("not reported in a3c mode (the actors compute the losses)",
                TrainingReport.note(TrainingReport.Panel.ENTROPY, RunFolder.rows(dir), "a3c"));
    }

    @Test
    void aNewMetricsFileWithEvaluationsAndATargetDrawsEverything() throws Exception {
        try (RunFolder run = RunFolder.create(dir)) {
            for (RunFolder.Row r : parse(rows(true))) {
                run.add(r);
            }
        }
        assertEquals(RunFolder.CSV_HEADER, Files.readAllLines(dir.resolve("metrics.csv")).get(0));
        assertEquals(12, RunFolder.CSV_HEADER.split(",").length);
        Files.writeString(dir.resolve("config.properties"), "mode=impala\ntarget-return=180\n");
        // An evaluation above every training average early in the run, kept as the best; a later
        // one below it.
        Files.writeString(dir.resolve("evaluations.csv"), "seconds,frames,policy_version,training_average,eval_return,best\n"
                + "2.000,2000,3,20.0000,220.0000,true\n"
                + "40.000,40000,80,150.0000,190.0000,false\n");
        try (RunFolder run = RunFolder.resume(dir)) {
            run.writeCurve("test run");
        }
        BufferedImage png = ImageIO.read(dir.resolve("training-curve.png").toFile());
        assertEquals(TrainingReport.WIDTH, png.getWidth());
        assertEquals(TrainingReport.HEIGHT, png.getHeight());
        // Where things belong: the same page drawn from what the run folder holds.
        TrainingReport.Page page = TrainingReport.draw("test run", RunFolder.rows(dir),
                TrainingReport.readEvaluations(dir.resolve("evaluations.csv")), OptionalDouble.of(180), "impala");

        for (TrainingReport.Panel p : TrainingReport.Panel.values()) {
            assertLine(png, p);
        }
        for (TrainingReport.Panel p : RETURNS) {
            assertMarker(png, page, p, 2, 2000, 220, TrainingReport.BEST_COLOR);
            assertMarker(png, page, p, 40, 40000, 190, TrainingReport.EVALUATION_COLOR);
            assertTargetLine(png, page, p, 180);
        }
    }

    @Test
    void aMalformedEvaluationIsSkippedWithAWarningAndTheOthersAreDrawn() throws Exception {
        Files.writeString(dir.resolve("metrics.csv"), RunFolder.CSV_HEADER + "\n" + rows(true));
        Path csv = dir.resolve("evaluations.csv");
        Files.writeString(csv, "seconds,frames,policy_version,training_average,eval_return,best\n"
                + "2.000,2000,3,20.0000,220.0000,true\n"
                + "3.000,3000,4,abc,\n"
                + "4.000,4000,5,30.0000,NaN,false\n"
                + "\n"
                + "40.000,40000,80,150.0000,190.0000,false\n");
        List<String> warnings = new ArrayList<>();
        Logger log = Logger.getLogger(TrainingReport.class.getName());
        Handler capture = new Handler() {
            @Override
            public void publish(LogRecord r) {
                if (r.getLevel() == Level.WARNING) {
                    warnings.add(r.getMessage());
                }
            }

            @Override
            public void flush() {
            }

            @Override
            public void close() {
            }
        };
        log.addHandler(capture);
        List<TrainingReport.EvalPoint> points;
        try {
            points = TrainingReport.readEvaluations(csv);
        } finally {
            log.removeHandler(capture);
        }
        assertEquals(List.of(new TrainingReport.EvalPoint(2, 2000, 220, true),
                new TrainingReport.EvalPoint(40, 40000, 190, false)), points);
        assertEquals(2, warnings.size(), warnings.toString());
        assertTrue(warnings.get(0).startsWith("skipping line 3 of " + csv + " (5 fields, the header has 6)"), warnings.get(0));
        assertTrue(warnings.get(1).startsWith("skipping line 4 of " + csv + " (a value that is not finite)"),
                warnings.get(1));

        Drawn d = draw(RunFolder.rows(dir), points, OptionalDouble.empty());
        for (TrainingReport.Panel p : RETURNS) {
            assertLine(d.png, p);
            assertMarker(d.png, d.page, p, 2, 2000, 220, TrainingReport.BEST_COLOR);
            assertMarker(d.png, d.page, p, 40, 40000, 190, TrainingReport.EVALUATION_COLOR);
            assertEquals(0, count(d.png, p.bounds(), TrainingReport.TARGET_COLOR), p + ": no target given");
        }

        // No file, or only a header: no evaluations, no warning.
        assertEquals(List.of(), TrainingReport.readEvaluations(dir.resolve("missing.csv")));
        Files.writeString(csv, "seconds,frames,policy_version,training_average,eval_return,best\n");
        assertEquals(List.of(), TrainingReport.readEvaluations(csv));
    }

    @Test
    void emptyRowsStillMakeAPage() throws Exception {
        Drawn d = draw(List.of(), List.of(), OptionalDouble.empty());
        for (TrainingReport.Panel p : TrainingReport.Panel.values()) {
            assertNote(d, p);
        }
    }

    // ------------------------------------------------------------------ helpers

    /**
     * 60 rows a second apart: the return rises from 10 to about 190 (none before the second
     * row), fps near 1000, lag between 0 and 2, and (if {@code losses}) the four loss terms,
     * empty in the first row as before the first update.
     */
    private static String rows(boolean losses) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < 60; i++) {
            sb.append(String.format(Locale.ROOT, "%.3f,%d,%.1f,%d,%.3f,%d,%d,%.3f", (double) i, i * 1000L,
                    i == 0 ? 0.0 : 1000.0 + 30 * Math.sin(i), i == 0 ? 0 : i * 5, i == 0 ? 0.0 : 10 + 3.0 * i, i * 4L,
                    i * 4L, 1 + Math.sin(i / 3.0)));
            if (losses) {
                sb.append(i == 0 ? ",,,," : String.format(Locale.ROOT, ",%.6g,%.6g,%.6g,%.6g", -0.01 + 0.005 * Math.cos(i),
                        40.0 / i, 0.69 - 0.003 * i, 2 + Math.sin(i / 2.0)));
            }
            sb.append('\n');
        }
        return sb.toString();
    }

    private List<RunFolder.Row> parse(String rows) throws Exception {
        Path other = Files.createDirectories(dir.resolve("parse"));
        Files.writeString(other.resolve("metrics.csv"), RunFolder.CSV_HEADER + "\n" + rows);
        return RunFolder.rows(other);
    }

    /** The PNG {@link TrainingReport#write} wrote, and the page it drew (for where things are). */
    private record Drawn(BufferedImage png, TrainingReport.Page page) {
    }

    /** Writes the page as a PNG and reads it back, checking its size and that it is the page drawn. */
    private Drawn draw(List<RunFolder.Row> rows, List<TrainingReport.EvalPoint> evaluations, OptionalDouble target)
            throws Exception {
        Path png = dir.resolve("page-" + System.nanoTime() + ".png");
        TrainingReport.write(png, "test run", rows, evaluations, target, "a3c");
        BufferedImage image = ImageIO.read(png.toFile());
        assertEquals(TrainingReport.WIDTH, image.getWidth());
        assertEquals(TrainingReport.HEIGHT, image.getHeight());
        TrainingReport.Page page = TrainingReport.draw("test run", rows, evaluations, target, "a3c");
        for (int y = 0; y < image.getHeight(); y++) {
            for (int x = 0; x < image.getWidth(); x++) {
                if (image.getRGB(x, y) != page.image().getRGB(x, y)) {
                    throw new AssertionError("the PNG differs from the page drawn at (" + x + ", " + y + ")");
                }
            }
        }
        return new Drawn(image, page);
    }

    /** The panel shows its line: hundreds of pixels of its colour. */
    private static void assertLine(BufferedImage png, TrainingReport.Panel p) {
        int n = count(png, p.bounds(), p.color);
        assertTrue(n > LINE_PIXELS, p + ": " + n + " pixels of its line's colour");
    }

    /**
     * A panel without values: none of its line's colour anywhere in it, and its note (dark text)
     * in the middle of its plot.
     */
    private static void assertNote(Drawn d, TrainingReport.Panel p) {
        assertEquals(0, count(d.png, p.bounds(), p.color), p + " has no values: no line");
        // A note panel's axes run from 0 to 1.
        Point2D.Double centre = d.page.toPage(p, 0.5, 0.5);
        Rectangle middle = new Rectangle((int) centre.x - 60, (int) centre.y - 25, 120, 50);
        int n = count(d.png, middle, TrainingReport.NOTE_COLOR);
        assertTrue(n > 20, p + ": " + n + " pixels of the note's colour in the middle of the plot");
    }

    /** A marker of {@code color} where the evaluation at these seconds or frames belongs in {@code p}. */
    private static void assertMarker(BufferedImage png, TrainingReport.Page page, TrainingReport.Panel p,
            double seconds, long frames, double evalReturn, Color color) {
        Point2D.Double at = page.toPage(p, p == TrainingReport.Panel.RETURN_FRAMES ? frames : seconds, evalReturn);
        Rectangle box = new Rectangle((int) Math.round(at.x) - 6, (int) Math.round(at.y) - 6, 13, 13);
        int n = count(png, box, color);
        assertTrue(n > MARKER_PIXELS, p + ": " + n + " pixels of the marker's colour at " + at);
    }

    /** A dashed line of the target's colour across the panel at the target's height. */
    private static void assertTargetLine(BufferedImage png, TrainingReport.Page page, TrainingReport.Panel p,
            double target) {
        int y = (int) Math.round(page.toPage(p, 0, target).y);
        Rectangle band = new Rectangle(p.bounds().x, y - 2, p.bounds().width, 5);
        int n = count(png, band, TrainingReport.TARGET_COLOR);
        assertTrue(n > LINE_PIXELS, p + ": " + n + " pixels of the target's colour at its height (y " + y + ")");
    }

    private static int count(BufferedImage page, Rectangle r, Color c) {
        int n = 0;
        for (int y = Math.max(0, r.y); y < Math.min(page.getHeight(), r.y + r.height); y++) {
            for (int x = Math.max(0, r.x); x < Math.min(page.getWidth(), r.x + r.width); x++) {
                Color p = new Color(page.getRGB(x, y));
                if (Math.abs(p.getRed() - c.getRed()) <= TOLERANCE && Math.abs(p.getGreen() - c.getGreen()) <= TOLERANCE
                        && Math.abs(p.getBlue() - c.getBlue()) <= TOLERANCE) {
                    n++;
                }
            }
        }
        return n;
    }
}
