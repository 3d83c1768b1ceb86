package dev.starling.cli;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.OptionalDouble;
import java.util.OptionalLong;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import dev.starling.proto.v1.GetParametersRequest;
import dev.starling.proto.v1.GetParametersResponse;
import dev.starling.proto.v1.LearnerGrpc;
import dev.starling.proto.v1.LearnerStatus;
import dev.starling.proto.v1.LearnerStatusRequest;
import dev.starling.proto.v1.ParameterServerGrpc;
import io.grpc.ConnectivityState;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;

/**
 * A parameter server, a learner and actors, each a separate JVM started with the real
 * {@code starling} subcommand through {@link ChildProcess}, on loopback ports fixed up front so a
 * role can be killed and restarted at the same address (its peers reconnect there). Each start of
 * a role is a new {@link Role} with its own log and metrics port; the checkpoint directory is
 * shared by every parameter server generation.
 *
 * <p>Small on purpose (two cores, shared): LSTM 32, 8 environments per actor. Observation goes
 * through each role's {@code /metrics}, the learner's GetStatus, the parameter server's
 * GetParameters, the logs and the checkpoint files. A background watch records every version the
 * parameter server and the actors report, so tests can check that versions never go backwards.
 *
 * <p>Thread-safe enough for one test thread plus the watch. {@link #close()} stops every child
 * ever started (SIGTERM, then SIGKILL) and waits until each is gone; children also exit on their
 * own if the test JVM dies ({@code --parent-pid}, added by {@link ChildProcess}).
 */
final class MiniCluster implements AutoCloseable {

    /** Model and data settings every role must share (the spec hash checks it). */
    static final List<String> MODEL = List.of("--lstm-size", "32", "--seed", "7");
    /** masked-cartpole, as the actors play it and as the learner and parameter server are told it. */
    static final List<String> ENV = List.of("--env", "masked-cartpole");
    static final List<String> SPACES = List.of("--observation-space", "box(2)", "--action-space", "discrete(2)");
    static final int NUM_ENVS = 8;
    static final int UNROLL = 32;
    /** Frames in one chunk: T x K. */
    static final int CHUNK_FRAMES = NUM_ENVS * UNROLL;
    static final Duration STARTUP = Duration.ofSeconds(120);
    static final String PARAMETER_SERVER = "parameter-server";
    static final String LEARNER = "learner";

    /** One start of one role. */
    record Role(String name, int generation, ChildProcess process, Path log, int metricsPort) {
        long pid() {
            return process.pid();
        }

        String label() {
            return name + "#" + generation;
        }
    }

    /** One version reading of the background watch. */
    record VersionSample(long nanos, String role, int generation, long version, long incarnations) {
    }

    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

    private final Path dir;
    private final Path checkpoints;
    final int parameterServerPort;
    final int learnerPort;
    private final List<String> actorExtra;
    private final List<String> parameterServerExtra;
    private final List<ChildProcess> started = new CopyOnWriteArrayList<>();
    private final Map<String, Role> current = new ConcurrentHashMap<>();
    private final Map<String, Integer> generations = new ConcurrentHashMap<>();
    private final List<VersionSample> versions = new CopyOnWriteArrayList<>();
    private final ManagedChannel learnerChannel;
    private final ManagedChannel parameterServerChannel;
    private ScheduledExecutorService watch;

    /**
     * @param parameterServerExtra options added to every parameter server start (e.g. the
     *     checkpoint interval)
     */
    MiniCluster(Path dir, List<String> parameterServerExtra) throws IOException {
        this(dir, parameterServerExtra, List.of());
    }

    /**
     * @param actorExtra options added to every actor start (e.g. {@code --mode a3c}, with
     *     {@code --mode a3c} in {@code parameterServerExtra} and no learner)
     */
    MiniCluster(Path dir, List<String> parameterServerExtra, List<String> actorExtra) throws IOException {
        this.actorExtra = List.copyOf(actorExtra);
        this.dir = dir;
        this.checkpoints = dir.resolve("checkpoints");
        this.parameterServerExtra = List.copyOf(parameterServerExtra);
        this.parameterServerPort = freePort();
        int l;
        do {
            l = freePort();
        } while (l == parameterServerPort);
        this.learnerPort = l;
        // Plain io.grpc channels (not Channels.*): the test observes, it is not a Starling peer.
        this.learnerChannel = ManagedChannelBuilder.forTarget("localhost:" + learnerPort).usePlaintext().build();
        this.parameterServerChannel = ManagedChannelBuilder.forTarget("localhost:" + parameterServerPort)
                .usePlaintext().maxInboundMessageSize(64 << 20).build();
    }

    Path checkpointDir() {
        return checkpoints;
    }

    // ------------------------------------------------------------------ starting and stopping

    /** A started process whose ports may not be known yet. */
    record Launch(String name, int generation, ChildProcess process, Path log, Path metricsFile, Path portFile) {
    }

    /**
     * Starts a parameter server, a learner and the actors together (each waits for its peers with
     * backoff, so the JVMs start in parallel) and returns them, in that order, once every one
     * serves: the parameter server and the learner gRPC, all of them metrics.
     */
    List<Role> startAll(List<String> actorIds) throws IOException, InterruptedException {
        List<Launch> launches = new ArrayList<>();
        launches.add(launchParameterServer());
        launches.add(launchLearner());
        for (String id : actorIds) {
            launches.add(launchActor(id));
        }
        List<Role> roles = new ArrayList<>();
        for (Launch l : launches) {
            roles.add(ready(l, true));
        }
        return roles;
    }

    /**
     * Starts a learner and the actors together without a parameter server; returns them (learner
     * first) once their metrics are up. The learner serves gRPC only after it reached a parameter
     * server.
     */
    List<Role> startAllButParameterServer(List<String> actorIds) throws IOException, InterruptedException {
        List<Launch> launches = new ArrayList<>();
        launches.add(launchLearner());
        for (String id : actorIds) {
            launches.add(launchActor(id));
        }
        List<Role> roles = new ArrayList<>();
        for (Launch l : launches) {
            roles.add(ready(l, false));
        }
        return roles;
    }

    /** Starts a parameter server on the fixed port and waits until it serves gRPC and metrics. */
    Role startParameterServer() throws IOException, InterruptedException {
        return ready(launchParameterServer(), true);
    }

    /**
     * Starts a learner on the fixed port. With {@code awaitServing} waits until it serves gRPC
     * (it does only once it reached the parameter server); otherwise only until its metrics are up.
     */
    Role startLearner(boolean awaitServing) throws IOException, InterruptedException {
        return ready(launchLearner(), awaitServing);
    }

    /** Starts an actor (a restart reuses its id) and waits until its metrics are up. */
    Role startActor(String id) throws IOException, InterruptedException {
        return ready(launchActor(id), false);
    }

    private Launch launchParameterServer() throws IOException {
        int g = nextGeneration(PARAMETER_SERVER);
        Path portFile = dir.resolve("ports/" + PARAMETER_SERVER + "-" + g + ".port");
        List<String> args = new ArrayList<>(List.of(PARAMETER_SERVER, "--port", Integer.toString(parameterServerPort),
                "--port-file", portFile.toString(), "--checkpoint-dir", checkpoints.toString()));
        args.addAll(MODEL);
        args.addAll(SPACES);
        args.addAll(parameterServerExtra);
        return launch(PARAMETER_SERVER, g, "384m", args, portFile);
    }

    private Launch launchLearner() throws IOException {
        int g = nextGeneration(LEARNER);
        Path portFile = dir.resolve("ports/" + LEARNER + "-" + g + ".port");
        List<String> args = new ArrayList<>(List.of(LEARNER, "--port", Integer.toString(learnerPort),
                "--port-file", portFile.toString(), "--parameter-server", "localhost:" + parameterServerPort));
        args.addAll(MODEL);
        args.addAll(SPACES);
        args.addAll(List.of("--reward-scale", "0.05"));
        return launch(LEARNER, g, "512m", args, portFile);
    }

    private Launch launchActor(String id) throws IOException {
        int g = nextGeneration(id);
        List<String> args = new ArrayList<>(List.of("actor", "--actor-id", id, "--learner", "localhost:" + learnerPort,
                "--parameter-server", "localhost:" + parameterServerPort, "--num-envs", Integer.toString(NUM_ENVS),
                "--unroll", Integer.toString(UNROLL)));
        args.addAll(MODEL);
        args.addAll(ENV);
        args.addAll(actorExtra);
        return launch(id, g, "384m", args, null);
    }

    private Launch launch(String name, int generation, String heap, List<String> roleArgs, Path portFile)
            throws IOException {
        Path metricsFile = dir.resolve("ports/" + name + "-" + generation + ".metrics");
        List<String> args = new ArrayList<>(roleArgs);
        args.addAll(List.of("--metrics-port", "0", "--metrics-port-file", metricsFile.toString()));
        Path log = dir.resolve("logs/" + name + "-" + generation + ".log");
        ChildProcess p = ChildProcess.start(name + "-" + generation, heap, args, log);
        // Registered at once, so close() stops it even if it never comes up.
        started.add(p);
        return new Launch(name, generation, p, log, metricsFile, portFile);
    }

    /** Waits for the launch's metrics port (and its gRPC port if {@code awaitServing}); makes it current. */
    private Role ready(Launch l, boolean awaitServing) throws IOException, InterruptedException {
        int metricsPort = l.process().awaitPort(l.metricsFile(), STARTUP);
        if (awaitServing && l.portFile() != null) {
            l.process().awaitPort(l.portFile(), STARTUP);
        }
        Role r = new Role(l.name(), l.generation(), l.process(), l.log(), metricsPort);
        current.put(l.name(), r);
        return r;
    }

    private int nextGeneration(String name) {
        return generations.merge(name, 1, Integer::sum);
    }

    /** SIGKILL: no shutdown hook runs. Returns once the process is gone. */
    static void kill9(Role r) throws Exception {
        ProcessHandle h = ProcessHandle.of(r.pid()).orElseThrow(() -> new AssertionError(r.label() + " is not running"));
        h.destroyForcibly();
        h.onExit().get(15, TimeUnit.SECONDS);
    }

    /** SIGTERM, waiting up to {@code grace} (then SIGKILL); returns the exit code (-1 if still alive). */
    static int sigterm(Role r, Duration grace) {
        return r.process().stop(grace);
    }

    /** Stops the watch and every child still running, in parallel; waits until all are gone. */
    @Override
    public void close() {
        stopWatch();
        learnerChannel.shutdownNow();
        parameterServerChannel.shutdownNow();
        started.parallelStream().forEach(p -> p.stop(Duration.ofSeconds(10)));
        for (ChildProcess p : started) {
            ProcessHandle.of(p.pid()).ifPresent(h -> {
                h.destroyForcibly();
                try {
                    h.onExit().get(10, TimeUnit.SECONDS);
                } catch (Exception e) {
                    // Reported by the caller's orphan check.
                }
            });
        }
    }

    /** Every process ever started that still runs (none after {@link #close()}). */
    List<String> alive() {
        return started.stream().filter(ChildProcess::isAlive).map(ChildProcess::name).toList();
    }

    // ------------------------------------------------------------------ observing

    /** The role's Prometheus text; null if it does not answer within 5 s. */
    static String scrape(Role r) {
        try {
            HttpResponse<String> resp = HTTP.send(HttpRequest.newBuilder(
                    URI.create("http://localhost:" + r.metricsPort() + "/metrics")).timeout(Duration.ofSeconds(5)).build(),
                    HttpResponse.BodyHandlers.ofString());
            return resp.statusCode() == 200 ? resp.body() : null;
        } catch (IOException e) {
            return null;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return null;
        }
    }

    /** Sum of the samples of {@code name} whose labels contain every one of {@code labels}; NaN if none. */
    static double value(String scrape, String name, String... labels) {
        if (scrape == null) {
            return Double.NaN;
        }
        double sum = 0;
        boolean found = false;
        for (String line : scrape.split("\n")) {
            if (!(line.startsWith(name + "{") || line.startsWith(name + " "))) {
                continue;
            }
            String labelPart = line.startsWith(name + "{") ? line.substring(name.length(), line.lastIndexOf('}') + 1) : "";
            boolean all = true;
            for (String l : labels) {
                all &= labelPart.contains(l);
            }
            if (all) {
                sum += Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
                found = true;
            }
        }
        return found ? sum : Double.NaN;
    }

    /** A metric of a running role; fails the test if the role does not answer three more tries. */
    static double metric(Role r, String name, String... labels) {
        String s = scrape(r);
        // Two shared cores: a busy role may miss one scrape's timeout; a dead one misses all.
        for (int retry = 0; s == null && retry < 3 && r.process().isAlive(); retry++) {
            try {
                Thread.sleep(1000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
            s = scrape(r);
        }
        if (s == null) {
            throw new AssertionError(r.label() + " does not serve /metrics (alive: " + r.process().isAlive() + ")\n"
                    + r.process().tail(20));
        }
        return value(s, name, labels);
    }

    /** A counter that may not exist yet (a meter registered on first use) as 0. */
    static double counter(Role r, String name, String... labels) {
        double v = metric(r, name, labels);
        return Double.isNaN(v) ? 0 : v;
    }

    /**
     * The learner's GetStatus. Waits (up to 10 s) for a connection rather than failing at once, and
     * skips the channel's reconnect backoff, so a call right after a restarted learner serves works.
     */
    LearnerStatus learnerStatus() {
        return LearnerGrpc.newBlockingStub(ready(learnerChannel)).withWaitForReady()
                .withDeadlineAfter(10, TimeUnit.SECONDS).getStatus(LearnerStatusRequest.getDefaultInstance());
    }

    /** What the parameter server holds, with the optimizer state (connecting as {@link #learnerStatus}). */
    GetParametersResponse parameterServerState() {
        return ParameterServerGrpc.newBlockingStub(ready(parameterServerChannel)).withWaitForReady()
                .withDeadlineAfter(10, TimeUnit.SECONDS)
                .getParameters(GetParametersRequest.newBuilder().setIncludeOptimizerState(true).build());
    }

    private static ManagedChannel ready(ManagedChannel channel) {
        if (channel.getState(true) == ConnectivityState.TRANSIENT_FAILURE) {
            channel.resetConnectBackoff();
        }
        return channel;
    }

    /** CPU time of the process so far. */
    static Duration cpu(Role r) {
        return ProcessHandle.of(r.pid()).flatMap(h -> h.info().totalCpuDuration())
                .orElseThrow(() -> new AssertionError("no CPU time for " + r.label()));
    }

    /** Resident set size from /proc (Linux); empty elsewhere. */
    static OptionalDouble rssBytes(Role r) {
        Path status = Path.of("/proc/" + r.pid() + "/status");
        try {
            for (String line : Files.readAllLines(status)) {
                if (line.startsWith("VmRSS:")) {
                    return OptionalDouble.of(Double.parseDouble(line.replaceAll("[^0-9]", "")) * 1024);
                }
            }
        } catch (IOException e) {
            // Not Linux, or the process is gone.
        }
        return OptionalDouble.empty();
    }

    /**
     * Bytes of live objects on the role's heap: {@code jcmd <pid> GC.class_histogram} runs a full
     * GC and counts what survives. Empty if this JDK has no jcmd.
     */
    static OptionalLong liveHeapBytes(Role r) throws IOException, InterruptedException {
        Path jcmd = Path.of(System.getProperty("java.home"), "bin", "jcmd");
        if (!Files.isExecutable(jcmd)) {
            return OptionalLong.empty();
        }
        Process p = new ProcessBuilder(jcmd.toString(), Long.toString(r.pid()), "GC.class_histogram")
                .redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(30, TimeUnit.SECONDS) || p.exitValue() != 0) {
            throw new AssertionError("jcmd GC.class_histogram failed for " + r.label() + ":\n" + out);
        }
        Matcher total = Pattern.compile("(?m)^Total\\s+\\d+\\s+(\\d+)\\s*$").matcher(out);
        if (!total.find()) {
            throw new AssertionError("no total in the class histogram of " + r.label() + ":\n" + out);
        }
        return OptionalLong.of(Long.parseLong(total.group(1)));
    }

    /** Checkpoint versions on disk, newest first (by the file name checkpoint-<version>.ckpt). */
    List<Long> checkpointVersions() throws IOException {
        if (!Files.isDirectory(checkpoints)) {
            return List.of();
        }
        try (Stream<Path> files = Files.list(checkpoints)) {
            return files.map(p -> p.getFileName().toString())
                    .filter(n -> n.matches("checkpoint-\\d+\\.ckpt"))
                    .map(n -> Long.parseLong(n.substring("checkpoint-".length(), n.length() - ".ckpt".length())))
                    .sorted((a, b) -> Long.compare(b, a))
                    .toList();
        }
    }

    /** Files in the checkpoint directory. */
    List<String> checkpointFiles() throws IOException {
        if (!Files.isDirectory(checkpoints)) {
            return List.of();
        }
        try (Stream<Path> files = Files.list(checkpoints)) {
            return files.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    // ------------------------------------------------------------------ logs

    /** Where the role's log ends now; {@link #logSince} reads what came after. */
    static long logMark(Role r) throws IOException {
        return Files.size(r.log());
    }

    /** The log's lines written after {@code mark}. */
    static List<String> logSince(Role r, long mark) throws IOException {
        try (RandomAccessFile f = new RandomAccessFile(r.log().toFile(), "r")) {
            long length = f.length();
            byte[] bytes = new byte[(int) Math.max(0, length - mark)];
            f.seek(mark);
            f.readFully(bytes);
            String text = new String(bytes, StandardCharsets.UTF_8);
            return text.isEmpty() ? List.of() : List.of(text.split("\n"));
        }
    }

    static String log(Role r) throws IOException {
        return Files.readString(r.log(), StandardCharsets.UTF_8);
    }

    /** Error lines: SEVERE records, uncaught exceptions, stack frames. */
    static List<String> errors(List<String> lines) {
        return lines.stream().filter(l -> l.contains(" SEVERE ") || l.contains(" ERROR ") || l.startsWith("Exception in")
                || l.matches("\\s+at .*") || l.startsWith("Caused by:")).toList();
    }

    static List<String> warnings(List<String> lines) {
        return lines.stream().filter(l -> l.contains(" WARNING ")).toList();
    }

    /** Waits until the role's log contains {@code text}. */
    static void awaitLog(Role r, String text, Duration timeout) throws Exception {
        await(r.label() + " to log '" + text + "'", timeout, () -> {
            try {
                return log(r).contains(text);
            } catch (IOException e) {
                return false;
            }
        }, r);
    }

    // ------------------------------------------------------------------ versions

    /**
     * Every 200 ms records the version the current parameter server and every current actor
     * report (roles that do not answer are skipped).
     */
    void startWatch() {
        watch = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "mini-cluster-version-watch");
            t.setDaemon(true);
            return t;
        });
        watch.scheduleWithFixedDelay(() -> {
            for (Role r : current.values()) {
                if (r.name().equals(LEARNER)) {
                    continue;
                }
                String scrape = scrape(r);
                double v = value(scrape, "starling_parameters_version");
                // Actors count the parameter server incarnations they followed; servers have one.
                double n = value(scrape, "starling_parameters_incarnations_total");
                if (!Double.isNaN(v)) {
                    versions.add(new VersionSample(System.nanoTime(), r.name(), r.generation(), (long) v,
                            Double.isNaN(n) ? 1 : (long) n));
                }
            }
        }, 0, 200, TimeUnit.MILLISECONDS);
    }

    void stopWatch() {
        if (watch != null) {
            watch.shutdownNow();
            try {
                watch.awaitTermination(5, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /** The versions {@code role} (generation {@code generation}) reported, in order. */
    List<Long> versions(String role, int generation) {
        return versions.stream().filter(s -> s.role().equals(role) && s.generation() == generation)
                .map(VersionSample::version).toList();
    }

    /** The versions {@code role} reported over all its generations, in order. */
    List<Long> versions(String role) {
        return versions.stream().filter(s -> s.role().equals(role)).map(VersionSample::version).toList();
    }

    /**
     * The versions actor {@code role} reported (one generation), in order, per parameter server
     * incarnation it followed (1, 2, ...): versions are ordered only within one.
     */
    Map<Long, List<Long>> versionsByIncarnation(String role) {
        Map<Long, List<Long>> byIncarnation = new TreeMap<>();
        for (VersionSample s : versions) {
            if (s.role().equals(role)) {
                byIncarnation.computeIfAbsent(s.incarnations(), k -> new ArrayList<>()).add(s.version());
            }
        }
        return byIncarnation;
    }

    // ------------------------------------------------------------------ helpers

    /** Polls {@code condition} every 200 ms; fails naming {@code what} and the roles' log tails. */
    static void await(String what, Duration timeout, BooleanSupplier condition, Role... context) throws Exception {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                StringBuilder sb = new StringBuilder("timed out after " + timeout.toSeconds() + " s waiting for " + what);
                for (Role r : context) {
                    sb.append("\n--- ").append(r.label()).append(" (alive ").append(r.process().isAlive()).append(")\n")
                            .append(r.process().tail(25));
                }
                throw new AssertionError(sb.toString());
            }
            Thread.sleep(200);
        }
    }

    /**
     * A free port below the ephemeral range (so no outgoing connection of another process takes
     * it while a role is down and about to be restarted on it).
     */
    private static int freePort() throws IOException {
        for (int i = 0; i < 200; i++) {
            int port = ThreadLocalRandom.current().nextInt(20000, 32000);
            try (ServerSocket s = new ServerSocket()) {
                s.setReuseAddress(true);
                s.bind(new InetSocketAddress(port));
                return port;
            } catch (IOException taken) {
                // Try another.
            }
        }
        throw new IOException("no free port found in 20000-32000");
    }
}
