package dev.starling.env;

import java.util.Arrays;

/**
 * A float32 tensor of a fixed shape, with an inclusive lower and upper bound per element.
 *
 * <p>As an observation space the bounds may be infinite ({@link #of(int...)}) and only document
 * the range. As an action space ({@link #bounded(float, float, int...)}) they must be finite:
 * the policy samples from an unbounded Gaussian and Starling clips each value to its bounds
 * before the environment sees it, so {@link Action#value(int)} is always within them.
 */
public final class Box implements ObservationSpace, ActionSpace {

    private final int[] shape;
    private final float[] low;
    private final float[] high;
    private final int size;

    /**
     * @param low lower bound per element, row-major; {@code -Infinity} for none
     * @param high upper bound per element; {@code +Infinity} for none
     * @param shape dimensions, each at least 1
     */
    public Box(float[] low, float[] high, int... shape) {
        this.size = checkedSize(shape);
        if (low == null || high == null || low.length != size || high.length != size) {
            throw new IllegalArgumentException("a box of shape " + Arrays.toString(shape) + " needs " + size
                    + " lower and " + size + " upper bounds");
        }
        for (int i = 0; i < size; i++) {
            if (Float.isNaN(low[i]) || Float.isNaN(high[i]) || !(low[i] <= high[i])
                    || low[i] == Float.POSITIVE_INFINITY || high[i] == Float.NEGATIVE_INFINITY) {
                throw new IllegalArgumentException("box bounds at element " + i + " are [" + low[i] + ", " + high[i]
                        + "]: need low <= high, not NaN");
            }
        }
        this.shape = shape.clone();
        this.low = low.clone();
        this.high = high.clone();
    }

    /** An unbounded box of the given shape (the usual observation space). */
    public static Box of(int... shape) {
        int n = checkedSize(shape);
        float[] lo = new float[n];
        float[] hi = new float[n];
        Arrays.fill(lo, Float.NEGATIVE_INFINITY);
        Arrays.fill(hi, Float.POSITIVE_INFINITY);
        return new Box(lo, hi, shape);
    }

    /** A box whose every element lies in {@code [low, high]} (the usual continuous action space). */
    public static Box bounded(float low, float high, int... shape) {
        int n = checkedSize(shape);
        float[] lo = new float[n];
        float[] hi = new float[n];
        Arrays.fill(lo, low);
        Arrays.fill(hi, high);
        return new Box(lo, hi, shape);
    }

    @Override
    public int[] shape() {
        return shape.clone();
    }

    @Override
    public int size() {
        return size;
    }

    /** Lower bound of element {@code i} (row-major). */
    public float low(int i) {
        return low[i];
    }

    /** Upper bound of element {@code i} (row-major). */
    public float high(int i) {
        return high[i];
    }

    /** True if every bound is finite: required of an action space. */
    public boolean isBounded() {
        for (int i = 0; i < size; i++) {
            if (Float.isInfinite(low[i]) || Float.isInfinite(high[i])) {
                return false;
            }
        }
        return true;
    }

    /** True if {@code values[offset .. offset+size)} are all within the bounds (NaN never is). */
    public boolean contains(float[] values, int offset) {
        for (int i = 0; i < size; i++) {
            float v = values[offset + i];
            if (!(v >= low[i] && v <= high[i])) {
                return false;
            }
        }
        return true;
    }

    /** {@code value} clipped to the bounds of element {@code i}; NaN becomes the lower bound. */
    public float clip(int i, float value) {
        if (!(value >= low[i])) {
            return low[i];
        }
        return Math.min(value, high[i]);
    }

    /**
     * {@code box(2)} for an unbounded box, {@code box(-2,2;1)} when every element shares its
     * bounds, {@code box([-1 -2],[1 2];2)} otherwise.
     */
    @Override
    public String describe() {
        StringBuilder s = new StringBuilder("box(");
        if (!unbounded()) {
            s.append(bounds(low)).append(',').append(bounds(high)).append(';');
        }
        for (int i = 0; i < shape.length; i++) {
            s.append(i == 0 ? "" : ",").append(shape[i]);
        }
        return s.append(')').toString();
    }

    private boolean unbounded() {
        for (int i = 0; i < size; i++) {
            if (low[i] != Float.NEGATIVE_INFINITY || high[i] != Float.POSITIVE_INFINITY) {
                return false;
            }
        }
        return true;
    }

    private static String bounds(float[] b) {
        boolean uniform = true;
        for (float v : b) {
            uniform &= Float.compare(v, b[0]) == 0;
        }
        if (uniform) {
            return Spaces.number(b[0]);
        }
        StringBuilder s = new StringBuilder("[");
        for (int i = 0; i < b.length; i++) {
            s.append(i == 0 ? "" : " ").append(Spaces.number(b[i]));
        }
        return s.append(']').toString();
    }

    private static int checkedSize(int[] shape) {
        if (shape == null || shape.length == 0) {
            throw new IllegalArgumentException("a box needs a shape with at least one dimension");
        }
        long n = 1;
        for (int d : shape) {
            if (d < 1) {
                throw new IllegalArgumentException("box dimensions must be at least 1, got " + Arrays.toString(shape));
            }
            n *= d;
            if (n > Spaces.MAX_SIZE) {
                throw new IllegalArgumentException("a box of shape " + Arrays.toString(shape) + " has more than "
                        + Spaces.MAX_SIZE + " values");
            }
        }
        return (int) n;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Box b && Arrays.equals(shape, b.shape) && Arrays.equals(low, b.low)
                && Arrays.equals(high, b.high);
    }

    @Override
    public int hashCode() {
        return 31 * (31 * Arrays.hashCode(shape) + Arrays.hashCode(low)) + Arrays.hashCode(high);
    }

    @Override
    public String toString() {
        return describe();
    }
}
