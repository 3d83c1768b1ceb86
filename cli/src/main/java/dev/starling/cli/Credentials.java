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
import java.util.ArrayList;
import java.util.Base64;
import java.util.Date;
import java.util.EnumMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

import dev.starling.transport.Role;
import dev.starling.transport.Security;
import dev.starling.transport.TokenRoles;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x500.X500NameBuilder;
import org.bouncycastle.asn1.x500.style.BCStyle;
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
 * One identity per {@link Role} in a folder, as {@code starling credentials} and
 * {@code starling train --secure} write it; a role reads its own subfolder
 * ({@code --credentials DIR}):
 *
 * <pre>
 * DIR/&lt;role&gt;/ca.pem         the CA certificate every role trusts
 * DIR/&lt;role&gt;/cert.pem       the role's certificate, then the CA's
 *                            (SAN URI starling:role:&lt;role&gt;, CN &lt;role&gt;)
 * DIR/&lt;role&gt;/key.pem        its private key, PKCS#8 (owner-only)
 * DIR/&lt;role&gt;/token          its bearer token, 256 random bits in hex (owner-only)
 * DIR/&lt;role&gt;/token-hashes   serving roles only (parameter-server, learner): "&lt;role&gt; &lt;sha256&gt;"
 *                            of every role's token, to check callers' tokens
 * </pre>
 *
 * Each role folder holds everything that role needs and no other role's secret, so it can be
 * mounted alone. Certificates of the serving roles carry serverAuth and clientAuth and the host
 * names they are dialled by; actor and observer certificates carry clientAuth only. Keys are EC
 * P-256. The CA's key is never written: to add or renew an identity, generate a new folder.
 *
 * <p>Bouncy Castle only builds the certificates; keys, signatures and parsing use the JDK's
 * providers (the BC provider is never registered).
 */
record Credentials(Path dir) {

    static final String CA = "ca.pem";
    static final String CERT = "cert.pem";
    static final String KEY = "key.pem";
    static final String TOKEN = "token";
    static final String TOKEN_HASHES = "token-hashes";

    /** The roles that serve gRPC, and so check callers' tokens. */
    static final Set<Role> SERVING = Set.of(Role.PARAMETER_SERVER, Role.LEARNER);

    private static final String SIGNATURE = "SHA256withECDSA";
    private static final Pattern IP = Pattern.compile("[0-9.]+|.*:.*");

    Path roleDir(Role role) {
        return dir.resolve(role.id());
    }

    Path ca(Role role) {
        return roleDir(role).resolve(CA);
    }

    Path cert(Role role) {
        return roleDir(role).resolve(CERT);
    }

    Path key(Role role) {
        return roleDir(role).resolve(KEY);
    }

    Path token(Role role) {
        return roleDir(role).resolve(TOKEN);
    }

    /** The token digests file of a serving role; null for the others. */
    Path tokenHashes(Role role) {
        return SERVING.contains(role) ? roleDir(role).resolve(TOKEN_HASHES) : null;
    }

    /**
     * What {@code role} presents and checks: its certificate, key, the CA, its token and (serving
     * roles) every role's token digests.
     *
     * @throws IllegalArgumentException naming the file if one is missing or unreadable
     */
    Security security(Role role) {
        if (!Files.isDirectory(roleDir(role))) {
            throw new IllegalArgumentException("no credentials for the " + role + " in " + dir + ": " + roleDir(role)
                    + " is not a folder (write one with 'starling credentials --out " + dir + "')");
        }
        return Security.fromFiles(cert(role), key(role), ca(role), token(role), tokenHashes(role));
    }

    /**
     * Generates a CA and every role's identity into {@code dir} (created if needed, owner-only;
     * existing files are replaced).
     *
     * @param hosts for each serving role, the host names and IP addresses its certificate is valid
     *     for (clients check the name they dial against them)
     */
    static Credentials generate(Path dir, Map<Role, List<String>> hosts, Duration validity) throws IOException {
        SecureRandom random = new SecureRandom();
        Credentials out = new Credentials(dir);
        Files.createDirectories(dir);
        ownerOnly(dir);
        try {
            KeyPair caKeys = ecKeyPair(random);
            X500Name caName = new X500Name("CN=Starling CA " + HexFormat.of().formatHex(bytes(random, 4)));
            X509Certificate ca = sign(caName, caName, caKeys, caKeys, random, validity, builder -> {
                builder.addExtension(Extension.basicConstraints, true, new BasicConstraints(0));
                builder.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign));
            });
            String caPem = pem("CERTIFICATE", ca.getEncoded());
            Map<Role, String> tokens = new EnumMap<>(Role.class);
            for (Role role : Role.values()) {
                tokens.put(role, HexFormat.of().formatHex(bytes(random, 32)));
            }
            StringBuilder digests = new StringBuilder("# <role> <sha256 of its token>: what a server checks callers'"
                    + " bearer tokens against\n");
            for (Role role : Role.values()) {
                digests.append(TokenRoles.line(role, tokens.get(role))).append('\n');
            }
            for (Role role : Role.values()) {
                boolean serving = SERVING.contains(role);
                List<String> names = serving ? hosts.getOrDefault(role, List.of()) : List.of();
                KeyPair keys = ecKeyPair(random);
                X500Name subject = new X500NameBuilder(BCStyle.INSTANCE).addRDN(BCStyle.CN, role.id()).build();
                X509Certificate cert = sign(caName, subject, keys, caKeys, random, validity, builder -> {
                    builder.addExtension(Extension.basicConstraints, true, new BasicConstraints(false));
                    builder.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.digitalSignature));
                    builder.addExtension(Extension.extendedKeyUsage, false, serving
                            ? new ExtendedKeyUsage(new KeyPurposeId[] {KeyPurposeId.id_kp_serverAuth,
                                KeyPurposeId.id_kp_clientAuth})
                            : new ExtendedKeyUsage(KeyPurposeId.id_kp_clientAuth));
                    List<GeneralName> sans = new ArrayList<>();
                    sans.add(new GeneralName(GeneralName.uniformResourceIdentifier, role.uri()));
                    for (String name : names) {
                        sans.add(new GeneralName(IP.matcher(name).matches() ? GeneralName.iPAddress : GeneralName.dNSName,
                                name));
                    }
                    builder.addExtension(Extension.subjectAlternativeName, false,
                            new GeneralNames(sans.toArray(GeneralName[]::new)));
                });
                Path roleDir = out.roleDir(role);
                Files.createDirectories(roleDir);
                ownerOnly(roleDir);
                write(out.ca(role), caPem, false);
                write(out.cert(role), pem("CERTIFICATE", cert.getEncoded()) + caPem, false);
                write(out.key(role), pem("PRIVATE KEY", keys.getPrivate().getEncoded()), true);
                write(out.token(role), tokens.get(role) + "\n", true);
                if (serving) {
                    write(out.tokenHashes(role), digests.toString(), false);
                } else {
                    Files.deleteIfExists(roleDir.resolve(TOKEN_HASHES));
                }
            }
        } catch (GeneralSecurityException | OperatorCreationException e) {
            throw new IllegalStateException("cannot generate the certificates: " + e.getMessage(), e);
        }
        return out;
    }

    private interface Extensions {
        void add(X509v3CertificateBuilder builder) throws CertIOException, GeneralSecurityException;
    }

    private static X509Certificate sign(X500Name issuer, X500Name subject, KeyPair subjectKeys, KeyPair issuerKeys,
            SecureRandom random, Duration validity, Extensions extensions)
            throws GeneralSecurityException, OperatorCreationException, CertIOException {
        Instant now = Instant.now();
        X509v3CertificateBuilder builder = new JcaX509v3CertificateBuilder(issuer, new BigInteger(1, bytes(random, 16)),
                Date.from(now.minus(Duration.ofMinutes(5))), Date.from(now.plus(validity)), subject,
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

    private static void ownerOnly(Path dir) throws IOException {
        if (posix()) {
            Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwx------"));
        }
    }

    private static boolean posix() {
        return FileSystems.getDefault().supportedFileAttributeViews().contains("posix");
    }
}
