package dev.starling.envs;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.OutputStream;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;
import java.util.stream.Stream;
import javax.tools.JavaCompiler;
import javax.tools.ToolProvider;

import dev.starling.env.Box;
import dev.starling.env.Discrete;
import dev.starling.env.Environment;
import dev.starling.env.EnvironmentDefinition;
import dev.starling.env.EnvironmentProvider;
import dev.starling.env.Spaces;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class EnvironmentRegistryTest {

    private static final List<String> BUILT_IN =
            List.of("cartpole", "masked-cartpole", "repeat-previous", "scripted", "pendulum", "pong");

    private static final String SERVICES = "META-INF/services/" + EnvironmentProvider.class.getName();

    /** A user's environment jar, written as its author would: compiled against env-api only. */
    private static final String PROVIDERS = """
            package acme.envs;

            import java.util.List;

            import dev.starling.env.Action;
            import dev.starling.env.ActionSpace;
            import dev.starling.env.Box;
            import dev.starling.env.Discrete;
            import dev.starling.env.Environment;
            import dev.starling.env.EnvironmentDefinition;
            import dev.starling.env.EnvironmentProvider;
            import dev.starling.env.Observation;
            import dev.starling.env.ObservationSpace;

            public final class Providers {

                /** Walk right along 3 cells: observes the position, reward 1 on reaching the end. */
                public static final class Corridor implements Environment {
                    private int position;

                    public ObservationSpace observationSpace() { return Box.of(1); }
                    public ActionSpace actionSpace() { return new Discrete(2); }
                    public void reset(long seed, Observation o) { position = 0; o.set(0, position); }
                    public float step(Action a, Observation o) {
                        position += a.discrete();
                        o.set(0, position);
                        return position == 3 ? 1f : 0f;
                    }
                    public boolean terminated() { return position == 3; }
                    public boolean truncated() { return false; }
                }

                public static final class Grid implements EnvironmentProvider {
                    public List<EnvironmentDefinition> environments() {
                        return List.of(EnvironmentDefinition.of("grid-v1", "walk right along 3 cells",
                                Box.of(1), new Discrete(2), Corridor::new));
                    }
                }

                public static final class Failing implements EnvironmentProvider {
                    public List<EnvironmentDefinition> environments() {
                        throw new IllegalStateException("licence server unreachable");
                    }
                }

                public static final class FailingConstructor implements EnvironmentProvider {
                    public FailingConstructor() {
                        throw new IllegalStateException("no licence file");
                    }
                    public List<EnvironmentDefinition> environments() { return List.of(); }
                }

                public static final class Duplicate implements EnvironmentProvider {
                    public List<EnvironmentDefinition> environments() {
                        return List.of(EnvironmentDefinition.of("cartpole", "a corridor that calls itself cartpole",
                                Box.of(1), new Discrete(2), Corridor::new));
                    }
                }
            }
            """;

    @TempDir
    static Path dir;

    private static Path classes;

    @BeforeAll
    static void compileProviders() throws IOException, URISyntaxException {
        JavaCompiler javac = ToolProvider.getSystemJavaCompiler();
        if (javac == null) {
            throw new IllegalStateException("the tests need a JDK: no system Java compiler");
        }
        Path sources = Files.createDirectories(dir.resolve("src/acme/envs"));
        Path source = Files.writeString(sources.resolve("Providers.java"), PROVIDERS);
        classes = Files.createDirectories(dir.resolve("classes"));
        // Only the environment API on the class path, as an author outside Starling would have it.
        Path envApi = Path.of(EnvironmentProvider.class.getProtectionDomain().getCodeSource().getLocation().toURI());
        int status = javac.run(null, null, null, "--release", "17", "-proc:none", "-classpath", envApi.toString(),
                "-d", classes.toString(), source.toString());
        assertEquals(0, status, "compiling the test providers");
    }

    /** A jar of the compiled providers whose services file names {@code providers} (none: no services file). */
    private static Path jar(String name, String... providers) throws IOException {
        Path jar = dir.resolve(name);
        try (JarOutputStream out = new JarOutputStream(Files.newOutputStream(jar));
                Stream<Path> files = Files.walk(classes)) {
            for (Path f : (Iterable<Path>) files.filter(Files::isRegularFile)::iterator) {
                out.putNextEntry(new JarEntry(classes.relativize(f).toString().replace('\\', '/')));
                Files.copy(f, out);
                out.closeEntry();
            }
            if (providers.length > 0) {
                out.putNextEntry(new JarEntry(SERVICES));
                StringBuilder lines = new StringBuilder("# test providers\n");
                for (String p : providers) {
                    lines.append("acme.envs.Providers$").append(p).append('\n');
                }
                write(out, lines.toString());
                out.closeEntry();
            }
        }
        return jar;
    }

    private static void write(OutputStream out, String text) throws IOException {
        out.write(text.getBytes(StandardCharsets.UTF_8));
    }

    @Test
    void builtInNamesInOrderAndDefinitionsMatchTheirInstances() {
        EnvironmentRegistry registry = EnvironmentRegistry.builtIn();
        assertEquals(BUILT_IN, registry.names());
        String[][] spaces = {
            {"box(4)", "discrete(2)"},
            {"box(2)", "discrete(2)"},
            {"box(4)", "discrete(4)"},
            {"box(3)", "discrete(2)"},
            {"box([-1 -1 -8],[1 1 8];3)", "box(-2,2;1)"},
            {"image(1,32,32)", "discrete(3)"},
        };
        double[] rewardScales = {0.05, 0.05, 1.0, 1.0, 0.1, 1.0};
        for (int i = 0; i < BUILT_IN.size(); i++) {
            String name = BUILT_IN.get(i);
            EnvironmentDefinition d = registry.get(name);
            assertEquals(name, d.name());
            assertEquals("built-in", registry.source(name));
            assertFalse(d.description().isBlank(), name);
            assertEquals(Spaces.observation(spaces[i][0]), d.observationSpace(), name);
            assertEquals(Spaces.action(spaces[i][1]), d.actionSpace(), name);
            assertEquals(rewardScales[i], d.rewardScale(), name);
            Environment a = d.create();
            assertNotSame(a, d.create(), "a new instance per create()");
            VectorEnv venv = registry.vector(name, 2, 0);
            assertEquals(name, venv.name());
            assertEquals(2, venv.numEnvs());
            assertEquals(d.observationSpace(), venv.observationSpace());
            assertEquals(d.actionSpace(), venv.actionSpace());
        }
        assertEquals("Gymnasium Pendulum-v1: swing up and hold a pendulum, continuous torque in [-2, 2], 200 steps,"
                + " return in about [-1600, 0]", registry.get("pendulum").description());
    }

    @Test
    void unknownNameListsTheKnownNamesAndHintsAtEnvJar() {
        EnvironmentRegistry registry = EnvironmentRegistry.builtIn();
        for (Runnable call : List.<Runnable>of(
                () -> registry.vector("breakout", 1, 0), () -> registry.get("CartPole"), () -> registry.source("x"))) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, call::run);
            for (String name : BUILT_IN) {
                assertTrue(e.getMessage().contains(name), e.getMessage());
            }
            assertTrue(e.getMessage().contains("--env-jar"), e.getMessage());
        }
    }

    @Test
    void numEnvsMustBePositive() {
        EnvironmentRegistry registry = EnvironmentRegistry.builtIn();
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> registry.vector("cartpole", 0, 0));
        assertTrue(e.getMessage().contains("numEnvs"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> registry.vector("scripted", -1, 0));
    }

    @Test
    void eachEnvironmentGetsItsOwnSplitOfTheRootRandom() {
        VectorEnv venv = EnvironmentRegistry.builtIn().vector("cartpole", 3, 42);
        SplittableRandom root = new SplittableRandom(42);
        float[] expected = new float[12];
        for (int i = 0; i < 3; i++) {
            Driver d = new Driver(new CartPole());
            d.reset(root.split().nextLong());
            System.arraycopy(d.obs, 0, expected, 4 * i, 4);
        }
        VectorStep s = venv.newStep();
        venv.reset(s);
        assertArrayEquals(expected, s.observations);
        assertFalse(Arrays.equals(Arrays.copyOfRange(s.observations, 0, 4), Arrays.copyOfRange(s.observations, 4, 8)),
                "environments of one VectorEnv differ");
    }

    @Test
    void sameSeedSameTrajectoriesDifferentSeedDifferent() {
        for (String name : BUILT_IN) {
            List<float[]> a = rollout(name, 17);
            List<float[]> b = rollout(name, 17);
            for (int i = 0; i < a.size(); i++) {
                assertArrayEquals(a.get(i), b.get(i), name + " record " + i);
            }
            if (!name.equals("scripted")) {
                List<float[]> c = rollout(name, 18);
                boolean differs = false;
                for (int i = 0; i < a.size() && !differs; i++) {
                    differs = !Arrays.equals(a.get(i), c.get(i));
                }
                assertTrue(differs, name);
            }
        }
    }

    /** Observations and rewards of 300 steps with a fixed random action sequence. */
    private static List<float[]> rollout(String name, long seed) {
        VectorEnv venv = EnvironmentRegistry.builtIn().vector(name, 4, seed);
        VectorStep s = venv.newStep();
        SplittableRandom policy = new SplittableRandom(1);
        List<float[]> out = new ArrayList<>();
        venv.reset(s);
        out.add(s.observations.clone());
        for (int t = 0; t < 300; t++) {
            if (venv.actionSpace() instanceof Discrete d) {
                for (int i = 0; i < 4; i++) {
                    s.discreteActions[i] = policy.nextInt(d.n());
                }
            } else {
                for (int i = 0; i < s.continuousActions.length; i++) {
                    s.continuousActions[i] = (float) policy.nextDouble(-3, 3);
                }
            }
            venv.step(s);
            out.add(s.observations.clone());
            out.add(s.rewards.clone());
        }
        return out;
    }

    @Test
    void loadsTheEnvironmentsOfAJarBuiltByItsAuthor() throws Exception {
        Path jar = jar("grid.jar", "Grid");
        EnvironmentRegistry registry = EnvironmentRegistry.load(List.of(jar));
        List<String> names = new ArrayList<>(BUILT_IN);
        names.add("grid-v1");
        assertEquals(names, registry.names());
        assertEquals("--env-jar " + jar, registry.source("grid-v1"));
        assertEquals("built-in", registry.source("cartpole"));
        assertEquals(BUILT_IN, EnvironmentRegistry.builtIn().names(), "each registry loads its own jars");

        EnvironmentDefinition d = registry.get("grid-v1");
        assertEquals(Box.of(1), d.observationSpace());
        assertEquals(new Discrete(2), d.actionSpace());
        assertEquals(1.0, d.rewardScale());
        Environment env = d.create();
        assertEquals("acme.envs.Providers$Corridor", env.getClass().getName());
        assertNotSame(EnvironmentRegistry.class.getClassLoader(), env.getClass().getClassLoader());
        assertThrows(ClassNotFoundException.class, () -> Class.forName("acme.envs.Providers"),
                "the provider comes from the jar, not from the test class path");

        VectorEnv venv = registry.vector("grid-v1", 2, 0);
        VectorStep s = venv.newStep();
        venv.reset(s);
        s.discreteActions[0] = 1;
        s.discreteActions[1] = 0;
        for (int t = 1; t <= 3; t++) {
            venv.step(s);
            assertEquals(t == 3 ? 1f : 0f, s.rewards[0]);
            assertEquals(t == 3, s.terminated[0]);
            assertEquals(0f, s.rewards[1]);
        }
        assertArrayEquals(new float[] {0f, 0f}, s.observations, "env 0 restarted, env 1 never moved");
        assertEquals(1, venv.totalEpisodes());

        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> registry.get("grid-v2"));
        assertTrue(e.getMessage().contains("grid-v1") && e.getMessage().contains("cartpole"), e.getMessage());
    }

    @Test
    void aMissingFileIsNamed() {
        Path missing = dir.resolve("missing.jar");
        assertLoadFails(missing, "no such file");
    }

    @Test
    void aFileThatIsNoJarIsNamed() throws IOException {
        Path text = Files.writeString(dir.resolve("notes.jar"), "these are notes, not a zip archive\n");
        assertLoadFails(text, "not a jar");
    }

    @Test
    void aJarWithoutServicesFileIsNamed() throws IOException {
        Path jar = jar("no-services.jar");
        assertLoadFails(jar, "no environments found", SERVICES);
    }

    @Test
    void aProviderThatThrowsIsNamed() throws IOException {
        assertLoadFails(jar("failing.jar", "Failing"), "its environment provider failed", "licence server unreachable");
        assertLoadFails(jar("failing-constructor.jar", "FailingConstructor"), "cannot load its environment provider",
                "acme.envs.Providers$FailingConstructor");
        assertLoadFails(jar("absent-class.jar", "Absent"), "cannot load its environment provider",
                "acme.envs.Providers$Absent");
    }

    @Test
    void aDuplicateNameIsNamedWithBothSources() throws IOException {
        assertLoadFails(jar("duplicate.jar", "Duplicate"), "defines environment 'cartpole'",
                "built-in already defines");

        Path first = jar("grid-a.jar", "Grid");
        Path second = jar("grid-b.jar", "Grid");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> EnvironmentRegistry.load(List.of(first, second)));
        assertTrue(e.getMessage().startsWith("--env-jar " + second + " defines environment 'grid-v1'"), e.getMessage());
        assertTrue(e.getMessage().contains("--env-jar " + first + " already defines"), e.getMessage());
    }

    private static void assertLoadFails(Path jar, String... fragments) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> EnvironmentRegistry.load(List.of(jar)));
        assertTrue(e.getMessage().contains("--env-jar " + jar), "names the jar: " + e.getMessage());
        for (String f : fragments) {
            assertTrue(e.getMessage().contains(f), e.getMessage());
        }
    }
}
