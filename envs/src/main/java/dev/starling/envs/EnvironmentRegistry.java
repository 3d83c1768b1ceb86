package dev.starling.envs;

import java.io.IOException;
import java.net.MalformedURLException;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.ServiceConfigurationError;
import java.util.ServiceLoader;
import java.util.zip.ZipFile;

import dev.starling.env.EnvironmentDefinition;
import dev.starling.env.EnvironmentProvider;

/**
 * Every environment Starling can play, by name: the built-in ones and those of the jars given
 * with {@code --env-jar}, all found through {@link EnvironmentProvider} services. Only actors
 * and {@code eval} (and the single-process trainer) load environment code; the learner and the
 * parameter server know only the spaces, from the model spec.
 */
public final class EnvironmentRegistry {

    private final Map<String, EnvironmentDefinition> byName;
    private final Map<String, String> sources;

    private EnvironmentRegistry(Map<String, EnvironmentDefinition> byName, Map<String, String> sources) {
        this.byName = Collections.unmodifiableMap(byName);
        this.sources = Collections.unmodifiableMap(sources);
    }

    /** The built-in environments only. */
    public static EnvironmentRegistry builtIn() {
        return load(List.of());
    }

    /**
     * The built-in environments plus those of {@code envJars}, each loaded in a class loader whose
     * parent is Starling's (so a jar sees the environment API and nothing it must not see twice).
     *
     * @throws IllegalArgumentException naming the jar, if one is missing, unreadable, not a jar,
     *     has a broken provider, or defines a name that is already taken
     */
    public static EnvironmentRegistry load(List<Path> envJars) {
        Map<String, EnvironmentDefinition> byName = new LinkedHashMap<>();
        Map<String, String> sources = new LinkedHashMap<>();
        ClassLoader base = EnvironmentRegistry.class.getClassLoader();
        addAll(ServiceLoader.load(EnvironmentProvider.class, base), "built-in", byName, sources, true);
        for (Path jar : envJars) {
            URLClassLoader loader = new URLClassLoader(new URL[] {url(jar)}, base);
            int before = byName.size();
            addAll(ServiceLoader.load(EnvironmentProvider.class, loader), "--env-jar " + jar, byName, sources, false);
            if (byName.size() == before) {
                throw new IllegalArgumentException("--env-jar " + jar + ": no environments found; the jar needs a"
                        + " file META-INF/services/" + EnvironmentProvider.class.getName()
                        + " naming a provider class whose environments() is not empty");
            }
        }
        return new EnvironmentRegistry(byName, sources);
    }

    /**
     * The environment called {@code name}.
     *
     * @throws IllegalArgumentException listing the known names, if there is none
     */
    public EnvironmentDefinition get(String name) {
        Objects.requireNonNull(name, "name");
        EnvironmentDefinition d = byName.get(name);
        if (d == null) {
            throw new IllegalArgumentException("unknown environment '" + name + "'; known: "
                    + String.join(", ", byName.keySet())
                    + (byName.keySet().stream().allMatch(n -> "built-in".equals(sources.get(n)))
                            ? " (add your own with --env-jar PATH)" : ""));
        }
        return d;
    }

    /** Names in load order: built-in first, then each jar's. */
    public List<String> names() {
        return List.copyOf(byName.keySet());
    }

    /** Where {@code name} came from: {@code built-in} or {@code --env-jar PATH}. */
    public String source(String name) {
        get(name);
        return sources.get(name);
    }

    /** {@code numEnvs} independently seeded instances of {@code name}, ready for {@link VectorEnv#reset}. */
    public VectorEnv vector(String name, int numEnvs, long seed) {
        return new VectorEnv(get(name), numEnvs, seed);
    }

    private static void addAll(ServiceLoader<EnvironmentProvider> loader, String source,
            Map<String, EnvironmentDefinition> byName, Map<String, String> sources, boolean builtIn) {
        List<EnvironmentDefinition> found = new ArrayList<>();
        try {
            for (EnvironmentProvider provider : loader) {
                if (!builtIn && provider.getClass().getClassLoader() == EnvironmentRegistry.class.getClassLoader()) {
                    // Seen through the parent loader: already registered as built-in.
                    continue;
                }
                List<EnvironmentDefinition> defs = provider.environments();
                if (defs == null) {
                    throw new IllegalArgumentException(source + ": " + provider.getClass().getName()
                            + ".environments() returned null");
                }
                found.addAll(defs);
            }
        } catch (ServiceConfigurationError | LinkageError e) {
            throw new IllegalArgumentException(source + ": cannot load its environment provider: " + e.getMessage(), e);
        } catch (RuntimeException e) {
            if (e instanceof IllegalArgumentException iae && iae.getMessage().startsWith(source)) {
                throw iae;
            }
            throw new IllegalArgumentException(source + ": its environment provider failed: " + e, e);
        }
        for (EnvironmentDefinition d : found) {
            Objects.requireNonNull(d, source + ": a provider listed a null environment");
            String previous = sources.get(d.name());
            if (previous != null) {
                throw new IllegalArgumentException(source + " defines environment '" + d.name()
                        + "', which " + previous + " already defines; names must be unique");
            }
            byName.put(d.name(), d);
            sources.put(d.name(), source);
        }
    }

    private static URL url(Path jar) {
        if (!Files.isRegularFile(jar)) {
            throw new IllegalArgumentException("--env-jar " + jar + ": no such file");
        }
        if (!Files.isReadable(jar)) {
            throw new IllegalArgumentException("--env-jar " + jar + ": not readable");
        }
        try (ZipFile zip = new ZipFile(jar.toFile())) {
            zip.size();
        } catch (IOException e) {
            throw new IllegalArgumentException("--env-jar " + jar + ": not a jar (" + e.getMessage() + ")");
        }
        try {
            return jar.toUri().toURL();
        } catch (MalformedURLException e) {
            throw new IllegalArgumentException("--env-jar " + jar + ": " + e.getMessage(), e);
        }
    }
}
