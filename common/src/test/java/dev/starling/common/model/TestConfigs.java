package dev.starling.common.model;

import java.util.List;

import dev.starling.env.Box;
import dev.starling.env.Discrete;

/** Model configs for tests, by sizes. */
public final class TestConfigs {

    private TestConfigs() {
    }

    /** Unbounded box({@code obs}) observations, {@code actions} discrete actions, one encoder layer. */
    public static ModelConfig discrete(int obs, int actions, int encoder, int lstm) {
        return new ModelConfig(Box.of(obs), new Discrete(actions), List.of(encoder), lstm);
    }

    /** Unbounded box({@code obs}) observations, a continuous action box of {@code dims} in [-2, 2]. */
    public static ModelConfig continuous(int obs, int dims, int encoder, int lstm) {
        return new ModelConfig(Box.of(obs), Box.bounded(-2, 2, dims), List.of(encoder), lstm);
    }
}
