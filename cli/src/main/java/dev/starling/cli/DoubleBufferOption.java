package dev.starling.cli;

import java.util.List;

import picocli.CommandLine.Option;

/** Whether actors play double-buffered, for the roles that run actors (actor, train). */
final class DoubleBufferOption {

    @Option(names = "--double-buffer", defaultValue = "auto", paramLabel = "auto|on|off",
            description = "Play the environments in two halves: one half steps in its environment server while the"
                    + " policy runs on the other (Sample Factory's double-buffered sampling). auto: on with --env-server,"
                    + " off for in-process environments (they step on the actor's own thread: nothing to overlap)."
                    + " Default: ${DEFAULT-VALUE}.")
    String doubleBuffer;

    /** On or off for environments that are {@code remote} or not; throws naming the option if the value is unknown. */
    boolean resolve(boolean remote) {
        return switch (doubleBuffer) {
            case "auto" -> remote;
            case "on" -> true;
            case "off" -> false;
            default -> throw new IllegalArgumentException("--double-buffer must be auto, on or off, got '"
                    + doubleBuffer + "'");
        };
    }

    List<String> asArgs() {
        return List.of("--double-buffer", doubleBuffer);
    }
}
