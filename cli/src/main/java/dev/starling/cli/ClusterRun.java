package dev.starling.cli;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.logging.Logger;

import dev.starling.common.grpc.Channels;
import dev.starling.common.grpc.Security;
import dev.starling.proto.v1.LearnerGrpc;
import dev.starling.proto.v1.LearnerStatus;
import dev.starling.proto.v1.LearnerStatusRequest;
import dev.starling.proto.v1.ParameterServerGrpc;
import io.grpc.ManagedChannel;
import io.grpc.StatusRuntimeException;

/**
 * One box, separate processes: a parameter server, a learner (IMPALA only) and N actors, each its own JVM on
 * loopback with ephemeral ports. Polls the learner for progress, stops at the target or the
 * budget, and always shuts every child down (actors first, then the learner so it publishes its
 * last weights, then the parameter server so it writes its final checkpoint). A shutdown hook
 * does the same on Ctrl-C; children also exit by themselves if this process dies.
 */
final class ClusterRun implements AutoCloseable {

    private static final Logger LOG = Logger.getLogger(ClusterRun.class.getName());
    private static final Duration STARTUP = Duration.ofSeconds(120);
    private static final Duration GRACE = Duration.ofSeconds(15);

    /**
     * What to start. Role arguments exclude ports, addresses and files, which this class sets.
     * {@code learnerArgs} null means A3C: no learner; the parameter server trains and reports.
     * {@code secure}: every connection uses mutual TLS and a bearer token, from a throwaway CA
     * generated into {@code <run-dir>/tls/} ({@link LocalTls}).
     */
    record Plan(Path runDir, List<String> parameterServerArgs, List<String> learnerArgs, List<List<String>> actorArgs,
            boolean metrics, boolean secure) {

        /** A plaintext plan. */
        Plan(Path runDir, List<String> parameterServerArgs, List<String> learnerArgs, List<List<String>> actorArgs,
                boolean metrics) {
            this(runDir, parameterServerArgs, learnerArgs, actorArgs, metrics, false);
        }
    }

    /** The outcome of polling. */
    record Outcome(boolean solved, double seconds, LearnerStatus last, String failure) {
    }

    /** Receives each status poll. */
    interface Listener {
        void status(double seconds, LearnerStatus status);
    }

    private final Plan plan;
    private final List<ChildProcess> actors = new ArrayList<>();
    private ChildProcess parameterServer;
    private ChildProcess learner;
    /** Whoever trains and reports progress: the learner, or the parameter server in A3C mode. */
    private ManagedChannel statusChannel;
    private boolean statusFromParameterServer;
    private final Thread hook = new Thread(this::stopAll, "starling-train-shutdown");
    private boolean stopped;

    ClusterRun(Plan plan) {
        this.plan = plan;
        Runtime.getRuntime().addShutdownHook(hook);
    }

    /** Starts the processes in order, each once the one it needs is serving. */
    void start() throws IOException, InterruptedException {
        Path ports = plan.runDir().resolve("ports");
        Path logs = plan.runDir().resolve("logs");
        Path psPort = ports.resolve("parameter-server.port");
        LocalTls tls = null;
        Security security = Security.NONE;
        if (plan.secure()) {
            tls = LocalTls.generate(plan.runDir().resolve("tls"));
            security = tls.client();
            LOG.info("mutual TLS and a bearer token on every connection; certificates and token in " + tls.dir());
        }
        List<String> psArgs = new ArrayList<>(List.of("parameter-server", "--port", "0", "--port-file", psPort.toString(),
                "--checkpoint-dir", plan.runDir().resolve("checkpoints").toString()));
        psArgs.addAll(plan.parameterServerArgs());
        psArgs.addAll(metricsArgs(ports, "parameter-server"));
        if (tls != null) {
            psArgs.addAll(tls.serverArgs());
        }
        parameterServer = ChildProcess.start("parameter-server", "512m", psArgs, logs.resolve("parameter-server.log"));
        String ps = "localhost:" + parameterServer.awaitPort(psPort, STARTUP);
        LOG.info("parameter server up at " + ps + " (pid " + parameterServer.pid() + ")");

        String learnerTarget = ps;
        if (plan.learnerArgs() != null) {
            Path learnerPort = ports.resolve("learner.port");
            List<String> learnerArgs = new ArrayList<>(List.of("learner", "--port", "0", "--port-file",
                    learnerPort.toString(), "--parameter-server", ps));
            learnerArgs.addAll(plan.learnerArgs());
            learnerArgs.addAll(metricsArgs(ports, "learner"));
            if (tls != null) {
                learnerArgs.addAll(tls.serverArgs());
            }
            learner = ChildProcess.start("learner", "1g", learnerArgs, logs.resolve("learner.log"));
            learnerTarget = "localhost:" + learner.awaitPort(learnerPort, STARTUP);
            LOG.info("learner up at " + learnerTarget + " (pid " + learner.pid() + ")");
        }
        statusFromParameterServer = plan.learnerArgs() == null;
        statusChannel = Channels.create(learnerTarget, 4 << 20, security, null);

        for (int i = 0; i < plan.actorArgs().size(); i++) {
            List<String> args = new ArrayList<>(List.of("actor", "--actor-id", "actor-" + i, "--parameter-server", ps));
            if (learner != null) {
                args.addAll(List.of("--learner", learnerTarget));
            }
            args.addAll(plan.actorArgs().get(i));
            args.addAll(metricsArgs(ports, "actor-" + i));
            if (tls != null) {
                args.addAll(tls.clientArgs());
            }
            actors.add(ChildProcess.start("actor-" + i, "512m", args, logs.resolve("actor-" + i + ".log")));
        }
        LOG.info(actors.size() + " actors started; logs in " + logs);
    }

    /**
     * Polls the learner every {@code every} until solved (a full 100-episode window averaging at
     * least {@code targetReturn}), the frame or time budget, or a child dying.
     */
    Outcome await(double targetReturn, long maxFrames, double maxSeconds, Duration every, Listener listener)
            throws InterruptedException {
        long start = System.nanoTime();
        LearnerStatus last = LearnerStatus.getDefaultInstance();
        long lastContact = System.nanoTime();
        while (true) {
            Thread.sleep(every.toMillis());
            double seconds = (System.nanoTime() - start) / 1e9;
            for (ChildProcess c : children()) {
                if (!c.isAlive()) {
                    return new Outcome(false, seconds, last, c.name() + " exited with code " + c.exitCode()
                            + "; last lines of its log:\n" + c.tail(30));
                }
            }
            try {
                last = statusFromParameterServer
                        ? ParameterServerGrpc.newBlockingStub(statusChannel).withDeadlineAfter(2, TimeUnit.SECONDS)
                                .getStatus(LearnerStatusRequest.getDefaultInstance())
                        : LearnerGrpc.newBlockingStub(statusChannel).withDeadlineAfter(2, TimeUnit.SECONDS)
                                .getStatus(LearnerStatusRequest.getDefaultInstance());
                lastContact = System.nanoTime();
                listener.status(seconds, last);
            } catch (StatusRuntimeException e) {
                if (System.nanoTime() - lastContact > Duration.ofSeconds(30).toNanos()) {
                    return new Outcome(false, seconds, last, (statusFromParameterServer ? "parameter server" : "learner")
                            + " did not answer for 30 s: " + e.getStatus());
                }
                continue;
            }
            boolean solved = last.getEpisodes() >= 100 && last.getAverageReturn() >= targetReturn;
            boolean outOfBudget = (maxFrames > 0 && last.getFrames() >= maxFrames) || (maxSeconds > 0 && seconds >= maxSeconds);
            if (solved || outOfBudget) {
                return new Outcome(solved, seconds, last, null);
            }
        }
    }

    /** With metrics on: serve /metrics on a free port and say which in {@code ports/<role>.metrics}. */
    private List<String> metricsArgs(Path ports, String role) {
        return plan.metrics()
                ? List.of("--metrics-port", "0", "--metrics-port-file", ports.resolve(role + ".metrics").toString())
                : List.of();
    }

    /** Each running child's pid by role name (for the soak monitor). */
    Map<String, Long> pids() {
        Map<String, Long> pids = new LinkedHashMap<>();
        for (ChildProcess c : children()) {
            pids.put(c.name(), c.pid());
        }
        return pids;
    }

    private List<ChildProcess> children() {
        List<ChildProcess> all = new ArrayList<>(actors);
        if (learner != null) {
            all.add(learner);
        }
        if (parameterServer != null) {
            all.add(parameterServer);
        }
        return all;
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
        actors.parallelStream().forEach(a -> a.stop(GRACE));
        if (learner != null) {
            learner.stop(GRACE);
        }
        if (parameterServer != null) {
            parameterServer.stop(GRACE);
        }
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
