package dev.starling.cli;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.Graphics2D;
import java.awt.Rectangle;
import java.awt.RenderingHints;
import java.awt.font.FontRenderContext;
import java.awt.geom.Point2D;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.text.DecimalFormat;
import java.text.DecimalFormatSymbols;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.OptionalDouble;
import java.util.function.Function;
import java.util.function.ToDoubleFunction;
import java.util.stream.IntStream;
import java.util.logging.Logger;

import javax.imageio.ImageIO;

import org.knowm.xchart.AnnotationText;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.XYSeries;
import org.knowm.xchart.XYSeries.XYSeriesRenderStyle;
import org.knowm.xchart.style.Styler.LegendLayout;
import org.knowm.xchart.style.Styler.LegendPosition;
import org.knowm.xchart.style.XYStyler;
import org.knowm.xchart.style.lines.SeriesLines;
import org.knowm.xchart.style.markers.Marker;
import org.knowm.xchart.style.markers.SeriesMarkers;

/**
 * The picture of a training run ({@code training-curve.png}): one {@value #WIDTH} x
 * {@value #HEIGHT} page of {@link Panel}s, each an XChart {@link XYChart} with its own labelled
 * axes. The average return against frames and against wall-clock seconds (with the evaluations of
 * {@code evaluations.csv} as markers, the best ones apart, and the target return as a dashed
 * line, when known), frames/s and policy lag against seconds, and each loss term against updates
 * in a small panel of its own scale. A loss term with no value in any row (a3c mode, a
 * metrics.csv from before the loss columns) gets a note instead of a line. Each chart is rendered
 * to an image of its panel's size and the images are laid out on the page under a title line;
 * works headless.
 *
 * <p>Stateless; the methods are thread-safe (every call builds its own charts).
 */
final class TrainingReport {

    private static final Logger LOG = Logger.getLogger(TrainingReport.class.getName());

    static final int WIDTH = 1200;
    static final int HEIGHT = 1040;
    static final String RETURN_LEGEND = "training average";
    static final String EVALUATION_LEGEND = "evaluation";
    static final String BEST_LEGEND = "best checkpoint";

    static final Color BACKGROUND = Color.WHITE;
    static final Color RETURN_COLOR = new Color(31, 119, 180);
    static final Color EVALUATION_COLOR = new Color(255, 127, 14);
    static final Color BEST_COLOR = new Color(214, 39, 40);
    static final Color TARGET_COLOR = new Color(44, 160, 44);
    static final Color FPS_COLOR = new Color(23, 190, 207);
    static final Color LAG_COLOR = new Color(214, 39, 40);
    static final Color POLICY_LOSS_COLOR = new Color(148, 103, 189);
    static final Color BASELINE_LOSS_COLOR = new Color(140, 86, 75);
    static final Color ENTROPY_COLOR = new Color(227, 119, 194);
    static final Color GRAD_NORM_COLOR = new Color(188, 189, 34);
    private static final Color GRID = new Color(232, 232, 232);
    static final Color NOTE_COLOR = new Color(110, 110, 110);

    private static final Font TITLE_FONT = new Font(Font.SANS_SERIF, Font.BOLD, 16);
    private static final Font SUMMARY_FONT = new Font(Font.SANS_SERIF, Font.PLAIN, 13);
    private static final Font PANEL_TITLE_FONT = new Font(Font.SANS_SERIF, Font.BOLD, 13);
    private static final Font AXIS_TITLE_FONT = new Font(Font.SANS_SERIF, Font.PLAIN, 12);
    private static final Font TICK_FONT = new Font(Font.SANS_SERIF, Font.PLAIN, 11);
    private static final Font LEGEND_FONT = new Font(Font.SANS_SERIF, Font.PLAIN, 11);
    private static final Font NOTE_FONT = new Font(Font.SANS_SERIF, Font.ITALIC, 13);

    /** Evaluations logged as malformed per file read; the rest are counted in one line. */
    private static final int WARNINGS_PER_FILE = 5;

    private static final int TITLE_HEIGHT = 40;
    private static final int LARGE_PANEL_HEIGHT = 340;
    private static final int SMALL_PANEL_HEIGHT = HEIGHT - TITLE_HEIGHT - 2 * LARGE_PANEL_HEIGHT;

    /** The panels of the page, where they sit, what they plot and in which colour. */
    enum Panel {
        RETURN_FRAMES(0, 0, 2, "average return (last 100 episodes) by frames", "frames", "return", RETURN_COLOR),
        RETURN_SECONDS(1, 0, 2, "average return (last 100 episodes) by wall-clock time", "seconds", "return",
                RETURN_COLOR),
        FPS(0, 1, 2, "throughput", "seconds", "frames/s", FPS_COLOR),
        POLICY_LAG(1, 1, 2, "policy lag", "seconds", "versions", LAG_COLOR),
        POLICY_LOSS(0, 2, 4, "policy loss", "updates", "loss", POLICY_LOSS_COLOR),
        BASELINE_LOSS(1, 2, 4, "baseline (value) loss", "updates", "loss", BASELINE_LOSS_COLOR),
        ENTROPY(2, 2, 4, "entropy", "updates", "nats", ENTROPY_COLOR),
        GRAD_NORM(3, 2, 4, "gradient norm (unclipped)", "updates", "L2 norm", GRAD_NORM_COLOR);

        private final Rectangle bounds;
        final String title;
        final String xLabel;
        final String yLabel;
        final Color color;

        Panel(int column, int row, int columns, String title, String xLabel, String yLabel, Color color) {
            int w = WIDTH / columns;
            int y = TITLE_HEIGHT + row * LARGE_PANEL_HEIGHT;
            this.bounds = new Rectangle(column * w, y, w, row < 2 ? LARGE_PANEL_HEIGHT : SMALL_PANEL_HEIGHT);
            this.title = title;
            this.xLabel = xLabel;
            this.yLabel = yLabel;
            this.color = color;
        }

        /** The panel's part of the page: its chart, title and axes included. */
        Rectangle bounds() {
            return new Rectangle(bounds);
        }

        boolean isLoss() {
            return ordinal() >= POLICY_LOSS.ordinal();
        }

        boolean isReturn() {
            return this == RETURN_FRAMES || this == RETURN_SECONDS;
        }
    }

    /**
     * One row of {@code evaluations.csv}: the current weights played {@code 100} episodes (or
     * as many as the run's evaluations use) at this point of the run.
     *
     * @param best whether these weights became the run's best checkpoint
     */
    record EvalPoint(double seconds, long frames, double evalReturn, boolean best) {
    }

    /**
     * A drawn page and the chart of each panel (already rendered: it maps data to pixels, see
     * {@link #toPage}); tests use it to find where a point belongs.
     */
    record Page(BufferedImage image, Map<Panel, XYChart> charts) {

        /** Where the point ({@code x}, {@code y}) of panel {@code p}'s data is on the page. */
        Point2D.Double toPage(Panel p, double x, double y) {
            XYChart chart = charts.get(p);
            return new Point2D.Double(p.bounds.x + chart.getScreenXFromChart(x),
                    p.bounds.y + chart.getScreenYFromChart(y));
        }
    }

    private TrainingReport() {
    }

    /**
     * The evaluations in {@code file}, for markers; none if it is missing or unreadable. Columns
     * are found by the header's names ({@code seconds}, {@code frames}, {@code eval_return}
     * needed, {@code best} optional), so added columns do no harm. A line that does not parse
     * (wrong field count, not a number, not finite) is skipped with a warning.
     */
    static List<EvalPoint> readEvaluations(Path file) {
        if (!Files.isRegularFile(file)) {
            return List.of();
        }
        List<String> lines;
        try {
            lines = Files.readAllLines(file, StandardCharsets.UTF_8);
        } catch (IOException e) {
            LOG.warning("cannot read " + file + " (" + e.getMessage() + "): the report shows no evaluations");
            return List.of();
        }
        if (lines.isEmpty()) {
            return List.of();
        }
        String[] header = lines.get(0).strip().split(",", -1);
        Map<String, Integer> column = new HashMap<>();
        for (int i = 0; i < header.length; i++) {
            column.put(header[i].strip(), i);
        }
        Integer seconds = column.get("seconds");
        Integer frames = column.get("frames");
        Integer evalReturn = column.get("eval_return");
        Integer best = column.get("best");
        if (seconds == null || frames == null || evalReturn == null) {
            LOG.warning(file + " has no seconds, frames and eval_return columns (header '" + lines.get(0)
                    + "'): the report shows no evaluations");
            return List.of();
        }
        List<EvalPoint> points = new ArrayList<>();
        int skipped = 0;
        for (int n = 1; n < lines.size(); n++) {
            String line = lines.get(n);
            if (line.isBlank()) {
                continue;
            }
            String[] f = line.strip().split(",", -1);
            String problem = null;
            if (f.length != header.length) {
                problem = f.length + " fields, the header has " + header.length;
            } else {
                try {
                    double s = Double.parseDouble(f[seconds].strip());
                    long fr = Long.parseLong(f[frames].strip());
                    double r = Double.parseDouble(f[evalReturn].strip());
                    if (!Double.isFinite(s) || !Double.isFinite(r)) {
                        problem = "a value that is not finite";
                    } else {
                        points.add(new EvalPoint(s, fr, r, best != null && f[best].strip().equalsIgnoreCase("true")));
                    }
                } catch (NumberFormatException e) {
                    problem = "not a number: " + e.getMessage();
                }
            }
            if (problem != null) {
                skipped++;
                if (skipped <= WARNINGS_PER_FILE) {
                    LOG.warning("skipping line " + (n + 1) + " of " + file + " (" + problem + "): '" + line + "'");
                }
            }
        }
        if (skipped > WARNINGS_PER_FILE) {
            LOG.warning("skipped " + skipped + " malformed lines of " + file + " in all");
        }
        return points;
    }

    /** Draws the page (see {@link #draw}) into {@code png}. */
    static void write(Path png, String title, List<RunFolder.Row> rows, List<EvalPoint> evaluations,
            OptionalDouble targetReturn, String mode) {
        BufferedImage page = draw(title, rows, evaluations, targetReturn, mode).image();
        try {
            if (!ImageIO.write(page, "png", png.toFile())) {
                throw new IOException("no PNG writer");
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + png, e);
        }
    }

    /**
     * The page for these rows (of metrics.csv, in order) and evaluations.
     *
     * @param targetReturn the dashed line in the return panels, if known
     * @param mode the run's mode ({@code a3c} explains missing loss terms), or empty if unknown
     */
    static Page draw(String title, List<RunFolder.Row> rows, List<EvalPoint> evaluations,
            OptionalDouble targetReturn, String mode) {
        Map<Panel, XYChart> charts = new EnumMap<>(Panel.class);
        // Before the first episode the average is 0 by convention, not a return: left out.
        List<RunFolder.Row> withEpisodes = rows.stream().filter(r -> r.episodes() > 0).toList();
        for (Panel p : Panel.values()) {
            Series s = switch (p) {
                case RETURN_FRAMES -> Series.of(withEpisodes, r -> r.frames(), RunFolder.Row::averageReturn);
                case RETURN_SECONDS -> Series.of(withEpisodes, RunFolder.Row::seconds, RunFolder.Row::averageReturn);
                case FPS -> Series.of(rows, RunFolder.Row::seconds, RunFolder.Row::fps);
                case POLICY_LAG -> Series.of(rows, RunFolder.Row::seconds, RunFolder.Row::policyLag);
                case POLICY_LOSS -> Series.of(rows, r -> r.updates(), r -> r.losses().policyLoss());
                case BASELINE_LOSS -> Series.of(rows, r -> r.updates(), r -> r.losses().baselineLoss());
                case ENTROPY -> Series.of(rows, r -> r.updates(), r -> r.losses().entropy());
                case GRAD_NORM -> Series.of(rows, r -> r.updates(), r -> r.losses().gradNorm());
            };
            charts.put(p, p.isReturn() ? returnChart(p, s, evaluations, targetReturn, note(p, rows, mode))
                    : chart(p, s, p == Panel.FPS || p == Panel.POLICY_LAG, note(p, rows, mode)));
        }

        BufferedImage img = new BufferedImage(WIDTH, HEIGHT, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = img.createGraphics();
        try {
            g.setRenderingHint(RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
            g.setColor(BACKGROUND);
            g.fillRect(0, 0, WIDTH, HEIGHT);
            g.setColor(Color.BLACK);
            g.setFont(TITLE_FONT);
            g.drawString(title, 16, 26);
            if (!rows.isEmpty()) {
                RunFolder.Row last = rows.get(rows.size() - 1);
                String summary = String.format(Locale.ROOT, "%s frames in %s s, %d episodes, %d updates",
                        compact(last.frames()), compact(last.seconds()), last.episodes(), last.updates());
                g.setFont(SUMMARY_FONT);
                g.drawString(summary, WIDTH - 16 - g.getFontMetrics().stringWidth(summary), 26);
            }
            for (Map.Entry<Panel, XYChart> e : charts.entrySet()) {
                Rectangle b = e.getKey().bounds;
                g.drawImage(BitmapEncoder.getBufferedImage(e.getValue()), b.x, b.y, null);
            }
        } finally {
            g.dispose();
        }
        return new Page(img, charts);
    }

    /** What a panel without a single value says instead of a line. */
    static String note(Panel p, List<RunFolder.Row> rows, String mode) {
        if (rows.isEmpty()) {
            return "no progress reported yet";
        }
        if (p.isLoss()) {
            return "a3c".equals(mode) ? "not reported in a3c mode (the actors compute the losses)" : "not reported";
        }
        return "no episode finished yet";
    }

    // ------------------------------------------------------------------ charts

    /** Points of one line, in row order; NaN values are gaps. */
    private record Series(double[] x, double[] y) {

        static Series of(List<RunFolder.Row> rows, ToDoubleFunction<RunFolder.Row> x,
                ToDoubleFunction<RunFolder.Row> y) {
            double[] xs = new double[rows.size()];
            double[] ys = new double[rows.size()];
            for (int i = 0; i < xs.length; i++) {
                xs[i] = x.applyAsDouble(rows.get(i));
                ys[i] = y.applyAsDouble(rows.get(i));
            }
            return new Series(xs, ys);
        }

        private boolean drawn(int i) {
            return Double.isFinite(x[i]) && Double.isFinite(y[i]);
        }

        boolean empty() {
            for (int i = 0; i < y.length; i++) {
                if (drawn(i)) {
                    return false;
                }
            }
            return true;
        }

        /** A point with no drawn neighbour, which a line alone would not show. */
        boolean hasLonePoint() {
            for (int i = 0; i < y.length; i++) {
                if (drawn(i) && (i == 0 || !drawn(i - 1)) && (i == y.length - 1 || !drawn(i + 1))) {
                    return true;
                }
            }
            return false;
        }

        /**
         * The points for XChart: those with a finite x, y NaN where not finite (a gap in the
         * line).
         */
        double[][] gapped() {
            int n = (int) Arrays.stream(x).filter(Double::isFinite).count();
            double[] xs = new double[n];
            double[] ys = new double[n];
            for (int i = 0, j = 0; i < x.length; i++) {
                if (Double.isFinite(x[i])) {
                    xs[j] = x[i];
                    ys[j++] = drawn(i) ? y[i] : Double.NaN;
                }
            }
            return new double[][] {xs, ys};
        }

        /** The points drawn, x and y. */
        double[][] drawnPoints() {
            int[] drawn = IntStream.range(0, x.length).filter(this::drawn).toArray();
            return new double[][] {Arrays.stream(drawn).mapToDouble(i -> x[i]).toArray(),
                    Arrays.stream(drawn).mapToDouble(i -> y[i]).toArray()};
        }

        double maxX() {
            double max = Double.NEGATIVE_INFINITY;
            for (int i = 0; i < x.length; i++) {
                if (drawn(i)) {
                    max = Math.max(max, x[i]);
                }
            }
            return max;
        }

        boolean allAtLeast(double v, boolean inX) {
            double[] values = inX ? x : y;
            for (int i = 0; i < values.length; i++) {
                if (drawn(i) && values[i] < v) {
                    return false;
                }
            }
            return true;
        }
    }

    /** A single-line panel: frames/s, policy lag or a loss term (or its note). */
    private static XYChart chart(Panel p, Series s, boolean yFromZero, String note) {
        XYChart chart = styled(p);
        if (s.empty()) {
            return withNote(chart, note);
        }
        addLine(chart, p.title, s, p.color);
        double[][] xy = s.drawnPoints();
        tickLabels(chart, xy[0], xy[1]);
        if (s.allAtLeast(0, true)) {
            chart.getStyler().setXAxisMin(0.0);
        }
        if (yFromZero && s.allAtLeast(0, false)) {
            chart.getStyler().setYAxisMin(0.0);
            if (Arrays.stream(xy[1]).max().orElse(0) == 0) {
                // All zero (no lag in sync mode): 0 at the bottom, not alone in the middle.
                chart.getStyler().setYAxisMax(1.0);
            }
        }
        return chart;
    }

    /**
     * A return panel: the training average, the evaluations (scatter: diamonds, the ones kept as
     * the best checkpoint as triangles of another colour) and the target return (dashed), with a
     * legend in one row under the plot, where it covers none of them.
     */
    private static XYChart returnChart(Panel p, Series s, List<EvalPoint> evaluations, OptionalDouble target,
            String note) {
        XYChart chart = styled(p);
        if (s.empty() && evaluations.isEmpty()) {
            return withNote(chart, note);
        }
        List<double[]> points = new ArrayList<>();
        double xMax = Double.NEGATIVE_INFINITY;
        boolean nonNegative = true;
        if (!s.empty()) {
            addLine(chart, RETURN_LEGEND, s, RETURN_COLOR);
            double[][] xy = s.drawnPoints();
            for (int i = 0; i < xy[0].length; i++) {
                points.add(new double[] {xy[0][i], xy[1][i]});
            }
            xMax = s.maxX();
            nonNegative = s.allAtLeast(0, true);
        }
        List<double[]> others = new ArrayList<>();
        List<double[]> best = new ArrayList<>();
        for (EvalPoint e : evaluations) {
            double[] xy = {p == Panel.RETURN_FRAMES ? e.frames() : e.seconds(), e.evalReturn()};
            (e.best() ? best : others).add(xy);
            points.add(xy);
            xMax = Math.max(xMax, xy[0]);
            nonNegative &= xy[0] >= 0;
        }
        addMarkers(chart, EVALUATION_LEGEND, others, SeriesMarkers.DIAMOND, EVALUATION_COLOR);
        addMarkers(chart, BEST_LEGEND, best, SeriesMarkers.TRIANGLE_UP, BEST_COLOR);
        double xMin = nonNegative ? 0 : points.stream().mapToDouble(pt -> pt[0]).min().orElse(0);
        if (target.isPresent()) {
            double t = target.getAsDouble();
            double right = xMax > xMin ? xMax : xMin + 1;
            XYSeries line = series(chart, "target " + plain(t), new double[] {xMin, right}, new double[] {t, t});
            line.setXYSeriesRenderStyle(XYSeriesRenderStyle.Line);
            line.setMarker(SeriesMarkers.NONE);
            line.setLineColor(TARGET_COLOR);
            line.setLineStyle(new BasicStroke(1.5f, BasicStroke.CAP_BUTT, BasicStroke.JOIN_MITER, 10f,
                    new float[] {8f, 6f}, 0f));
            points.add(new double[] {xMin, t});
        }
        if (nonNegative) {
            chart.getStyler().setXAxisMin(0.0);
        }
        tickLabels(chart, points.stream().mapToDouble(pt -> pt[0]).toArray(),
                points.stream().mapToDouble(pt -> pt[1]).toArray());
        XYStyler st = chart.getStyler();
        st.setLegendVisible(chart.getSeriesMap().size() > 1);
        st.setLegendPosition(LegendPosition.OutsideS);
        st.setLegendLayout(LegendLayout.Horizontal);
        return chart;
    }

    /** A chart for panel {@code p}: its title, axis titles, the page's fonts and colours. */
    private static XYChart styled(Panel p) {
        Rectangle b = p.bounds;
        XYChart chart = new XYChartBuilder().width(b.width).height(b.height).title(p.title)
                .xAxisTitle(p.xLabel).yAxisTitle(p.yLabel).build();
        XYStyler st = chart.getStyler();
        st.setChartBackgroundColor(BACKGROUND);
        st.setPlotBackgroundColor(BACKGROUND);
        st.setChartFontColor(Color.BLACK);
        st.setChartTitleFont(PANEL_TITLE_FONT);
        st.setChartTitleBoxVisible(false);
        st.setAxisTitleFont(AXIS_TITLE_FONT);
        st.setAxisTickLabelsFont(TICK_FONT);
        st.setLegendFont(LEGEND_FONT);
        st.setLegendVisible(false);
        st.setLegendBorderColor(Color.LIGHT_GRAY);
        st.setLegendBackgroundColor(BACKGROUND);
        st.setPlotGridLinesColor(GRID);
        st.setPlotBorderColor(Color.GRAY);
        st.setMarkerSize(9);
        st.setAntiAlias(true);
        return chart;
    }

    private static void addLine(XYChart chart, String name, Series s, Color color) {
        double[][] xy = s.gapped();
        XYSeries line = series(chart, name, xy[0], xy[1]);
        line.setXYSeriesRenderStyle(XYSeriesRenderStyle.Line);
        line.setLineColor(color);
        line.setLineStyle(new BasicStroke(2f, BasicStroke.CAP_ROUND, BasicStroke.JOIN_ROUND));
        // A lone point (between gaps) shows only as a marker.
        line.setMarker(s.hasLonePoint() ? SeriesMarkers.CIRCLE : SeriesMarkers.NONE);
        line.setMarkerColor(color);
    }

    private static void addMarkers(XYChart chart, String name, List<double[]> points, Marker marker, Color color) {
        if (points.isEmpty()) {
            return;
        }
        XYSeries series = series(chart, name, points.stream().mapToDouble(pt -> pt[0]).toArray(),
                points.stream().mapToDouble(pt -> pt[1]).toArray());
        series.setXYSeriesRenderStyle(XYSeriesRenderStyle.Scatter);
        series.setMarker(marker);
        series.setMarkerColor(color);
        series.setLineStyle(SeriesLines.NONE);
    }

    /**
     * Adds a series whose first point is a gap (NaN, NaN). XChart 3.8.8 puts the ticks of an axis
     * whose values (those of every series, in order) are equally spaced at those values themselves,
     * as many as the labels leave room for: crowded ticks at odd numbers (87, 174, 260) for rows
     * at a regular interval. A NaN among the values keeps its usual ticks at round numbers; the
     * gap draws nothing and counts in no axis range.
     */
    private static XYSeries series(XYChart chart, String name, double[] xs, double[] ys) {
        double[] x = new double[xs.length + 1];
        double[] y = new double[ys.length + 1];
        x[0] = Double.NaN;
        y[0] = Double.NaN;
        System.arraycopy(xs, 0, x, 1, xs.length);
        System.arraycopy(ys, 0, y, 1, ys.length);
        return chart.addSeries(name, x, y);
    }

    /**
     * A panel with nothing to plot: its axes without ticks, {@code note} in the middle, in lines
     * that fit the plot's width.
     */
    private static XYChart withNote(XYChart chart, String note) {
        XYStyler st = chart.getStyler();
        st.setAxisTicksVisible(false);
        st.setXAxisMin(0.0).setXAxisMax(1.0).setYAxisMin(0.0).setYAxisMax(1.0);
        st.setAnnotationTextFont(NOTE_FONT);
        st.setAnnotationTextFontColor(NOTE_COLOR);
        List<String> lines = wrap(note, NOTE_FONT, chart.getWidth() - 90);
        double lineHeight = 0.09;
        double top = 0.5 + (lines.size() - 1) * lineHeight / 2;
        for (int i = 0; i < lines.size(); i++) {
            chart.addAnnotation(new AnnotationText(lines.get(i), 0.5, top - i * lineHeight, false));
        }
        return chart;
    }

    /** {@code text} broken at spaces into lines no wider than {@code width} pixels in {@code font}. */
    private static List<String> wrap(String text, Font font, int width) {
        FontRenderContext frc = new FontRenderContext(null, true, false);
        List<String> lines = new ArrayList<>();
        String current = "";
        for (String word : text.split(" ")) {
            String longer = current.isEmpty() ? word : current + " " + word;
            if (!current.isEmpty() && font.getStringBounds(longer, frc).getWidth() > width) {
                lines.add(current);
                current = word;
            } else {
                current = longer;
            }
        }
        lines.add(current);
        return lines;
    }

    /**
     * Tick labels for axes over these values: in thousands (40k) or millions (1.25M) where plain
     * numbers would be long, in powers of ten (2.5E-5) where they would be all zeros, else with the
     * decimals the axis' range needs (0, 0.05, 0.1, never .05).
     */
    private static void tickLabels(XYChart chart, double[] xs, double[] ys) {
        chart.getStyler().setxAxisTickLabelsFormattingFunction(labels(xs));
        chart.getStyler().setyAxisTickLabelsFormattingFunction(labels(ys));
    }

    private static Function<Double, String> labels(double[] values) {
        double min = Arrays.stream(values).min().orElse(0);
        double max = Arrays.stream(values).max().orElse(0);
        double big = Math.max(Math.abs(min), Math.abs(max));
        // XChart's ticks are a tenth of the range apart or more, at 1, 2 or 5 times a power of ten.
        double step = max > min ? (max - min) / 10 : big > 0 ? big / 10 : 0.1;
        DecimalFormatSymbols root = DecimalFormatSymbols.getInstance(Locale.ROOT);
        if (big >= 1e6) {
            DecimalFormat f = new DecimalFormat(pattern(step / 1e6), root);
            return v -> v == 0 ? "0" : f.format(v / 1e6) + "M";
        }
        if (big >= 1e4) {
            DecimalFormat f = new DecimalFormat(pattern(step / 1e3), root);
            return v -> v == 0 ? "0" : f.format(v / 1e3) + "k";
        }
        if (big < 1e-3 && big > 0) {
            DecimalFormat f = new DecimalFormat("0.##E0", root);
            return v -> Math.abs(v) < step * 1e-6 ? "0" : f.format(v);
        }
        DecimalFormat f = new DecimalFormat(pattern(step), root);
        return v -> f.format(Math.abs(v) < step * 1e-6 ? 0 : v);
    }

    /** A pattern with up to one decimal more than multiples of {@code step} need; no trailing zeros. */
    private static String pattern(double step) {
        int decimals = Math.max(0, Math.min(8, (int) Math.ceil(-Math.log10(step) - 1e-9) + 1));
        return decimals == 0 ? "#,##0" : "#,##0." + "#".repeat(decimals);
    }

    /** A number for a legend: no needless decimals. */
    private static String plain(double v) {
        return v == Math.rint(v) && Math.abs(v) < 1e15 ? Long.toString((long) v)
                : String.format(Locale.ROOT, "%.4g", v);
    }

    /** 1.23M, 45.6k or the number itself, for the title line. */
    private static String compact(double v) {
        if (Math.abs(v) >= 1e6) {
            return String.format(Locale.ROOT, "%.2fM", v / 1e6);
        }
        if (Math.abs(v) >= 1e4) {
            return String.format(Locale.ROOT, "%.1fk", v / 1e3);
        }
        return String.format(Locale.ROOT, "%.0f", v);
    }
}
