package dev.starling.cli;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import dev.starling.transport.Role;
import dev.starling.transport.Security;

/**
 * Throwaway credentials for one {@code starling train --secure} run on loopback, in
 * {@code <run-dir>/tls/}: a CA (its key is never written, so nothing more can be signed) and one
 * certificate, key and token per role in the {@link Credentials} layout (the parameter server's
 * and the learner's certificates valid for localhost and 127.0.0.1), valid for 30 days. Every
 * child gets {@code --credentials <run-dir>/tls} and reads its own role's folder; the launcher
 * polls status as the {@link Role#OBSERVER}.
 */
record LocalTls(Credentials credentials) {

    static final Duration VALIDITY = Duration.ofDays(30);
    static final List<String> LOOPBACK = List.of("localhost", "127.0.0.1");

    /** Generates everything into {@code dir} (created if needed; existing files are replaced). */
    static LocalTls generate(Path dir) throws IOException {
        return new LocalTls(Credentials.generate(dir, Map.of(Role.PARAMETER_SERVER, LOOPBACK, Role.LEARNER, LOOPBACK),
                VALIDITY));
    }

    Path dir() {
        return credentials.dir();
    }

    /** What {@code role} presents and checks. */
    Security security(Role role) {
        return credentials.security(role);
    }

    /**
     * What the launcher presents to poll status: the observer's identity, which may read status
     * and health only. To read the weights it evaluates it presents the actor's ({@link #security}).
     */
    Security client() {
        return security(Role.OBSERVER);
    }

    /** Role options for any child: each reads its own role's folder. */
    List<String> args() {
        return List.of("--credentials", dir().toString());
    }

    /** Role options for the parameter server and the learner (the same as {@link #args()}). */
    List<String> serverArgs() {
        return args();
    }

    /** Role options for actors (the same as {@link #args()}). */
    List<String> clientArgs() {
        return args();
    }
}
