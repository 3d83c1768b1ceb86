package dev.starling.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.MalformedURLException;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.ServiceLoader;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import dev.starling.common.model.Torch;
import dev.starling.env.EnvironmentDefinition;
import dev.starling.env.EnvironmentProvider;
import dev.starling.env.Spaces;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.yaml.snakeyaml.Yaml;
import picocli.CommandLine;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.ParameterException;

/**
 * Checks the deployment files against the launcher's real subcommands, options and defaults,
 * read from picocli's model of {@link Main}: {@code docker-compose.yml} with
 * {@code deploy/prometheus/prometheus.yml}, and every kustomize overlay under
 * {@code deploy/k8s/overlays}, rendered with {@code kubectl kustomize} (kubectl must be
 * installed: a missing kubectl fails the test, it does not skip it); and both Dockerfiles (build
 * from the sources, copy only the fat jar, set glibc's allocator to
 * {@link Torch#ALLOCATOR_ENVIRONMENT}, which no deployment overrides).
 *
 * <p>For every Starling container: its arguments name a real subcommand; every
 * {@code STARLING_*} variable (inline or from a ConfigMap) is an option of that subcommand and
 * picocli accepts its value; the gRPC port the role listens on ({@code STARLING_PORT}, else the
 * option's default) is the port the manifests expose and the port the other roles dial; the
 * metrics port is the one Prometheus scrapes; probes hit the right ports; the GPU overlay puts
 * the learner, and only it, on a GPU.
 *
 * <p>The environment is told twice and both must agree: the actors run {@code STARLING_ENV}
 * (a built-in, or one from the jars in {@code STARLING_ENV_JAR}, which lie in
 * {@code /opt/starling/envs}); the learner, which loads no environment code, is told its spaces
 * and reward scale ({@code STARLING_OBSERVATION_SPACE}, {@code STARLING_ACTION_SPACE},
 * {@code STARLING_REWARD_SCALE}), compared with the environment's own definition (the built-ins
 * from the classpath, a user's from its jar when it is built here). A user's environment comes
 * either from a host folder mounted read-only into the actors only
 * ({@code docker-compose.env-jar.yml}) or from a derived image ({@code Dockerfile.user-env}, run by
 * the actors of the user-env overlay); the three name the same environment, jar and spaces.
 *
 * <p>Security is opt-in: {@code docker-compose.yml} and the cpu and gpu overlays are plaintext;
 * {@code docker-compose.secure.yml} (merged over docker-compose.yml as compose merges them) and
 * the secure overlay give every role STARLING_CREDENTIALS (its {@code --credentials}) and only its
 * own credentials, read-only, readable by the image's user (uid from the Dockerfile), and the
 * secure overlay probes the gRPC ports with tcpSocket probes.
 *
 * <p>Each check collects every problem it finds and fails once, listing them all. The
 * {@code checker...} tests break good manifests on purpose and expect the checks to notice.
 */
class DeployManifestsTest {

    private static final Path ROOT = repositoryRoot();
    private static final Path COMPOSE = ROOT.resolve("docker-compose.yml");
    /** The opt-in security override: docker compose -f docker-compose.yml -f docker-compose.secure.yml. */
    private static final Path SECURE_COMPOSE = ROOT.resolve("docker-compose.secure.yml");
    private static final Path PROMETHEUS = ROOT.resolve("deploy/prometheus/prometheus.yml");
    private static final Path OVERLAYS = ROOT.resolve("deploy/k8s/overlays");
    private static final Path DOCKERIGNORE = ROOT.resolve(".dockerignore");
    private static final Path OFFLINE_PROMETHEUS = ROOT.resolve("cli/src/test/resources/compose-offline-prometheus.yml");
    /** The CPU image (docker-compose.yml builds it) and the GPU one, which cannot be built here: checked alike. */
    private static final List<Path> DOCKERFILES = List.of(
            ROOT.resolve("deploy/docker/Dockerfile"), ROOT.resolve("deploy/docker/Dockerfile.gpu"));
    /** Users' environments from a host folder: docker compose -f docker-compose.yml -f docker-compose.env-jar.yml. */
    private static final Path ENV_JAR_COMPOSE = ROOT.resolve("docker-compose.env-jar.yml");
    /** Users' environments in a derived image: FROM the Starling image, the jar copied into ENVS_DIR. */
    private static final Path USER_ENV_DOCKERFILE = ROOT.resolve("deploy/docker/Dockerfile.user-env");
    /** The overlay that runs the actors on that derived image. */
    private static final String USER_ENV_OVERLAY = "user-env";
    /**
     * Where the example user project's jar is built (mvn package in examples/tmaze): the compose
     * override mounts it by default, the derived image is built from it. Absent until built.
     */
    private static final Path EXAMPLE_JAR_DIR = ROOT.resolve("examples/tmaze/target");
    private static final long KUBECTL_TIMEOUT_SECONDS = 60;

    /** The folder of the image (runtime stage of deploy/docker/Dockerfile) that holds users' environment jars. */
    private static final String ENVS_DIR = "/opt/starling/envs";
    /** The actors' environment (--env) and the jars it may come from (--env-jar, comma-separated). */
    private static final String ENV_VARIABLE = "STARLING_ENV";
    private static final String ENV_JAR_VARIABLE = "STARLING_ENV_JAR";
    /**
     * What the learner (and the parameter server in a3c mode) is told instead of the environment:
     * --observation-space, --action-space, --reward-scale.
     */
    private static final List<String> SPACE_VARIABLES = List.of(
            "STARLING_OBSERVATION_SPACE", "STARLING_ACTION_SPACE", "STARLING_REWARD_SCALE");

    /** The roles a deployment runs, each in exactly one service or workload. */
    private static final List<String> ROLES = List.of("parameter-server", "learner", "actor");
    /** Options whose value is the address of another role's gRPC server. */
    private static final Map<String, String> ADDRESS_OPTIONS = Map.of(
            "--parameter-server", "parameter-server", "--learner", "learner");
    private static final String GPU = "nvidia.com/gpu";
    /** STARLING_* variables that are read, but are not options: JVM flags for the image's entrypoint, provenance. */
    private static final List<String> NOT_OPTIONS = List.of("STARLING_JAVA_OPTS", "STARLING_GIT_REVISION");

    /** The variable of --credentials: each role reads its own subfolder STARLING_CREDENTIALS/&lt;role&gt;. */
    private static final String CREDENTIALS_VARIABLE = "STARLING_CREDENTIALS";
    /** The options that turn security on, by their long names (RoleOptions). */
    private static final List<String> SECURITY_OPTIONS = List.of("--credentials", "--tls-cert", "--tls-key", "--tls-trust",
            "--auth-token-file", "--auth-token-hashes");
    /** Security is opt-in: these overlays stay plaintext, overlays/secure turns it on. */
    private static final List<String> PLAINTEXT_OVERLAYS = List.of("cpu", "gpu", USER_ENV_OVERLAY);
    /** The Kubernetes Secret of a role is starling-&lt;role&gt;-credentials (the README's kubectl commands). */
    private static final String SECRET_PREFIX = "starling-";
    /** Owner and group may read, nobody writes: with the pod's fsGroup, the image's user reads its Secret. */
    private static final int SECRET_MODE = 0440;

    private static final Map<Path, String> RENDERED = new ConcurrentHashMap<>();

    // ---------------------------------------------------------------- the tests

    @Test
    void dockerComposeMatchesTheLauncher() throws IOException {
        assertTrue(Files.isRegularFile(COMPOSE), COMPOSE + " is missing (DESIGN.md: docker compose up runs the cluster)");
        assertTrue(Files.isRegularFile(PROMETHEUS), PROMETHEUS + " is missing (the compose Prometheus scrapes with it)");
        Map<String, Object> compose = map(new Yaml().load(Files.readString(COMPOSE)));
        Map<String, Object> prometheus = map(new Yaml().load(Files.readString(PROMETHEUS)));
        assertNoProblems("docker-compose.yml", new ComposeCheck(ROOT, PROMETHEUS).check(compose, prometheus));
    }

    @Test
    void everyKubernetesOverlayMatchesTheLauncher() throws IOException {
        List<Path> overlays = overlays();
        List<String> names = overlays.stream().map(p -> p.getFileName().toString()).toList();
        assertTrue(names.containsAll(List.of("cpu", "gpu", "secure", USER_ENV_OVERLAY)),
                "deploy/k8s/overlays should hold cpu, gpu, secure and " + USER_ENV_OVERLAY + ", has " + names);
        List<String> problems = new ArrayList<>();
        for (Path overlay : overlays) {
            String name = overlay.getFileName().toString();
            for (String p : new KubernetesCheck(name).check(loadAll(render(overlay)))) {
                problems.add("overlays/" + name + ": " + p);
            }
        }
        assertNoProblems("deploy/k8s", problems);
    }

    @Test
    void gpuOverlayPutsTheLearnerOnOneGpu() {
        List<Map<String, Object>> docs = loadAll(render(OVERLAYS.resolve("gpu")));
        Map<String, Object> learner = container(docs, "learner");
        assertEquals("1", str(at(learner, "resources", "limits", GPU)), "gpu overlay: learner limits " + GPU);
        assertEquals("cuda", env(docs, learner, "learner", new ArrayList<>()).get("STARLING_DEVICE"),
                "gpu overlay: learner STARLING_DEVICE");
        assertEquals("starling:latest-gpu", str(learner.get("image")), "gpu overlay: learner image");
        for (String role : List.of("parameter-server", "actor")) {
            Map<String, Object> c = container(docs, role);
            assertEquals(null, at(c, "resources", "limits", GPU), "gpu overlay: " + role + " takes no GPU");
            assertEquals("starling:latest", str(c.get("image")), "gpu overlay: " + role + " keeps the CPU image");
        }
    }

    @Test
    void cpuOverlayUsesNoGpu() {
        List<Map<String, Object>> docs = loadAll(render(OVERLAYS.resolve("cpu")));
        for (String role : ROLES) {
            Map<String, Object> c = container(docs, role);
            assertEquals(null, at(c, "resources", "limits", GPU), "cpu overlay: " + role + " GPU limit");
            assertEquals(null, at(c, "resources", "requests", GPU), "cpu overlay: " + role + " GPU request");
            assertEquals("starling:latest", str(c.get("image")), "cpu overlay: " + role + " image");
            assertFalse("cuda".equals(env(docs, c, role, new ArrayList<>()).get("STARLING_DEVICE")),
                    "cpu overlay: " + role + " on cuda");
        }
    }

    /**
     * docker-compose.secure.yml over docker-compose.yml, merged as compose merges them: the stack
     * still passes every check of {@link #dockerComposeMatchesTheLauncher} (so STARLING_CREDENTIALS
     * is a real option of every role, with a value it accepts), each role gets only its own
     * credentials folder, read-only, where {@code --credentials} reads it, no other service sees
     * the folder, the one-off {@code credentials} tool writes it and gives the roles' folders to the
     * image's user, builds the image like the roles, and git ignores the folder.
     */
    @Test
    void secureComposeGivesEachRoleOnlyItsOwnCredentials() throws IOException {
        assertTrue(Files.isRegularFile(SECURE_COMPOSE), SECURE_COMPOSE + " is missing (README: security with compose)");
        assertNoProblems("docker-compose.yml + docker-compose.secure.yml", checkSecureCompose(c -> { }));
        Map<String, Object> roles = map(at(map(new Yaml().load(Files.readString(COMPOSE))), "services", "parameter-server"));
        Object tool = at(map(new Yaml().load(Files.readString(SECURE_COMPOSE))), "services", "credentials", "build");
        assertEquals(roles.get("build"), tool, "docker-compose.secure.yml: the credentials tool should build the image as the roles do");
    }

    /** Security is opt-in: docker-compose.yml alone sets no security option and mounts no credentials. */
    @Test
    void composeIsPlaintextWithoutTheSecureOverride() throws IOException {
        Map<String, Object> compose = map(new Yaml().load(Files.readString(COMPOSE)));
        List<String> problems = new ArrayList<>();
        for (String role : ROLES) {
            CommandSpec spec = Launcher.role(role);
            for (String name : SECURITY_OPTIONS) {
                OptionSpec option = spec.findOption(name);
                assertTrue(option != null, "'" + role + "' has no option " + name + " (RoleOptions)");
                map(compose.get("services")).forEach((service, s) -> {
                    if (map(s).containsKey("environment") && environmentMap(map(s).get("environment"))
                            .containsKey(Launcher.variable(option))) {
                        problems.add("service " + service + " sets " + Launcher.variable(option)
                                + " (security belongs in docker-compose.secure.yml)");
                    }
                });
            }
        }
        map(compose.get("services")).forEach((service, s) -> {
            for (SecureComposeCheck.Mount m : SecureComposeCheck.mounts(map(s))) {
                if (m.target().startsWith("/etc/starling")) {
                    problems.add("service " + service + " mounts " + m.target() + " (credentials belong in docker-compose.secure.yml)");
                }
            }
        });
        assertNoProblems("docker-compose.yml", new ArrayList<>(new TreeSet<>(problems)));
    }

    /**
     * The secure overlay (overlays/cpu with components/secure), rendered: every role has
     * STARLING_CREDENTIALS and mounts only its own Secret, read-only, 0440, with fsGroup 10001;
     * the parameter server's and the learner's probes are tcpSocket probes on the gRPC port, and
     * no probe is a grpc probe. (everyKubernetesOverlayMatchesTheLauncher checks the rest.)
     */
    @Test
    void secureOverlayMountsEachRoleItsOwnSecret() {
        List<Map<String, Object>> docs = loadAll(render(OVERLAYS.resolve("secure")));
        assertNoProblems("overlays/secure", new KubernetesCheck("secure").check(docs));
        Set<String> secrets = new TreeSet<>();
        for (String role : ROLES) {
            Map<String, Object> c = container(docs, role);
            Map<String, Object> podSpec = map(at(workload(docs, role), "spec", "template", "spec"));
            assertEquals("/etc/starling/credentials", env(docs, c, role, new ArrayList<>()).get(CREDENTIALS_VARIABLE),
                    "secure overlay: " + role + " " + CREDENTIALS_VARIABLE);
            assertEquals(imageUid(), number(str(at(podSpec, "securityContext", "fsGroup"))), "secure overlay: " + role + " fsGroup");
            List<Object> secretVolumes = list(podSpec.get("volumes")).stream().filter(v -> map(v).containsKey("secret")).toList();
            assertEquals(1, secretVolumes.size(), "secure overlay: " + role + " Secret volumes " + secretVolumes);
            String secret = str(at(secretVolumes.get(0), "secret", "secretName"));
            assertEquals("starling-" + role + "-credentials", secret, "secure overlay: " + role + " Secret");
            secrets.add(secret);
            for (String kind : List.of("startupProbe", "readinessProbe", "livenessProbe")) {
                Map<String, Object> probe = map(c.get(kind));
                assertFalse(probe.containsKey("grpc"), "secure overlay: " + role + " " + kind + " is a grpc probe: " + probe);
                if (!role.equals("actor")) {
                    assertEquals("grpc", str(at(probe, "tcpSocket", "port")), "secure overlay: " + role + " " + kind);
                }
            }
        }
        assertEquals(ROLES.size(), secrets.size(), "one Secret per role: " + secrets);
    }

    /**
     * The default run, stated: the actors run masked-cartpole, and the learner, which loads no
     * environment code, is told its spaces and reward scale instead of STARLING_ENV, in
     * docker-compose.yml and in the cpu, gpu and secure overlays; the parameter server (impala
     * mode) gets neither. That these match the environment's definition is checked with every
     * deployment (dockerComposeMatchesTheLauncher, everyKubernetesOverlayMatchesTheLauncher).
     */
    @Test
    void learnerIsToldTheSpacesOfTheActorsEnvironment() throws IOException {
        List<String> defaults = List.of("box(2)", "discrete(2)", "0.05");
        List<String> problems = new ArrayList<>();
        Map<String, Object> compose = map(new Yaml().load(Files.readString(COMPOSE)));
        Map<String, Map<String, String>> byPlace = new TreeMap<>();
        for (String role : ROLES) {
            Map<String, String> env = new TreeMap<>();
            environmentMap(serviceOf(compose, role).get("environment")).forEach((k, v) -> env.put(k, str(v)));
            byPlace.put("docker-compose.yml service " + role, env);
        }
        for (String overlay : List.of("cpu", "gpu", "secure")) {
            List<Map<String, Object>> docs = loadAll(render(OVERLAYS.resolve(overlay)));
            for (String role : ROLES) {
                byPlace.put("overlays/" + overlay + " " + role, env(docs, container(docs, role), role, problems));
            }
        }
        byPlace.forEach((where, env) -> {
            if (where.endsWith(" actor") && !"masked-cartpole".equals(env.get(ENV_VARIABLE))) {
                problems.add(where + ": " + ENV_VARIABLE + "=" + env.get(ENV_VARIABLE) + ", the default run is masked-cartpole");
            }
            if (!where.endsWith(" actor") && (env.containsKey(ENV_VARIABLE) || env.containsKey(ENV_JAR_VARIABLE))) {
                problems.add(where + ": sets " + ENV_VARIABLE + " or " + ENV_JAR_VARIABLE + "; only actors load environments");
            }
            List<String> told = SPACE_VARIABLES.stream().map(env::get).toList();
            if (where.endsWith(" learner") && !told.equals(defaults)) {
                problems.add(where + ": " + SPACE_VARIABLES + " are " + told + ", masked-cartpole's are " + defaults);
            }
            if (where.endsWith(" parameter-server") && SPACE_VARIABLES.stream().anyMatch(env::containsKey)) {
                problems.add(where + ": sets " + SPACE_VARIABLES + " in impala mode (they belong to --mode a3c)");
            }
        });
        assertNoProblems("the default run", problems);
    }

    /**
     * docker-compose.env-jar.yml over docker-compose.yml passes every compose check (the actors'
     * environment and the learner's spaces included) and the override's own: the actors, and only
     * they, mount one host folder read-only at /opt/starling/envs and load STARLING_ENV_JAR from
     * it; the override tells the learner the spaces; each value is a variable with the example's
     * default. With docker-compose.secure.yml as well, every security check still passes.
     */
    @Test
    void envJarOverrideMountsTheJarsIntoTheActorsOnly() throws IOException {
        assertTrue(Files.isRegularFile(ENV_JAR_COMPOSE), ENV_JAR_COMPOSE + " is missing (README: your own environments)");
        assertNoProblems("docker-compose.yml + docker-compose.env-jar.yml", checkEnvJarCompose(o -> { }));
        Map<String, Object> all = mergeCompose(mergeCompose(yaml(COMPOSE), yaml(SECURE_COMPOSE)), yaml(ENV_JAR_COMPOSE));
        List<String> problems = new ArrayList<>(new ComposeCheck(ROOT, PROMETHEUS).check(all, yaml(PROMETHEUS)));
        problems.addAll(new SecureComposeCheck(ROOT).check(all));
        problems.addAll(new EnvJarComposeCheck(ROOT).check(yaml(ENV_JAR_COMPOSE), all));
        assertNoProblems("docker-compose.yml + docker-compose.secure.yml + docker-compose.env-jar.yml", problems);
    }

    /**
     * deploy/docker/Dockerfile.user-env starts FROM the image docker-compose.yml builds (ARG
     * STARLING_IMAGE) and only copies the jar into /opt/starling/envs, owned by root, pointing
     * STARLING_ENV_JAR at it; the runtime Dockerfiles create that folder (bothDockerfiles...).
     */
    @Test
    void userEnvDockerfileAddsTheJarToTheStarlingImage() throws IOException {
        assertTrue(Files.isRegularFile(USER_ENV_DOCKERFILE), USER_ENV_DOCKERFILE + " is missing");
        assertNoProblems(ROOT.relativize(USER_ENV_DOCKERFILE).toString(),
                new UserEnvDockerfileCheck(composeImage()).check(Files.readString(USER_ENV_DOCKERFILE)));
    }

    /**
     * The user-env overlay runs the actors, and only them, on the image Dockerfile.user-env's
     * documented build tags, loading the jar where that image puts it; the learner and the
     * parameter server keep the cpu overlay's image and load no jar. (Its launcher, port and
     * environment checks run in everyKubernetesOverlayMatchesTheLauncher.)
     */
    @Test
    void userEnvOverlayRunsOnlyTheActorsOnTheDerivedImage() throws IOException {
        assertNoProblems("overlays/" + USER_ENV_OVERLAY, userEnvOverlayProblems(userEnvDocs(), Files.readString(USER_ENV_DOCKERFILE)));
    }

    /**
     * The two ways to add a user's jar describe the same environment: the compose override's
     * defaults, the user-env overlay and the derived image name the same environment and jar, and
     * give the learner the same spaces and reward scale.
     */
    @Test
    void userEnvironmentIsTheSameInComposeAndKubernetes() throws IOException {
        assertNoProblems("docker-compose.env-jar.yml, overlays/" + USER_ENV_OVERLAY + ", Dockerfile.user-env",
                sameUserEnvironment(envJarCompose(o -> { }), userEnvDocs(), Files.readString(USER_ENV_DOCKERFILE)));
    }

    /**
     * With the example built (mvn package in examples/tmaze), its jar is loaded as an actor loads
     * it and both ways are compared with the definition it states: the environment exists and the
     * learner's spaces and reward scale are its own. Skipped while the jar is not built.
     */
    @Test
    void userEnvironmentMatchesTheExampleJar() throws IOException {
        String jarName = UserEnvDockerfileCheck.jarName(Files.readString(USER_ENV_DOCKERFILE));
        Path jar = EXAMPLE_JAR_DIR.resolve(jarName == null ? "?" : jarName);
        Assumptions.assumeTrue(Files.isRegularFile(jar), jar + " is not built (mvn package in examples/tmaze), so the"
                + " user environment's spaces are not compared with its definition");
        List<String> problems = new ArrayList<>(new ComposeCheck(ROOT, PROMETHEUS, true)
                .check(envJarCompose(o -> { }), yaml(PROMETHEUS)));
        new KubernetesCheck(USER_ENV_OVERLAY, true).check(userEnvDocs()).forEach(p -> problems.add("overlays/user-env: " + p));
        assertNoProblems("the example's jar " + ROOT.relativize(jar), problems);
    }

    /** The checks of the environment settings are not tautologies: each breakage is named. */
    @Test
    void checkerFlagsBrokenEnvironmentSettings() throws IOException {
        // The learner: spaces and reward scale, not the environment; they must be the actors' environment's.
        expectProblem(ENV_VARIABLE, composeWith("learner", ENV_VARIABLE, "masked-cartpole"));
        expectProblem("STARLING_ACTION_SPACE", composeWith("learner", "STARLING_ACTION_SPACE", "discrete(3)"));
        expectProblem("STARLING_REWARD_SCALE", composeWith("learner", "STARLING_REWARD_SCALE", null));
        expectProblem("STARLING_OBSERVATION_SPACE", composeWith("learner", "STARLING_OBSERVATION_SPACE", "box(4)"));
        expectProblem("cartpole", composeWith("actor", ENV_VARIABLE, "cartpole"));
        expectProblem(ENVS_DIR, composeWith("actor", ENV_JAR_VARIABLE, "/tmp/envs.jar"));
        expectProblem("a3c", composeWith("parameter-server", "STARLING_MODE", "a3c"));
        expectProblem("STARLING_ACTION_SPACE", checkCpuOverlay(render(OVERLAYS.resolve("cpu")),
                docs -> setEnv(container(docs, "learner"), "STARLING_ACTION_SPACE", "discrete(4)")));
        expectProblem("STARLING_REWARD_SCALE", checkCpuOverlay(render(OVERLAYS.resolve("cpu")),
                docs -> setEnv(container(docs, "learner"), "STARLING_REWARD_SCALE", "1")));

        // The compose override: a read-only host folder at ENVS_DIR, actors only, values as variables.
        expectProblem("service learner", checkEnvJarCompose(o -> overrideService(o, "learner")
                .put("volumes", List.of("./examples/tmaze/target:" + ENVS_DIR + ":ro"))));
        expectProblem("read-only", checkEnvJarCompose(o -> overrideService(o, "actor")
                .put("volumes", List.of("${ENV_JAR_DIR:-./examples/tmaze/target}:" + ENVS_DIR))));
        expectProblem("host folder", checkEnvJarCompose(o -> overrideService(o, "actor")
                .put("volumes", List.of("jars:" + ENVS_DIR + ":ro"))));
        expectProblem(ENVS_DIR, checkEnvJarCompose(o -> overrideEnvironment(o, "actor").put(ENV_JAR_VARIABLE, "/jars/tmaze.jar")));
        expectProblem("STARLING_OBSERVATION_SPACE", checkEnvJarCompose(
                o -> overrideEnvironment(o, "learner").remove("STARLING_OBSERVATION_SPACE")));
        expectProblem("${", checkEnvJarCompose(o -> overrideEnvironment(o, "actor").put(ENV_VARIABLE, "tmaze")));

        // The user-env overlay and the derived image.
        String dockerfile = Files.readString(USER_ENV_DOCKERFILE);
        expectProblem("image", userEnvOverlayProblems(userEnvDocs(d -> container(d, "actor").put("image", "starling:latest")),
                dockerfile));
        expectProblem("learner", userEnvOverlayProblems(userEnvDocs(
                d -> container(d, "learner").put("image", container(d, "actor").get("image"))), dockerfile));
        expectProblem(ENV_JAR_VARIABLE, userEnvOverlayProblems(userEnvDocs(
                d -> setEnv(container(d, "actor"), ENV_JAR_VARIABLE, ENVS_DIR + "/other.jar")), dockerfile));
        expectProblem("STARLING_ACTION_SPACE", sameUserEnvironment(envJarCompose(o -> { }), userEnvDocs(
                d -> setEnv(container(d, "learner"), "STARLING_ACTION_SPACE", "discrete(9)")), dockerfile));
        expectProblem(ENV_VARIABLE, sameUserEnvironment(envJarCompose(o -> overrideEnvironment(o, "actor")
                .put(ENV_VARIABLE, "${ENV_NAME:-other}")), userEnvDocs(), dockerfile));
        UserEnvDockerfileCheck derived = new UserEnvDockerfileCheck(composeImage());
        assertNoProblems("Dockerfile.user-env", derived.check(dockerfile));
        expectProblem("STARLING_IMAGE", new UserEnvDockerfileCheck(composeImage())
                .check(dockerfile.replace("FROM ${STARLING_IMAGE}", "FROM eclipse-temurin:17-jre")));
        expectProblem("starling:latest", new UserEnvDockerfileCheck(composeImage())
                .check(dockerfile.replace("ARG STARLING_IMAGE=starling:latest", "ARG STARLING_IMAGE=starling:0.0.1")));
        expectProblem(ENVS_DIR, new UserEnvDockerfileCheck(composeImage())
                .check(dockerfile.replace(" /opt/starling/envs/\n", " /opt/starling/\n")));
        expectProblem("USER", new UserEnvDockerfileCheck(composeImage()).check(dockerfile + "USER root\n"));
        expectProblem("--chown", new UserEnvDockerfileCheck(composeImage())
                .check(dockerfile.replace("COPY ${ENV_JAR}", "COPY --chown=starling ${ENV_JAR}")));

        // The runtime image creates ENVS_DIR, and leaves it to root.
        String cpu = Files.readString(DOCKERFILES.get(0));
        expectProblem(ENVS_DIR, checkDockerfile(cpu.replace("mkdir -p /opt/starling/envs /checkpoints", "mkdir -p /checkpoints"),
                false));
        expectProblem("/opt/starling", checkDockerfile(cpu.replace("&& chown starling:starling /checkpoints",
                "&& chown -R starling:starling /checkpoints /opt/starling"), false));
    }

    /**
     * Grafana in compose gets the provisioning and dashboards folders where the provisioning
     * files say, the home dashboard exists, and every panel and query uses the provisioned
     * datasource's uid (a mismatch shows "datasource not found" on every panel).
     */
    @Test
    void grafanaIsProvisionedWithTheStarlingDashboard() throws IOException {
        Map<String, Object> grafana = map(at(map(new Yaml().load(Files.readString(COMPOSE))), "services", "grafana"));
        Map<String, String> mounts = new TreeMap<>();
        for (Object v : list(grafana.get("volumes"))) {
            String[] parts = str(v).split(":");
            mounts.put(parts[1], parts[0]);
        }
        assertEquals("./deploy/grafana/provisioning", mounts.get("/etc/grafana/provisioning"), "provisioning mount");
        Path provider = ROOT.resolve("deploy/grafana/provisioning/dashboards/starling.yml");
        String dashboardsDir = str(at(list(map(new Yaml().load(Files.readString(provider))).get("providers")).get(0),
                "options", "path"));
        assertEquals("./deploy/grafana/dashboards", mounts.get(dashboardsDir), "dashboards mount at " + dashboardsDir);
        String home = str(at(grafana, "environment", "GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"));
        assertTrue(home != null && home.startsWith(dashboardsDir + "/"), "home dashboard " + home);
        Path dashboard = ROOT.resolve("deploy/grafana/dashboards").resolve(home.substring(dashboardsDir.length() + 1));
        assertTrue(Files.isRegularFile(dashboard), "home dashboard file " + dashboard);

        Path datasources = ROOT.resolve("deploy/grafana/provisioning/datasources/prometheus.yml");
        Map<String, Object> source = map(list(map(new Yaml().load(Files.readString(datasources))).get("datasources")).get(0));
        assertEquals("http://prometheus:9090", source.get("url"), "datasource url (the compose service)");
        String uid = str(source.get("uid"));
        // The dashboard is JSON, which YAML reads too.
        List<String> wrong = new ArrayList<>();
        int queries = 0;
        for (Object panel : list(map(new Yaml().load(Files.readString(dashboard))).get("panels"))) {
            if ("row".equals(at(panel, "type"))) {
                continue;
            }
            String title = str(at(panel, "title"));
            if (!uid.equals(str(at(panel, "datasource", "uid")))) {
                wrong.add(title);
            }
            for (Object target : list(at(panel, "targets"))) {
                queries++;
                Object ds = at(target, "datasource", "uid");
                if (ds != null && !uid.equals(str(ds))) {
                    wrong.add(title + " / " + at(target, "expr"));
                }
            }
        }
        assertTrue(queries >= 9, "the dashboard has " + queries + " queries");
        assertTrue(wrong.isEmpty(), "panels not on datasource " + uid + ": " + wrong);
    }

    /**
     * Both images build the fat jar in a Maven stage (dependencies from the POMs alone in their
     * own layer, tests compiled but not run) and copy only the jar into the runtime stage, which
     * sets glibc's allocator variables to exactly {@link Torch#ALLOCATOR_ENVIRONMENT}. The GPU
     * Dockerfile cannot be built here: it must at least read the same way, with {@code -Pgpu}.
     */
    @Test
    void bothDockerfilesBuildFromTheSourcesAndSetTheAllocator() throws IOException {
        List<String> problems = new ArrayList<>();
        for (Path dockerfile : DOCKERFILES) {
            String name = ROOT.relativize(dockerfile).toString();
            for (String p : new DockerfileCheck(modules(), name.endsWith(".gpu")).check(Files.readString(dockerfile))) {
                problems.add(name + ": " + p);
            }
        }
        assertNoProblems("deploy/docker", problems);
    }

    /**
     * The build context holds what the Maven stage reads (every module of the root pom), and
     * docker-compose.yml builds the image with the Dockerfile's build arguments, defaulting to the
     * Dockerfile's own defaults.
     */
    @Test
    void composeBuildsTheImageFromTheSources() throws IOException {
        List<String> problems = new ArrayList<>();
        List<String> allowed = Files.readAllLines(DOCKERIGNORE).stream().map(String::strip)
                .filter(l -> l.startsWith("!")).map(l -> l.substring(1).replaceFirst("/$", "")).toList();
        List<String> needed = new ArrayList<>(List.of("pom.xml", ".mvn"));
        for (String module : modules()) {
            needed.addAll(List.of(module + "/pom.xml", module + "/src"));
        }
        for (String n : needed) {
            if (!allowed.contains(n)) {
                problems.add(".dockerignore does not let in " + n + " (the image's Maven build needs it)");
            }
        }
        Path dockerfile = DOCKERFILES.get(0);
        Map<String, String> args = DockerfileCheck.globalArgs(DockerfileCheck.instructions(Files.readString(dockerfile)));
        Map<String, Object> services = map(map(new Yaml().load(Files.readString(COMPOSE))).get("services"));
        int building = 0;
        for (Map.Entry<String, Object> e : services.entrySet()) {
            Map<String, Object> build = map(map(e.getValue()).get("build"));
            if (build.isEmpty()) {
                continue;
            }
            building++;
            String where = "service " + e.getKey();
            if (!ROOT.relativize(dockerfile).toString().equals(str(build.get("dockerfile")))
                    || !".".equals(str(build.get("context")))) {
                problems.add(where + ": should build context . with " + ROOT.relativize(dockerfile) + ", builds " + build);
            }
            Map<String, Object> buildArgs = map(build.get("args"));
            for (String arg : List.of("BUILD_IMAGE", "BASE_IMAGE")) {
                String value = ComposeCheck.interpolate(str(buildArgs.get(arg)));
                if (!Objects.equals(args.get(arg), value)) {
                    problems.add(where + ": build arg " + arg + " defaults to " + value + ", the Dockerfile's to " + args.get(arg));
                }
            }
        }
        if (building == 0) {
            problems.add("no service of docker-compose.yml builds the image: `docker compose up` would need it built first");
        }
        // ComposeStackIT's offline Prometheus runs in the Starling image: it must build it as the roles do.
        Object roles = at(services, "parameter-server", "build");
        Object offline = at(new Yaml().load(Files.readString(OFFLINE_PROMETHEUS)), "services", "prometheus", "build");
        if (!Objects.equals(roles, offline)) {
            problems.add(ROOT.relativize(OFFLINE_PROMETHEUS) + ": prometheus should build " + roles + ", builds " + offline);
        }
        assertNoProblems("docker-compose.yml and .dockerignore", problems);
    }

    /** The checks of the Dockerfiles are not tautologies: each breakage is named. */
    @Test
    void checkerFlagsBrokenDockerfiles() throws IOException {
        String cpu = Files.readString(DOCKERFILES.get(0));
        String gpu = Files.readString(DOCKERFILES.get(1));
        assertNoProblems("Dockerfile", new DockerfileCheck(modules(), false).check(cpu));

        expectProblem("MALLOC_TOP_PAD_", checkDockerfile(cpu.replace("MALLOC_TOP_PAD_=536870912", "X=1"), false));
        expectProblem("MALLOC_MMAP_THRESHOLD_",
                checkDockerfile(cpu.replace("MALLOC_MMAP_THRESHOLD_=1073741824", "MALLOC_MMAP_THRESHOLD_=131072"), false));
        expectProblem("MALLOC_ARENA_MAX", checkDockerfile(cpu.replace("ENV OMP_NUM_THREADS=1", "ENV MALLOC_ARENA_MAX=2 OMP_NUM_THREADS=1"),
                false));
        expectProblem("MALLOC_TRIM_THRESHOLD_",
                checkDockerfile(cpu.replace("\nRUN useradd", "\nENV MALLOC_TRIM_THRESHOLD_ 1\nRUN useradd"), false));
        expectProblem("learner/pom.xml", checkDockerfile(cpu.replace("COPY learner/pom.xml learner/\n", ""), false));
        expectProblem("-DskipTests", checkDockerfile(cpu.replace("-DskipTests package", "package"), false));
        expectProblem("starling.jar", checkDockerfile(cpu.replace("COPY --from=build /src/cli/target/starling.jar",
                "COPY cli/target/starling.jar"), false));
        expectProblem("BUILD_IMAGE", checkDockerfile(cpu.replace("FROM ${BUILD_IMAGE} AS build", "FROM maven AS build"), false));
        expectProblem("-Pgpu", checkDockerfile(gpu.replace("-DskipTests -Pgpu package", "-DskipTests package"), true));
        expectProblem("-Pgpu", checkDockerfile(cpu, true));
    }

    /** The checks are not tautologies: a consistent compose file passes, each breakage is named. */
    @Test
    void checkerFlagsBrokenComposeFiles() {
        assertNoProblems("the good compose fixture", checkComposeFixture(c -> { }, p -> { }));

        expectProblem("7000", composeWith("parameter-server", "STARLING_PORT", "7000"));
        expectProblem("STARLING_PARAMETER_SERVER", composeWith("learner", "STARLING_PARAMETER_SERVER", "learner:7070"));
        expectProblem("--num-envs", composeWith("learner", "STARLING_NUM_ENVS", "8"));
        expectProblem("STARLING_NUM_ENVS", composeWith("actor", "STARLING_NUM_ENVS", "many"));
        expectProblem("STARLING_ENV", composeWith("actor", "STARLING_ENV", "pong"));
        expectProblem("STARLING_METRICS_PORT", composeWith("actor", "STARLING_METRICS_PORT", null));
        expectProblem("actors", checkComposeFixture(
                c -> map(map(c.get("services")).get("actor")).put("command", List.of("actors")), p -> { }));
        expectProblem("--scale", checkComposeFixture(
                c -> map(map(c.get("services")).get("actor")).put("ports", List.of("9400:9400")), p -> { }));
        expectProblem("/checkpoints", checkComposeFixture(
                c -> map(map(c.get("services")).get("parameter-server")).remove("volumes"), p -> { }));
        expectProblem("9401", checkComposeFixture(c -> { }, p -> dnsSd(p).put("port", 9401)));
        expectProblem("SRV", checkComposeFixture(c -> { }, p -> dnsSd(p).remove("type")));
        expectProblem("does not scrape service learner",
                checkComposeFixture(c -> { }, p -> staticTargets(p).remove("learner:9400")));
        expectProblem("MALLOC_MMAP_THRESHOLD_", composeWith("actor", "MALLOC_MMAP_THRESHOLD_", "131072"));
    }

    /** As above, on the rendered cpu overlay: it passes as it is, each breakage is named. */
    @Test
    void checkerFlagsBrokenKubernetesManifests() {
        String cpu = render(OVERLAYS.resolve("cpu"));
        assertNoProblems("overlays/cpu", new KubernetesCheck("cpu").check(loadAll(cpu)));

        expectProblem("7072", checkCpuOverlay(cpu, docs -> setEnv(container(docs, "learner"), "STARLING_PORT", "7072")));
        expectProblem("7171", checkCpuOverlay(cpu, docs -> servicePort(docs, "learner", "grpc").put("port", 7171)));
        expectProblem("STARLING_LEARNER",
                checkCpuOverlay(cpu, docs -> setEnv(container(docs, "actor"), "STARLING_LEARNER", "parameter-server:7071")));
        expectProblem("prometheus.io/port", checkCpuOverlay(cpu,
                docs -> map(at(workload(docs, "actor"), "spec", "template", "metadata", "annotations"))
                        .put("prometheus.io/port", "9401")));
        expectProblem("--unroll", checkCpuOverlay(cpu,
                docs -> map(configMapOf(docs, "parameter-server").get("data")).put("STARLING_UNROLL", "32")));
        expectProblem("STARLING_LSTM_SIZE", checkCpuOverlay(cpu,
                docs -> map(configMapOf(docs, "parameter-server").get("data")).put("STARLING_LSTM_SIZE", "wide")));
        expectProblem("actors", checkCpuOverlay(cpu, docs -> container(docs, "actor").put("args", List.of("actors"))));
        expectProblem("probe", checkCpuOverlay(cpu,
                docs -> map(container(docs, "parameter-server").get("readinessProbe")).put("grpc", Map.of("port", 7071))));
        expectProblem("/checkpoints", checkCpuOverlay(cpu, docs -> container(docs, "parameter-server").remove("volumeMounts")));
        expectProblem("GPU", checkCpuOverlay(cpu,
                docs -> map(at(container(docs, "learner"), "resources", "limits")).put(GPU, 1)));
        expectProblem("MALLOC_TOP_PAD_", checkCpuOverlay(cpu, docs -> setEnv(container(docs, "learner"), "MALLOC_TOP_PAD_", "0")));
        expectProblem("MALLOC_MMAP_THRESHOLD_", checkCpuOverlay(cpu,
                docs -> map(configMapOf(docs, "actor").get("data")).put("MALLOC_MMAP_THRESHOLD_", "131072")));
    }

    /** The secure compose checks are not tautologies: the real files pass, each breakage is named. */
    @Test
    void checkerFlagsBrokenSecureCompose() {
        expectProblem("actor", checkSecureCompose(c -> setCredentialsMount(c, "learner",
                "./deploy/credentials/actor:/etc/starling/credentials/learner:ro")));
        expectProblem("read-only", checkSecureCompose(c -> setCredentialsMount(c, "actor",
                "./deploy/credentials/actor:/etc/starling/credentials/actor")));
        expectProblem("service parameter-server", checkSecureCompose(c -> setCredentialsMount(c, "parameter-server",
                "./deploy/credentials:/etc/starling/credentials:ro")));
        expectProblem("service grafana", checkSecureCompose(
                c -> serviceOf(c, "grafana").put("volumes", List.of("./deploy:/deploy:ro"))));
        expectProblem("STARLING_CREDENTIAL sets nothing", checkSecureCompose(c -> {
            Map<String, Object> env = environmentMap(serviceOf(c, "actor").get("environment"));
            env.put("STARLING_CREDENTIAL", env.remove(CREDENTIALS_VARIABLE));
            serviceOf(c, "actor").put("environment", env);
        }));
        expectProblem("/run/credentials/learner", checkSecureCompose(c -> {
            Map<String, Object> env = environmentMap(serviceOf(c, "learner").get("environment"));
            env.put(CREDENTIALS_VARIABLE, "/run/credentials");
            serviceOf(c, "learner").put("environment", env);
        }));
        expectProblem("profile", checkSecureCompose(c -> serviceOf(c, "credentials").remove("profiles")));
        expectProblem("/out/learner", checkSecureCompose(c -> serviceOf(c, "credentials").put("entrypoint",
                list(serviceOf(c, "credentials").get("entrypoint")).stream()
                        .map(a -> str(a).replace(" /out/learner", "")).toList())));
        expectProblem(".gitignore", new SecureComposeCheck(ROOT, List.of("target/")).check(secureCompose(c -> { })));
        // The long volume syntax reads the same.
        assertNoProblems("long syntax", checkSecureCompose(c -> setCredentialsMount(c, "actor", Map.of("type", "bind",
                "source", "./deploy/credentials/actor", "target", "/etc/starling/credentials/actor", "read_only", true))));
    }

    /** The secure overlay's checks are not tautologies: it passes as it is, each breakage is named. */
    @Test
    void checkerFlagsBrokenSecureManifests() {
        String secure = render(OVERLAYS.resolve("secure"));
        assertNoProblems("overlays/secure", new KubernetesCheck("secure").check(loadAll(secure)));

        expectProblem("starling-learner-credentials", checkOverlay("secure", secure, docs -> volumeNamed(workload(docs, "learner"),
                "credentials").put("secret", new LinkedHashMap<>(Map.of("secretName", "starling-actor-credentials",
                        "defaultMode", SECRET_MODE)))));
        expectProblem("tcpSocket", checkOverlay("secure", secure,
                docs -> container(docs, "parameter-server").put("readinessProbe", Map.of("grpc", Map.of("port", 7070)))));
        expectProblem("fsGroup", checkOverlay("secure", secure,
                docs -> map(at(workload(docs, "actor"), "spec", "template", "spec", "securityContext")).remove("fsGroup")));
        expectProblem("readOnly", checkOverlay("secure", secure,
                docs -> list(container(docs, "learner").get("volumeMounts")).stream().map(DeployManifestsTest::map)
                        .filter(m -> "credentials".equals(m.get("name"))).forEach(m -> m.put("readOnly", false))));
        expectProblem("defaultMode", checkOverlay("secure", secure,
                docs -> map(volumeNamed(workload(docs, "actor"), "credentials").get("secret")).put("defaultMode", 0644)));
        expectProblem("without credentials", checkOverlay("secure", secure,
                docs -> ((List<?>) container(docs, "actor").get("env")).removeIf(e -> CREDENTIALS_VARIABLE.equals(map(e).get("name")))));
        expectProblem("/etc/starling/credentials/learner", checkOverlay("secure", secure,
                docs -> list(container(docs, "learner").get("volumeMounts")).stream().map(DeployManifestsTest::map)
                        .filter(m -> "credentials".equals(m.get("name")))
                        .forEach(m -> m.put("mountPath", "/etc/starling/credentials"))));
        // The default overlays stay plaintext.
        expectProblem("plaintext", checkOverlay("cpu", render(OVERLAYS.resolve("cpu")),
                docs -> setEnv(container(docs, "actor"), CREDENTIALS_VARIABLE, "/etc/starling/credentials")));
    }

    // ---------------------------------------------------------------- the launcher's model

    /**
     * What picocli knows about the subcommands. The specs are only read; every value is parsed by
     * a fresh {@code new CommandLine(new Main())} (once per role, option and value: the
     * mutation tests ask again and again).
     */
    static final class Launcher {
        private static final CommandLine MODEL = new CommandLine(new Main());
        private static final Map<List<String>, Optional<String>> REJECTIONS = new ConcurrentHashMap<>();

        private Launcher() {
        }

        /** The subcommand's spec, or null if there is none by that name. */
        static CommandSpec role(String name) {
            CommandLine sub = MODEL.getSubcommands().get(name);
            return sub == null ? null : sub.getCommandSpec();
        }

        static Set<String> roles() {
            return MODEL.getSubcommands().keySet();
        }

        /** The variable {@link Main.Defaults} reads for an option: {@code --max-frames} is {@code STARLING_MAX_FRAMES}. */
        static String variable(OptionSpec option) {
            return "STARLING_" + option.longestName().replaceFirst("^-+", "").toUpperCase(Locale.ROOT).replace('-', '_');
        }

        /** The option a variable sets in this role, or null. */
        static OptionSpec option(CommandSpec role, String variable) {
            for (OptionSpec o : role.options()) {
                if (!o.usageHelp() && !o.versionHelp() && variable(o).equals(variable)) {
                    return o;
                }
            }
            return null;
        }

        /** Null if the role accepts this value for the option, else picocli's reason. */
        static String rejection(String role, OptionSpec option, String value) {
            return rejection(role, option, value, true);
        }

        /**
         * As {@link #rejection(String, OptionSpec, String)}; {@code candidates} false accepts a
         * value outside the option's completion candidates (an environment from a jar is not one
         * of the built-ins --env lists).
         */
        static String rejection(String role, OptionSpec option, String value, boolean candidates) {
            return REJECTIONS.computeIfAbsent(List.of(role, option.longestName(), value, Boolean.toString(candidates)),
                    k -> Optional.ofNullable(parse(role, option, value, candidates))).orElse(null);
        }

        private static String parse(String role, OptionSpec option, String value, boolean candidates) {
            CommandLine cli = new CommandLine(new Main());
            cli.setCaseInsensitiveEnumValuesAllowed(true);
            try {
                cli.parseArgs(role, option.longestName() + "=" + value);
            } catch (ParameterException e) {
                return e.getMessage();
            }
            if (candidates && option.completionCandidates() != null && !option.type().isEnum()) {
                List<String> allowed = new ArrayList<>();
                option.completionCandidates().forEach(allowed::add);
                if (!allowed.isEmpty() && !allowed.contains(value)) {
                    return "'" + value + "' is not one of " + allowed;
                }
            }
            return null;
        }

        /** The value the role uses for an option: the variable if set, else the option's default (may be null). */
        static String effective(CommandSpec role, String optionName, Map<String, String> env) {
            OptionSpec option = role.findOption(optionName);
            if (option == null) {
                return null;
            }
            String v = env.get(variable(option));
            return v != null ? v : option.defaultValue();
        }
    }

    /** One Starling container: where it is, the role it runs, its STARLING_* environment (null value: not known). */
    record Container(String where, String role, CommandSpec spec, Map<String, String> env) {

        /** The gRPC port, or -1 for a role without a gRPC server (or a value that is not a number). */
        int grpcPort() {
            return number(Launcher.effective(spec, "--port", env));
        }

        int metricsPort() {
            return number(Launcher.effective(spec, "--metrics-port", env));
        }
    }

    /**
     * The checks every deployment shares: the arguments name a real subcommand and carry no
     * options (all configuration is by environment); each STARLING_* variable is an option of
     * the role with an accepted value; the role serves gRPC (if it has a --port) and metrics.
     * Returns null when the arguments are wrong (nothing else can be checked).
     */
    static Container launcherChecks(String where, Object args, Map<String, String> env, List<String> problems) {
        List<String> argv = args instanceof String s
                ? List.of(s.trim().split("\\s+"))
                : list(args).stream().map(DeployManifestsTest::str).toList();
        if (argv.size() != 1) {
            problems.add(where + ": arguments " + argv + " should be just the role (the image's entrypoint runs the jar;"
                    + " options are STARLING_* variables), one of " + ROLES);
            if (argv.isEmpty()) {
                return null;
            }
        }
        String role = argv.get(0);
        CommandSpec spec = Launcher.role(role);
        if (spec == null) {
            problems.add(where + ": '" + role + "' is not a starling subcommand (they are "
                    + Launcher.roles() + ")");
            return null;
        }
        for (Map.Entry<String, String> e : new TreeMap<>(env).entrySet()) {
            String name = e.getKey();
            if (name.equals("STARLING_CONFIG")) {
                problems.add(where + ": STARLING_CONFIG names a properties file this test cannot see; set the options"
                        + " as STARLING_* variables");
                continue;
            }
            if (NOT_OPTIONS.contains(name)) {
                continue;
            }
            OptionSpec option = Launcher.option(spec, name);
            if (option == null) {
                problems.add(where + ": " + name + " sets nothing: '" + role + "' has no option --"
                        + name.substring("STARLING_".length()).toLowerCase(Locale.ROOT).replace('_', '-'));
                continue;
            }
            if (e.getValue() != null) {
                // The environments of STARLING_ENV_JAR are not --env's built-in candidates: EnvironmentCheck checks the name.
                boolean candidates = !(name.equals(ENV_VARIABLE) && env.containsKey(ENV_JAR_VARIABLE));
                String why = Launcher.rejection(role, option, e.getValue(), candidates);
                if (why != null) {
                    problems.add(where + ": " + name + "=" + e.getValue() + " is rejected by '" + role + "': " + why);
                }
            }
        }
        Container c = new Container(where, role, spec, env);
        if (spec.findOption("--port") != null && c.grpcPort() <= 0) {
            problems.add(where + ": the gRPC port must be fixed (STARLING_PORT=" + env.get("STARLING_PORT") + ")");
        }
        if (c.metricsPort() <= 0) {
            problems.add(where + ": STARLING_METRICS_PORT must be a fixed port so metrics can be scraped (it is "
                    + Launcher.effective(spec, "--metrics-port", env) + "; -1 is off)");
        }
        return c;
    }

    /** Each role runs exactly once (actors scale as replicas of one service or Deployment). */
    static void eachRoleOnce(List<Container> containers, List<String> problems) {
        for (String role : ROLES) {
            List<String> where = containers.stream().filter(c -> c.role().equals(role)).map(Container::where).toList();
            if (where.size() != 1) {
                problems.add("'" + role + "' should run in exactly one place, runs in " + where);
            }
        }
    }

    // ---------------------------------------------------------------- docker compose

    /** Checks a parsed docker-compose.yml and the prometheus.yml its Prometheus service mounts. */
    static final class ComposeCheck {
        private static final Pattern INTERPOLATION = Pattern.compile("\\$\\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?-)([^}]*))?}");

        private final Path composeDir;
        private final Path prometheusFile;
        private final boolean strictEnvironments;
        private final List<String> problems = new ArrayList<>();

        ComposeCheck(Path composeDir, Path prometheusFile) {
            this(composeDir, prometheusFile, false);
        }

        /**
         * @param strictEnvironments an environment from a jar that is not on this machine is a
         *     problem (otherwise it is left unverified)
         */
        ComposeCheck(Path composeDir, Path prometheusFile, boolean strictEnvironments) {
            this.composeDir = composeDir;
            this.prometheusFile = prometheusFile;
            this.strictEnvironments = strictEnvironments;
        }

        List<String> check(Map<String, Object> compose, Map<String, Object> prometheus) {
            Map<String, Object> services = map(compose.get("services"));
            Map<String, Container> byService = new LinkedHashMap<>();
            for (Map.Entry<String, Object> e : services.entrySet()) {
                Map<String, Object> service = map(e.getValue());
                String where = "service " + e.getKey();
                if (!isStarlingImage(interpolate(str(service.get("image")))) && !service.containsKey("build")) {
                    continue;
                }
                if (service.containsKey("profiles")) {
                    // A one-off tool (docker-compose.secure.yml's credentials): `up` does not start it.
                    continue;
                }
                if (service.containsKey("entrypoint")) {
                    problems.add(where + ": overrides the image's entrypoint; give the role as command: [\"<role>\"]");
                }
                Container c = launcherChecks(where, service.get("command"), environment(service), problems);
                allocatorNotOverridden(where, rawEnvironment(service).keySet(), problems);
                if (c != null) {
                    byService.put(e.getKey(), c);
                    portsAndVolumes(e.getKey(), service, c);
                }
            }
            eachRoleOnce(List.copyOf(byService.values()), problems);
            for (Map.Entry<String, Container> e : byService.entrySet()) {
                addresses(e.getValue(), byService);
            }
            prometheusService(services);
            scrapeTargets(prometheus, byService);
            problems.addAll(new EnvironmentCheck(strictEnvironments, (c, jar) -> byService.entrySet().stream()
                    .filter(e -> e.getValue() == c).findFirst()
                    .map(e -> hostJar(map(services.get(e.getKey())), jar)).orElse(null))
                    .check(byService.values()));
            return problems;
        }

        /** The host file a service sees at {@code jar} through a bind mount, if it exists here; else null. */
        private Path hostJar(Map<String, Object> service, String jar) {
            for (SecureComposeCheck.Mount m : SecureComposeCheck.mounts(service)) {
                Path host = m.hostPath(composeDir);
                if (host != null && Path.of(jar).startsWith(Path.of(m.target()))) {
                    Path file = host.resolve(Path.of(m.target()).relativize(Path.of(jar)).toString());
                    return Files.isRegularFile(file) ? file : null;
                }
            }
            return null;
        }

        /**
         * {@code environment} (map or KEY=VALUE list) over {@code env_file}, STARLING_* only,
         * with ${VAR:-default} resolved.
         */
        private Map<String, String> environment(Map<String, Object> service) {
            Map<String, String> env = rawEnvironment(service);
            env.keySet().removeIf(k -> !k.startsWith("STARLING_"));
            env.replaceAll((k, v) -> v == null ? null : interpolate(v));
            return env;
        }

        /** {@code environment} (map or KEY=VALUE list) over {@code env_file}: every variable, as written. */
        private Map<String, String> rawEnvironment(Map<String, Object> service) {
            Map<String, String> env = new TreeMap<>();
            Object envFiles = service.get("env_file");
            for (Object f : envFiles instanceof String ? List.of(envFiles) : list(envFiles)) {
                Path file = composeDir.resolve(str(f instanceof Map<?, ?> m ? m.get("path") : f));
                try {
                    for (String line : Files.readAllLines(file)) {
                        int eq = line.indexOf('=');
                        if (!line.isBlank() && !line.startsWith("#") && eq > 0) {
                            env.put(line.substring(0, eq).trim(), line.substring(eq + 1).trim());
                        }
                    }
                } catch (IOException ex) {
                    problems.add("env_file " + file + " cannot be read: " + ex);
                }
            }
            Object raw = service.get("environment");
            if (raw instanceof Map<?, ?> m) {
                m.forEach((k, v) -> env.put(str(k), v == null ? null : str(v)));
            } else {
                for (Object item : list(raw)) {
                    String s = str(item);
                    int eq = s.indexOf('=');
                    env.put(eq < 0 ? s : s.substring(0, eq), eq < 0 ? null : s.substring(eq + 1));
                }
            }
            return env;
        }

        /** What compose makes of ${VAR:-default} and ${VAR-default} when VAR is unset; $$ is a literal $. */
        static String interpolate(String value) {
            if (value == null) {
                return null;
            }
            Matcher m = INTERPOLATION.matcher(value);
            StringBuilder out = new StringBuilder();
            while (m.find()) {
                m.appendReplacement(out, Matcher.quoteReplacement(m.group(3) == null ? "" : m.group(3)));
            }
            m.appendTail(out);
            return out.toString().replace("$$", "$");
        }

        private void portsAndVolumes(String name, Map<String, Object> service, Container c) {
            String where = "service " + name;
            List<Object> ports = new ArrayList<>(list(service.get("ports")));
            ports.addAll(list(service.get("expose")));
            for (Object p : ports) {
                int target;
                boolean published;
                if (p instanceof Map<?, ?> m) {
                    target = number(str(m.get("target")));
                    published = m.get("published") != null;
                } else {
                    String[] parts = str(p).replaceFirst("/(tcp|udp)$", "").split(":");
                    target = number(parts[parts.length - 1]);
                    published = parts.length > 1 && !parts[parts.length - 2].isEmpty()
                            && list(service.get("ports")).contains(p);
                }
                if (target != c.grpcPort() && target != c.metricsPort()) {
                    problems.add(where + ": port " + p + " is neither its gRPC port (" + c.grpcPort()
                            + ") nor its metrics port (" + c.metricsPort() + ")");
                }
                if (published && c.role().equals("actor")) {
                    problems.add(where + ": publishes fixed host port " + p
                            + ", which breaks `docker compose up --scale actor=N`");
                }
            }
            if (c.role().equals("actor") && service.containsKey("container_name")) {
                problems.add(where + ": container_name breaks `docker compose up --scale actor=N`");
            }
            String checkpoints = c.env().get("STARLING_CHECKPOINT_DIR");
            if (c.role().equals("parameter-server")) {
                boolean mounted = checkpoints != null && list(service.get("volumes")).stream()
                        .map(v -> v instanceof Map<?, ?> m ? str(m.get("target")) : volumeParts(interpolate(str(v)))[1])
                        .anyMatch(target -> target != null && Path.of(checkpoints).startsWith(Path.of(target)));
                if (!mounted) {
                    problems.add(where + ": STARLING_CHECKPOINT_DIR (" + checkpoints + ") should be set and on a volume"
                            + " (e.g. checkpoints:/checkpoints), or a re-created container starts from scratch");
                }
            }
        }

        /** {source, target} of a short volume entry ("src:dst[:mode]" or just "dst"), already interpolated. */
        static String[] volumeParts(String v) {
            String[] parts = v.split(":");
            return parts.length == 1 ? new String[] {null, parts[0]} : new String[] {parts[0], parts[1]};
        }

        /** STARLING_PARAMETER_SERVER and STARLING_LEARNER name the service running that role, at its gRPC port. */
        private void addresses(Container c, Map<String, Container> byService) {
            for (Map.Entry<String, String> a : ADDRESS_OPTIONS.entrySet()) {
                OptionSpec option = c.spec().findOption(a.getKey());
                if (option == null) {
                    continue;
                }
                String value = Launcher.effective(c.spec(), a.getKey(), c.env());
                String variable = Launcher.variable(option);
                String[] hostPort = hostPort(value);
                Container target = hostPort == null ? null : byService.get(hostPort[0]);
                if (target == null || !target.role().equals(a.getValue())) {
                    problems.add(c.where() + ": " + variable + "=" + value + " should be <service>:<port> of the service"
                            + " running '" + a.getValue() + "'");
                } else if (number(hostPort[1]) != target.grpcPort()) {
                    problems.add(c.where() + ": " + variable + "=" + value + " dials port " + hostPort[1] + ", but "
                            + target.where() + " serves gRPC on " + target.grpcPort());
                }
            }
        }

        private void prometheusService(Map<String, Object> services) {
            for (Object s : services.values()) {
                for (Object v : list(map(s).get("volumes"))) {
                    String source = v instanceof Map<?, ?> m ? str(m.get("source")) : volumeParts(interpolate(str(v)))[0];
                    if (source != null && (source.startsWith(".") || source.startsWith("/"))
                            && prometheusFile.normalize().startsWith(composeDir.resolve(source).normalize())) {
                        return;
                    }
                }
            }
            problems.add("no service mounts " + composeDir.relativize(prometheusFile) + " (Prometheus should scrape with it)");
        }

        /** Each Starling service is scraped at its metrics port; scaled actors through DNS (type A), one target per replica. */
        private void scrapeTargets(Map<String, Object> prometheus, Map<String, Container> byService) {
            Map<String, List<String>> found = new TreeMap<>();
            for (Object job : list(prometheus.get("scrape_configs"))) {
                Map<String, Object> j = map(job);
                String jobName = str(j.get("job_name"));
                String path = j.containsKey("metrics_path") ? str(j.get("metrics_path")) : "/metrics";
                for (Object sc : list(j.get("static_configs"))) {
                    for (Object t : list(map(sc).get("targets"))) {
                        String[] hp = hostPort(str(t));
                        if (hp != null) {
                            target(found, byService, jobName, hp[0], number(hp[1]), path, false);
                        }
                    }
                }
                for (Object dns : list(j.get("dns_sd_configs"))) {
                    Map<String, Object> d = map(dns);
                    String type = d.containsKey("type") ? str(d.get("type")) : "SRV";
                    for (Object n : list(d.get("names"))) {
                        if (!type.equals("A") && !type.equals("AAAA")) {
                            problems.add("prometheus.yml job " + jobName + ": dns_sd_configs for " + n + " has type " + type
                                    + " (SRV unless set); Docker's DNS answers A records: set type: A and port");
                            continue;
                        }
                        target(found, byService, jobName, str(n), number(str(d.get("port"))), path, true);
                    }
                }
            }
            for (Map.Entry<String, Container> e : byService.entrySet()) {
                if (!found.containsKey(e.getKey())) {
                    String how = e.getValue().role().equals("actor") ? " via dns_sd_configs" : "";
                    problems.add("prometheus.yml does not scrape " + e.getValue().where() + " (expected " + e.getKey() + ":"
                            + e.getValue().metricsPort() + how + ")");
                }
            }
        }

        private void target(Map<String, List<String>> found, Map<String, Container> byService, String job, String host,
                int port, String path, boolean dns) {
            Container c = byService.get(host);
            if (c == null) {
                return;
            }
            found.computeIfAbsent(host, h -> new ArrayList<>()).add(job);
            String where = "prometheus.yml job " + job + ", target " + host + ":" + port;
            if (port != c.metricsPort()) {
                problems.add(where + ": " + c.where() + " serves metrics on " + c.metricsPort());
            }
            if (!"/metrics".equals(path)) {
                problems.add(where + ": metrics_path " + path + ", but the roles serve /metrics");
            }
            if (c.role().equals("actor") && !dns) {
                problems.add(where + ": a static target reaches one actor replica only; use dns_sd_configs (type A)");
            }
        }
    }

    /**
     * docker-compose.yml with an override over it, as compose merges the keys these files use:
     * services by name; {@code environment} by variable (map or KEY=VALUE list); {@code volumes}
     * by mount target; any other key of a service replaced; top-level {@code volumes} by name.
     */
    static Map<String, Object> mergeCompose(Map<String, Object> base, Map<String, Object> override) {
        Map<String, Object> merged = new LinkedHashMap<>(base);
        Map<String, Object> services = new LinkedHashMap<>(map(base.get("services")));
        map(override.get("services")).forEach((name, o) -> {
            Map<String, Object> service = new LinkedHashMap<>(map(services.get(name)));
            map(o).forEach((key, value) -> {
                switch (key) {
                    case "environment" -> {
                        Map<String, Object> env = environmentMap(service.get(key));
                        env.putAll(environmentMap(value));
                        service.put(key, env);
                    }
                    case "volumes" -> {
                        Map<String, Object> byTarget = new LinkedHashMap<>();
                        for (Object v : list(service.get(key))) {
                            byTarget.put(SecureComposeCheck.mount(v).target(), v);
                        }
                        for (Object v : list(value)) {
                            byTarget.put(SecureComposeCheck.mount(v).target(), v);
                        }
                        service.put(key, new ArrayList<>(byTarget.values()));
                    }
                    default -> service.put(key, value);
                }
            });
            services.put(name, service);
        });
        merged.put("services", services);
        Map<String, Object> volumes = new LinkedHashMap<>(map(base.get("volumes")));
        volumes.putAll(map(override.get("volumes")));
        merged.put("volumes", volumes);
        return merged;
    }

    /** A service's {@code environment} (map or KEY=VALUE list) as a new mutable map; a bare KEY is null. */
    static Map<String, Object> environmentMap(Object raw) {
        Map<String, Object> env = new LinkedHashMap<>();
        if (raw instanceof Map<?, ?> m) {
            m.forEach((k, v) -> env.put(str(k), v));
        } else {
            for (Object item : list(raw)) {
                String[] kv = str(item).split("=", 2);
                env.put(kv[0], kv.length > 1 ? kv[1] : null);
            }
        }
        return env;
    }

    /**
     * The security of a merged compose stack (docker-compose.yml + docker-compose.secure.yml): each
     * role sets STARLING_CREDENTIALS (its --credentials) to a folder D and mounts exactly one folder
     * under D, D/&lt;role&gt;, read-only, from &lt;credentials&gt;/&lt;role&gt; on the host, all roles from
     * the same credentials folder; no other service (Prometheus, Grafana, the other roles) mounts
     * that folder, a part of it or a folder above it; a one-off tool in a profile (not started by
     * {@code up}) mounts it, runs {@code starling credentials --out} into it and gives each role's
     * folder to the image's user (0600 keys owned by another uid are unreadable in the container);
     * git ignores it.
     */
    static final class SecureComposeCheck {
        /** A volume entry: its host source (null for none), its target, read-only or not, as written. */
        record Mount(String source, String target, boolean readOnly, Object raw) {
            /** The host path of a bind mount, or null for a named volume. */
            Path hostPath(Path composeDir) {
                return source != null && (source.startsWith(".") || source.startsWith("/"))
                        ? composeDir.resolve(source).normalize() : null;
            }
        }

        private final Path composeDir;
        private final List<String> gitignore;
        private final List<String> problems = new ArrayList<>();

        SecureComposeCheck(Path composeDir) throws IOException {
            this(composeDir, Files.readAllLines(composeDir.resolve(".gitignore")));
        }

        SecureComposeCheck(Path composeDir, List<String> gitignore) {
            this.composeDir = composeDir;
            this.gitignore = gitignore;
        }

        /** A short ("src:dst[:mode]", "dst") or long (map) volume entry, interpolated. */
        static Mount mount(Object v) {
            if (v instanceof Map<?, ?> m) {
                return new Mount(ComposeCheck.interpolate(str(m.get("source"))), str(m.get("target")),
                        Boolean.TRUE.equals(m.get("read_only")) || "true".equals(str(m.get("read_only"))), v);
            }
            String s = ComposeCheck.interpolate(str(v));
            String[] parts = s.split(":");
            if (parts.length == 1) {
                return new Mount(null, parts[0], false, v);
            }
            return new Mount(parts[0], parts[1], parts.length > 2 && List.of(parts[2].split(",")).contains("ro"), v);
        }

        static List<Mount> mounts(Map<String, Object> service) {
            return list(service.get("volumes")).stream().map(SecureComposeCheck::mount).toList();
        }

        List<String> check(Map<String, Object> compose) {
            Map<String, Object> services = map(compose.get("services"));
            Map<String, Map<String, Object>> tools = new LinkedHashMap<>();
            Map<String, Path> own = new LinkedHashMap<>();
            Set<Path> folders = new TreeSet<>();
            int roles = 0;
            for (Map.Entry<String, Object> e : services.entrySet()) {
                Map<String, Object> service = map(e.getValue());
                if (!isStarlingImage(ComposeCheck.interpolate(str(service.get("image")))) && !service.containsKey("build")) {
                    continue;
                }
                if (service.containsKey("profiles")) {
                    tools.put(e.getKey(), service);
                    continue;
                }
                List<Object> argv = service.get("command") instanceof String c ? List.of((Object[]) c.trim().split("\\s+"))
                        : list(service.get("command"));
                String role = argv.size() == 1 ? str(argv.get(0)) : null;
                if (role == null || !ROLES.contains(role)) {
                    continue;
                }
                roles++;
                Path folder = roleMount("service " + e.getKey(), role, service);
                if (folder != null) {
                    own.put(e.getKey(), folder);
                    folders.add(folder.getParent());
                }
            }
            if (roles == 0) {
                problems.add("no service runs a role");
            }
            if (folders.size() != 1) {
                if (folders.size() > 1) {
                    problems.add("the roles' credentials should come from one credentials folder, come from " + folders);
                }
                return problems;
            }
            Path folder = folders.iterator().next();
            for (Map.Entry<String, Object> e : services.entrySet()) {
                if (tools.containsKey(e.getKey())) {
                    continue;
                }
                for (Mount m : mounts(map(e.getValue()))) {
                    Path host = m.hostPath(composeDir);
                    if (host != null && !host.equals(own.get(e.getKey())) && (folder.startsWith(host) || host.startsWith(folder))) {
                        problems.add("service " + e.getKey() + ": mounts " + m.source() + ", which holds credentials that are not"
                                + " its own (the credentials folder is " + composeDir.relativize(folder) + ")");
                    }
                }
            }
            tool(tools, folder);
            ignored(folder);
            return problems;
        }

        /** The role's credentials mount; its host folder if it is right (&lt;credentials&gt;/&lt;role&gt;), else null. */
        private Path roleMount(String where, String role, Map<String, Object> service) {
            OptionSpec option = Launcher.option(Launcher.role(role), CREDENTIALS_VARIABLE);
            if (option == null || !option.longestName().equals("--credentials")) {
                problems.add(where + ": " + CREDENTIALS_VARIABLE + " is not the variable of '" + role + " --credentials'"
                        + " (it is " + (option == null ? "nothing" : option.longestName()) + ")");
            }
            Object raw = environmentMap(service.get("environment")).get(CREDENTIALS_VARIABLE);
            String dir = raw == null ? null : ComposeCheck.interpolate(str(raw)).replaceFirst("(.)/+$", "$1");
            if (dir == null || dir.isBlank()) {
                problems.add(where + ": security is off: " + CREDENTIALS_VARIABLE + " is not set, so the " + role
                        + " would talk plaintext to secured peers");
                return null;
            }
            if (!dir.startsWith("/")) {
                problems.add(where + ": " + CREDENTIALS_VARIABLE + "=" + dir + " should be an absolute path in the container");
                return null;
            }
            String ownTarget = dir + "/" + role;
            List<Mount> under = mounts(service).stream().filter(m -> Path.of(m.target()).startsWith(Path.of(dir))).toList();
            if (under.size() != 1) {
                problems.add(where + ": should mount exactly one folder under " + dir + ", its own <credentials>/" + role
                        + " at " + ownTarget + "; mounts " + under.stream().map(Mount::raw).toList());
                return null;
            }
            Mount m = under.get(0);
            boolean right = true;
            if (!m.target().equals(ownTarget)) {
                problems.add(where + ": mounts its credentials at " + m.target() + ", but " + CREDENTIALS_VARIABLE + "=" + dir
                        + " makes the " + role + " read " + ownTarget);
                right = false;
            }
            if (!m.readOnly()) {
                problems.add(where + ": the credentials mount " + m.raw() + " should be read-only (:ro)");
            }
            Path host = m.hostPath(composeDir);
            if (host == null || host.getFileName() == null || !host.getFileName().toString().equals(role)) {
                problems.add(where + ": mounts " + m.source() + " at " + m.target() + ", but the " + role
                        + " gets only its own folder, <credentials>/" + role);
                right = false;
            }
            return right ? host : null;
        }

        /** A one-off tool in a profile writes the folder and gives the roles' folders to the image's user. */
        private void tool(Map<String, Map<String, Object>> tools, Path folder) {
            int uid = imageUid();
            boolean found = false;
            for (Map.Entry<String, Map<String, Object>> e : tools.entrySet()) {
                for (Mount m : mounts(e.getValue())) {
                    if (!folder.equals(m.hostPath(composeDir))) {
                        continue;
                    }
                    found = true;
                    String where = "service " + e.getKey() + " (profile " + e.getValue().get("profiles") + ")";
                    List<String> lines = new ArrayList<>();
                    for (String key : List.of("entrypoint", "command")) {
                        Object v = e.getValue().get(key);
                        (v instanceof String s ? List.<Object>of(s) : list(v)).forEach(x -> lines.addAll(str(x).lines().toList()));
                    }
                    String out = m.target().replaceFirst("(.)/+$", "$1");
                    if (lines.stream().noneMatch(l -> l.contains(" credentials --out " + out))) {
                        problems.add(where + ": should run `starling credentials --out " + out + "` into the credentials folder");
                    }
                    if (m.readOnly()) {
                        problems.add(where + ": mounts the credentials folder read-only, so it cannot write it");
                    }
                    List<String> chowns = lines.stream().filter(l -> l.matches(".*\\bchown\\b.*\\b" + uid + "\\b.*")).toList();
                    for (String role : ROLES) {
                        Pattern folderOf = Pattern.compile("(^|\\s|\")" + Pattern.quote(out + "/" + role) + "/?(\\s|\"|$)");
                        if (chowns.stream().noneMatch(l -> folderOf.matcher(l).find())) {
                            problems.add(where + ": does not chown " + out + "/" + role + " to uid " + uid + ", the image's user,"
                                    + " who cannot read a 0600 key owned by another uid");
                        }
                    }
                }
            }
            if (!found) {
                problems.add("no one-off service in a profile (not started by `up`) mounts " + composeDir.relativize(folder)
                        + " to write the credentials and give each role's folder to uid " + uid);
            }
        }

        /** The credentials folder holds private keys and tokens: git must ignore it. */
        private void ignored(Path folder) {
            if (!folder.startsWith(composeDir)) {
                return;
            }
            String relative = composeDir.relativize(folder).toString().replace('\\', '/');
            boolean ignored = gitignore.stream().map(String::strip).filter(l -> !l.isEmpty() && !l.startsWith("#"))
                    .map(l -> l.replaceFirst("^/", "").replaceFirst("/+$", ""))
                    .anyMatch(l -> relative.equals(l) || relative.startsWith(l + "/"));
            if (!ignored) {
                problems.add(".gitignore should list " + relative + "/ (it holds private keys and tokens)");
            }
        }
    }

    // ---------------------------------------------------------------- kubernetes

    /** Checks one rendered overlay. */
    static final class KubernetesCheck {
        private final String overlay;
        private final boolean strictEnvironments;
        private final List<String> problems = new ArrayList<>();

        KubernetesCheck(String overlay) {
            this(overlay, false);
        }

        /**
         * @param strictEnvironments an environment from a jar that is not on this machine is a
         *     problem (otherwise it is left unverified)
         */
        KubernetesCheck(String overlay, boolean strictEnvironments) {
            this.overlay = overlay;
            this.strictEnvironments = strictEnvironments;
        }

        /** A Starling container in a workload. */
        private record Pod(Container c, Map<String, Object> workload, Map<String, Object> container) {
        }

        List<String> check(List<Map<String, Object>> docs) {
            List<Pod> pods = new ArrayList<>();
            for (Map<String, Object> w : docs) {
                if (!List.of("Deployment", "StatefulSet", "DaemonSet").contains(str(w.get("kind")))) {
                    continue;
                }
                for (Object o : list(at(w, "spec", "template", "spec", "containers"))) {
                    Map<String, Object> container = map(o);
                    if (!isStarlingImage(str(container.get("image")))) {
                        continue;
                    }
                    String where = w.get("kind") + "/" + name(w) + " container " + container.get("name");
                    if (container.containsKey("command")) {
                        problems.add(where + ": sets command, which replaces the image's entrypoint; give the role as args");
                    }
                    Container c = launcherChecks(where, container.get("args"), env(docs, container, where, problems), problems);
                    allocatorNotOverridden(where, allEnv(docs, container, where, new ArrayList<>()).keySet(), problems);
                    if (c != null) {
                        pods.add(new Pod(c, w, container));
                    }
                }
            }
            eachRoleOnce(pods.stream().map(Pod::c).toList(), problems);
            securityEverywhereOrNowhere(pods);
            for (Pod pod : pods) {
                ports(pod, docs);
                probes(pod);
                metricsAnnotations(pod);
                addresses(pod, pods, docs);
                singletonsAndCheckpoints(pod);
                gpu(pod);
                credentials(pod);
            }
            // A jar in the image's ENVS_DIR came from Dockerfile.user-env's build context: the example's, here.
            problems.addAll(new EnvironmentCheck(strictEnvironments, (c, jar) -> exampleJar(jar))
                    .check(pods.stream().map(Pod::c).toList()));
            return problems;
        }

        /** Security is on for a role when its container sets STARLING_CREDENTIALS (--credentials). */
        private static boolean secure(Pod pod) {
            return pod.c().env().containsKey(CREDENTIALS_VARIABLE);
        }

        /**
         * The cpu and gpu overlays are plaintext (the default), the secure overlay gives every role
         * its credentials; any other overlay must not mix (secured servers refuse plaintext callers).
         */
        private void securityEverywhereOrNowhere(List<Pod> pods) {
            List<String> on = pods.stream().filter(KubernetesCheck::secure).map(p -> p.c().role()).toList();
            List<String> off = pods.stream().filter(p -> !secure(p)).map(p -> p.c().role()).toList();
            if (PLAINTEXT_OVERLAYS.contains(overlay) && !on.isEmpty()) {
                problems.add("the " + overlay + " overlay should be plaintext (security is opt-in: overlays/secure), but "
                        + on + " set " + CREDENTIALS_VARIABLE);
            } else if (overlay.equals("secure") && !off.isEmpty()) {
                problems.add("the secure overlay runs " + off + " without credentials (" + CREDENTIALS_VARIABLE + " unset)");
            } else if (!on.isEmpty() && !off.isEmpty()) {
                problems.add("security is on for " + on + " but off for " + off + ": secured servers refuse plaintext callers");
            }
        }

        /**
         * With security on: the pod runs as the image's user with it as fsGroup; the container
         * mounts exactly one Secret, its own role's (starling-&lt;role&gt;-credentials),
         * read-only with mode 0440, at STARLING_CREDENTIALS/&lt;role&gt;, the folder
         * {@code --credentials} reads; nothing else is mounted under STARLING_CREDENTIALS.
         */
        private void credentials(Pod pod) {
            if (!secure(pod)) {
                return;
            }
            Container c = pod.c();
            int uid = imageUid();
            Map<String, Object> podSpec = map(at(pod.workload(), "spec", "template", "spec"));
            for (String field : List.of("runAsUser", "fsGroup")) {
                Object v = at(podSpec, "securityContext", field);
                if (number(str(v)) != uid) {
                    problems.add(c.where() + ": pod securityContext " + field + " is " + v + ", should be " + uid
                            + " (the image's user; the Secret's files are 0440, readable through the fsGroup)");
                }
            }
            String dir = c.env().get(CREDENTIALS_VARIABLE);
            if (dir == null || !dir.startsWith("/")) {
                problems.add(c.where() + ": " + CREDENTIALS_VARIABLE + " should be an absolute path, is " + dir);
                return;
            }
            Map<String, Map<String, Object>> volumes = new LinkedHashMap<>();
            list(podSpec.get("volumes")).stream().map(DeployManifestsTest::map).forEach(v -> volumes.put(str(v.get("name")), v));
            List<Map<String, Object>> mounts = list(pod.container().get("volumeMounts")).stream().map(DeployManifestsTest::map)
                    .filter(m -> volumes.getOrDefault(str(m.get("name")), Map.of()).containsKey("secret")
                            || Path.of(str(m.get("mountPath"))).startsWith(Path.of(dir)))
                    .toList();
            String ownPath = dir.replaceFirst("/+$", "") + "/" + c.role();
            String ownSecret = SECRET_PREFIX + c.role() + "-credentials";
            if (mounts.size() != 1) {
                problems.add(c.where() + ": should mount exactly one credentials Secret, " + ownSecret + " at " + ownPath
                        + " (each role only its own), mounts " + mounts);
                return;
            }
            Map<String, Object> mount = mounts.get(0);
            Map<String, Object> volume = volumes.getOrDefault(str(mount.get("name")), Map.of());
            Map<String, Object> secret = map(volume.get("secret"));
            if (!ownPath.equals(str(mount.get("mountPath")))) {
                problems.add(c.where() + ": mounts its credentials at " + mount.get("mountPath") + ", but "
                        + CREDENTIALS_VARIABLE + "=" + dir + " makes the " + c.role() + " read " + ownPath);
            }
            if (!Boolean.TRUE.equals(mount.get("readOnly"))) {
                problems.add(c.where() + ": the credentials mount " + mount.get("mountPath") + " should be readOnly: true");
            }
            if (!ownSecret.equals(str(secret.get("secretName")))) {
                problems.add(c.where() + ": mounts " + (secret.isEmpty() ? "volume " + volume : "Secret " + secret.get("secretName"))
                        + " at " + mount.get("mountPath") + "; the " + c.role() + " gets only its own Secret " + ownSecret);
            }
            if (number(str(secret.get("defaultMode"))) != SECRET_MODE) {
                problems.add(c.where() + ": Secret " + secret.get("secretName") + " defaultMode is " + secret.get("defaultMode")
                        + ", should be 0440 (" + SECRET_MODE + "): owner and fsGroup read, nobody writes");
            }
        }

        /** The containerPorts named grpc and metrics, and every Service port that reaches this pod. */
        private void ports(Pod pod, List<Map<String, Object>> docs) {
            Container c = pod.c();
            boolean grpc = c.spec().findOption("--port") != null;
            if (grpc && containerPort(pod.container(), "grpc") != c.grpcPort()) {
                problems.add(c.where() + ": containerPort named grpc is " + containerPort(pod.container(), "grpc")
                        + ", the role listens on " + c.grpcPort());
            }
            if (containerPort(pod.container(), "metrics") != c.metricsPort()) {
                problems.add(c.where() + ": containerPort named metrics is " + containerPort(pod.container(), "metrics")
                        + ", the role serves metrics on " + c.metricsPort());
            }
            List<Map<String, Object>> services = servicesFor(pod.workload(), docs);
            if (grpc && services.isEmpty()) {
                problems.add(c.where() + ": no Service selects it, so the other roles cannot dial it");
            }
            for (Map<String, Object> s : services) {
                for (Object o : list(at(s, "spec", "ports"))) {
                    Map<String, Object> p = map(o);
                    int port = number(str(p.get("port")));
                    int target = targetPort(pod.container(), p.containsKey("targetPort") ? p.get("targetPort") : port);
                    String portName = str(p.get("name"));
                    int expected = "grpc".equals(portName) ? c.grpcPort() : "metrics".equals(portName) ? c.metricsPort() : -1;
                    String where = "Service/" + name(s) + " port " + portName;
                    if (expected < 0) {
                        problems.add(where + ": name ports grpc or metrics, so the checks know what they carry");
                    } else if (port != expected || target != expected) {
                        problems.add(where + ": port " + port + " -> container port " + target + ", but " + c.where()
                                + " serves " + portName + " on " + expected);
                    }
                }
            }
        }

        /**
         * gRPC roles: gRPC probes on their port (tcpSocket probes with security on); the others:
         * GET /metrics on the metrics port.
         */
        private void probes(Pod pod) {
            Container c = pod.c();
            for (String kind : List.of("readinessProbe", "livenessProbe")) {
                if (!pod.container().containsKey(kind)) {
                    problems.add(c.where() + ": has no " + kind);
                }
            }
            for (String kind : List.of("startupProbe", "readinessProbe", "livenessProbe")) {
                Map<String, Object> probe = map(pod.container().get(kind));
                if (probe.isEmpty()) {
                    continue;
                }
                if (c.spec().findOption("--port") != null && secure(pod)) {
                    if (probe.containsKey("grpc") || !probe.containsKey("tcpSocket")
                            || targetPort(pod.container(), at(probe, "tcpSocket", "port")) != c.grpcPort()) {
                        problems.add(c.where() + ": " + kind + " should be a tcpSocket probe on the gRPC port " + c.grpcPort()
                                + " (with security on, the gRPC health service answers only callers with credentials,"
                                + " which kubelet's grpc probe has not), is " + probe);
                    }
                } else if (c.spec().findOption("--port") != null) {
                    int port = number(str(at(probe, "grpc", "port")));
                    if (port != c.grpcPort()) {
                        problems.add(c.where() + ": " + kind + " should be a gRPC probe on " + c.grpcPort() + " (the role's"
                                + " health service), is " + probe);
                    }
                } else {
                    Object port = at(probe, "httpGet", "port");
                    if (!"/metrics".equals(str(at(probe, "httpGet", "path")))
                            || targetPort(pod.container(), port) != c.metricsPort()) {
                        problems.add(c.where() + ": " + kind + " should GET /metrics on " + c.metricsPort()
                                + " (the role has no gRPC server), is " + probe);
                    }
                }
            }
        }

        private void metricsAnnotations(Pod pod) {
            Map<String, Object> annotations = map(at(pod.workload(), "spec", "template", "metadata", "annotations"));
            Map<String, String> expected = Map.of("prometheus.io/scrape", "true",
                    "prometheus.io/port", Integer.toString(pod.c().metricsPort()), "prometheus.io/path", "/metrics");
            for (Map.Entry<String, String> e : new TreeMap<>(expected).entrySet()) {
                if (!e.getValue().equals(str(annotations.get(e.getKey())))) {
                    problems.add(pod.c().where() + ": pod annotation " + e.getKey() + " is " + annotations.get(e.getKey())
                            + ", should be " + e.getValue());
                }
            }
        }

        /** host:port in STARLING_PARAMETER_SERVER / STARLING_LEARNER is a Service of that role, at its gRPC port. */
        private void addresses(Pod pod, List<Pod> pods, List<Map<String, Object>> docs) {
            Container c = pod.c();
            for (Map.Entry<String, String> a : ADDRESS_OPTIONS.entrySet()) {
                OptionSpec option = c.spec().findOption(a.getKey());
                if (option == null) {
                    continue;
                }
                String value = Launcher.effective(c.spec(), a.getKey(), c.env());
                String label = Launcher.variable(option) + "=" + value;
                String[] hp = hostPort(value);
                // <service>, <service>.<namespace>, <service>.<namespace>.svc[.cluster.local]
                String[] dns = hp == null ? new String[0] : hp[0].split("\\.");
                Object namespace = dns.length > 1 ? dns[1] : at(pod.workload(), "metadata", "namespace");
                Map<String, Object> service = dns.length == 0 ? null : docs.stream()
                        .filter(d -> "Service".equals(d.get("kind")) && dns[0].equals(name(d))
                                && Objects.equals(namespace, at(d, "metadata", "namespace")))
                        .findFirst().orElse(null);
                if (service == null) {
                    problems.add(c.where() + ": " + label + " names no Service of this overlay (expected <service>:<port>)");
                    continue;
                }
                List<Pod> behind = pods.stream().filter(p -> servicesFor(p.workload(), docs).contains(service)).toList();
                if (behind.size() != 1 || !behind.get(0).c().role().equals(a.getValue())) {
                    problems.add(c.where() + ": " + label + ": Service/" + name(service) + " should select the '" + a.getValue()
                            + "' pods, selects " + behind.stream().map(p -> p.c().where()).toList());
                    continue;
                }
                Pod server = behind.get(0);
                int dialed = number(hp[1]);
                boolean reaches = list(at(service, "spec", "ports")).stream().map(DeployManifestsTest::map)
                        .filter(p -> number(str(p.get("port"))) == dialed)
                        .map(p -> p.containsKey("targetPort") ? p.get("targetPort") : dialed)
                        .anyMatch(target -> targetPort(server.container(), target) == server.c().grpcPort());
                if (dialed != server.c().grpcPort()) {
                    problems.add(c.where() + ": " + label + " dials port " + hp[1] + ", but " + server.c().where()
                            + " serves gRPC on " + server.c().grpcPort());
                } else if (!reaches) {
                    problems.add(c.where() + ": " + label + ": Service/" + name(service) + " port " + dialed
                            + " does not lead to the gRPC port " + server.c().grpcPort() + " of " + server.c().where());
                }
            }
        }

        /** One parameter server and one learner; the server's checkpoints on a persistent volume. */
        private void singletonsAndCheckpoints(Pod pod) {
            Container c = pod.c();
            if (!c.role().equals("actor")) {
                Object replicas = at(pod.workload(), "spec", "replicas");
                if ("DaemonSet".equals(pod.workload().get("kind")) || replicas != null && number(str(replicas)) != 1) {
                    problems.add(c.where() + ": '" + c.role() + "' must run as one replica, has " + replicas);
                }
            }
            if (!c.role().equals("parameter-server")) {
                return;
            }
            String dir = c.env().get("STARLING_CHECKPOINT_DIR");
            List<String> claims = new ArrayList<>();
            list(at(pod.workload(), "spec", "volumeClaimTemplates")).forEach(t -> claims.add(str(at(t, "metadata", "name"))));
            list(at(pod.workload(), "spec", "template", "spec", "volumes")).stream().map(DeployManifestsTest::map)
                    .filter(v -> v.containsKey("persistentVolumeClaim")).forEach(v -> claims.add(str(v.get("name"))));
            boolean persistent = dir != null && list(pod.container().get("volumeMounts")).stream()
                    .map(DeployManifestsTest::map)
                    .anyMatch(m -> Path.of(dir).startsWith(Path.of(str(m.get("mountPath"))))
                            && claims.contains(str(m.get("name"))));
            if (!persistent) {
                problems.add(c.where() + ": STARLING_CHECKPOINT_DIR (" + dir + ") should be set and mounted from a"
                        + " PersistentVolumeClaim (e.g. /checkpoints), or a restarted parameter server starts from scratch");
            }
        }

        /**
         * cuda, a GPU limit and the -gpu image go together, on the learner only; the cpu overlay
         * has none, the gpu overlay has them.
         */
        private void gpu(Pod pod) {
            Container c = pod.c();
            String device = Launcher.effective(c.spec(), "--device", c.env());
            boolean cuda = "cuda".equals(device);
            Object limit = at(pod.container(), "resources", "limits", GPU);
            boolean gpuImage = str(pod.container().get("image")).endsWith("-gpu");
            String state = "device " + device + ", limits " + GPU + " " + limit + ", image " + pod.container().get("image");
            boolean learner = c.role().equals("learner");
            if (overlay.equals("gpu") && learner && !(cuda && "1".equals(str(limit)) && gpuImage)) {
                problems.add(c.where() + ": the gpu overlay should give the learner STARLING_DEVICE=cuda, limits " + GPU
                        + ": 1 and the -gpu image; it has " + state);
            } else if ((cuda || limit != null || gpuImage)
                    && (!learner || overlay.equals("cpu") || !(cuda && limit != null && gpuImage))) {
                problems.add(c.where() + ": GPU settings out of place (only the gpu overlay's learner gets STARLING_DEVICE=cuda,"
                        + " a GPU limit and the -gpu image, all three): " + state);
            }
        }

        /** Services in the workload's namespace whose selector matches its pod labels. */
        private static List<Map<String, Object>> servicesFor(Map<String, Object> workload, List<Map<String, Object>> docs) {
            Map<String, Object> labels = map(at(workload, "spec", "template", "metadata", "labels"));
            return docs.stream().filter(d -> "Service".equals(d.get("kind")))
                    .filter(s -> Objects.equals(at(s, "metadata", "namespace"), at(workload, "metadata", "namespace")))
                    .filter(s -> {
                        Map<String, Object> selector = map(at(s, "spec", "selector"));
                        return !selector.isEmpty() && selector.entrySet().stream()
                                .allMatch(e -> Objects.equals(str(e.getValue()), str(labels.get(e.getKey()))));
                    }).toList();
        }

        private static int containerPort(Map<String, Object> container, String portName) {
            return list(container.get("ports")).stream().map(DeployManifestsTest::map)
                    .filter(p -> portName.equals(str(p.get("name")))).mapToInt(p -> number(str(p.get("containerPort"))))
                    .findFirst().orElse(-1);
        }

        /** A number, or the containerPort with that name. */
        private static int targetPort(Map<String, Object> container, Object port) {
            int n = number(str(port));
            return n > 0 ? n : containerPort(container, str(port));
        }
    }

    /**
     * A container's STARLING_* environment as Kubernetes builds it: envFrom ConfigMaps, then env
     * over them. A value from elsewhere (valueFrom) is null: its name is checked, not its value.
     */
    static Map<String, String> env(List<Map<String, Object>> docs, Map<String, Object> container, String where,
            List<String> problems) {
        Map<String, String> env = allEnv(docs, container, where, problems);
        env.keySet().removeIf(k -> !k.startsWith("STARLING_"));
        return env;
    }

    /** As {@link #env}, every variable. */
    static Map<String, String> allEnv(List<Map<String, Object>> docs, Map<String, Object> container, String where,
            List<String> problems) {
        Map<String, String> env = new TreeMap<>();
        for (Object o : list(container.get("envFrom"))) {
            Map<String, Object> from = map(o);
            String prefix = from.containsKey("prefix") ? str(from.get("prefix")) : "";
            String ref = str(at(from, "configMapRef", "name"));
            Map<String, Object> cm = docs.stream()
                    .filter(d -> "ConfigMap".equals(d.get("kind")) && Objects.equals(ref, name(d)))
                    .findFirst().orElse(null);
            if (cm == null) {
                problems.add(where + ": envFrom " + from + " is not a ConfigMap of this overlay, so its settings cannot be"
                        + " checked (a missing ConfigMap also stops the pod from starting)");
                continue;
            }
            map(cm.get("data")).forEach((k, v) -> env.put(prefix + k, str(v)));
        }
        for (Object o : list(container.get("env"))) {
            Map<String, Object> e = map(o);
            env.put(str(e.get("name")), e.containsKey("value") ? str(e.get("value")) : null);
        }
        return env;
    }

    /**
     * glibc reads its allocator variables at process start; the images set them to
     * {@link Torch#ALLOCATOR_ENVIRONMENT}, and a deployment that sets one replaces the image's value.
     */
    static void allocatorNotOverridden(String where, Collection<String> variables, List<String> problems) {
        for (String name : new TreeSet<>(variables)) {
            if (Torch.ALLOCATOR_ENVIRONMENT.containsKey(name)) {
                problems.add(where + ": sets " + name + ", overriding the image's glibc allocator setting ("
                        + Torch.allocatorSettings() + ", Torch.ALLOCATOR_ENVIRONMENT)");
            }
        }
    }

    // ---------------------------------------------------------------- environments

    /**
     * The environment, told twice: the actors run {@code STARLING_ENV} (their --env: a built-in, or
     * one of the jars of {@code STARLING_ENV_JAR}, which lie in {@value DeployManifestsTest#ENVS_DIR}); the learner
     * loads no environment code and is told that environment's spaces and reward scale instead
     * ({@link DeployManifestsTest#SPACE_VARIABLES}), as is the parameter server in a3c mode, which builds the model
     * too. Each must be set, parse, and equal the environment's own definition: the built-ins from
     * the test's classpath, a user's from its jar where {@code locator} finds it on this machine,
     * loaded through {@link ServiceLoader} as an actor loads it. A jar that is not here (not built
     * yet) leaves its environment unverified, which is a problem only when {@code strict}.
     */
    static final class EnvironmentCheck {
        /** Where a jar a container names is on this machine, or null if unknown or absent. */
        interface JarLocator {
            Path locate(Container container, String jar);
        }

        private static final Map<List<Path>, Map<String, EnvironmentDefinition>> DEFINITIONS = new ConcurrentHashMap<>();

        private final boolean strict;
        private final JarLocator locator;
        private final List<String> problems = new ArrayList<>();

        EnvironmentCheck(boolean strict, JarLocator locator) {
            this.strict = strict;
            this.locator = locator;
        }

        List<String> check(Collection<Container> containers) {
            Map<String, String> learnerTold = null;
            Container learner = null;
            for (Container c : containers) {
                if (c.role().equals("learner")) {
                    learner = c;
                    if (c.env().containsKey(ENV_VARIABLE)) {
                        problems.add(c.where() + ": sets " + ENV_VARIABLE + ", but the learner loads no environment: it is"
                                + " told the environment's spaces and reward scale (" + String.join(", ", SPACE_VARIABLES)
                                + "; `starling envs` prints them)");
                    }
                    learnerTold = told(c, "the learner builds the model from them");
                }
            }
            for (Container c : containers) {
                if (!c.role().equals("parameter-server")) {
                    continue;
                }
                boolean a3c = "a3c".equalsIgnoreCase(Launcher.effective(c.spec(), "--mode", c.env()));
                if (a3c) {
                    Map<String, String> told = told(c, "in a3c mode the parameter server builds the model too");
                    sameAsLearner(c, told, learner, learnerTold);
                } else if (SPACE_VARIABLES.stream().anyMatch(c.env()::containsKey)) {
                    sameAsLearner(c, told(c, "set one, set all"), learner, learnerTold);
                }
            }
            for (Container c : containers) {
                if (c.role().equals("actor")) {
                    actor(c, learner, learnerTold);
                }
            }
            return problems;
        }

        /**
         * The spaces and reward scale a role is told (those of {@link DeployManifestsTest#SPACE_VARIABLES}
         * it has options for; the learner has all three), each checked to parse; null if one is
         * missing, unreadable or from elsewhere (valueFrom).
         */
        private Map<String, String> told(Container c, String why) {
            Map<String, String> told = new LinkedHashMap<>();
            boolean complete = true;
            for (String variable : SPACE_VARIABLES) {
                if (!c.role().equals("learner") && Launcher.option(c.spec(), variable) == null) {
                    continue;
                }
                if (!c.env().containsKey(variable)) {
                    problems.add(c.where() + ": sets no " + variable + " (" + why + "; `starling envs` prints each"
                            + " environment's " + String.join(", ", SPACE_VARIABLES) + ")");
                    complete = false;
                    continue;
                }
                String value = c.env().get(variable);
                if (value == null) {
                    complete = false;
                    continue;
                }
                String why2 = parseProblem(variable, value);
                if (why2 != null) {
                    problems.add(c.where() + ": " + variable + "=" + value + ": " + why2);
                    complete = false;
                }
                told.put(variable, value);
            }
            return complete ? told : null;
        }

        private void sameAsLearner(Container c, Map<String, String> told, Container learner, Map<String, String> learnerTold) {
            if (told == null || learnerTold == null) {
                return;
            }
            for (String variable : told.keySet()) {
                if (!sameValue(variable, told.get(variable), learnerTold.get(variable))) {
                    problems.add(c.where() + ": " + variable + "=" + told.get(variable) + ", but " + learner.where()
                            + " has " + learnerTold.get(variable) + ": both build the same model");
                }
            }
        }

        /** The actor's environment exists and is the one the learner was told about. */
        private void actor(Container c, Container learner, Map<String, String> learnerTold) {
            String name = Launcher.effective(c.spec(), "--env", c.env());
            if (name == null) {
                problems.add(c.where() + ": sets no " + ENV_VARIABLE + " and --env has no default");
                return;
            }
            List<String> jars = new ArrayList<>();
            boolean jarsKnown = true;
            if (c.env().containsKey(ENV_JAR_VARIABLE)) {
                String value = c.env().get(ENV_JAR_VARIABLE);
                if (value == null) {
                    jarsKnown = false;
                } else {
                    for (String jar : value.split(",")) {
                        if (!jar.isBlank()) {
                            jars.add(jar.strip());
                        }
                    }
                }
            }
            List<Path> here = new ArrayList<>();
            for (String jar : jars) {
                if (!jar.startsWith(ENVS_DIR + "/") || !jar.endsWith(".jar")) {
                    problems.add(c.where() + ": " + ENV_JAR_VARIABLE + " names " + jar + "; users' jars go in " + ENVS_DIR
                            + "/ (the image's folder for them, where Dockerfile.user-env copies and"
                            + " docker-compose.env-jar.yml mounts them)");
                    continue;
                }
                Path p = locator.locate(c, jar);
                if (p == null) {
                    jarsKnown = false;
                } else {
                    here.add(p);
                }
            }
            Map<String, EnvironmentDefinition> definitions = definitions(here);
            EnvironmentDefinition d = definitions.get(name);
            String label = ENV_VARIABLE + "=" + name;
            if (d == null) {
                if (!jarsKnown || jars.size() > here.size()) {
                    if (strict) {
                        problems.add(c.where() + ": " + label + " comes from " + jars + ", which are not all on this"
                                + " machine, so its spaces cannot be compared with the learner's");
                    }
                } else if (jars.isEmpty()) {
                    problems.add(c.where() + ": " + label + " is no built-in environment (" + definitions.keySet()
                            + ") and no " + ENV_JAR_VARIABLE + " is set");
                } else {
                    problems.add(c.where() + ": " + label + " is in none of " + jars + " and no built-in ("
                            + definitions.keySet() + ")");
                }
                return;
            }
            if (learnerTold == null) {
                return;
            }
            Map<String, String> own = Map.of(SPACE_VARIABLES.get(0), d.observationSpace().describe(),
                    SPACE_VARIABLES.get(1), d.actionSpace().describe(), SPACE_VARIABLES.get(2), Double.toString(d.rewardScale()));
            for (String variable : SPACE_VARIABLES) {
                if (!sameValue(variable, learnerTold.get(variable), own.get(variable))) {
                    problems.add(learner.where() + ": " + variable + "=" + learnerTold.get(variable) + ", but the actors' "
                            + label + " (" + c.where() + ") has " + own.get(variable) + " (`starling envs` lists each"
                            + " environment's spaces and reward scale)");
                }
            }
        }

        /** Null if the value reads as the variable's kind (a space, a reward scale), else why not. */
        static String parseProblem(String variable, String value) {
            try {
                switch (SPACE_VARIABLES.indexOf(variable)) {
                    case 0 -> Spaces.observation(value);
                    case 1 -> Spaces.action(value);
                    default -> {
                        double scale = Double.parseDouble(value);
                        if (!(scale > 0) || Double.isInfinite(scale)) {
                            return "a reward scale must be finite and > 0";
                        }
                    }
                }
                return null;
            } catch (IllegalArgumentException e) {
                return e.getMessage();
            }
        }

        /** Two texts of a space (or two reward scales) that mean the same. */
        static boolean sameValue(String variable, String a, String b) {
            if (a == null || b == null || parseProblem(variable, a) != null || parseProblem(variable, b) != null) {
                return Objects.equals(a, b);
            }
            return switch (SPACE_VARIABLES.indexOf(variable)) {
                case 0 -> Spaces.observation(a).equals(Spaces.observation(b));
                case 1 -> Spaces.action(a).equals(Spaces.action(b));
                default -> Math.abs(Double.parseDouble(a) - Double.parseDouble(b)) <= 1e-9 * Math.abs(Double.parseDouble(b));
            };
        }

        /**
         * Every environment an actor with these jars sees, by name: the providers of the test's
         * classpath (the built-ins) and of the jars, found by {@link ServiceLoader} as the actor
         * finds them.
         */
        static Map<String, EnvironmentDefinition> definitions(List<Path> jars) {
            return DEFINITIONS.computeIfAbsent(List.copyOf(jars), js -> {
                ClassLoader parent = DeployManifestsTest.class.getClassLoader();
                URL[] urls = js.stream().map(EnvironmentCheck::url).toArray(URL[]::new);
                // The definitions hold spaces of the env-api, loaded by the parent: closing the jars' loader is safe.
                try (URLClassLoader loader = new URLClassLoader(urls, parent)) {
                    Map<String, EnvironmentDefinition> out = new TreeMap<>();
                    for (EnvironmentProvider provider : ServiceLoader.load(EnvironmentProvider.class, loader)) {
                        for (EnvironmentDefinition d : provider.environments()) {
                            out.putIfAbsent(d.name(), d);
                        }
                    }
                    return out;
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            });
        }

        private static URL url(Path jar) {
            try {
                return jar.toUri().toURL();
            } catch (MalformedURLException e) {
                throw new IllegalArgumentException(jar.toString(), e);
            }
        }
    }

    /**
     * The jar this machine has for a path in the image's {@value DeployManifestsTest#ENVS_DIR}: the user-env image is
     * built from the example's target folder (deploy/k8s/README.md), so that is where to look; null
     * if the path is elsewhere or the jar is not built.
     */
    static Path exampleJar(String jar) {
        Path p = Path.of(jar);
        if (!p.startsWith(ENVS_DIR) || p.getNameCount() != Path.of(ENVS_DIR).getNameCount() + 1) {
            return null;
        }
        Path file = EXAMPLE_JAR_DIR.resolve(p.getFileName().toString());
        return Files.isRegularFile(file) ? file : null;
    }

    /**
     * docker-compose.env-jar.yml merged over docker-compose.yml: the services running actors, and
     * only they, mount one host folder read-only at {@value DeployManifestsTest#ENVS_DIR} (nothing else of theirs
     * overlaps it: a mount at /opt/starling would hide the launcher's jar) and set
     * STARLING_ENV_JAR to jars in it; the override itself sets the actors' STARLING_ENV and
     * STARLING_ENV_JAR and the learner's spaces and reward scale (else the learner keeps
     * docker-compose.yml's, masked-cartpole's), each as a variable with a default, as is the
     * mounted folder.
     */
    static final class EnvJarComposeCheck {
        private final Path composeDir;
        private final List<String> problems = new ArrayList<>();

        EnvJarComposeCheck(Path composeDir) {
            this.composeDir = composeDir;
        }

        /** The role a service runs (its command is just the role), or null. */
        static String roleOf(Map<String, Object> service) {
            List<Object> argv = service.get("command") instanceof String c ? List.of((Object[]) c.trim().split("\\s+"))
                    : list(service.get("command"));
            String role = argv.size() == 1 ? str(argv.get(0)) : null;
            return role != null && ROLES.contains(role) ? role : null;
        }

        List<String> check(Map<String, Object> override, Map<String, Object> merged) {
            Map<String, Object> services = map(merged.get("services"));
            Map<String, Object> overridden = map(override.get("services"));
            int actors = 0;
            for (Map.Entry<String, Object> e : services.entrySet()) {
                Map<String, Object> service = map(e.getValue());
                String where = "service " + e.getKey();
                String role = roleOf(service);
                Path envs = Path.of(ENVS_DIR);
                List<SecureComposeCheck.Mount> near = SecureComposeCheck.mounts(service).stream()
                        .filter(m -> m.target().startsWith("/")
                                && (Path.of(m.target()).startsWith(envs) || envs.startsWith(Path.of(m.target()))))
                        .toList();
                Map<String, Object> env = environmentMap(service.get("environment"));
                Map<String, Object> ownEnv = environmentMap(map(overridden.get(e.getKey())).get("environment"));
                if (!"actor".equals(role)) {
                    for (SecureComposeCheck.Mount m : near) {
                        problems.add(where + ": mounts " + m.raw() + ": only actors load environment code, the "
                                + Objects.requireNonNullElse(role, e.getKey()) + " needs no jars");
                    }
                    if (env.containsKey(ENV_JAR_VARIABLE)) {
                        problems.add(where + ": sets " + ENV_JAR_VARIABLE + ": only actors load environment code");
                    }
                    if ("learner".equals(role)) {
                        for (String variable : SPACE_VARIABLES) {
                            parameterised(where, variable, ownEnv.get(variable), "so the learner is told the spaces of"
                                    + " the jar's environment, not docker-compose.yml's");
                        }
                    }
                    continue;
                }
                actors++;
                parameterised(where, ENV_VARIABLE, ownEnv.get(ENV_VARIABLE), "the environment of the jar");
                parameterised(where, ENV_JAR_VARIABLE, ownEnv.get(ENV_JAR_VARIABLE), "the jar in " + ENVS_DIR);
                if (near.size() != 1 || !Path.of(near.get(0).target()).equals(envs)) {
                    problems.add(where + ": should mount one host folder at " + ENVS_DIR + " (the image's folder for"
                            + " users' jars), mounts " + near.stream().map(SecureComposeCheck.Mount::raw).toList());
                    continue;
                }
                SecureComposeCheck.Mount m = near.get(0);
                if (!m.readOnly()) {
                    problems.add(where + ": the jars' mount " + m.raw() + " should be read-only (:ro): the roles' user"
                            + " runs that code and must not change it");
                }
                if (m.hostPath(composeDir) == null) {
                    problems.add(where + ": mounts " + m.raw() + "; the jars come from a host folder (./path or /path)");
                }
                Object raw = m.raw() instanceof Map<?, ?> longSyntax ? longSyntax.get("source") : m.raw();
                if (!ComposeCheck.INTERPOLATION.matcher(str(raw)).find()) {
                    problems.add(where + ": the jars' folder " + raw + " should be a variable with the example's as its"
                            + " default (${ENV_JAR_DIR:-...})");
                }
                Object jars = env.get(ENV_JAR_VARIABLE);
                if (jars == null) {
                    problems.add(where + ": sets no " + ENV_JAR_VARIABLE + ", so the actor loads none of the jars in "
                            + ENVS_DIR);
                } else {
                    for (String jar : ComposeCheck.interpolate(str(jars)).split(",")) {
                        if (!Path.of(jar.strip()).startsWith(envs) || Path.of(jar.strip()).equals(envs)) {
                            problems.add(where + ": " + ENV_JAR_VARIABLE + " names " + jar + ", not a jar in the mounted "
                                    + ENVS_DIR);
                        }
                    }
                }
            }
            if (actors == 0) {
                problems.add("no service runs the actors");
            }
            return problems;
        }

        /** The override sets the variable itself, as ${NAME:-default} (the example's value as the default). */
        private void parameterised(String where, String variable, Object value, String why) {
            if (value == null) {
                problems.add(where + ": docker-compose.env-jar.yml sets no " + variable + " (" + why + ")");
                return;
            }
            Matcher m = ComposeCheck.INTERPOLATION.matcher(str(value));
            if (!m.find() || m.group(2) == null || m.group(3).isBlank()) {
                problems.add(where + ": " + variable + "=" + value + " should be a variable with the example's value as"
                        + " its default (${NAME:-value}), so users set their own without editing the file");
            }
        }
    }

    /**
     * The user-env overlay, rendered: the actors, and only they, run the image that
     * Dockerfile.user-env's documented build tags ({@code docker build -f
     * deploy/docker/Dockerfile.user-env -t IMAGE ...}), with STARLING_ENV_JAR where that image puts
     * the jar; the learner and the parameter server run the cpu overlay's image and load no jar.
     */
    static List<String> userEnvOverlayProblems(List<Map<String, Object>> docs, String dockerfile) {
        List<String> problems = new ArrayList<>();
        Matcher tag = Pattern.compile("docker build -f deploy/docker/Dockerfile\\.user-env -t (\\S+)").matcher(dockerfile);
        String derived = tag.find() ? tag.group(1) : null;
        if (derived == null) {
            problems.add("Dockerfile.user-env does not show its build (docker build -f deploy/docker/Dockerfile.user-env -t IMAGE ...)");
        }
        String plain = str(container(loadAll(render(OVERLAYS.resolve("cpu"))), "learner").get("image"));
        String actorImage = str(container(docs, "actor").get("image"));
        if (derived != null && !derived.equals(actorImage)) {
            problems.add("the actors' image is " + actorImage + ", should be " + derived + ", the one Dockerfile.user-env builds"
                    + " with the jar");
        }
        for (String role : List.of("parameter-server", "learner")) {
            Map<String, Object> c = container(docs, role);
            if (!plain.equals(str(c.get("image")))) {
                problems.add("the " + role + "'s image is " + c.get("image") + ", should stay the cpu overlay's " + plain
                        + " (only actors load environment code)");
            }
            Map<String, String> env = env(docs, c, role, problems);
            if (env.containsKey(ENV_JAR_VARIABLE) || env.containsKey(ENV_VARIABLE)) {
                problems.add("the " + role + " sets " + ENV_VARIABLE + " or " + ENV_JAR_VARIABLE + " (only actors load environment code)");
            }
        }
        String imageJar = UserEnvDockerfileCheck.imageEnv(dockerfile).get(ENV_JAR_VARIABLE);
        String actorJar = env(docs, container(docs, "actor"), "actor", problems).get(ENV_JAR_VARIABLE);
        if (actorJar == null || !actorJar.equals(imageJar)) {
            problems.add("the actors' " + ENV_JAR_VARIABLE + " is " + actorJar + ", but Dockerfile.user-env puts the jar at "
                    + imageJar);
        }
        return problems;
    }

    /**
     * docker-compose.env-jar.yml's defaults (merged over docker-compose.yml), the user-env overlay
     * and Dockerfile.user-env: the same environment for the actors, the same jar file, and the same
     * spaces and reward scale for the learner.
     */
    static List<String> sameUserEnvironment(Map<String, Object> compose, List<Map<String, Object>> docs, String dockerfile) {
        List<String> problems = new ArrayList<>();
        Map<String, String> composeActor = new TreeMap<>();
        Map<String, String> composeLearner = new TreeMap<>();
        environmentMap(serviceOf(compose, "actor").get("environment")).forEach((k, v) -> composeActor.put(k, ComposeCheck.interpolate(str(v))));
        environmentMap(serviceOf(compose, "learner").get("environment")).forEach((k, v) -> composeLearner.put(k, ComposeCheck.interpolate(str(v))));
        Map<String, String> k8sActor = env(docs, container(docs, "actor"), "actor", problems);
        Map<String, String> k8sLearner = env(docs, container(docs, "learner"), "learner", problems);
        if (!Objects.equals(composeActor.get(ENV_VARIABLE), k8sActor.get(ENV_VARIABLE))) {
            problems.add("the actors run " + ENV_VARIABLE + "=" + composeActor.get(ENV_VARIABLE) + " in docker-compose.env-jar.yml, "
                    + k8sActor.get(ENV_VARIABLE) + " in overlays/" + USER_ENV_OVERLAY);
        }
        List<String> composeJars = jarNames(composeActor.get(ENV_JAR_VARIABLE));
        List<String> k8sJars = jarNames(k8sActor.get(ENV_JAR_VARIABLE));
        String imageJar = UserEnvDockerfileCheck.jarName(dockerfile);
        if (!composeJars.equals(k8sJars) || !k8sJars.contains(imageJar)) {
            problems.add("the jars differ: docker-compose.env-jar.yml " + composeJars + ", overlays/" + USER_ENV_OVERLAY + " " + k8sJars
                    + ", Dockerfile.user-env's ENV_JAR " + imageJar);
        }
        for (String variable : SPACE_VARIABLES) {
            if (!EnvironmentCheck.sameValue(variable, composeLearner.get(variable), k8sLearner.get(variable))) {
                problems.add("the learner's " + variable + " is " + composeLearner.get(variable) + " in docker-compose.env-jar.yml, "
                        + k8sLearner.get(variable) + " in overlays/" + USER_ENV_OVERLAY + ": one environment, one set of spaces");
            }
        }
        return problems;
    }

    /** The file names of a comma-separated STARLING_ENV_JAR. */
    private static List<String> jarNames(String value) {
        if (value == null) {
            return List.of();
        }
        return Stream.of(value.split(",")).map(String::strip).filter(j -> !j.isEmpty())
                .map(j -> Path.of(j).getFileName().toString()).toList();
    }

    /**
     * deploy/docker/Dockerfile.user-env: one stage, {@code FROM ${STARLING_IMAGE}} with ARG
     * STARLING_IMAGE defaulting to the image docker-compose.yml builds; it only copies jars into
     * {@value DeployManifestsTest#ENVS_DIR} (as root: no --chown, so the roles' user cannot change them), keeps the
     * Starling image's user, entrypoint and command, and points STARLING_ENV_JAR at what it copied.
     */
    static final class UserEnvDockerfileCheck {
        private final String starlingImage;
        private final List<String> problems = new ArrayList<>();

        UserEnvDockerfileCheck(String starlingImage) {
            this.starlingImage = starlingImage;
        }

        /** The instructions after the FROM. */
        private static List<DockerfileCheck.Instruction> stage(List<DockerfileCheck.Instruction> all) {
            int from = -1;
            for (int i = 0; i < all.size(); i++) {
                if (all.get(i).keyword().equals("FROM")) {
                    from = i;
                }
            }
            return all.subList(from + 1, all.size());
        }

        /** The stage's ARG defaults. */
        private static Map<String, String> stageArgs(List<DockerfileCheck.Instruction> stage) {
            Map<String, String> args = new LinkedHashMap<>();
            for (DockerfileCheck.Instruction i : stage) {
                if (i.keyword().equals("ARG")) {
                    String[] kv = i.args().split("=", 2);
                    args.put(kv[0].strip(), kv.length > 1 ? kv[1].strip() : null);
                }
            }
            return args;
        }

        /** ${NAME} and $NAME replaced with the ARG defaults. */
        private static String resolve(String s, Map<String, String> args) {
            Matcher m = Pattern.compile("\\$\\{([A-Za-z_][A-Za-z0-9_]*)}|\\$([A-Za-z_][A-Za-z0-9_]*)").matcher(s);
            StringBuilder out = new StringBuilder();
            while (m.find()) {
                String name = m.group(1) != null ? m.group(1) : m.group(2);
                m.appendReplacement(out, Matcher.quoteReplacement(Objects.requireNonNullElse(args.get(name), "")));
            }
            m.appendTail(out);
            return out.toString();
        }

        /** The ENV of the derived image, with the ARG defaults resolved. */
        static Map<String, String> imageEnv(String text) {
            List<DockerfileCheck.Instruction> stage = stage(DockerfileCheck.instructions(text));
            Map<String, String> args = stageArgs(stage);
            Map<String, String> env = new LinkedHashMap<>();
            DockerfileCheck.env(stage).forEach((k, v) -> env.put(k, resolve(v, args)));
            return env;
        }

        /** The file name of the jar it copies by default (ARG ENV_JAR), or null. */
        static String jarName(String text) {
            return stageArgs(stage(DockerfileCheck.instructions(text))).get("ENV_JAR");
        }

        List<String> check(String text) {
            List<DockerfileCheck.Instruction> all = DockerfileCheck.instructions(text);
            Map<String, String> global = DockerfileCheck.globalArgs(all);
            if (!starlingImage.equals(global.get("STARLING_IMAGE"))) {
                problems.add("ARG STARLING_IMAGE should default to " + starlingImage + ", the image docker-compose.yml builds;"
                        + " is " + global.get("STARLING_IMAGE"));
            }
            List<DockerfileCheck.Instruction> froms = all.stream().filter(i -> i.keyword().equals("FROM")).toList();
            if (froms.size() != 1 || !froms.get(0).args().equals("${STARLING_IMAGE}")) {
                problems.add("should be one stage, FROM ${STARLING_IMAGE} (the Starling image), is "
                        + froms.stream().map(DockerfileCheck.Instruction::args).toList());
            }
            List<DockerfileCheck.Instruction> stage = stage(all);
            Map<String, String> args = stageArgs(stage);
            List<String> copied = new ArrayList<>();
            for (DockerfileCheck.Instruction i : stage) {
                switch (i.keyword()) {
                    case "COPY", "ADD" -> {
                        List<String> words = List.of(resolve(i.args(), args).split("\\s+"));
                        words.stream().filter(w -> w.startsWith("--")).forEach(w -> problems.add(i.keyword() + " " + w
                                + ": the jars stay root's, as copied (the roles' user must not change the code it runs)"));
                        String dest = words.get(words.size() - 1);
                        List<String> sources = words.subList(0, words.size() - 1).stream().filter(w -> !w.startsWith("--")).toList();
                        if (!dest.startsWith(ENVS_DIR + "/") && !dest.equals(ENVS_DIR)) {
                            problems.add(i.keyword() + " " + i.args() + ": users' jars go in " + ENVS_DIR + "/, copies to " + dest);
                        } else {
                            sources.forEach(src -> copied.add(dest.endsWith("/") || dest.equals(ENVS_DIR)
                                    ? ENVS_DIR + "/" + Path.of(src).getFileName() : dest));
                        }
                    }
                    case "USER", "ENTRYPOINT", "CMD", "VOLUME", "WORKDIR" -> problems.add(i.keyword() + " " + i.args()
                            + ": the derived image only adds jars; the roles keep the Starling image's user, entrypoint and"
                            + " folders");
                    default -> { }
                }
            }
            if (copied.isEmpty()) {
                problems.add("copies no jar into " + ENVS_DIR);
            }
            String jarEnv = imageEnv(text).get(ENV_JAR_VARIABLE);
            if (jarEnv == null || !copied.containsAll(jarNames(jarEnv).stream().map(n -> ENVS_DIR + "/" + n).toList())
                    || !jarEnv.startsWith(ENVS_DIR + "/")) {
                problems.add("ENV " + ENV_JAR_VARIABLE + " should name the jar it copies (" + copied + "), is " + jarEnv);
            }
            return problems;
        }
    }

    // ---------------------------------------------------------------- container images

    /** The uid of the image's user (deploy/docker/Dockerfile: useradd --uid N), who must read the credentials. */
    static int imageUid() {
        try {
            Matcher m = Pattern.compile("useradd\\b[^\\n]*--uid\\s+(\\d+)").matcher(Files.readString(DOCKERFILES.get(0)));
            assertTrue(m.find(), DOCKERFILES.get(0) + " creates no user with useradd --uid");
            return Integer.parseInt(m.group(1));
        } catch (IOException e) {
            throw new AssertionError(e);
        }
    }

    /** The modules of the root pom, in reactor order. */
    private static List<String> modules() throws IOException {
        List<String> modules = new ArrayList<>();
        Matcher m = Pattern.compile("<module>\\s*([^<\\s]+)\\s*</module>").matcher(Files.readString(ROOT.resolve("pom.xml")));
        while (m.find()) {
            modules.add(m.group(1));
        }
        assertFalse(modules.isEmpty(), "no <module> in pom.xml");
        return modules;
    }

    private static List<String> checkDockerfile(String text, boolean gpu) {
        try {
            return new DockerfileCheck(modules(), gpu).check(text);
        } catch (IOException e) {
            throw new AssertionError(e);
        }
    }

    /**
     * Checks one of the two Dockerfiles: a Maven build stage ({@code FROM ${BUILD_IMAGE} AS build})
     * that resolves the dependencies from {@code .mvn/} and every module's POM before it copies the
     * sources, then packages with {@code -DskipTests} (and {@code -Pgpu} for the GPU image, on every
     * Maven call); a runtime stage ({@code FROM ${BASE_IMAGE}}) that copies only the fat jar from
     * it and sets exactly {@link Torch#ALLOCATOR_ENVIRONMENT}, one libtorch thread, the
     * {@code starling} user, the ports and the entrypoint.
     */
    static final class DockerfileCheck {
        private static final String JAR = "/opt/starling/starling.jar";

        /** One instruction: its keyword (upper case) and its arguments, continuation lines joined. */
        record Instruction(String keyword, String args) {
        }

        private final List<String> modules;
        private final boolean gpu;
        private final List<String> problems = new ArrayList<>();

        DockerfileCheck(List<String> modules, boolean gpu) {
            this.modules = modules;
            this.gpu = gpu;
        }

        /** Comment lines dropped (also inside a continuation, as Docker does), continuations joined. */
        static List<Instruction> instructions(String text) {
            List<Instruction> out = new ArrayList<>();
            StringBuilder current = null;
            for (String raw : text.split("\\R")) {
                String line = raw.strip();
                if (line.isEmpty() || line.startsWith("#")) {
                    continue;
                }
                boolean more = line.endsWith("\\");
                String part = more ? line.substring(0, line.length() - 1).strip() : line;
                current = current == null ? new StringBuilder(part) : current.append(' ').append(part);
                if (!more) {
                    add(out, current.toString());
                    current = null;
                }
            }
            if (current != null) {
                add(out, current.toString());
            }
            return out;
        }

        private static void add(List<Instruction> out, String line) {
            String[] parts = line.split("\\s+", 2);
            out.add(new Instruction(parts[0].toUpperCase(Locale.ROOT), parts.length > 1 ? parts[1].strip() : ""));
        }

        /** The ARGs before the first FROM, with their defaults (null if none). */
        static Map<String, String> globalArgs(List<Instruction> instructions) {
            Map<String, String> args = new LinkedHashMap<>();
            for (Instruction i : instructions) {
                if (i.keyword().equals("FROM")) {
                    break;
                }
                if (i.keyword().equals("ARG")) {
                    String[] kv = i.args().split("=", 2);
                    args.put(kv[0].strip(), kv.length > 1 ? unquote(kv[1].strip()) : null);
                }
            }
            return args;
        }

        /**
         * The variables ENV instructions set, in order (a later one wins): {@code ENV a=1 b="2 3"}
         * and the old {@code ENV a 1}.
         */
        static Map<String, String> env(List<Instruction> stage) {
            Map<String, String> env = new LinkedHashMap<>();
            for (Instruction i : stage) {
                if (!i.keyword().equals("ENV")) {
                    continue;
                }
                String[] first = i.args().split("\\s+", 2);
                if (!first[0].contains("=")) {
                    env.put(first[0], first.length > 1 ? unquote(first[1].strip()) : "");
                    continue;
                }
                Matcher m = Pattern.compile("([^\\s=]+)=(\"(?:[^\"\\\\]|\\\\.)*\"|'[^']*'|\\S*)").matcher(i.args());
                while (m.find()) {
                    env.put(m.group(1), unquote(m.group(2)));
                }
            }
            return env;
        }

        private static String unquote(String v) {
            return v.length() >= 2 && (v.startsWith("\"") && v.endsWith("\"") || v.startsWith("'") && v.endsWith("'"))
                    ? v.substring(1, v.length() - 1) : v;
        }

        List<String> check(String text) {
            List<Instruction> all = instructions(text);
            Map<String, String> args = globalArgs(all);
            for (String arg : List.of("BUILD_IMAGE", "BASE_IMAGE")) {
                if (args.get(arg) == null || args.get(arg).isBlank()) {
                    problems.add("needs ARG " + arg + "=<default image> before the first FROM (offline builds pass local ones)");
                }
            }
            List<List<Instruction>> stages = new ArrayList<>();
            for (Instruction i : all) {
                if (i.keyword().equals("FROM")) {
                    stages.add(new ArrayList<>());
                }
                if (!stages.isEmpty()) {
                    stages.get(stages.size() - 1).add(i);
                }
            }
            if (stages.size() != 2) {
                problems.add("should have two stages (FROM ${BUILD_IMAGE} AS build, FROM ${BASE_IMAGE}), has " + stages.size());
                return problems;
            }
            buildStage(stages.get(0));
            runtimeStage(stages.get(1));
            return problems;
        }

        private void buildStage(List<Instruction> stage) {
            if (!stage.get(0).args().matches("\\$\\{BUILD_IMAGE}\\s+(?i:AS)\\s+build")) {
                problems.add("the first stage should be FROM ${BUILD_IMAGE} AS build, is FROM " + stage.get(0).args());
            }
            List<Instruction> maven = stage.stream().filter(i -> i.keyword().equals("RUN") && i.args().contains("mvn ")).toList();
            if (maven.size() < 2) {
                problems.add("the build stage should run Maven twice: dependencies from the POMs, then the package; runs " + maven);
                return;
            }
            Instruction dependencies = maven.get(0);
            Instruction packaging = maven.get(maven.size() - 1);
            if (!dependencies.args().contains("go-offline")) {
                problems.add("the first Maven call should resolve the dependencies (dependency:go-offline), is: " + dependencies.args());
            }
            // Before the dependencies: only .mvn/ and the POMs, so a source change keeps that layer.
            List<String> copied = new ArrayList<>();
            boolean sourcesAfter = false;
            boolean before = true;
            for (Instruction i : stage) {
                if (i == dependencies) {
                    before = false;
                }
                if (!i.keyword().equals("COPY") && !i.keyword().equals("ADD")) {
                    continue;
                }
                List<String> words = List.of(i.args().split("\\s+"));
                List<String> sources = words.subList(0, words.size() - 1).stream().filter(w -> !w.startsWith("--"))
                        .map(w -> w.replaceFirst("^\\./", "").replaceFirst("/$", "")).toList();
                if (before) {
                    for (String src : sources) {
                        if (!src.equals(".mvn") && !src.equals("pom.xml") && !src.endsWith("/pom.xml")) {
                            problems.add("copies " + src + " before the dependencies are resolved: a change there downloads"
                                    + " them all again (copy only .mvn/ and the POMs first)");
                        }
                        copied.add(src);
                    }
                } else if (sources.contains(".") || sources.stream().anyMatch(src -> src.endsWith("/src"))) {
                    sourcesAfter = true;
                }
            }
            List<String> needed = new ArrayList<>(List.of(".mvn", "pom.xml"));
            modules.forEach(m -> needed.add(m + "/pom.xml"));
            for (String n : needed) {
                if (!copied.contains(n)) {
                    problems.add("does not copy " + n + " before resolving the dependencies (the reactor needs every module's POM)");
                }
            }
            if (!sourcesAfter) {
                problems.add("never copies the sources (COPY . .) after resolving the dependencies");
            }
            String p = packaging.args();
            if (!p.contains(" package") || !(p.contains("-DskipTests") || p.contains("-Dmaven.test.skip=true"))) {
                problems.add("the last Maven call should be `mvn -B -DskipTests package` (tests run outside the image), is: " + p);
            }
            for (Instruction i : maven) {
                if (i.args().contains("-Pgpu") != gpu) {
                    problems.add((gpu ? "the GPU image needs -Pgpu on every Maven call: " : "-Pgpu in the CPU image: ") + i.args());
                }
            }
        }

        private void runtimeStage(List<Instruction> stage) {
            if (!stage.get(0).args().equals("${BASE_IMAGE}")) {
                problems.add("the runtime stage should be FROM ${BASE_IMAGE}, is FROM " + stage.get(0).args());
            }
            boolean jar = false;
            for (Instruction i : stage) {
                if (!i.keyword().equals("COPY") && !i.keyword().equals("ADD")) {
                    continue;
                }
                if (i.args().equals("--from=build /src/cli/target/starling.jar " + JAR)) {
                    jar = true;
                } else {
                    problems.add("the runtime stage should copy only the fat jar from the build stage, also: "
                            + i.keyword() + " " + i.args());
                }
            }
            if (!jar) {
                problems.add("the runtime stage should COPY --from=build /src/cli/target/starling.jar " + JAR);
            }
            Map<String, String> env = env(stage);
            Map<String, String> malloc = new TreeMap<>(env);
            malloc.keySet().removeIf(k -> !k.startsWith("MALLOC_"));
            if (!malloc.equals(new TreeMap<>(Torch.ALLOCATOR_ENVIRONMENT))) {
                List<String> diff = new ArrayList<>();
                new TreeMap<>(Torch.ALLOCATOR_ENVIRONMENT).forEach((k, v) -> {
                    if (!v.equals(malloc.get(k))) {
                        diff.add(k + " is " + malloc.get(k) + ", should be " + v);
                    }
                });
                malloc.keySet().stream().filter(k -> !Torch.ALLOCATOR_ENVIRONMENT.containsKey(k))
                        .forEach(k -> diff.add(k + "=" + malloc.get(k) + " is not one of Torch.ALLOCATOR_ENVIRONMENT"));
                problems.add("the runtime stage should set exactly glibc's allocator variables of Torch.ALLOCATOR_ENVIRONMENT ("
                        + Torch.allocatorSettings() + "): " + String.join("; ", diff));
            }
            if (!"1".equals(env.get("OMP_NUM_THREADS"))) {
                problems.add("the runtime stage should set OMP_NUM_THREADS=1, sets " + env.get("OMP_NUM_THREADS"));
            }
            if (gpu != "cuda".equals(env.get("STARLING_DEVICE"))) {
                problems.add("STARLING_DEVICE is " + env.get("STARLING_DEVICE") + (gpu ? ", the GPU image trains on cuda" : ""));
            }
            String user = stage.stream().filter(i -> i.keyword().equals("USER")).map(Instruction::args)
                    .reduce((a, b) -> b).orElse(null);
            if (!"starling".equals(user)) {
                problems.add("the roles should run as the starling user (uid 10001, as the Kubernetes manifests expect), run as " + user);
            }
            Set<String> exposed = new TreeSet<>();
            stage.stream().filter(i -> i.keyword().equals("EXPOSE")).forEach(i -> exposed.addAll(List.of(i.args().split("\\s+"))));
            if (!exposed.containsAll(List.of("7070", "7071", "9400"))) {
                problems.add("should EXPOSE 7070 7071 9400, exposes " + exposed);
            }
            if (stage.stream().noneMatch(i -> i.keyword().equals("ENTRYPOINT") && i.args().contains(JAR))) {
                problems.add("the ENTRYPOINT should run " + JAR);
            }
            if (stage.stream().noneMatch(i -> i.keyword().equals("RUN") && i.args().contains(JAR + " --version"))) {
                problems.add("the runtime stage should run `" + JAR + " --version` once (extracts libtorch, so containers start fast)");
            }
            envsFolder(stage);
        }

        /**
         * The runtime stage creates {@value DeployManifestsTest#ENVS_DIR}, the folder for users'
         * environment jars (a derived image copies into it, compose mounts over it), and leaves it,
         * like the launcher's jar, to root: no chown of anything under /opt/starling, no chmod
         * that lets others write there.
         */
        private void envsFolder(List<Instruction> stage) {
            Pattern mkdir = Pattern.compile("\\bmkdir\\b[^&;|]*\\s" + Pattern.quote(ENVS_DIR) + "/?(?=\\s|$|[&;|])");
            List<String> commands = stage.stream().filter(i -> i.keyword().equals("RUN"))
                    .flatMap(i -> Stream.of(i.args().split("&&|;|\\|\\|"))).map(String::strip).toList();
            if (commands.stream().noneMatch(c -> mkdir.matcher(c).find())) {
                problems.add("the runtime stage should create " + ENVS_DIR + " (mkdir -p " + ENVS_DIR + "), where users'"
                        + " environment jars go");
            }
            for (String c : commands) {
                boolean opt = c.matches(".*\\s/opt/starling(/\\S*)?(\\s.*)?$");
                if (opt && c.matches("^chown\\b.*")) {
                    problems.add("`" + c + "`: /opt/starling stays root's (the roles' user must not change the code it runs)");
                }
                if (opt && c.matches("^chmod\\b.*") && c.matches(".*(\\b[0-7]?[0-7][0-7][2367]\\b|[ao]\\+[rx]*w).*")) {
                    problems.add("`" + c + "`: makes /opt/starling writable by others (the roles' user must not change the code"
                            + " it runs)");
                }
            }
        }
    }

    // ---------------------------------------------------------------- fixtures and mutations

    private static final String COMPOSE_FIXTURE = """
            services:
              parameter-server:
                image: starling:latest
                command: ["parameter-server"]
                environment:
                  STARLING_CHECKPOINT_DIR: /checkpoints
                  STARLING_METRICS_PORT: "9400"
                volumes: ["checkpoints:/checkpoints"]
              learner:
                image: ${STARLING_IMAGE:-starling:latest}
                command: ["learner"]
                environment:
                  - STARLING_PARAMETER_SERVER=parameter-server:7070
                  - STARLING_METRICS_PORT=9400
                  - STARLING_OBSERVATION_SPACE=box(2)
                  - STARLING_ACTION_SPACE=discrete(2)
                  - STARLING_REWARD_SCALE=0.05
              actor:
                image: starling:latest
                command: ["actor"]
                environment:
                  STARLING_ENV: masked-cartpole
                  STARLING_LEARNER: learner:7071
                  STARLING_PARAMETER_SERVER: parameter-server:7070
                  STARLING_NUM_ENVS: ${STARLING_NUM_ENVS:-32}
                  STARLING_METRICS_PORT: "9400"
              prometheus:
                image: prom/prometheus
                volumes: ["./deploy/prometheus/prometheus.yml:/etc/prometheus/prometheus.yml:ro"]
            volumes:
              checkpoints: {}
            """;

    private static final String PROMETHEUS_FIXTURE = """
            scrape_configs:
              - job_name: starling
                static_configs:
                  - targets: ["parameter-server:9400", "learner:9400"]
              - job_name: starling-actors
                dns_sd_configs:
                  - names: [actor]
                    type: A
                    port: 9400
            """;

    private static List<String> checkComposeFixture(Consumer<Map<String, Object>> breakCompose,
            Consumer<Map<String, Object>> breakPrometheus) {
        Map<String, Object> compose = map(new Yaml().load(COMPOSE_FIXTURE));
        Map<String, Object> prometheus = map(new Yaml().load(PROMETHEUS_FIXTURE));
        breakCompose.accept(compose);
        breakPrometheus.accept(prometheus);
        return new ComposeCheck(ROOT, PROMETHEUS).check(compose, prometheus);
    }

    /** The fixture with one variable of one service set (or removed, if value is null), checked. */
    private static List<String> composeWith(String service, String variable, String value) {
        return checkComposeFixture(c -> {
            Map<String, Object> env = environmentOf(c, service);
            if (value == null) {
                env.remove(variable);
            } else {
                env.put(variable, value);
            }
        }, p -> { });
    }

    /** The environment map of a fixture service (written as a map or as a KEY=VALUE list), as a mutable map. */
    private static Map<String, Object> environmentOf(Map<String, Object> compose, String name) {
        Map<String, Object> service = map(map(compose.get("services")).get(name));
        if (service.get("environment") instanceof List<?> l) {
            Map<String, Object> m = new LinkedHashMap<>();
            l.forEach(item -> m.put(str(item).split("=", 2)[0], str(item).split("=", 2)[1]));
            service.put("environment", m);
        }
        return map(service.get("environment"));
    }

    private static Map<String, Object> dnsSd(Map<String, Object> prometheus) {
        return list(prometheus.get("scrape_configs")).stream().flatMap(j -> list(map(j).get("dns_sd_configs")).stream())
                .map(DeployManifestsTest::map).findFirst().orElseThrow();
    }

    private static List<Object> staticTargets(Map<String, Object> prometheus) {
        return list(prometheus.get("scrape_configs")).stream().flatMap(j -> list(map(j).get("static_configs")).stream())
                .map(sc -> list(map(sc).get("targets"))).findFirst().orElseThrow();
    }

    /** docker-compose.secure.yml over docker-compose.yml, then broken by {@code breakIt}. */
    private static Map<String, Object> secureCompose(Consumer<Map<String, Object>> breakIt) {
        try {
            Map<String, Object> merged = mergeCompose(map(new Yaml().load(Files.readString(COMPOSE))),
                    map(new Yaml().load(Files.readString(SECURE_COMPOSE))));
            breakIt.accept(merged);
            return merged;
        } catch (IOException e) {
            throw new AssertionError(e);
        }
    }

    /** Every compose check and the security checks on the merged, broken stack. */
    private static List<String> checkSecureCompose(Consumer<Map<String, Object>> breakIt) {
        try {
            Map<String, Object> merged = secureCompose(breakIt);
            List<String> problems = new ArrayList<>(new ComposeCheck(ROOT, PROMETHEUS)
                    .check(merged, map(new Yaml().load(Files.readString(PROMETHEUS)))));
            problems.addAll(new SecureComposeCheck(ROOT).check(merged));
            return problems;
        } catch (IOException e) {
            throw new AssertionError(e);
        }
    }

    private static Map<String, Object> serviceOf(Map<String, Object> compose, String name) {
        return map(map(compose.get("services")).get(name));
    }

    /** Replaces the service's mounts under /etc/starling/credentials with this one. */
    private static void setCredentialsMount(Map<String, Object> compose, String service, Object volume) {
        Map<String, Object> s = serviceOf(compose, service);
        List<Object> volumes = new ArrayList<>(list(s.get("volumes")));
        volumes.removeIf(v -> SecureComposeCheck.mount(v).target().startsWith("/etc/starling/credentials"));
        volumes.add(volume);
        s.put("volumes", volumes);
    }

    private static Map<String, Object> yaml(Path file) {
        try {
            return map(new Yaml().load(Files.readString(file)));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The image docker-compose.yml runs and builds, with its variables unset. */
    private static String composeImage() {
        return ComposeCheck.interpolate(str(serviceOf(yaml(COMPOSE), "actor").get("image")));
    }

    /** docker-compose.env-jar.yml, broken by {@code breakOverride}, merged over docker-compose.yml. */
    private static Map<String, Object> envJarCompose(Consumer<Map<String, Object>> breakOverride) {
        Map<String, Object> override = yaml(ENV_JAR_COMPOSE);
        breakOverride.accept(override);
        return mergeCompose(yaml(COMPOSE), override);
    }

    /** Every compose check and the override's own on docker-compose.yml + the broken docker-compose.env-jar.yml. */
    private static List<String> checkEnvJarCompose(Consumer<Map<String, Object>> breakOverride) {
        Map<String, Object> override = yaml(ENV_JAR_COMPOSE);
        breakOverride.accept(override);
        Map<String, Object> merged = mergeCompose(yaml(COMPOSE), override);
        List<String> problems = new ArrayList<>(new ComposeCheck(ROOT, PROMETHEUS).check(merged, yaml(PROMETHEUS)));
        problems.addAll(new EnvJarComposeCheck(ROOT).check(override, merged));
        return problems;
    }

    /** A service of a compose override, created if the override does not name it. */
    @SuppressWarnings("unchecked")
    private static Map<String, Object> overrideService(Map<String, Object> override, String name) {
        Map<String, Object> services = (Map<String, Object>) override.computeIfAbsent("services", k -> new LinkedHashMap<>());
        return (Map<String, Object>) services.computeIfAbsent(name, k -> new LinkedHashMap<>());
    }

    /** The environment of an override's service, as a mutable map put back into it. */
    private static Map<String, Object> overrideEnvironment(Map<String, Object> override, String name) {
        Map<String, Object> service = overrideService(override, name);
        Map<String, Object> env = environmentMap(service.get("environment"));
        service.put("environment", env);
        return env;
    }

    private static List<Map<String, Object>> userEnvDocs() {
        return userEnvDocs(d -> { });
    }

    /** The rendered user-env overlay, broken by {@code breakIt}. */
    private static List<Map<String, Object>> userEnvDocs(Consumer<List<Map<String, Object>>> breakIt) {
        List<Map<String, Object>> docs = loadAll(render(OVERLAYS.resolve(USER_ENV_OVERLAY)));
        breakIt.accept(docs);
        return docs;
    }

    private static List<String> checkOverlay(String overlay, String rendered, Consumer<List<Map<String, Object>>> breakIt) {
        List<Map<String, Object>> docs = loadAll(rendered);
        breakIt.accept(docs);
        return new KubernetesCheck(overlay).check(docs);
    }

    /** The pod volume of a workload with this name. */
    private static Map<String, Object> volumeNamed(Map<String, Object> workload, String name) {
        return list(at(workload, "spec", "template", "spec", "volumes")).stream().map(DeployManifestsTest::map)
                .filter(v -> name.equals(v.get("name"))).findFirst().orElseThrow();
    }

    private static List<String> checkCpuOverlay(String rendered, Consumer<List<Map<String, Object>>> breakIt) {
        List<Map<String, Object>> docs = loadAll(rendered);
        breakIt.accept(docs);
        return new KubernetesCheck("cpu").check(docs);
    }

    /** The workload whose Starling container runs this role. */
    private static Map<String, Object> workload(List<Map<String, Object>> docs, String role) {
        return docs.stream().filter(d -> list(at(d, "spec", "template", "spec", "containers")).stream()
                .anyMatch(c -> List.of(role).equals(map(c).get("args")))).findFirst()
                .orElseThrow(() -> new AssertionError("no workload runs '" + role + "'"));
    }

    private static Map<String, Object> container(List<Map<String, Object>> docs, String role) {
        return list(at(workload(docs, role), "spec", "template", "spec", "containers")).stream().map(DeployManifestsTest::map)
                .filter(c -> List.of(role).equals(c.get("args"))).findFirst().orElseThrow();
    }

    /** The first ConfigMap the role's container loads with envFrom. */
    private static Map<String, Object> configMapOf(List<Map<String, Object>> docs, String role) {
        String ref = str(at(list(container(docs, role).get("envFrom")).get(0), "configMapRef", "name"));
        return docs.stream().filter(d -> "ConfigMap".equals(d.get("kind")) && ref.equals(name(d))).findFirst().orElseThrow();
    }

    private static Map<String, Object> servicePort(List<Map<String, Object>> docs, String service, String portName) {
        return docs.stream().filter(d -> "Service".equals(d.get("kind")) && service.equals(name(d)))
                .flatMap(s -> list(at(s, "spec", "ports")).stream()).map(DeployManifestsTest::map)
                .filter(p -> portName.equals(p.get("name"))).findFirst().orElseThrow();
    }

    @SuppressWarnings("unchecked")
    private static void setEnv(Map<String, Object> container, String name, String value) {
        List<Object> env = (List<Object>) container.computeIfAbsent("env", k -> new ArrayList<>());
        env.removeIf(e -> name.equals(map(e).get("name")));
        env.add(new LinkedHashMap<>(Map.of("name", name, "value", value)));
    }

    private static void expectProblem(String mention, List<String> problems) {
        assertTrue(problems.stream().anyMatch(p -> p.contains(mention)),
                "the broken file should have been flagged with a problem mentioning '" + mention + "'; problems: " + problems);
    }

    private static void assertNoProblems(String what, List<String> problems) {
        if (!problems.isEmpty()) {
            fail(what + " does not match the launcher (" + problems.size() + " problem" + (problems.size() == 1 ? "" : "s")
                    + "):\n  - " + String.join("\n  - ", problems));
        }
    }

    // ---------------------------------------------------------------- kubectl, files, YAML

    private static List<Path> overlays() throws IOException {
        assertTrue(Files.isDirectory(OVERLAYS), OVERLAYS + " is missing");
        try (Stream<Path> dirs = Files.list(OVERLAYS)) {
            return dirs.filter(d -> Files.isRegularFile(d.resolve("kustomization.yaml"))).sorted().toList();
        }
    }

    /** {@code kubectl kustomize dir}; fails (does not skip) when kubectl is missing. */
    private static String render(Path dir) {
        return RENDERED.computeIfAbsent(dir, d -> {
            String kubectl = Objects.requireNonNullElse(System.getenv("KUBECTL"), "kubectl");
            try {
                Path out = Files.createTempFile("kustomize", ".yaml");
                Path err = Files.createTempFile("kustomize", ".err");
                try {
                    Process p;
                    try {
                        p = new ProcessBuilder(kubectl, "kustomize", d.toString())
                                .redirectOutput(out.toFile()).redirectError(err.toFile()).start();
                    } catch (IOException e) {
                        throw new AssertionError("kubectl is needed to render " + ROOT.relativize(d)
                                + " (`kubectl kustomize`; no cluster is used) and could not be started: " + e.getMessage()
                                + ". Install kubectl, or set KUBECTL to its path.", e);
                    }
                    if (!p.waitFor(KUBECTL_TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
                        p.destroyForcibly();
                        throw new AssertionError("kubectl kustomize " + d + " did not finish in "
                                + KUBECTL_TIMEOUT_SECONDS + " s");
                    }
                    if (p.exitValue() != 0) {
                        throw new AssertionError("kubectl kustomize " + ROOT.relativize(d) + " failed (exit "
                                + p.exitValue() + "): " + Files.readString(err, StandardCharsets.UTF_8));
                    }
                    return Files.readString(out, StandardCharsets.UTF_8);
                } finally {
                    Files.deleteIfExists(out);
                    Files.deleteIfExists(err);
                }
            } catch (IOException e) {
                throw new AssertionError("rendering " + d + ": " + e, e);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new AssertionError("interrupted rendering " + d, e);
            }
        });
    }

    private static List<Map<String, Object>> loadAll(String yaml) {
        List<Map<String, Object>> docs = new ArrayList<>();
        for (Object doc : new Yaml().loadAll(yaml)) {
            if (doc != null) {
                docs.add(map(doc));
            }
        }
        return docs;
    }

    private static Path repositoryRoot() {
        for (Path p = Path.of("").toAbsolutePath(); p != null; p = p.getParent()) {
            if (Files.isRegularFile(p.resolve("cli/pom.xml")) && Files.isRegularFile(p.resolve("pom.xml"))) {
                return p;
            }
        }
        throw new IllegalStateException("no repository root above " + Path.of("").toAbsolutePath());
    }

    private static boolean isStarlingImage(String image) {
        if (image == null) {
            return false;
        }
        String name = image.split("@")[0];
        name = name.substring(name.lastIndexOf('/') + 1);
        return name.split(":")[0].equals("starling");
    }

    /** {host, port} of "host:port" (a "dns:///" prefix allowed), or null. */
    private static String[] hostPort(String address) {
        if (address == null) {
            return null;
        }
        String a = address.startsWith("dns:///") ? address.substring("dns:///".length()) : address;
        int colon = a.lastIndexOf(':');
        if (colon <= 0 || number(a.substring(colon + 1)) <= 0) {
            return null;
        }
        return new String[] {a.substring(0, colon), a.substring(colon + 1)};
    }

    private static String name(Map<String, Object> doc) {
        return str(at(doc, "metadata", "name"));
    }

    private static int number(String s) {
        try {
            return s == null ? -1 : Integer.parseInt(s.trim());
        } catch (NumberFormatException e) {
            return -1;
        }
    }

    private static Object at(Object root, String... path) {
        Object o = root;
        for (String key : path) {
            if (!(o instanceof Map<?, ?> m)) {
                return null;
            }
            o = m.get(key);
        }
        return o;
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> map(Object o) {
        return o instanceof Map<?, ?> ? (Map<String, Object>) o : new LinkedHashMap<>();
    }

    @SuppressWarnings("unchecked")
    private static List<Object> list(Object o) {
        return o instanceof List<?> ? (List<Object>) o : List.of();
    }

    private static String str(Object o) {
        return o == null ? null : String.valueOf(o);
    }
}
