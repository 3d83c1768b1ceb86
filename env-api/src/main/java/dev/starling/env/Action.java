package dev.starling.env;

/**
 * The action an environment is asked to take: {@link #discrete()} for a {@link Discrete} space,
 * {@link #value(int)} for a {@link Box} space. Starling has already checked it: a discrete
 * action is in range, and a continuous one is clipped to the box's bounds.
 *
 * <p>Like {@link Observation}, a window into a batch that the driver moves between environments;
 * do not keep it beyond the call.
 */
public final class Action {

    private final int[] discrete;
    private final float[] continuous;
    private final int size;
    private int offset;

    private Action(int[] discrete, float[] continuous, int size) {
        this.discrete = discrete;
        this.continuous = continuous;
        this.size = size;
    }

    /** A window of one int per action into {@code buffer} (for drivers and tests). */
    public static Action ofDiscrete(int[] buffer) {
        return new Action(java.util.Objects.requireNonNull(buffer, "buffer"), null, 1);
    }

    /** A window of {@code size} floats per action into {@code buffer} (for drivers and tests). */
    public static Action ofContinuous(float[] buffer, int size) {
        if (size < 1) {
            throw new IllegalArgumentException("an action needs at least one value, got " + size);
        }
        return new Action(null, java.util.Objects.requireNonNull(buffer, "buffer"), size);
    }

    /** Points the window at action {@code index} of the buffer (for drivers). */
    public Action moveTo(int index) {
        int length = discrete != null ? discrete.length : continuous.length;
        long start = (long) index * size;
        if (index < 0 || start + size > length) {
            throw new IndexOutOfBoundsException("action " + index + " is outside a buffer of " + length);
        }
        offset = (int) start;
        return this;
    }

    /** The chosen action of a {@link Discrete} space. */
    public int discrete() {
        if (discrete == null) {
            throw new IllegalStateException("this action is continuous: read value(i)");
        }
        return discrete[offset];
    }

    /** Value {@code i} (row-major) of a continuous action, within the box's bounds. */
    public float value(int i) {
        if (continuous == null) {
            throw new IllegalStateException("this action is discrete: read discrete()");
        }
        if (i < 0 || i >= size) {
            throw new IndexOutOfBoundsException("value " + i + " of an action of " + size);
        }
        return continuous[offset + i];
    }

    /** Values in one action (1 for a discrete one). */
    public int size() {
        return size;
    }
}
