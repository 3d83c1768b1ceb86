package dev.starling.cli;

import java.io.IOException;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.Date;
import java.util.HexFormat;
import java.util.List;

import dev.starling.common.grpc.Security;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.CertIOException;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509ExtensionUtils;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/**
 * Throwaway mutual-TLS material for one {@code starling train --secure} run on loopback, in
 * {@code <run-dir>/tls/}: a CA ({@code ca.pem}; its key is never written, so nothing more can be
 * signed), a server certificate for the parameter server and the learner ({@code server.pem},
 * {@code server.key}; SAN localhost and 127.0.0.1; serverAuth and clientAuth, as the learner also
 * calls the parameter server), a client certificate for actors and the launcher
 * ({@code client.pem}, {@code client.key}; clientAuth) and a random 256-bit bearer token
 * ({@code token}). Keys are EC P-256 in PKCS#8 PEM; certificates are valid for 30 days. Keys and
 * token are owner-only (0600) where the file system has POSIX permissions.
 *
 * <p>Bouncy Castle only builds the certificates; keys, signatures and parsing use the JDK's
 * providers (the BC provider is never registered).
 */
record LocalTls(Path dir, Path caCert, Path serverCert, Path serverKey, Path clientCert, Path clientKey, Path tokenFile) {

    static final Duration VALIDITY = Duration.ofDays(30);
    private static final String SIGNATURE = "SHA256withECDSA";

    /** Generates everything into {@code dir} (created if needed; existing files are replaced). */
    static LocalTls generate(Path dir) throws IOException {
        SecureRandom random = new SecureRandom();
        Files.createDirectories(dir);
        ownerOnly(dir, "rwx------");
        LocalTls tls = new LocalTls(dir, dir.resolve("ca.pem"), dir.resolve("server.pem"), dir.resolve("server.key"),
                dir.resolve("client.pem"), dir.resolve("client.key"), dir.resolve("token"));
        try {
            KeyPair caKeys = ecKeyPair(random);
            X500Name caName = new X500Name("CN=Starling run CA " + HexFormat.of().formatHex(bytes(random, 4)));
            X509Certificate ca = sign(caName, caName, caKeys, caKeys, random, builder -> {
                builder.addExtension(Extension.basicConstraints, true, new BasicConstraints(0));
                builder.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign));
            });
            KeyPair serverKeys = ecKeyPair(random);
            X509Certificate server = sign(caName, new X500Name("CN=localhost"), serverKeys, caKeys, random, builder -> {
                leaf(builder, KeyPurposeId.id_kp_serverAuth, KeyPurposeId.id_kp_clientAuth);
                builder.addExtension(Extension.subjectAlternativeName, false, new GeneralNames(new GeneralName[] {
                    new GeneralName(GeneralName.dNSName, "localhost"),
                    new GeneralName(GeneralName.iPAddress, "127.0.0.1")}));
            });
            KeyPair clientKeys = ecKeyPair(random);
            X509Certificate client = sign(caName, new X500Name("CN=starling-client"), clientKeys, caKeys, random,
                    builder -> leaf(builder, KeyPurposeId.id_kp_clientAuth));
            write(tls.caCert, pem("CERTIFICATE", ca.getEncoded()), false);
            write(tls.serverCert, pem("CERTIFICATE", server.getEncoded()) + pem("CERTIFICATE", ca.getEncoded()), false);
            write(tls.serverKey, pem("PRIVATE KEY", serverKeys.getPrivate().getEncoded()), true);
            write(tls.clientCert, pem("CERTIFICATE", client.getEncoded()) + pem("CERTIFICATE", ca.getEncoded()), false);
            write(tls.clientKey, pem("PRIVATE KEY", clientKeys.getPrivate().getEncoded()), true);
            write(tls.tokenFile, HexFormat.of().formatHex(bytes(random, 32)) + "\n", true);
        } catch (GeneralSecurityException | OperatorCreationException e) {
            throw new IllegalStateException("cannot generate the run's TLS certificates: " + e.getMessage(), e);
        }
        return tls;
    }

    /** What the parameter server and the learner present: the server certificate and the token. */
    Security server() {
        return Security.fromFiles(serverCert, serverKey, caCert, tokenFile);
    }

    /** What actors and the launcher present: the client certificate and the token. */
    Security client() {
        return Security.fromFiles(clientCert, clientKey, caCert, tokenFile);
    }

    /** Role options for the parameter server and the learner. */
    List<String> serverArgs() {
        return args(serverCert, serverKey);
    }

    /** Role options for actors. */
    List<String> clientArgs() {
        return args(clientCert, clientKey);
    }

    private List<String> args(Path cert, Path key) {
        return List.of("--tls-cert", cert.toString(), "--tls-key", key.toString(), "--tls-trust", caCert.toString(),
                "--auth-token-file", tokenFile.toString());
    }

    private interface Extensions {
        void add(X509v3CertificateBuilder builder) throws CertIOException, GeneralSecurityException;
    }

    private static void leaf(X509v3CertificateBuilder builder, KeyPurposeId... purposes) throws CertIOException {
        builder.addExtension(Extension.basicConstraints, true, new BasicConstraints(false));
        builder.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.digitalSignature));
        builder.addExtension(Extension.extendedKeyUsage, false, new ExtendedKeyUsage(purposes));
    }

    private static X509Certificate sign(X500Name issuer, X500Name subject, KeyPair subjectKeys, KeyPair issuerKeys,
            SecureRandom random, Extensions extensions)
            throws GeneralSecurityException, OperatorCreationException, CertIOException {
        Instant now = Instant.now();
        X509v3CertificateBuilder builder = new JcaX509v3CertificateBuilder(issuer, new BigInteger(1, bytes(random, 16)),
                Date.from(now.minus(Duration.ofMinutes(5))), Date.from(now.plus(VALIDITY)), subject,
                subjectKeys.getPublic());
        JcaX509ExtensionUtils utils = new JcaX509ExtensionUtils();
        builder.addExtension(Extension.subjectKeyIdentifier, false, utils.createSubjectKeyIdentifier(subjectKeys.getPublic()));
        builder.addExtension(Extension.authorityKeyIdentifier, false,
                utils.createAuthorityKeyIdentifier(issuerKeys.getPublic()));
        extensions.add(builder);
        return new JcaX509CertificateConverter()
                .getCertificate(builder.build(new JcaContentSignerBuilder(SIGNATURE).build(issuerKeys.getPrivate())));
    }

    private static KeyPair ecKeyPair(SecureRandom random) throws GeneralSecurityException {
        KeyPairGenerator generator = KeyPairGenerator.getInstance("EC");
        generator.initialize(new ECGenParameterSpec("secp256r1"), random);
        return generator.generateKeyPair();
    }

    private static byte[] bytes(SecureRandom random, int n) {
        byte[] b = new byte[n];
        random.nextBytes(b);
        return b;
    }

    private static String pem(String type, byte[] der) {
        return "-----BEGIN " + type + "-----\n" + Base64.getMimeEncoder(64, new byte[] {'\n'}).encodeToString(der)
                + "\n-----END " + type + "-----\n";
    }

    /** Writes {@code text}; a secret is created owner-only before anything is written to it. */
    private static void write(Path file, String text, boolean secret) throws IOException {
        Files.deleteIfExists(file);
        if (secret && posix()) {
            Files.createFile(file, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
        }
        Files.writeString(file, text, StandardCharsets.US_ASCII, StandardOpenOption.CREATE,
                StandardOpenOption.TRUNCATE_EXISTING, StandardOpenOption.WRITE);
    }

    private static void ownerOnly(Path dir, String permissions) throws IOException {
        if (posix()) {
            Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString(permissions));
        }
    }

    private static boolean posix() {
        return FileSystems.getDefault().supportedFileAttributeViews().contains("posix");
    }
}
