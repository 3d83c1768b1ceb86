package dev.starling.cli;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.stream.Stream;

import dev.starling.transport.Role;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code starling credentials --out DIR}: a CA and one identity per role for a cluster run by
 * hand, with compose or on Kubernetes, in the {@link Credentials} layout.
 */
@Command(name = "credentials", mixinStandardHelpOptions = true,
        description = {"Write a new CA and one identity per role (parameter-server, learner, actor, observer):"
                + " certificate, private key and bearer token, plus the token hashes the servers check callers"
                + " against. Each role then runs with --credentials DIR and reads only DIR/<role>/.",
            "%nThe certificates of the parameter server and the learner are valid for localhost, 127.0.0.1, their"
                + " role name (the compose service) and <role>.starling, <role>.starling.svc,"
                + " <role>.starling.svc.cluster.local (the Kubernetes service); add names with --host. The CA's key is"
                + " not kept: to renew or add an identity, write a new folder and give it to every role."})
final class CredentialsCommand implements Callable<Integer> {

    @Option(names = "--out", required = true, paramLabel = "DIR", description = "Folder to write (created if needed).")
    Path out;

    @Option(names = "--host", paramLabel = "ROLE=NAME",
            description = "One more host name or IP address a server's certificate is valid for (repeatable), e.g."
                    + " parameter-server=ps.example.org or learner=10.0.0.7. ROLE is parameter-server or learner.")
    List<String> hosts = new ArrayList<>();

    @Option(names = "--days", defaultValue = "365",
            description = "Days the certificates are valid (1 to 3650). Default: ${DEFAULT-VALUE}.")
    int days;

    @Option(names = "--force", description = "Replace the credentials in a folder that is not empty.")
    boolean force;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws IOException {
        if (days < 1 || days > 3650) {
            throw new IllegalArgumentException("--days must be in [1, 3650], got " + days);
        }
        Map<Role, List<String>> names = hostNames(hosts);
        if (!force && Files.isDirectory(out)) {
            try (Stream<Path> entries = Files.list(out)) {
                if (entries.findAny().isPresent()) {
                    throw new IllegalArgumentException("--out " + out + " is not empty: choose a new folder, or add"
                            + " --force to replace the credentials in it");
                }
            }
        }
        Credentials credentials = Credentials.generate(out, names, Duration.ofDays(days));
        PrintWriter w = spec.commandLine().getOut();
        w.printf("wrote a new CA and an identity per role to %s (valid %d days; the CA's key was not kept)%n", out, days);
        for (Role role : Role.values()) {
            boolean serving = Credentials.SERVING.contains(role);
            w.printf("  %-17s %s: %s, %s, %s, %s%s%n", role.id(), credentials.roleDir(role), Credentials.CERT,
                    Credentials.KEY, Credentials.TOKEN, Credentials.CA, serving ? ", " + Credentials.TOKEN_HASHES : "");
        }
        w.printf("run each role with its own folder, e.g. 'starling learner --credentials %s' (or"
                + " STARLING_CREDENTIALS=%s); names in the server certificates: parameter-server %s, learner %s;"
                + " the observer identity is for status and health tools%n", out, out,
                names.get(Role.PARAMETER_SERVER), names.get(Role.LEARNER));
        return 0;
    }

    /** The default names of each serving role plus the {@code ROLE=NAME} extras. */
    static Map<Role, List<String>> hostNames(List<String> extra) {
        Map<Role, Set<String>> names = new EnumMap<>(Role.class);
        for (Role role : Credentials.SERVING) {
            names.put(role, new LinkedHashSet<>(List.of("localhost", "127.0.0.1", role.id(), role.id() + ".starling",
                    role.id() + ".starling.svc", role.id() + ".starling.svc.cluster.local")));
        }
        for (String e : extra) {
            int eq = e.indexOf('=');
            Role role = null;
            if (eq > 0) {
                try {
                    role = Role.of(e.substring(0, eq));
                } catch (IllegalArgumentException ignored) {
                    role = null;
                }
            }
            String name = eq > 0 ? e.substring(eq + 1).strip() : "";
            if (role == null || !Credentials.SERVING.contains(role) || name.isEmpty()) {
                throw new IllegalArgumentException("--host '" + e + "': expected parameter-server=NAME or learner=NAME");
            }
            names.get(role).add(name);
        }
        Map<Role, List<String>> result = new EnumMap<>(Role.class);
        names.forEach((role, set) -> result.put(role, List.copyOf(set)));
        return result;
    }
}
