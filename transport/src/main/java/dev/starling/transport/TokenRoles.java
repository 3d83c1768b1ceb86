package dev.starling.transport;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * What a server needs to tell whose bearer token a caller presented: the SHA-256 digest of each
 * role's token, never the token itself, so a server can verify tokens without holding any
 * secret it could present.
 *
 * <p>The file format ({@link #load}): one {@code <role> <sha256-hex>} line per token, where the
 * digest is of the token's UTF-8 bytes (as {@code printf '%s' "$TOKEN" | sha256sum} prints it);
 * a role may have several lines (to roll a token over); blank lines and lines starting with
 * {@code #} are ignored. Tokens should be random (at least 128 bits): an unsalted digest of a
 * guessable token is guessable.
 *
 * <p>A presented token is hashed and compared with every digest with
 * {@link MessageDigest#isEqual}, without stopping at a match. Immutable and thread-safe.
 */
public final class TokenRoles {

    private record Entry(Role role, byte[] digest) {
    }

    private final List<Entry> entries;
    private final String source;

    private TokenRoles(List<Entry> entries, String source) {
        if (entries.isEmpty()) {
            throw new IllegalArgumentException(source + " holds no token digest");
        }
        this.entries = List.copyOf(entries);
        this.source = source;
    }

    /**
     * Digests of the given tokens, for tests and tools that hold the tokens (each role's token is
     * a valid {@link Security} token).
     */
    public static TokenRoles of(Map<Role, String> tokens) {
        List<Entry> entries = new ArrayList<>();
        tokens.forEach((role, token) -> {
            Security.checkToken(token);
            entries.add(new Entry(role, sha256(token)));
        });
        checkDistinct(entries, "the given tokens");
        return new TokenRoles(entries, "the given tokens");
    }

    /**
     * Reads a file of {@code <role> <sha256-hex>} lines (see the class comment).
     *
     * @throws IllegalArgumentException naming the file and the line if it cannot be read, a line
     *     is malformed, names an unknown role, or one digest is given to two roles
     */
    public static TokenRoles load(Path file) {
        if (!Files.isRegularFile(file)) {
            throw new IllegalArgumentException("token hashes file " + file + " does not exist or is not a file");
        }
        List<String> lines;
        try {
            lines = Files.readAllLines(file, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new IllegalArgumentException("cannot read the token hashes file " + file + ": " + e.getMessage(), e);
        }
        List<Entry> entries = new ArrayList<>();
        for (int i = 0; i < lines.size(); i++) {
            String line = lines.get(i).strip();
            if (line.isEmpty() || line.startsWith("#")) {
                continue;
            }
            String where = "token hashes file " + file + " line " + (i + 1);
            String[] fields = line.split("\\s+");
            if (fields.length != 2) {
                throw new IllegalArgumentException(where + ": expected '<role> <sha256-hex>'");
            }
            Role role;
            try {
                role = Role.of(fields[0]);
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException(where + ": " + e.getMessage(), e);
            }
            byte[] digest;
            try {
                digest = HexFormat.of().parseHex(fields[1]);
            } catch (IllegalArgumentException e) {
                digest = null;
            }
            if (digest == null || digest.length != 32) {
                throw new IllegalArgumentException(where + ": the digest must be 64 hexadecimal digits (SHA-256)");
            }
            entries.add(new Entry(role, digest));
        }
        checkDistinct(entries, "token hashes file " + file);
        return new TokenRoles(entries, "token hashes file " + file);
    }

    /** The file line for {@code role}'s {@code token}: {@code <role> <sha256-hex>}. */
    public static String line(Role role, String token) {
        Security.checkToken(token);
        return role.id() + " " + HexFormat.of().formatHex(sha256(token));
    }

    /** The role whose token {@code token} is, or null if none. */
    public Role roleOf(String token) {
        byte[] digest = sha256(token);
        Role found = null;
        // Every entry is compared (no early exit), each in constant time.
        for (Entry e : entries) {
            if (MessageDigest.isEqual(e.digest, digest)) {
                found = e.role;
            }
        }
        return found;
    }

    /** The roles that have at least one token. */
    public Set<Role> roles() {
        Set<Role> roles = EnumSet.noneOf(Role.class);
        for (Entry e : entries) {
            roles.add(e.role);
        }
        return Collections.unmodifiableSet(roles);
    }

    @Override
    public String toString() {
        return entries.size() + " token digests (roles " + roles() + ") from " + source;
    }

    private static void checkDistinct(List<Entry> entries, String source) {
        for (int i = 0; i < entries.size(); i++) {
            for (int j = 0; j < i; j++) {
                if (MessageDigest.isEqual(entries.get(i).digest, entries.get(j).digest)
                        && entries.get(i).role != entries.get(j).role) {
                    throw new IllegalArgumentException(source + " gives one token to two roles, "
                            + entries.get(j).role + " and " + entries.get(i).role + ": every role needs its own");
                }
            }
        }
    }

    static byte[] sha256(String s) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every Java platform has SHA-256", e);
        }
    }
}
