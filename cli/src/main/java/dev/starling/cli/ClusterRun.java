package dev.starling.cli;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.logging.Logger;

import dev.starling.learner.SolveJudge;
import dev.starling.proto.v1.Checkpoint;
import dev.starling.proto.v1.GetParametersRequest;
import dev.starling.proto.v1.GetParametersResponse;
import dev.starling.transport.Channels;
import dev.starling.transport.Role;
import dev.starling.transport.Security;
import dev.starling.proto.v1.LearnerGrpc;
import dev.starling.proto.v1.LearnerStatus;
import dev.starling.proto.v1.LearnerStatusRequest;
import dev.starling.proto.v1.ParameterServerGrpc;
import io.grpc.ManagedChannel;
import io.grpc.StatusRuntimeException;

/**
 * One box, separate processes: a parameter server, a learner (IMPALA only) and N actors, each its
 * own JVM on loopback, kept running by a {@link Supervisor} (a role that dies is started again on
 * the same port, within a restart budget). Polls the reporter for progress, stops at the target or
 * the budget, and always shuts every child down (actors first, then the learner so it publishes
 * its last weights, then the parameter server so it writes its final checkpoint). A shutdown hook
 * does the same on Ctrl-C; children also exit by themselves if this process dies.
 *
 * <p>Ports: the parameter server and the learner serve on ports this class picks before starting
 * them and passes explicitly, so a restarted one comes back at the address its peers dial. Each
 * port is chosen free and below the kernel's ephemeral range, so no outgoing connection takes it
 * while its role is down. A role writes its port file ({@code ports/<role>.port}) once it serves;
 * the file is deleted before each start, so a port file is never an earlier process's.
 */
final class ClusterRun implements AutoCloseable {

    private static final Logger LOG = Logger.getLogger(ClusterRun.class.getName());
    /** How long a role may take to load and serve (libtorch, JIT; two shared cores). */
    static final Duration STARTUP = Duration.ofSeconds(120);
    /** How long the reporter may leave the poll unanswered once every role is up. */
    static final Duration NO_ANSWER = Duration.ofSeconds(30);
    private static final Duration GRACE = Duration.ofSeconds(15);
    private static final String PARAMETER_SERVER = "parameter-server";
    /**
     * Actors yield the CPU to the learner: on a small box the learner's update rate bounds the
     * cluster, and with equal priority three busy processes on two cores gave it ~70% of a core.
     * Measured (2 vCPU AMD EPYC, masked CartPole, 2 actors x 32 envs): 34-39k frames/s at niceness
     * 0, 46-49k at 10; actors still fill whatever the learner leaves (BENCHMARKS.md).
     */
    static final int ACTOR_NICENESS = 10;
    private static final String LEARNER = "learner";

    /**
     * What to start. Role arguments exclude ports, addresses and files, which this class sets.
     * {@code learnerArgs} null means A3C: no learner; the parameter server trains and reports.
     * {@code secure}: every connection uses mutual TLS and a bearer token, from a throwaway CA
     * generated into {@code <run-dir>/tls/} ({@link LocalTls}). {@code budget}: how often a role
     * that dies is started again.
     */
    record Plan(Path runDir, List<String> parameterServerArgs, List<String> learnerArgs, List<List<String>> actorArgs,
            boolean metrics, boolean secure, Supervisor.Budget budget, String learnerHeap) {

        /** The learner's heap when it holds no replay (impala). */
        static final String LEARNER_HEAP = "1g";
        /** The r2d2 learner's heap: its replay takes half (the default --replay-bytes). */
        static final String REPLAY_LEARNER_HEAP = "4g";

        /** A plaintext plan with the default restart budget. */
        Plan(Path runDir, List<String> parameterServerArgs, List<String> learnerArgs, List<List<String>> actorArgs,
                boolean metrics) {
            this(runDir, parameterServerArgs, learnerArgs, actorArgs, metrics, false, Supervisor.Budget.of(5),
                    LEARNER_HEAP);
        }
    }

    /** The outcome of polling: {@code seconds} and {@code last} count the whole run (see {@link RunTotals}). */
    record Outcome(boolean solved, double seconds, LearnerStatus last, String failure) {
    }

    /** Receives each status poll, as totals of the whole run. */
    interface Listener {
        void status(double seconds, LearnerStatus status);
    }

    private final Plan plan;
    private final Supervisor supervisor;
    /** Whoever trains and reports progress: the learner, or the parameter server in A3C mode. */
    private ManagedChannel statusChannel;
    /** To the parameter server, for the weights a judge evaluates. */
    private ManagedChannel weightsChannel;
    private String reporter;
    private final Thread hook = new Thread(this::stopAll, "starling-train-shutdown");
    private boolean stopped;

    ClusterRun(Plan plan) {
        this.plan = plan;
        this.supervisor = new Supervisor(plan.budget());
        Runtime.getRuntime().addShutdownHook(hook);
    }

    /** Starts the processes in order, each once the one it needs is serving. */
    void start() throws IOException, InterruptedException {
        Path ports = plan.runDir().resolve("ports");
        Path logs = plan.runDir().resolve("logs");
        Files.createDirectories(ports);
        LocalTls tls = null;
        Security security = Security.NONE;
        if (plan.secure()) {
            tls = LocalTls.generate(plan.runDir().resolve("tls"));
            security = tls.client();
            LOG.info("mutual TLS and a bearer token on every connection; certificates and token in " + tls.dir());
        }
        int psPort = freePort(Set.of());
        String ps = "localhost:" + psPort;
        List<String> psArgs = new ArrayList<>(List.of(PARAMETER_SERVER, "--port", Integer.toString(psPort),
                "--checkpoint-dir", plan.runDir().resolve("checkpoints").toString()));
        psArgs.addAll(plan.parameterServerArgs());
        if (tls != null) {
            psArgs.addAll(tls.serverArgs());
        }
        startServing(PARAMETER_SERVER, 0, "512m", psArgs, psPort, ports, logs);
        LOG.info("parameter server up at " + ps + " (pid " + supervisor.process(PARAMETER_SERVER).pid() + ")");

        String learnerTarget = ps;
        reporter = PARAMETER_SERVER;
        if (plan.learnerArgs() != null) {
            int learnerPort = freePort(Set.of(psPort));
            learnerTarget = "localhost:" + learnerPort;
            List<String> learnerArgs = new ArrayList<>(List.of(LEARNER, "--port", Integer.toString(learnerPort),
                    "--parameter-server", ps));
            learnerArgs.addAll(plan.learnerArgs());
            if (tls != null) {
                learnerArgs.addAll(tls.serverArgs());
            }
            startServing(LEARNER, 1, plan.learnerHeap(), learnerArgs, learnerPort, ports, logs);
            LOG.info("learner up at " + learnerTarget + " (pid " + supervisor.process(LEARNER).pid() + ")");
            reporter = LEARNER;
        }
        statusChannel = Channels.create(learnerTarget, 4 << 20, security, null);
        weightsChannel = Channels.create(ps, Channels.DEFAULT_MAX_MESSAGE_BYTES,
                tls == null ? Security.NONE : tls.security(Role.ACTOR), null);

        for (int i = 0; i < plan.actorArgs().size(); i++) {
            String name = "actor-" + i;
            List<String> args = new ArrayList<>(List.of("actor", "--actor-id", name, "--parameter-server", ps));
            if (plan.learnerArgs() != null) {
                args.addAll(List.of("--learner", learnerTarget));
            }
            args.addAll(plan.actorArgs().get(i));
            if (tls != null) {
                args.addAll(tls.clientArgs());
            }
            supervisor.start(name, 2, launcher(name, "512m", ACTOR_NICENESS, args, null, ports, logs));
        }
        LOG.info(plan.actorArgs().size() + " actors started; logs in " + logs + "; a role that exits is restarted"
                + " (at most " + plan.budget().maxRestarts() + " times within "
                + Supervisor.text(plan.budget().window()) + ")");
    }

    /** Starts a role that serves gRPC on {@code port} and waits until it does (its port file appears). */
    private void startServing(String name, int tier, String heap, List<String> args, int port, Path ports, Path logs)
            throws IOException, InterruptedException {
        Path portFile = ports.resolve(name + ".port");
        List<String> all = new ArrayList<>(args);
        all.addAll(List.of("--port-file", portFile.toString()));
        ChildProcess p = supervisor.start(name, tier, launcher(name, heap, all, portFile, ports, logs));
        long deadline = System.nanoTime() + STARTUP.toNanos();
        while (!Files.exists(portFile)) {
            // A role that cannot start at all is a configuration problem: no restarts for it here.
            if (!p.isAlive()) {
                throw new IOException(name + " exited with code " + p.exitCode() + " before serving:\n" + p.tail(40));
            }
            if (System.nanoTime() > deadline) {
                throw new IOException(name + " did not start serving within " + STARTUP.toSeconds() + " s:\n" + p.tail(40));
            }
            // The roles started before it are supervised meanwhile.
            Optional<String> dead = supervisor.check();
            if (dead.isPresent()) {
                throw new IOException(dead.get());
            }
            Thread.sleep(50);
        }
        int serving = Integer.parseInt(Files.readString(portFile, StandardCharsets.US_ASCII).trim());
        if (serving != port) {
            throw new IOException(name + " serves on port " + serving + ", not the port " + port + " it was given");
        }
    }

    /**
     * How to start one process of a role: its files from an earlier process (port file, metrics
     * port file) are deleted first, so whoever waits for them reads this process's.
     */
    private Supervisor.Launch launcher(String name, String heap, List<String> args, Path portFile, Path ports, Path logs) {
        return launcher(name, heap, 0, args, portFile, ports, logs);
    }

    private Supervisor.Launch launcher(String name, String heap, int niceness, List<String> args, Path portFile,
            Path ports, Path logs) {
        List<String> all = new ArrayList<>(args);
        all.addAll(metricsArgs(ports, name));
        Path metricsFile = ports.resolve(name + ".metrics");
        return why -> {
            if (portFile != null) {
                Files.deleteIfExists(portFile);
            }
            Files.deleteIfExists(metricsFile);
            return ChildProcess.start(name, heap, niceness, all, logs.resolve(name + ".log"), why);
        };
    }

    /**
     * Polls the reporter every {@code every} until solved ({@code judge}'s verdict, nominated by the
     * 100-episode window of the reporter's current process), the frame or time budget
     * of the whole run ({@code totals}), or a role dying with its restart budget used up. The
     * reporter may stay silent while it or any role is (re)starting ({@link #STARTUP}); once all
     * are up, {@link #NO_ANSWER} of silence ends the run.
     */
    Outcome await(SolveJudge judge, long maxFrames, double maxSeconds, Duration every, RunTotals totals,
            Listener listener) throws InterruptedException {
        long start = System.nanoTime();
        LearnerStatus last = totals.add(supervisor.generation(reporter), LearnerStatus.getDefaultInstance());
        long lastContact = System.nanoTime();
        while (true) {
            Thread.sleep(every.toMillis());
            double seconds = totals.seconds((System.nanoTime() - start) / 1e9);
            Optional<String> dead = supervisor.check();
            if (dead.isPresent()) {
                return new Outcome(false, seconds, last, dead.get());
            }
            LearnerStatus raw;
            // Restarts happen only in check(), on this thread: the answer comes from this generation.
            int generation = supervisor.generation(reporter);
            try {
                raw = reporter.equals(PARAMETER_SERVER)
                        ? ParameterServerGrpc.newBlockingStub(statusChannel).withDeadlineAfter(2, TimeUnit.SECONDS)
                                .getStatus(LearnerStatusRequest.getDefaultInstance())
                        : LearnerGrpc.newBlockingStub(statusChannel).withDeadlineAfter(2, TimeUnit.SECONDS)
                                .getStatus(LearnerStatusRequest.getDefaultInstance());
            } catch (StatusRuntimeException e) {
                // A restarted reporter is back at the same address: try it now, not after the channel's backoff.
                statusChannel.resetConnectBackoff();
                long now = System.nanoTime();
                long silentSince = Math.max(lastContact, supervisor.settledSince(STARTUP));
                if (now - silentSince > NO_ANSWER.toNanos()) {
                    return new Outcome(false, seconds, last, (reporter.equals(PARAMETER_SERVER) ? "parameter server"
                            : "learner") + " did not answer for " + NO_ANSWER.toSeconds() + " s while every role was up: "
                            + e.getStatus());
                }
                continue;
            }
            lastContact = System.nanoTime();
            last = totals.add(generation, raw);
            listener.status(seconds, last);
            boolean solved = judge.solved(seconds, last.getFrames(), raw.getEpisodes() >= 100, raw.getAverageReturn(),
                    this::currentWeights);
            boolean outOfBudget = (maxFrames > 0 && last.getFrames() >= maxFrames) || (maxSeconds > 0 && seconds >= maxSeconds);
            if (solved || outOfBudget) {
                return new Outcome(solved, seconds, last, null);
            }
        }
    }

    /**
     * The parameter server's newest weights, as a checkpoint holding them only (what a judge
     * evaluates); null if the server does not answer now (it may be restarting). Asked as an
     * actor would, the role that may read weights.
     */
    Checkpoint currentWeights() {
        try {
            GetParametersResponse r = ParameterServerGrpc.newBlockingStub(weightsChannel)
                    .withDeadlineAfter(10, TimeUnit.SECONDS).getParameters(GetParametersRequest.getDefaultInstance());
            return r.hasParameters() ? Checkpoint.newBuilder().setParameters(r.getParameters()).build() : null;
        } catch (StatusRuntimeException e) {
            LOG.warning("cannot read the current weights from the parameter server: " + e.getStatus());
            weightsChannel.resetConnectBackoff();
            return null;
        }
    }

    /** Restarts so far per role (every role, 0 if none). */
    Map<String, Integer> restarts() {
        return supervisor.restarts();
    }

    /** With metrics on: serve /metrics on a free port and say which in {@code ports/<role>.metrics}. */
    private List<String> metricsArgs(Path ports, String role) {
        return plan.metrics()
                ? List.of("--metrics-port", "0", "--metrics-port-file", ports.resolve(role + ".metrics").toString())
                : List.of();
    }

    /** Each running child's pid by role name (for the soak monitor). */
    Map<String, Long> pids() {
        return supervisor.pids();
    }

    /** Stops every child in order; idempotent. */
    synchronized void stopAll() {
        if (stopped) {
            return;
        }
        stopped = true;
        if (statusChannel != null) {
            Channels.close(statusChannel);
        }
        if (weightsChannel != null) {
            Channels.close(weightsChannel);
        }
        supervisor.stopAll(GRACE);
    }

    /**
     * A free TCP port below the kernel's ephemeral range (Linux: {@code ip_local_port_range};
     * elsewhere 32768), not in {@code taken}.
     */
    static int freePort(Set<Integer> taken) throws IOException {
        int ephemeralStart = 32768;
        try {
            String range = Files.readString(Path.of("/proc/sys/net/ipv4/ip_local_port_range")).trim();
            ephemeralStart = Integer.parseInt(range.split("\\s+")[0]);
        } catch (IOException | RuntimeException notLinux) {
            // Keep the default.
        }
        int low = 10000;
        int high = Math.max(low + 1000, ephemeralStart);
        for (int i = 0; i < 500; i++) {
            int port = ThreadLocalRandom.current().nextInt(low, high);
            if (taken.contains(port)) {
                continue;
            }
            try (ServerSocket s = new ServerSocket()) {
                s.setReuseAddress(true);
                s.bind(new InetSocketAddress(port));
                return port;
            } catch (IOException inUse) {
                // Try another.
            }
        }
        throw new IOException("no free port found in " + low + "-" + high);
    }

    @Override
    public void close() {
        stopAll();
        try {
            Runtime.getRuntime().removeShutdownHook(hook);
        } catch (IllegalStateException alreadyShuttingDown) {
            // The hook is running or has run: nothing left to remove.
        }
    }
}
