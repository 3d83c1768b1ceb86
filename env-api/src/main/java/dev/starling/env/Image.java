package dev.starling.env;

/**
 * An image observation: {@code channels x height x width} unsigned bytes (0..255), row-major
 * {@code [C, H, W]}. Pixels stay one byte each on the wire; the model scales them to [0, 1].
 */
public record Image(int channels, int height, int width) implements ObservationSpace {

    public Image {
        if (channels < 1 || height < 1 || width < 1) {
            throw new IllegalArgumentException("an image needs at least one channel, row and column, got ["
                    + channels + ", " + height + ", " + width + "]");
        }
        if ((long) channels * height * width > Spaces.MAX_SIZE) {
            throw new IllegalArgumentException("an image of [" + channels + ", " + height + ", " + width
                    + "] has more than " + Spaces.MAX_SIZE + " pixels");
        }
    }

    @Override
    public int[] shape() {
        return new int[] {channels, height, width};
    }

    @Override
    public int size() {
        return channels * height * width;
    }

    @Override
    public String describe() {
        return "image(" + channels + "," + height + "," + width + ")";
    }

    @Override
    public String toString() {
        return describe();
    }
}
