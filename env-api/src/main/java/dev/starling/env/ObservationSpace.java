package dev.starling.env;

/**
 * What an environment observes: a {@link Box} of float32 values of any shape, or an
 * {@link Image} of uint8 pixels {@code [C, H, W]}. Observations are written row-major.
 */
public sealed interface ObservationSpace permits Box, Image {

    /** Shape of one observation, outermost dimension first. */
    int[] shape();

    /** Values in one observation (the product of the shape). */
    int size();

    /** The compact text form, such as {@code box(2)} or {@code image(1,42,42)}; {@link Spaces#observation} parses it. */
    String describe();
}
