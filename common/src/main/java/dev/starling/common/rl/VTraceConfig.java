package dev.starling.common.rl;

/** Discount and V-trace truncation levels. IMPALA's defaults: rho-bar = c-bar = lambda = 1. */
public record VTraceConfig(double discount, double rhoBar, double cBar, double lambda) {

    public VTraceConfig {
        if (!(discount >= 0 && discount <= 1)) {
            throw new IllegalArgumentException("discount must be in [0, 1], got " + discount);
        }
        if (!(rhoBar > 0) || !(cBar > 0)) {
            throw new IllegalArgumentException("rho-bar and c-bar must be > 0, got " + rhoBar + ", " + cBar);
        }
        if (!(lambda >= 0 && lambda <= 1)) {
            throw new IllegalArgumentException("lambda must be in [0, 1], got " + lambda);
        }
    }

    public static VTraceConfig defaults(double discount) {
        return new VTraceConfig(discount, 1.0, 1.0, 1.0);
    }
}
