package dev.starling.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.DoublePredicate;

import com.github.dockerjava.api.DockerClient;
import com.github.dockerjava.api.command.InspectContainerResponse;
import com.github.dockerjava.api.model.Container;
import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.testcontainers.DockerClientFactory;

/**
 * The compose stack as a user runs it: {@code docker compose up --build} alone builds the image
 * from the sources (the Dockerfile's Maven stage; nothing built on the host is used) and brings
 * up {@code docker-compose.yml} (parameter server, learner, two actors, Prometheus) on a real
 * Docker engine; the test waits until frames and the weights version advance in Prometheus, runs
 * every PromQL query of the Grafana dashboard against it, and tears the stack down. A second test
 * does the same with security on ({@code docker-compose.secure.yml}): {@code run --rm credentials}
 * writes the credentials into a fresh folder, every role's container mounts only its own, and the
 * roles train over mutual TLS with tokens with no call refused. Each test brings its own stack up
 * and down, so one stack runs at a time, and whichever runs second finds the image built.
 *
 * <p>No image registry is reachable on the build machines, so the image is built on local bases
 * ({@code BASE_IMAGE} and {@code BUILD_IMAGE}, made by {@code deploy/docker/build-base-image.sh}
 * and {@code build-base-image.sh --build}, exported by {@code .ci/run}) and the Prometheus
 * service runs the host's Prometheus binary (the Debian package) in that image
 * ({@code compose-offline-prometheus.yml}); its configuration and service discovery are the
 * repository's own. An engine without a default bridge network ({@code dockerd --bridge=none},
 * as in {@code .ci/run}) builds on the host network ({@code BUILD_NETWORK=host}) to reach the
 * Maven repository. Without a Docker engine the test is skipped, unless
 * {@code STARLING_CONTAINER_TESTS=required} (set by {@code .ci/run}), when it fails.
 */
class ComposeStackIT {

    private static final Path ROOT = Path.of("").toAbsolutePath().getParent();
    private static final Path OUT = Path.of("target", "compose-it").toAbsolutePath();
    private static final String IMAGE = "starling:it";
    private static final String PROJECT = "starling-it-" + ProcessHandle.current().pid();
    private static final int ACTORS = 2;
    private static final Duration STACK_TIMEOUT = Duration.ofMinutes(5);
    /**
     * {@code up --build} on an engine with no build cache: the image's Maven stage downloads
     * every dependency (~250 MB) and compiles the reactor, then the runtime stage extracts
     * libtorch. Measured from scratch on the offline bases (2 vCPU AMD EPYC, 2026-12-06):
     * {@code docker-compose build} 78 s on a quiet machine, 183 s with other builds and tests
     * running; this whole test from scratch 214 s under that load. With the cache, seconds.
     */
    private static final Duration UP_TIMEOUT = Duration.ofMinutes(15);

    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    /** Where the secure stack's credentials are written (STARLING_CREDENTIALS_DIR), removed afterwards. */
    private static final Path CREDENTIALS = OUT.resolve("credentials");
    private static final String CREDENTIALS_MOUNT = "/etc/starling/credentials";
    private static final List<String> ROLES = List.of("parameter-server", "learner", "actor");
    private static List<String> composeCommand;
    private static String buildNetwork;
    /** The stack of the running test: its compose command line and Prometheus port. */
    private static List<String> compose;
    private static int prometheusPort;
    /** STARLING_MODE for the stack, as a user sets it on the host (null: the compose file's default, impala). */
    private static String mode;

    @BeforeAll
    static void prerequisites() throws Exception {
        boolean docker = DockerClientFactory.instance().isDockerAvailable();
        if (!docker && "required".equals(System.getenv("STARLING_CONTAINER_TESTS"))) {
            fail("STARLING_CONTAINER_TESTS=required but no Docker engine answers (start dockerd; see .ci/run)");
        }
        assumeTrue(docker, "no Docker engine answers: container test skipped (.ci/run starts one)");
        String prometheusBinary = System.getenv().getOrDefault("PROMETHEUS_BINARY", "/usr/bin/prometheus");
        assertTrue(Files.isExecutable(Path.of(prometheusBinary)),
                "no Prometheus binary at " + prometheusBinary + " (apt-get install prometheus, or set PROMETHEUS_BINARY)");
        Files.createDirectories(OUT);

        buildNetwork = System.getenv("BUILD_NETWORK");
        if (buildNetwork == null && !hasDefaultBridge(DockerClientFactory.instance().client())) {
            buildNetwork = "host";
        }
        composeCommand = composeCommand();
    }

    /**
     * Brings up a stack of docker-compose.yml, the offline Prometheus and {@code overrides} as a
     * user starts it: compose builds the image itself (BASE_IMAGE, BUILD_IMAGE from the
     * environment; cached after the first test), then starts the services.
     */
    private static void up(String project, String... overrides) throws Exception {
        stack(project, overrides);
        run(UP_TIMEOUT, project + "-up.log", with(compose, "up", "-d", "--build", "--scale", "actor=" + ACTORS,
                "parameter-server", "learner", "actor", "prometheus"));
    }

    /** Whether the engine has Docker's default {@code bridge} network (not with {@code dockerd --bridge=none}). */
    private static boolean hasDefaultBridge(DockerClient client) {
        return client.listNetworksCmd().exec().stream().anyMatch(n -> "bridge".equals(n.getName()));
    }

    /** The compose command line of a stack (docker-compose.yml, the offline Prometheus, the overrides) and its Prometheus port. */
    private static void stack(String project, String... overrides) throws IOException {
        compose = new ArrayList<>(composeCommand);
        compose.addAll(List.of("-p", project, "-f", "docker-compose.yml",
                "-f", ROOT.resolve("cli/src/test/resources/compose-offline-prometheus.yml").toString()));
        for (String override : overrides) {
            compose.addAll(List.of("-f", override));
        }
        prometheusPort = freePort();
    }

    /** Saves the logs of the test's stack and removes it with its volumes. */
    private static void down(String project) throws Exception {
        try {
            run(Duration.ofMinutes(1), project + "-logs.log", with(compose, "logs", "--no-color"));
        } finally {
            run(Duration.ofMinutes(2), project + "-down.log", with(compose, "down", "-v", "--remove-orphans"));
        }
    }

    /** The roles' folders belong to the image's user: removed from a container, as the README says. */
    private static void removeCredentials() throws Exception {
        run(Duration.ofMinutes(2), "credentials-rm.log", with(compose, "run", "--rm", "--entrypoint", "rm", "credentials",
                "-rf", "/out/parameter-server", "/out/learner", "/out/actor", "/out/observer"));
        Files.deleteIfExists(CREDENTIALS);
    }

    @Test
    void trainsScrapesAndAnswersEveryDashboardQuery() throws Exception {
        up(PROJECT);
        try {
            trainsAndScrapes(PROJECT);
        } finally {
            down(PROJECT);
        }
    }

    /**
     * {@code STARLING_MODE=r2d2 docker compose up}: the learner and the actors switch to r2d2 (the
     * parameter server serves both). The replay fills past its minimum, the learner trains, every
     * actor reports the Ape-X spread of its environments (each replica spans 0.4 to 0.4^8), and
     * the dashboard's R2D2 row has data from the stack itself, not from its "or vector(0)".
     */
    @Test
    void r2d2ModeTrainsFromTheReplayAndFillsItsDashboardRow() throws Exception {
        String project = PROJECT + "-r2d2";
        mode = "r2d2";
        try {
            up(project);
            try {
                long deadline = System.nanoTime() + STACK_TIMEOUT.toNanos();
                assertEquals(ACTORS, awaitValue("count(up{job=\"actor\"} == 1)", v -> v >= ACTORS, deadline), 0.0);
                double sequences = awaitValue("sum(starling_replay_sequences)", v -> v >= 1000, deadline);
                double updates0 = awaitValue("sum(starling_learner_updates_total)", v -> v > 0, deadline);
                double updates1 = awaitValue("sum(starling_learner_updates_total)", v -> v > updates0, deadline);
                assertTrue(updates1 > updates0 && sequences >= 1000, updates0 + " -> " + updates1 + " updates");
                assertTrue(awaitValue("sum(starling_replay_bytes)", v -> v > 0, deadline) > 0);
                assertTrue(awaitValue("max(starling_replay_ratio)", v -> v > 0, deadline) > 0);
                awaitValue("sum(starling_replay_sampled_priority_count)", v -> v > 0, deadline);
                assertEquals(ACTORS, awaitValue("count(starling_actor_epsilon{stat=\"max\"})", v -> v >= ACTORS,
                        deadline), 0.0, "every actor reports its epsilons");
                assertEquals(0.4, awaitValue("max(starling_actor_epsilon{stat=\"max\"})", v -> true, deadline), 1e-6);
                assertEquals(Math.pow(0.4, 8), awaitValue("min(starling_actor_epsilon{stat=\"min\"})", v -> true,
                        deadline), 1e-6);
                awaitValue("sum(rate(starling_replay_sampled_priority_count[1m]))", v -> v > 0, deadline);
                assertEquals(0.0, awaitValue("sum(starling_learner_skipped_updates_total)", v -> true, deadline), 0.0);
            } finally {
                down(project);
            }
        } finally {
            mode = null;
        }
    }

    /**
     * docker-compose.secure.yml: {@code run --rm credentials} writes a CA and every identity into a
     * new folder; each role's container then mounts only its own folder, read-only, reads it
     * through STARLING_CREDENTIALS, and the stack trains as the plaintext one does (frames,
     * samples and versions advance) with no call refused for its identity or rights.
     */
    @Test
    void secureOverrideTrainsWithEachRoleItsOwnCredentials() throws Exception {
        String project = PROJECT + "-secure";
        // As the README says: an empty folder, the tool writes the credentials (building the image
        // if there is none yet), then up.
        Files.createDirectories(CREDENTIALS);
        stack(project, "docker-compose.secure.yml");
        try {
            run(UP_TIMEOUT, "credentials.log", with(compose, "run", "--rm", "credentials"));
            up(project, "docker-compose.secure.yml");
            DockerClient client = DockerClientFactory.instance().client();
            List<Container> roles = client.listContainersCmd().withShowAll(true)
                    .withLabelFilter(Map.of("com.docker.compose.project", project)).exec().stream()
                    .filter(c -> ROLES.contains(c.getLabels().get("com.docker.compose.service"))).toList();
            assertEquals(2 + ACTORS, roles.size(), "role containers of " + project);
            for (Container c : roles) {
                String role = c.getLabels().get("com.docker.compose.service");
                InspectContainerResponse inspect = client.inspectContainerCmd(c.getId()).exec();
                List<String> mounts = new ArrayList<>();
                for (InspectContainerResponse.Mount m : inspect.getMounts()) {
                    String target = m.getDestination().getPath();
                    if (target.startsWith(CREDENTIALS_MOUNT)) {
                        mounts.add(target + (Boolean.TRUE.equals(m.getRW()) ? " rw" : " ro") + " from " + m.getSource());
                    }
                }
                assertEquals(List.of(CREDENTIALS_MOUNT + "/" + role + " ro from " + CREDENTIALS.resolve(role)), mounts,
                        c.getNames()[0] + ": credentials mounts");
                assertTrue(List.of(inspect.getConfig().getEnv()).contains("STARLING_CREDENTIALS=" + CREDENTIALS_MOUNT),
                        c.getNames()[0] + ": STARLING_CREDENTIALS");
            }
            trainsAndScrapes(project);
            assertEquals(0.0, awaitValue("sum(starling_rejected_total{reason=~\"token_missing|token_invalid|certificate_role"
                    + "|role_mismatch|forbidden\"}) or vector(0)", v -> true, System.nanoTime() + STACK_TIMEOUT.toNanos()),
                    0.0, "calls refused for their identity or rights");
        } finally {
            try {
                removeCredentials();
            } finally {
                down(project);
            }
        }
    }

    /** Both actors scraped, frames, samples and versions advance, every dashboard query answers, nothing restarted. */
    private static void trainsAndScrapes(String project) throws Exception {
        DockerClient client = DockerClientFactory.instance().client();
        long deadline = System.nanoTime() + STACK_TIMEOUT.toNanos();

        // Both actors found by DNS and scraped, and the roles' own gauges and counters present.
        double actorsUp = awaitValue("count(up{job=\"actor\"} == 1)", v -> v >= ACTORS, deadline);
        assertEquals(ACTORS, actorsUp, 0.0, "actor replicas scraped");
        double frames0 = awaitValue("sum(starling_env_frames_total)", v -> v > 0, deadline);
        double version0 = awaitValue("max(starling_parameters_version{role=\"parameter-server\"})", v -> v >= 1, deadline);
        double samples0 = awaitValue("sum(starling_learner_samples_total)", v -> v > 0, deadline);

        // They move: frames, samples and the version advance while we watch.
        double frames1 = awaitValue("sum(starling_env_frames_total)", v -> v > frames0, deadline);
        double version1 = awaitValue("max(starling_parameters_version{role=\"parameter-server\"})",
                v -> v > version0, deadline);
        double samples1 = awaitValue("sum(starling_learner_samples_total)", v -> v > samples0, deadline);
        assertTrue(frames1 > frames0 && version1 > version0 && samples1 > samples0,
                "frames " + frames0 + " -> " + frames1 + ", version " + version0 + " -> " + version1);
        // Every actor reports frames under its own `actor` tag (its container's host name).
        awaitValue("count(count by (actor) (starling_env_frames_total))", v -> v >= ACTORS, deadline);
        awaitValue("count(grpc_server_processing_duration_seconds_count{role=\"learner\"})", v -> v > 0, deadline);

        // Rates over [1m] need two scrapes in the window: wait until the FPS query has data.
        awaitValue("sum(rate(starling_env_frames_total[1m]))", v -> v > 0, deadline);
        List<String> empty = new ArrayList<>();
        List<String> queries = dashboardQueries();
        assertTrue(queries.size() >= 9, "dashboard queries found: " + queries);
        for (String query : queries) {
            JsonArray result = query(query);
            if (result.isEmpty()) {
                empty.add(query);
            }
        }
        assertTrue(empty.isEmpty(), "dashboard queries with no data: " + empty);

        // Nothing crashed or restarted along the way.
        List<Container> containers = client.listContainersCmd().withShowAll(true)
                .withLabelFilter(Map.of("com.docker.compose.project", project)).exec();
        Map<String, Integer> running = new HashMap<>();
        for (Container c : containers) {
            assertEquals("running", c.getState(), c.getNames()[0] + " is " + c.getState());
            running.merge(c.getLabels().get("com.docker.compose.service"), 1, Integer::sum);
        }
        assertEquals(Map.of("parameter-server", 1, "learner", 1, "actor", ACTORS, "prometheus", 1), running);
    }

    /** Every {@code expr} in the Grafana dashboard JSON. */
    private static List<String> dashboardQueries() throws IOException {
        JsonElement dashboard = JsonParser.parseString(
                Files.readString(ROOT.resolve("deploy/grafana/dashboards/starling.json")));
        List<String> out = new ArrayList<>();
        collectExprs(dashboard, out);
        return out;
    }

    private static void collectExprs(JsonElement e, List<String> out) {
        if (e.isJsonObject()) {
            for (Map.Entry<String, JsonElement> entry : e.getAsJsonObject().entrySet()) {
                if (entry.getKey().equals("expr") && entry.getValue().isJsonPrimitive()) {
                    out.add(entry.getValue().getAsString());
                } else {
                    collectExprs(entry.getValue(), out);
                }
            }
        } else if (e.isJsonArray()) {
            e.getAsJsonArray().forEach(x -> collectExprs(x, out));
        }
    }

    /** Polls an instant query until its first sample satisfies {@code ok}; fails with the last answer. */
    private static double awaitValue(String promql, DoublePredicate ok, long deadline)
            throws Exception {
        String last = "no answer";
        while (System.nanoTime() < deadline) {
            try {
                JsonArray result = query(promql);
                if (!result.isEmpty()) {
                    double v = Double.parseDouble(
                            result.get(0).getAsJsonObject().getAsJsonArray("value").get(1).getAsString());
                    last = Double.toString(v);
                    if (ok.test(v)) {
                        return v;
                    }
                } else {
                    last = "empty result";
                }
            } catch (IOException e) {
                last = e.toString();
            }
            Thread.sleep(2000);
        }
        throw new AssertionError("timed out waiting for " + promql + " (last: " + last + "); logs in " + OUT);
    }

    /** Runs an instant query against the stack's Prometheus; the result vector. */
    private static JsonArray query(String promql) throws IOException, InterruptedException {
        URI uri = URI.create("http://127.0.0.1:" + prometheusPort + "/api/v1/query?query="
                + URLEncoder.encode(promql, StandardCharsets.UTF_8));
        HttpResponse<String> response = HTTP.send(HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(10)).build(),
                HttpResponse.BodyHandlers.ofString());
        JsonObject body = JsonParser.parseString(response.body()).getAsJsonObject();
        if (response.statusCode() != 200 || !"success".equals(body.get("status").getAsString())) {
            throw new AssertionError("query " + promql + " failed: HTTP " + response.statusCode() + " " + response.body());
        }
        return body.getAsJsonObject("data").getAsJsonArray("result");
    }

    /** Compose v1 ({@code docker-compose}, the Debian package) or v2 ({@code docker compose}). */
    private static List<String> composeCommand() throws InterruptedException {
        try {
            Process p = new ProcessBuilder("docker-compose", "version").redirectErrorStream(true).start();
            p.getInputStream().readAllBytes();
            if (p.waitFor(30, TimeUnit.SECONDS) && p.exitValue() == 0) {
                return new ArrayList<>(List.of("docker-compose"));
            }
        } catch (IOException e) {
            // not installed: fall back to the plugin
        }
        return new ArrayList<>(List.of("docker", "compose"));
    }

    /** Runs a command in the repository root with the stack's environment, output to {@code OUT/log}. */
    private static void run(Duration timeout, String log, List<String> command) throws IOException, InterruptedException {
        run(timeout, log, command.toArray(String[]::new));
    }

    private static void run(Duration timeout, String log, String... command) throws IOException, InterruptedException {
        ProcessBuilder pb = new ProcessBuilder(command).directory(ROOT.toFile()).redirectErrorStream(true)
                .redirectOutput(OUT.resolve(log).toFile());
        Map<String, String> env = pb.environment();
        env.put("STARLING_IMAGE", IMAGE);
        env.put("STARLING_CREDENTIALS_DIR", CREDENTIALS.toString());
        env.put("PROMETHEUS_PORT", Integer.toString(prometheusPort));
        env.putIfAbsent("PROMETHEUS_BINARY", "/usr/bin/prometheus");
        if (mode != null) {
            env.put("STARLING_MODE", mode);
        } else {
            env.remove("STARLING_MODE");
        }
        if (buildNetwork != null) {
            env.put("BUILD_NETWORK", buildNetwork);
        }
        long start = System.nanoTime();
        Process p = pb.start();
        if (!p.waitFor(timeout.toSeconds(), TimeUnit.SECONDS)) {
            p.destroyForcibly();
            fail(String.join(" ", command) + " did not finish in " + timeout + "; output in " + OUT.resolve(log));
        }
        System.out.printf("ComposeStackIT: %s took %.0f s (%s)%n", String.join(" ", command),
                (System.nanoTime() - start) / 1e9, OUT.resolve(log));
        if (p.exitValue() != 0) {
            fail(String.join(" ", command) + " exited " + p.exitValue() + ":\n" + tail(OUT.resolve(log), 40));
        }
    }

    private static List<String> with(List<String> base, String... more) {
        List<String> out = new ArrayList<>(base);
        out.addAll(List.of(more));
        return out;
    }

    private static String tail(Path file, int lines) throws IOException {
        List<String> all = Files.readAllLines(file);
        return String.join("\n", all.subList(Math.max(0, all.size() - lines), all.size()));
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }
}
