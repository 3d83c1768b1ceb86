package dev.starling.examples.tmaze;

import java.util.List;

import dev.starling.env.EnvironmentDefinition;
import dev.starling.env.EnvironmentProvider;

/**
 * Names this jar's environments for {@code ./starling train --env-jar ... --env NAME}. Starling
 * finds it through {@code META-INF/services/dev.starling.env.EnvironmentProvider}, which holds this
 * class's name, and calls the public no-argument constructor.
 *
 * <ul>
 *   <li>{@code tmaze}: corridor of 10 cells, 40-step limit; optimal return 0.9, best without memory 0.4.
 *   <li>{@code tmaze-long}: corridor of 30 cells, 120-step limit; optimal return 0.7, best without memory 0.2.
 * </ul>
 *
 * Both use reward scale 1: returns lie in {@code [-0.04 N, 1 - 0.01 N]}, already near unit scale.
 * Each counts as solved at its optimum minus 0.1 (at least 90% correct turns), which is where
 * {@code ./starling train} stops.
 */
public final class TMazeEnvironments implements EnvironmentProvider {

    /** Corridor length of {@code tmaze-long}. */
    public static final int LONG_CORRIDOR_LENGTH = 30;

    @Override
    public List<EnvironmentDefinition> environments() {
        return List.of(
                new EnvironmentDefinition("tmaze",
                        "T-maze (Bakker 2002): see a cue, walk a 10-cell corridor, turn as cued; optimal return 0.9,"
                                + " 0.4 without memory",
                        TMaze.OBSERVATION_SPACE, TMaze.ACTION_SPACE, 1.0, TMaze::new)
                        // Solved: at least 90% correct turns (the optimum 0.9 minus 0.1).
                        .withRewardThreshold(0.8),
                new EnvironmentDefinition("tmaze-long",
                        "T-maze with a 30-cell corridor: remember the cue for 30 steps; optimal return 0.7,"
                                + " 0.2 without memory",
                        TMaze.OBSERVATION_SPACE, TMaze.ACTION_SPACE, 1.0, () -> new TMaze(LONG_CORRIDOR_LENGTH))
                        .withRewardThreshold(0.6));
    }
}
