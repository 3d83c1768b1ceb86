package dev.starling.common.grpc;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import io.grpc.ChannelCredentials;
import io.grpc.CompositeChannelCredentials;
import io.grpc.InsecureChannelCredentials;
import io.grpc.InsecureServerCredentials;
import io.grpc.Metadata;
import io.grpc.ServerCredentials;
import io.grpc.TlsChannelCredentials;
import io.grpc.TlsServerCredentials;

/**
 * Transport security of one Starling process, the same for its server and its client channels:
 * optional mutual TLS and an optional bearer token. {@link #NONE} (nothing set) is plaintext
 * without authentication, the default.
 *
 * <p>Mutual TLS takes three PEM files: {@code certChain} (this process's certificate, then any
 * intermediates), {@code privateKey} (PKCS#8) and {@code trustCerts} (the CA certificates a peer's
 * certificate must chain to). A server presents its certificate and requires one from every
 * client; a client presents its certificate and checks the server's against the trusted CAs and
 * the host name it dialled. Certificates used by a process that both serves and calls (the
 * learner) need both the serverAuth and clientAuth key usages.
 *
 * <p>With a token, servers refuse every call (health checks included) whose
 * {@code authorization} header is not {@code Bearer <token>} with UNAUTHENTICATED
 * ({@link BearerTokenInterceptor}), and clients send that header on every call. A token without
 * TLS travels in clear text: use both outside a trusted network.
 *
 * <p>The compact constructor checks that TLS is configured all or nothing, that the files are
 * readable, and that the token is a valid header value. Immutable; {@link #toString()} never
 * shows the token.
 */
public record Security(Path certChain, Path privateKey, Path trustCerts, String token) {

    /** Plaintext, no token. */
    public static final Security NONE = new Security(null, null, null, null);

    /** The header a bearer token travels in. */
    static final Metadata.Key<String> AUTHORIZATION = Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER);
    static final String BEARER_PREFIX = "Bearer ";

    public Security {
        List<String> missing = new ArrayList<>();
        if (certChain == null) {
            missing.add("certificate chain");
        }
        if (privateKey == null) {
            missing.add("private key");
        }
        if (trustCerts == null) {
            missing.add("trusted CA certificates");
        }
        if (!missing.isEmpty() && missing.size() < 3) {
            throw new IllegalArgumentException("mutual TLS needs a certificate chain, a private key and trusted CA"
                    + " certificates (all three or none); missing: " + String.join(", ", missing));
        }
        requireReadable(certChain, "TLS certificate chain");
        requireReadable(privateKey, "TLS private key");
        requireReadable(trustCerts, "TLS trusted CA certificates");
        if (token != null) {
            checkToken(token);
        }
    }

    /**
     * Security from file paths, any of which may be null: the three TLS files (all or none) and a
     * file holding the bearer token (surrounding whitespace is ignored).
     *
     * @throws IllegalArgumentException if a file is missing or unreadable, TLS is set partially,
     *     or the token is empty or not a valid header value
     */
    public static Security fromFiles(Path certChain, Path privateKey, Path trustCerts, Path tokenFile) {
        return new Security(certChain, privateKey, trustCerts, tokenFile == null ? null : readToken(tokenFile));
    }

    /** The token in {@code file}, without surrounding whitespace. */
    public static String readToken(Path file) {
        requireReadable(file, "bearer token");
        try {
            String token = Files.readString(file, StandardCharsets.UTF_8).strip();
            if (token.isEmpty()) {
                throw new IllegalArgumentException("bearer token file " + file + " is empty");
            }
            checkToken(token);
            return token;
        } catch (IOException e) {
            throw new IllegalArgumentException("cannot read the bearer token file " + file + ": " + e.getMessage(), e);
        }
    }

    public boolean tls() {
        return certChain != null;
    }

    public boolean tokenAuth() {
        return token != null;
    }

    /** True if neither TLS nor a token is set. */
    public boolean plaintext() {
        return !tls() && !tokenAuth();
    }

    /** This security with {@code token} (null: none). */
    public Security withToken(String token) {
        return new Security(certChain, privateKey, trustCerts, token);
    }

    /** Server credentials: TLS requiring a client certificate, or insecure. */
    public ServerCredentials serverCredentials() {
        if (!tls()) {
            return InsecureServerCredentials.create();
        }
        try {
            return TlsServerCredentials.newBuilder()
                    .keyManager(certChain.toFile(), privateKey.toFile())
                    .trustManager(trustCerts.toFile())
                    .clientAuth(TlsServerCredentials.ClientAuth.REQUIRE)
                    .build();
        } catch (IOException e) {
            throw new IllegalArgumentException("cannot read the TLS files: " + e.getMessage(), e);
        }
    }

    /** Channel credentials: TLS with this process's certificate, or insecure; plus the token if set. */
    public ChannelCredentials channelCredentials() {
        ChannelCredentials transport;
        if (tls()) {
            try {
                transport = TlsChannelCredentials.newBuilder()
                        .keyManager(certChain.toFile(), privateKey.toFile())
                        .trustManager(trustCerts.toFile())
                        .build();
            } catch (IOException e) {
                throw new IllegalArgumentException("cannot read the TLS files: " + e.getMessage(), e);
            }
        } else {
            transport = InsecureChannelCredentials.create();
        }
        return tokenAuth() ? CompositeChannelCredentials.create(transport, new BearerTokenCredentials(token)) : transport;
    }

    @Override
    public String toString() {
        if (plaintext()) {
            return "plaintext, no token";
        }
        String transport = tls()
                ? "mutual TLS (certificate " + certChain + ", key " + privateKey + ", trusted CAs " + trustCerts + ")"
                : "plaintext";
        return transport + (tokenAuth() ? ", bearer token" : ", no token");
    }

    private static void requireReadable(Path file, String what) {
        if (file == null) {
            return;
        }
        if (!Files.isRegularFile(file)) {
            throw new IllegalArgumentException(what + " file " + file + " does not exist or is not a file");
        }
        if (!Files.isReadable(file)) {
            throw new IllegalArgumentException(what + " file " + file + " is not readable");
        }
    }

    /** Visible ASCII only, so the token is a valid header value and cannot smuggle a line break. */
    private static void checkToken(String token) {
        if (token.isEmpty()) {
            throw new IllegalArgumentException("bearer token is empty");
        }
        for (int i = 0; i < token.length(); i++) {
            char c = token.charAt(i);
            if (c < 0x21 || c > 0x7e) {
                throw new IllegalArgumentException("bearer token may hold only visible ASCII characters"
                        + " (no spaces or control characters); character " + i + " is not");
            }
        }
    }
}
