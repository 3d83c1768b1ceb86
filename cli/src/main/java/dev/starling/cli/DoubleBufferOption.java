package dev.starling.cli;

import java.util.List;

import picocli.CommandLine.Option;

/** Whether actors play double-buffered, for the roles that run actors (actor, train). */
final class DoubleBufferOption {

    @Option(names = "--double-buffer", defaultValue = "off", paramLabel = "on|off",
            description = "Play the environments in two halves: one half steps in its environment server while the"
                    + " policy runs on the other (Sample Factory's double-buffered sampling). Pays when the servers"
                    + " have cores of their own and a step costs about as much as inference; on a box whose cores"
                    + " are all busy it costs (two messages per step instead of one). In-process environments step"
                    + " on the actor's own thread: nothing to overlap. Default: ${DEFAULT-VALUE}.")
    String doubleBuffer;

    /** On or off; throws naming the option if the value is neither. */
    boolean resolve() {
        return switch (doubleBuffer) {
            case "on" -> true;
            case "off" -> false;
            default -> throw new IllegalArgumentException("--double-buffer must be on or off, got '" + doubleBuffer
                    + "'");
        };
    }

    List<String> asArgs() {
        return List.of("--double-buffer", doubleBuffer);
    }
}
