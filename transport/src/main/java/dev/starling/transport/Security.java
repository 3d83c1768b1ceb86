package dev.starling.transport;

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
 * optional mutual TLS, an optional bearer token this process presents, and optional token
 * digests its server verifies callers' tokens with. {@link #NONE} (nothing set) is plaintext
 * without authentication, the default.
 *
 * <p>Mutual TLS takes three PEM files: {@code certChain} (this process's certificate, then any
 * intermediates), {@code privateKey} (PKCS#8) and {@code trustCerts} (the CA certificates a peer's
 * certificate must chain to). A server presents its certificate and requires one from every
 * client; a client presents its certificate and checks the server's against the trusted CAs and
 * the host name it dialled. Certificates used by a process that both serves and calls (the
 * learner) need both the serverAuth and clientAuth key usages. A client certificate names its
 * {@link Role} in a SAN URI {@code starling:role:<role>}.
 *
 * <p>{@code token} is what this process sends as {@code authorization: Bearer <token>} on every
 * call; {@code tokenRoles} is what its server checks callers' tokens against (digests only, see
 * {@link TokenRoles}). A server with TLS or token digests authenticates every call (health
 * checks included) and authorizes it by the caller's role (see {@link Servers#netty(int, int,
 * Security, io.micrometer.core.instrument.MeterRegistry, String)} and {@link Authorization}). A
 * token without TLS travels in clear text: use both outside a trusted network.
 *
 * <p>The compact constructor checks that TLS is configured all or nothing, that the files are
 * readable, and that the token is a valid header value. Immutable; {@link #toString()} never
 * shows the token.
 */
public record Security(Path certChain, Path privateKey, Path trustCerts, String token, TokenRoles tokenRoles) {

    /** Plaintext, no token. */
    public static final Security NONE = new Security(null, null, null, null, null);

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

    /** Security that verifies no callers' tokens (a client, or a server authenticating by certificate only). */
    public Security(Path certChain, Path privateKey, Path trustCerts, String token) {
        this(certChain, privateKey, trustCerts, token, null);
    }

    /**
     * Security from file paths, any of which may be null: the three TLS files (all or none) and a
     * file holding the bearer token (surrounding whitespace is ignored).
     *
     * @throws IllegalArgumentException if a file is missing or unreadable, TLS is set partially,
     *     or the token is empty or not a valid header value
     */
    public static Security fromFiles(Path certChain, Path privateKey, Path trustCerts, Path tokenFile) {
        return fromFiles(certChain, privateKey, trustCerts, tokenFile, null);
    }

    /**
     * As {@link #fromFiles(Path, Path, Path, Path)}, plus {@code tokenHashes} (may be null): the
     * {@link TokenRoles} file a server checks callers' tokens against.
     */
    public static Security fromFiles(Path certChain, Path privateKey, Path trustCerts, Path tokenFile,
            Path tokenHashes) {
        return new Security(certChain, privateKey, trustCerts, tokenFile == null ? null : readToken(tokenFile),
                tokenHashes == null ? null : TokenRoles.load(tokenHashes));
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

    /** True if this process presents a bearer token. */
    public boolean tokenAuth() {
        return token != null;
    }

    /** True if this process's server checks callers' bearer tokens. */
    public boolean verifiesTokens() {
        return tokenRoles != null;
    }

    /**
     * True if this process's server authenticates and authorizes every call: it requires client
     * certificates, or checks tokens, or both.
     */
    public boolean authenticates() {
        return tls() || verifiesTokens();
    }

    /** True if neither TLS nor a token nor token digests are set. */
    public boolean plaintext() {
        return !tls() && !tokenAuth() && !verifiesTokens();
    }

    /** This security with {@code token} (null: none). */
    public Security withToken(String token) {
        return new Security(certChain, privateKey, trustCerts, token, tokenRoles);
    }

    /** This security with {@code tokenRoles} (null: callers' tokens are not checked). */
    public Security withTokenRoles(TokenRoles tokenRoles) {
        return new Security(certChain, privateKey, trustCerts, token, tokenRoles);
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
                ? "mutual TLS (certificate " + certChain + certificateRole() + ", key " + privateKey + ", trusted CAs "
                        + trustCerts + ")"
                : "plaintext";
        return transport + (tokenAuth() ? ", bearer token" : ", no token")
                + (verifiesTokens() ? ", checking callers' tokens against " + tokenRoles : "");
    }

    private String certificateRole() {
        try {
            return " of role " + Role.ofCertificateFile(certChain);
        } catch (IllegalArgumentException e) {
            return " naming no role";
        }
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
    static void checkToken(String token) {
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
