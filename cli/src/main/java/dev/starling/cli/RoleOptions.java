package dev.starling.cli;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.logging.Logger;

import dev.starling.transport.Channels;
import dev.starling.transport.Role;
import dev.starling.transport.Security;
import dev.starling.transport.metrics.MetricsServer;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * Options every long-running role shares: message limit, transport security (mutual TLS, bearer
 * token, the role's identity), metrics endpoint, port files, parent watchdog. The role is the
 * command these options are mixed into ({@code parameter-server}, {@code learner}, {@code actor}).
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

    @Option(names = "--credentials", paramLabel = "DIR",
            description = "A folder written by 'starling credentials' (or 'train --secure'): this role uses its own"
                    + " subfolder DIR/<role>/ (certificate, key, CA, token and, on servers, the token hashes). Replaces"
                    + " --tls-cert, --tls-key, --tls-trust, --auth-token-file and --auth-token-hashes.")
    Path credentials;

    @Option(names = "--tls-cert", paramLabel = "FILE",
            description = "Mutual TLS: PEM certificate chain this role presents, as server and as client (needs"
                    + " --tls-key and --tls-trust; all three or none). Servers then require a client certificate and"
                    + " take the caller's role from it (SAN URI starling:role:<role>); this role's own certificate"
                    + " must name this role.")
    Path tlsCert;

    @Option(names = "--tls-key", paramLabel = "FILE", description = "Mutual TLS: PEM (PKCS#8) private key of --tls-cert.")
    Path tlsKey;

    @Option(names = "--tls-trust", paramLabel = "FILE",
            description = "Mutual TLS: PEM CA certificates that peers' certificates must chain to.")
    Path tlsTrust;

    @Option(names = "--auth-token-file", paramLabel = "FILE",
            description = "File holding this role's own bearer token, sent on every call. The parameter server and"
                    + " the learner then need --auth-token-hashes too, to check their callers' tokens. Use with TLS off"
                    + " loopback.")
    Path authTokenFile;

    @Option(names = "--auth-token-hashes", paramLabel = "FILE",
            description = "Servers: file of '<role> <sha256-hex>' lines, the digests of the tokens callers present;"
                    + " a call without a listed token is refused (UNAUTHENTICATED), health checks included, and the"
                    + " token's role decides what it may call.")
    Path authTokenHashes;

    /** The command this is mixed into: its name is the role. Null outside picocli. */
    @Spec(Spec.Target.MIXEE)
    CommandSpec command;

    @Option(names = "--parent-pid", defaultValue = "0",
            description = "Exit when this process ends (the launcher passes its own pid, so no child outlives it).")
    long parentPid;

    /**
     * The transport security these options ask for (plaintext by default). Blank paths (an empty
     * environment variable) count as unset.
     *
     * @throws IllegalArgumentException naming the option, if TLS is set partially, a file is
     *     missing or unreadable, the token file is empty or holds an invalid token, a server has a
     *     token but no token hashes, or the certificate names another role (or, for a role that
     *     calls others, none)
     */
    Security security() {
        Role role = role();
        Path cert = unlessBlank(tlsCert);
        Path key = unlessBlank(tlsKey);
        Path trust = unlessBlank(tlsTrust);
        Path tokenFile = unlessBlank(authTokenFile);
        Path tokenHashes = unlessBlank(authTokenHashes);
        Path folder = unlessBlank(credentials);
        if (folder != null) {
            List<String> also = new ArrayList<>();
            addIfSet(also, cert, "--tls-cert");
            addIfSet(also, key, "--tls-key");
            addIfSet(also, trust, "--tls-trust");
            addIfSet(also, tokenFile, "--auth-token-file");
            addIfSet(also, tokenHashes, "--auth-token-hashes");
            if (!also.isEmpty()) {
                throw new IllegalArgumentException("--credentials replaces " + String.join(", ", also)
                        + ": give one or the other");
            }
            if (role == null) {
                throw new IllegalStateException("--credentials needs the role, the name of the command");
            }
            return checked(role, new Credentials(folder).security(role));
        }
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
        Security security = Security.fromFiles(cert, key, trust, tokenFile, tokenHashes);
        return role == null ? security : checked(role, security);
    }

    /** The role these options serve (the command's name), or null outside picocli. */
    Role role() {
        if (command == null) {
            return null;
        }
        try {
            return Role.of(command.name());
        } catch (IllegalArgumentException e) {
            return null;
        }
    }

    /**
     * {@code security} if it fits {@code role}: a server with a token also checks callers'
     * tokens; a certificate names this role (one that calls no one, the parameter server, may
     * also have a certificate naming none).
     */
    private static Security checked(Role role, Security security) {
        if (Credentials.SERVING.contains(role) && security.tokenAuth() && !security.verifiesTokens()) {
            throw new IllegalArgumentException("the " + role + " serves, so with --auth-token-file it needs"
                    + " --auth-token-hashes too: the digests of the tokens its callers present");
        }
        if (security.tls()) {
            Role named;
            try {
                named = Role.ofCertificateFile(security.certChain());
            } catch (IllegalArgumentException e) {
                if (role == Role.PARAMETER_SERVER) {
                    return security;
                }
                throw new IllegalArgumentException(e.getMessage() + "; servers would refuse this " + role
                        + "'s calls", e);
            }
            if (named != role) {
                throw new IllegalArgumentException("the certificate in " + security.certChain() + " names the role "
                        + named + " (SAN " + named.uri() + "), but this is the " + role);
            }
        }
        return security;
    }

    private static void addIfSet(List<String> names, Path value, String option) {
        if (value != null) {
            names.add(option);
        }
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
