package dev.starling.env;

/**
 * Where an environment writes one observation: a window of {@link #size()} values into a
 * buffer that holds the observations of many environments (Starling batches them for the
 * policy). Write value {@code i} (row-major) with {@link #set(int, float)} for a {@link Box}
 * or {@link #setPixel(int, int)} for an {@link Image}; or, in a tight loop, write
 * {@link #floats()} / {@link #bytes()} directly at {@code offset() + i}.
 *
 * <p>The driver owns the object and moves it between environments ({@link #moveTo}); an
 * environment must not keep it beyond the call it was passed to.
 */
public final class Observation {

    private final float[] floats;
    private final byte[] bytes;
    private final int size;
    private int offset;

    private Observation(float[] floats, byte[] bytes, int size) {
        if (size < 1) {
            throw new IllegalArgumentException("an observation needs at least one value, got " + size);
        }
        this.floats = floats;
        this.bytes = bytes;
        this.size = size;
    }

    /** A window of {@code size} floats into {@code buffer} (for drivers and tests). */
    public static Observation ofFloats(float[] buffer, int size) {
        return new Observation(java.util.Objects.requireNonNull(buffer, "buffer"), null, size);
    }

    /** A window of {@code size} bytes into {@code buffer} (for drivers and tests). */
    public static Observation ofBytes(byte[] buffer, int size) {
        return new Observation(null, java.util.Objects.requireNonNull(buffer, "buffer"), size);
    }

    /** Points the window at observation {@code index} of the buffer (for drivers). */
    public Observation moveTo(int index) {
        int length = floats != null ? floats.length : bytes.length;
        long start = (long) index * size;
        if (index < 0 || start + size > length) {
            throw new IndexOutOfBoundsException("observation " + index + " of " + size + " values is outside a buffer of "
                    + length);
        }
        offset = (int) start;
        return this;
    }

    /** Values in one observation. */
    public int size() {
        return size;
    }

    /** Writes float value {@code i} of a {@link Box} observation. */
    public void set(int i, float value) {
        floats()[offset + checkIndex(i)] = value;
    }

    /** Writes pixel {@code i} (0..255) of an {@link Image} observation. */
    public void setPixel(int i, int value) {
        bytes()[offset + checkIndex(i)] = (byte) value;
    }

    /** The whole float buffer ({@link Box} observations); this observation starts at {@link #offset()}. */
    public float[] floats() {
        if (floats == null) {
            throw new IllegalStateException("this observation is an image: write pixels");
        }
        return floats;
    }

    /** The whole byte buffer ({@link Image} observations); this observation starts at {@link #offset()}. */
    public byte[] bytes() {
        if (bytes == null) {
            throw new IllegalStateException("this observation is a box of floats: write floats");
        }
        return bytes;
    }

    /** Index in {@link #floats()} or {@link #bytes()} of this observation's first value. */
    public int offset() {
        return offset;
    }

    private int checkIndex(int i) {
        if (i < 0 || i >= size) {
            throw new IndexOutOfBoundsException("value " + i + " of an observation of " + size);
        }
        return i;
    }
}
