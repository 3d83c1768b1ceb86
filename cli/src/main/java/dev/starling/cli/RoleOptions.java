package dev.starling.cli;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.logging.Logger;

import dev.starling.common.grpc.Channels;
import dev.starling.common.grpc.Security;
import dev.starling.common.metrics.MetricsServer;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import picocli.CommandLine.Option;

/**
 * Options every long-running role shares: message limit, transport security (mutual TLS, bearer
 * token), metrics endpoint, port files, parent watchdog.
 */
final class RoleOptions {

    private static final Logger LOG = Logger.getLogger(RoleOptions.class.getName());

    @Option(names = "--max-message-bytes", defaultValue = "" + Channels.DEFAULT_MAX_MESSAGE_BYTES,
            description = "Largest gRPC message accepted or sent. Default: ${DEFAULT-VALUE}.")
    int maxMessageBytes;

    @Option(names = "--metrics-port", defaultValue = "-1",
            description = "Serve Prometheus metrics on this port at /metrics (0 = any free port, -1 = off). Default: ${DEFAULT-VALUE}.")
    int metricsPort;

    @Option(names = "--metrics-port-file", paramLabel = "FILE",
            description = "Write the bound metrics port here once serving (for launchers using --metrics-port 0).")
    Path metricsPortFile;

    @Option(names = "--port-file", paramLabel = "FILE",
            description = "Write the bound gRPC port here once serving (for launchers using port 0).")
    Path portFile;

    @Option(names = "--tls-cert", paramLabel = "FILE",
            description = "Mutual TLS: PEM certificate chain this role presents, as server and as client (needs"
                    + " --tls-key and --tls-trust; all three or none). Servers then require a client certificate.")
    Path tlsCert;

    @Option(names = "--tls-key", paramLabel = "FILE", description = "Mutual TLS: PEM (PKCS#8) private key of --tls-cert.")
    Path tlsKey;

    @Option(names = "--tls-trust", paramLabel = "FILE",
            description = "Mutual TLS: PEM CA certificates that peers' certificates must chain to.")
    Path tlsTrust;

    @Option(names = "--auth-token-file", paramLabel = "FILE",
            description = "File holding a bearer token: this role sends it on every call, and its server refuses"
                    + " calls without it (UNAUTHENTICATED), health checks included. Use with TLS off loopback.")
    Path authTokenFile;

    @Option(names = "--parent-pid", defaultValue = "0",
            description = "Exit when this process ends (the launcher passes its own pid, so no child outlives it).")
    long parentPid;

    /**
     * The transport security these options ask for (plaintext by default). Blank paths (an empty
     * environment variable) count as unset.
     *
     * @throws IllegalArgumentException naming the option, if TLS is set partially, a file is
     *     missing or unreadable, or the token file is empty or holds an invalid token
     */
    Security security() {
        Path cert = unlessBlank(tlsCert);
        Path key = unlessBlank(tlsKey);
        Path trust = unlessBlank(tlsTrust);
        List<String> missing = new ArrayList<>();
        if (cert == null) {
            missing.add("--tls-cert");
        }
        if (key == null) {
            missing.add("--tls-key");
        }
        if (trust == null) {
            missing.add("--tls-trust");
        }
        if (!missing.isEmpty() && missing.size() < 3) {
            throw new IllegalArgumentException("mutual TLS needs --tls-cert, --tls-key and --tls-trust together; missing "
                    + String.join(", ", missing));
        }
        return Security.fromFiles(cert, key, trust, unlessBlank(authTokenFile));
    }

    private static Path unlessBlank(Path p) {
        return p == null || p.toString().isBlank() ? null : p;
    }

    /** Starts the metrics endpoint if asked; null otherwise. */
    MetricsServer startMetrics(PrometheusMeterRegistry registry) throws IOException {
        if (metricsPort < 0) {
            return null;
        }
        MetricsServer server = new MetricsServer(metricsPort, registry);
        LOG.info("metrics at http://localhost:" + server.port() + "/metrics");
        writeAtomically(metricsPortFile, server.port());
        return server;
    }

    /**
     * On SIGTERM or Ctrl-C: closes the role (its own clean stop: final checkpoint or publish),
     * then the metrics endpoint if one runs.
     */
    static void closeOnShutdown(String role, AutoCloseable service, MetricsServer metrics) {
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            LOG.info("stopping " + role);
            try {
                service.close();
            } catch (Exception e) {
                LOG.warning("stopping " + role + " failed: " + e);
            }
            if (metrics != null) {
                metrics.close();
            }
        }, "starling-" + role + "-shutdown"));
    }

    /** Writes the port atomically (temp file, rename) so a reader never sees a partial number. */
    void writePort(int port) throws IOException {
        writeAtomically(portFile, port);
    }

    private static void writeAtomically(Path file, int port) throws IOException {
        if (file == null) {
            return;
        }
        Path dir = file.toAbsolutePath().getParent();
        Files.createDirectories(dir);
        Path tmp = Files.createTempFile(dir, ".port", ".tmp");
        Files.writeString(tmp, Integer.toString(port), StandardCharsets.US_ASCII);
        Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    }

    /**
     * If a parent pid was given, a daemon thread exits this JVM (running shutdown hooks, so the
     * role closes cleanly) once the parent is gone.
     */
    void watchParent() {
        if (parentPid <= 0) {
            return;
        }
        Thread t = new Thread(() -> {
            while (ProcessHandle.of(parentPid).map(ProcessHandle::isAlive).orElse(false)) {
                try {
                    Thread.sleep(1000);
                } catch (InterruptedException e) {
                    return;
                }
            }
            LOG.warning("parent process " + parentPid + " is gone; shutting down");
            System.exit(0);
        }, "starling-parent-watch");
        t.setDaemon(true);
        t.start();
    }
}
