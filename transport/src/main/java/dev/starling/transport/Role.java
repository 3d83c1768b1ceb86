package dev.starling.transport;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.CertificateParsingException;
import java.security.cert.X509Certificate;
import java.util.Collection;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.TreeSet;

import io.grpc.Context;

/**
 * Who a caller is, as far as {@link Authorization} cares: one of Starling's roles.
 *
 * <p>The identity rule: a certificate names its role in exactly one subject alternative name of
 * type URI, {@code starling:role:<role>} (e.g. {@code starling:role:learner}); the subject's CN
 * is not consulted. A bearer token names its role through the server's {@link TokenRoles} file.
 * {@link #OBSERVER} is for the {@code train} launcher and other read-only tools: it may read
 * status and health, nothing else.
 */
public enum Role {
    PARAMETER_SERVER("parameter-server"),
    LEARNER("learner"),
    ACTOR("actor"),
    OBSERVER("observer");

    /** Prefix of the SAN URI that names a certificate's role. */
    public static final String URI_PREFIX = "starling:role:";

    /** The authenticated caller's role, set by the authentication interceptor for the rest of the call. */
    static final Context.Key<Role> CALLER = Context.key("starling-caller-role");

    private static final int SAN_URI = 6;

    private final String id;

    Role(String id) {
        this.id = id;
    }

    /** The role's name on the command line, in files and in certificates, e.g. {@code parameter-server}. */
    public String id() {
        return id;
    }

    /** The SAN URI a certificate of this role carries, e.g. {@code starling:role:learner}. */
    public String uri() {
        return URI_PREFIX + id;
    }

    @Override
    public String toString() {
        return id;
    }

    /**
     * The role named {@code id} ({@code parameter-server}, {@code learner}, {@code actor},
     * {@code observer}).
     *
     * @throws IllegalArgumentException naming the known roles if there is none such
     */
    public static Role of(String id) {
        for (Role r : values()) {
            if (r.id.equals(id)) {
                return r;
            }
        }
        throw new IllegalArgumentException("unknown role '" + id + "': expected one of " + ids());
    }

    /** The known role names, comma-separated. */
    public static String ids() {
        StringBuilder b = new StringBuilder();
        for (Role r : values()) {
            b.append(b.length() == 0 ? "" : ", ").append(r.id);
        }
        return b.toString();
    }

    /**
     * The authenticated caller of the current gRPC call on a secured server, or null (a
     * plaintext server without tokens, or outside a call).
     */
    public static Role caller() {
        return CALLER.get();
    }

    /**
     * The role {@code cert} names ({@link #URI_PREFIX}{@code <role>} SAN URIs).
     *
     * @throws IllegalArgumentException saying why if it names none, an unknown one, or two different ones
     */
    public static Role ofCertificate(X509Certificate cert) {
        Set<String> named = new TreeSet<>();
        try {
            Collection<List<?>> sans = cert.getSubjectAlternativeNames();
            if (sans != null) {
                for (List<?> san : sans) {
                    if (san.size() >= 2 && san.get(0) instanceof Integer type && type == SAN_URI
                            && san.get(1) instanceof String uri
                            && uri.toLowerCase(Locale.ROOT).startsWith(URI_PREFIX)) {
                        named.add(uri.substring(URI_PREFIX.length()));
                    }
                }
            }
        } catch (CertificateParsingException e) {
            throw new IllegalArgumentException("its subject alternative names do not parse: " + e.getMessage(), e);
        }
        if (named.isEmpty()) {
            throw new IllegalArgumentException("it names no Starling role (it needs a subject alternative name URI "
                    + URI_PREFIX + "<role>, one of " + ids() + ")");
        }
        if (named.size() > 1) {
            throw new IllegalArgumentException("it names more than one role: " + named);
        }
        String id = named.iterator().next();
        try {
            return of(id);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("it names " + e.getMessage(), e);
        }
    }

    /**
     * The role named by the first certificate of the PEM chain in {@code file}.
     *
     * @throws IllegalArgumentException naming the file and why if it cannot be read or names no single known role
     */
    public static Role ofCertificateFile(Path file) {
        X509Certificate cert;
        try (InputStream in = Files.newInputStream(file)) {
            cert = (X509Certificate) CertificateFactory.getInstance("X.509").generateCertificate(in);
        } catch (IOException | CertificateException | ClassCastException e) {
            throw new IllegalArgumentException("cannot read the certificate in " + file + ": " + e.getMessage(), e);
        }
        try {
            return ofCertificate(cert);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("the certificate in " + file + " does not name a role: "
                    + e.getMessage(), e);
        }
    }
}
