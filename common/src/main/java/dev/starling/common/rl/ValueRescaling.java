package dev.starling.common.rl;

/**
 * R2D2's invertible value rescaling (Pohlen et al. 2018, "Observe and Look Further"):
 * {@code h(x) = sign(x) (sqrt(|x| + 1) - 1) + eps x} and its exact inverse
 * {@code h^-1(x) = sign(x) (((sqrt(1 + 4 eps (|x| + 1 + eps)) - 1) / (2 eps))^2 - 1)}. The
 * Q-network learns {@code h(Q)}, which squashes large returns without clipping rewards;
 * n-step targets unsquash the bootstrap, add the rewards and squash the sum again.
 */
public final class ValueRescaling {

    /** R2D2's epsilon: keeps h invertible and Lipschitz (the linear term). */
    public static final double DEFAULT_EPSILON = 1e-3;

    private final double eps;

    public ValueRescaling(double eps) {
        if (!(eps > 0) || Double.isInfinite(eps)) {
            throw new IllegalArgumentException("value rescaling epsilon must be finite and > 0, got " + eps);
        }
        this.eps = eps;
    }

    public static ValueRescaling defaults() {
        return new ValueRescaling(DEFAULT_EPSILON);
    }

    public double epsilon() {
        return eps;
    }

    /** h(x). */
    public double h(double x) {
        return Math.signum(x) * (Math.sqrt(Math.abs(x) + 1) - 1) + eps * x;
    }

    /** h^-1(x): {@code hInverse(h(x)) == x} up to rounding. */
    public double hInverse(double x) {
        double root = (Math.sqrt(1 + 4 * eps * (Math.abs(x) + 1 + eps)) - 1) / (2 * eps);
        return Math.signum(x) * (root * root - 1);
    }
}
