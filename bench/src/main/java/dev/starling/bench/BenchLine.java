package dev.starling.bench;

import java.util.Locale;

/**
 * One measured line of {@code starling bench}.
 *
 * @param section which benchmark it belongs to ("1 learner update", "3 ingest", ...)
 * @param name what was measured, with its settings
 * @param msPerCall milliseconds per call where that means something, else NaN
 * @param value the figure itself (a rate, a ratio, a latency, a size)
 * @param unit the unit of {@code value} ("samples/s", "x", "ms", "MiB")
 * @param target the target and whether this run met it ("≥ 1.8x: met"), or "" if none
 */
public record BenchLine(String section, String name, double msPerCall, double value, String unit, String target) {

    /** A line with no target. */
    public static BenchLine of(String section, String name, double msPerCall, double value, String unit) {
        return new BenchLine(section, name, msPerCall, value, unit, "");
    }

    /** This line against a lower bound: "≥ bound: met" or "≥ bound: missed". */
    public BenchLine atLeast(double bound) {
        return new BenchLine(section, name, msPerCall, value, unit,
                String.format(Locale.ROOT, "≥ %s: %s", number(bound), value >= bound ? "met" : "missed"));
    }

    /** This line against an upper bound: "< bound: met" or "< bound: missed". */
    public BenchLine below(double bound) {
        return new BenchLine(section, name, msPerCall, value, unit,
                String.format(Locale.ROOT, "< %s: %s", number(bound), value < bound ? "met" : "missed"));
    }

    /** This line against an upper bound: "≤ bound: met" or "≤ bound: missed" (NaN, e.g. never solved, misses). */
    public BenchLine atMost(double bound) {
        return new BenchLine(section, name, msPerCall, value, unit,
                String.format(Locale.ROOT, "≤ %s: %s", number(bound), value <= bound ? "met" : "missed"));
    }

    /** The line as the console shows it while the benchmark runs. */
    public String format() {
        String ms = Double.isNaN(msPerCall) ? "" : String.format(Locale.ROOT, "%.3f ms", msPerCall);
        return String.format(Locale.ROOT, "%-64s %13s %14s %-12s %s", name, ms, number(value), unit, target);
    }

    /** Thousands separators for big figures, two decimals for small ones. */
    public static String number(double v) {
        if (Double.isNaN(v)) {
            return "";
        }
        return Math.abs(v) >= 100 ? String.format(Locale.ROOT, "%,.0f", v) : String.format(Locale.ROOT, "%.2f", v);
    }
}
