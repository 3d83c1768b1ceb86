package dev.starling.cli;

import java.io.PrintWriter;
import java.util.Locale;
import java.util.concurrent.Callable;

import dev.starling.env.EnvironmentDefinition;
import dev.starling.envs.EnvironmentRegistry;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/** {@code starling envs}: every environment this installation (plus --env-jar, --env-server) can play, with its spaces. */
@Command(name = "envs", mixinStandardHelpOptions = true,
        description = {"List the environments: the built-in ones, those of each --env-jar and the one the --env-server"
                + " hosts, with their observation and action spaces, reward scale and the return at which they count as solved.",
            "%nThe learner and the parameter server never load environment code: give them the spaces printed here"
                + " (--observation-space, --action-space) and the reward scale (--reward-scale) when you start them"
                + " yourself (compose, Kubernetes); `starling train` does it for you."})
final class EnvsCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Mixin
    EnvironmentOptions environment;

    @Override
    public Integer call() {
        EnvironmentRegistry registry = environment.registry();
        PrintWriter out = spec.commandLine().getOut();
        out.printf(Locale.ROOT, "%-18s %-16s %-16s %-7s %-8s %s%n", "NAME", "OBSERVATION", "ACTION", "SCALE", "SOLVED",
                "SOURCE / DESCRIPTION");
        for (String name : registry.names()) {
            print(out, registry.get(name), registry.source(name) + ": ");
        }
        if (environment.remote()) {
            // What the environment servers host (their description names them).
            print(out, environment.definition(), "");
        }
        return 0;
    }

    private static void print(PrintWriter out, EnvironmentDefinition d, String source) {
        out.printf(Locale.ROOT, "%-18s %-16s %-16s %-7s %-8s %s%s%n", d.name(), d.observationSpace().describe(),
                d.actionSpace().describe(), compact(d.rewardScale()),
                d.hasRewardThreshold() ? compact(d.rewardThreshold()) : "-", source, d.description());
    }

    /** 475 rather than 475.0; 0.05 as it is. */
    private static String compact(double v) {
        return v == Math.rint(v) && Math.abs(v) < 1e9 ? Long.toString((long) v) : Double.toString(v);
    }
}
