package dev.starling.cli;

import java.util.List;

import dev.starling.env.ActionSpace;
import dev.starling.env.EnvironmentDefinition;
import dev.starling.env.ObservationSpace;
import dev.starling.env.Spaces;
import picocli.CommandLine.Option;

/**
 * The environment's spaces, for the roles that build the model without running environment
 * code (the learner; the parameter server in a3c mode). {@code ./starling train} fills them in;
 * {@code starling envs} prints them for every environment.
 */
final class SpaceOptions {

    @Option(names = "--observation-space", paramLabel = "SPACE",
            description = "The environment's observation space, e.g. box(2) (see `starling envs`).")
    String observationSpace;

    @Option(names = "--action-space", paramLabel = "SPACE",
            description = "The environment's action space, e.g. discrete(2) or box(-2,2;1) (see `starling envs`).")
    String actionSpace;

    /** Throws {@link IllegalArgumentException} naming the option if it is missing or not a space. */
    ObservationSpace observation() {
        require(observationSpace, "--observation-space");
        try {
            return Spaces.observation(observationSpace);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("--observation-space: " + e.getMessage(), e);
        }
    }

    ActionSpace action() {
        require(actionSpace, "--action-space");
        try {
            return Spaces.action(actionSpace);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("--action-space: " + e.getMessage(), e);
        }
    }

    /** The spaces of {@code env} as command-line arguments, for child processes. */
    static List<String> argsFor(EnvironmentDefinition env) {
        return List.of("--observation-space", env.observationSpace().describe(),
                "--action-space", env.actionSpace().describe());
    }

    private static void require(String value, String option) {
        if (value == null || value.isBlank()) {
            throw new IllegalArgumentException(option + " is required: this role builds the model without loading"
                    + " the environment; `starling envs` prints the spaces of every environment");
        }
    }
}
