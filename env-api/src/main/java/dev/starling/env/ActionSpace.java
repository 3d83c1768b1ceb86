package dev.starling.env;

/**
 * What an environment accepts: one of {@link Discrete#n()} choices, or a {@link Box} of
 * float32 values within bounds (continuous control).
 */
public sealed interface ActionSpace permits Discrete, Box {

    /** Values in one action: 1 for {@link Discrete}, the size of the box otherwise. */
    int size();

    /** The compact text form, such as {@code discrete(2)} or {@code box(-2,2;1)}; {@link Spaces#action} parses it. */
    String describe();
}
