package dev.starling.cli;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import dev.starling.env.EnvironmentDefinition;
import dev.starling.envs.EnvironmentRegistry;
import picocli.CommandLine.Option;

/** Which environment to play, and the jars that add environments: for the roles that run environment code. */
final class EnvironmentOptions {

    @Option(names = "--env", defaultValue = "masked-cartpole",
            description = "Environment: a built-in one (${COMPLETION-CANDIDATES}) or one from --env-jar. Default: ${DEFAULT-VALUE}.",
            completionCandidates = EnvNames.class)
    String env;

    @Option(names = "--env-jar", paramLabel = "PATH", split = ",",
            description = "A jar of your own environments (an EnvironmentProvider named in META-INF/services); repeat or"
                    + " separate with commas for several. See `starling envs`.")
    List<Path> envJars = new ArrayList<>();

    private EnvironmentRegistry registry;

    /** The built-in environments and those of the jars; throws {@link IllegalArgumentException} naming a bad jar. */
    EnvironmentRegistry registry() {
        if (registry == null) {
            registry = EnvironmentRegistry.load(envJars);
        }
        return registry;
    }

    /** The chosen environment; throws {@link IllegalArgumentException} listing the known names. */
    EnvironmentDefinition definition() {
        EnvironmentRegistry loaded = registry();
        try {
            return loaded.get(env);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("--env: " + e.getMessage(), e);
        }
    }

    /** The same settings as command-line arguments, for child processes (jars as absolute paths). */
    List<String> asArgs() {
        List<String> a = new ArrayList<>(List.of("--env", env));
        for (Path jar : envJars) {
            a.addAll(List.of("--env-jar", jar.toAbsolutePath().toString()));
        }
        return a;
    }

    /** Tab-completion and help text list the built-in environments. */
    static final class EnvNames implements Iterable<String> {
        @Override
        public java.util.Iterator<String> iterator() {
            return EnvironmentRegistry.builtIn().names().iterator();
        }
    }
}
