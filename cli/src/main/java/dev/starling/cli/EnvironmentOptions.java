package dev.starling.cli;

import java.io.IOException;
import java.io.Reader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;

import dev.starling.env.EnvironmentDefinition;
import dev.starling.envs.EnvironmentRegistry;
import dev.starling.envs.EnvironmentSource;
import dev.starling.envs.remote.EnvironmentServers;
import picocli.CommandLine.Option;

/**
 * Which environment to play: a built-in one, one from the jars that add environments, or the one
 * that environment servers host. For the roles that run or reach environment code.
 */
final class EnvironmentOptions {

    static final String DEFAULT_ENV = "masked-cartpole";

    @Option(names = "--env",
            description = "Environment: a built-in one (${COMPLETION-CANDIDATES}) or one from --env-jar. Default: "
                    + DEFAULT_ENV + ".",
            completionCandidates = EnvNames.class)
    String env;

    @Option(names = "--env-jar", paramLabel = "PATH", split = ",",
            description = "A jar of your own environments (an EnvironmentProvider named in META-INF/services); repeat or"
                    + " separate with commas for several. See `starling envs`.")
    List<Path> envJars = new ArrayList<>();

    @Option(names = "--env-server", paramLabel = "HOST:PORT", split = ",",
            description = "Play the environment that an environment server hosts, in another process and any language"
                    + " (python/starling-env serves Gymnasium-style ones), instead of --env; repeat or separate with"
                    + " commas for several servers of the same environment: the environments are spread over them.")
    List<String> envServers = new ArrayList<>();

    private EnvironmentRegistry registry;
    private EnvironmentServers servers;
    /** How long to wait for environment servers that are not up yet (an actor may start before them). */
    Duration serverWait = Duration.ZERO;

    /** The built-in environments and those of the jars; throws {@link IllegalArgumentException} naming a bad jar. */
    EnvironmentRegistry registry() {
        if (registry == null) {
            registry = EnvironmentRegistry.load(envJars);
        }
        return registry;
    }

    /** True if the environments run in environment servers. */
    boolean remote() {
        return !envServers.isEmpty();
    }

    /**
     * The chosen environment; throws {@link IllegalArgumentException} listing the known names, or
     * {@link dev.starling.envs.remote.EnvironmentServerException} naming a server that cannot be used.
     */
    EnvironmentDefinition definition() {
        return source().definition();
    }

    /** Where this environment's vector environments come from (asks the servers what they host, once). */
    EnvironmentSource source() {
        if (remote()) {
            if (env != null || !envJars.isEmpty()) {
                throw new IllegalArgumentException("--env-server plays the environment the server hosts: give it"
                        + " without --env and --env-jar");
            }
            if (servers == null) {
                servers = EnvironmentServers.describe(envServers, serverWait);
            }
            return servers;
        }
        EnvironmentRegistry loaded = registry();
        try {
            return EnvironmentSource.local(loaded.get(env == null ? DEFAULT_ENV : env));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("--env: " + e.getMessage(), e);
        }
    }

    /**
     * With none of --env, --env-jar and --env-server given: the environment that the train run in
     * {@code runDir} recorded (its {@code config.properties}), so {@code eval --checkpoint RUN_DIR}
     * plays what the run trained on. Nothing changes if {@code runDir} is not a run folder.
     *
     * @throws IllegalArgumentException if the run played environment servers: they must be named
     */
    void defaultToRun(Path runDir) {
        Path file = runDir.resolve(SavedOptions.FILE);
        if (env != null || !envJars.isEmpty() || remote() || !Files.isRegularFile(file)) {
            return;
        }
        Properties saved = new Properties();
        try (Reader in = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            saved.load(in);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + file, e);
        }
        if (saved.getProperty("env-server") != null) {
            throw new IllegalArgumentException("the run in " + runDir + " played environment servers ("
                    + saved.getProperty("env-server") + "): give --env-server HOST:PORT of a server hosting its"
                    + " environment");
        }
        env = saved.getProperty("env");
        String jars = saved.getProperty("env-jar");
        if (jars != null) {
            for (String jar : jars.split(",")) {
                envJars.add(Path.of(jar));
            }
        }
    }

    /** The same settings as command-line arguments, for child processes (jars as absolute paths). */
    List<String> asArgs() {
        List<String> a = new ArrayList<>();
        if (remote()) {
            a.addAll(List.of("--env-server", String.join(",", envServers)));
            return a;
        }
        a.addAll(List.of("--env", env == null ? DEFAULT_ENV : env));
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
