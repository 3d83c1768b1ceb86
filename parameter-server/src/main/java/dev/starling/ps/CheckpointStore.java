package dev.starling.ps;

import java.io.IOException;
import java.lang.System.Logger.Level;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.zip.CRC32;

import com.google.protobuf.InvalidProtocolBufferException;
import dev.starling.proto.v1.Checkpoint;
import dev.starling.ps.Validation.Rejection;

/**
 * Checkpoint files in one directory: atomic writes, retention of the newest N, and loading the
 * newest valid one.
 *
 * <p>File format (all integers big-endian):
 * <pre>
 *   offset 0   8 bytes  magic "STARCKPT" (ASCII)
 *   offset 8   int32    format version ({@value #FORMAT_VERSION})
 *   offset 12  int32    N, length of the serialized {@link Checkpoint} message
 *   offset 16  N bytes  the Checkpoint message (proto starling.v1.Checkpoint)
 *   offset 16+N int32   CRC32 of the N message bytes
 * </pre>
 * The file is named {@code checkpoint-<version zero-padded to 12 digits>.ckpt}. It is written to
 * a temporary file in the same directory, forced to disk, renamed over the final name atomically,
 * and then the directory itself is forced, so a crash leaves either the old set of files or the
 * new one, never a half-written checkpoint under a final name.
 *
 * <p>Thread-safe: writes and pruning are serialized on the instance. Several processes must not
 * share one directory.
 */
public final class CheckpointStore {

    private static final System.Logger LOG = System.getLogger(CheckpointStore.class.getName());

    /** First 8 bytes of every checkpoint file. */
    public static final String MAGIC = "STARCKPT";
    /** The frame layout written by this class. */
    public static final int FORMAT_VERSION = 1;
    /** Suffix given to files that failed to load, so they are neither retried nor counted. */
    public static final String CORRUPT_SUFFIX = ".corrupt";

    private static final byte[] MAGIC_BYTES = MAGIC.getBytes(StandardCharsets.US_ASCII);
    private static final int HEADER_BYTES = 16;
    private static final int TRAILER_BYTES = 4;
    private static final Pattern NAME = Pattern.compile("checkpoint-(\\d{12,20})\\.ckpt");
    private static final String TEMP_PREFIX = ".checkpoint-";
    private static final String TEMP_SUFFIX = ".tmp";
    private static final AtomicLong TEMP_COUNTER = new AtomicLong();

    /** A checkpoint read from disk. */
    public record Loaded(Path file, Checkpoint checkpoint) {
    }

    private final Path dir;
    private final int keep;

    /**
     * @param dir the checkpoint directory (created by {@link #open()} or the first write)
     * @param keep how many of the newest files to keep, at least 1
     */
    public CheckpointStore(Path dir, int keep) {
        this.dir = Objects.requireNonNull(dir, "dir");
        if (keep < 1) {
            throw new IllegalArgumentException("keep must be at least 1, got " + keep);
        }
        this.keep = keep;
    }

    public Path dir() {
        return dir;
    }

    /** The file name of a version's checkpoint. */
    public static String fileName(long version) {
        String digits = Long.toUnsignedString(version);
        return "checkpoint-" + "0".repeat(Math.max(0, 12 - digits.length())) + digits + ".ckpt";
    }

    /** Creates the directory if needed and deletes temporary files left by a crashed write. */
    public synchronized void open() throws IOException {
        Files.createDirectories(dir);
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir, TEMP_PREFIX + "*" + TEMP_SUFFIX)) {
            for (Path stale : ds) {
                LOG.log(Level.INFO, "deleting unfinished checkpoint {0}", stale);
                Files.deleteIfExists(stale);
            }
        }
    }

    /**
     * Writes {@code checkpoint} durably under its version's name (replacing a file of the same
     * version), then deletes all but the newest {@code keep} checkpoint files.
     *
     * @return the written file
     */
    public synchronized Path write(Checkpoint checkpoint) throws IOException {
        if (!checkpoint.hasParameters()) {
            throw new IllegalArgumentException("a checkpoint needs parameters");
        }
        Files.createDirectories(dir);
        long version = checkpoint.getParameters().getVersion();
        Path target = dir.resolve(fileName(version));
        Path temp = dir.resolve(TEMP_PREFIX + Long.toUnsignedString(version) + "-" + ProcessHandle.current().pid()
                + "-" + TEMP_COUNTER.incrementAndGet() + TEMP_SUFFIX);
        byte[] message = checkpoint.toByteArray();
        ByteBuffer header = ByteBuffer.allocate(HEADER_BYTES).order(ByteOrder.BIG_ENDIAN)
                .put(MAGIC_BYTES).putInt(FORMAT_VERSION).putInt(message.length).flip();
        ByteBuffer trailer = ByteBuffer.allocate(TRAILER_BYTES).order(ByteOrder.BIG_ENDIAN)
                .putInt((int) crc(message, 0, message.length)).flip();
        ByteBuffer[] frame = {header, ByteBuffer.wrap(message), trailer};
        try {
            try (FileChannel ch = FileChannel.open(temp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
                long total = (long) HEADER_BYTES + message.length + TRAILER_BYTES;
                long written = 0;
                while (written < total) {
                    written += ch.write(frame);
                }
                ch.force(true);
            }
            Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException | RuntimeException e) {
            try {
                Files.deleteIfExists(temp);
            } catch (IOException suppressed) {
                e.addSuppressed(suppressed);
            }
            throw e;
        }
        forceDirectory();
        prune(target);
        return target;
    }

    /** Checkpoint files (by name), newest version first; quarantined and temporary files excluded. */
    public List<Path> list() throws IOException {
        List<Path> files = new ArrayList<>();
        if (!Files.isDirectory(dir)) {
            return files;
        }
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir, "checkpoint-*.ckpt")) {
            for (Path p : ds) {
                if (versionOf(p) != null && Files.isRegularFile(p)) {
                    files.add(p);
                }
            }
        }
        files.sort(Comparator.comparing((Path p) -> versionOf(p), Long::compareUnsigned).reversed());
        return files;
    }

    /**
     * The newest checkpoint that reads back completely and validly. A corrupt file (truncated,
     * bad magic, bad CRC, unparsable or invalid content) is logged at WARNING with the reason,
     * renamed to {@code <name>.corrupt} so it is never tried again nor counted for retention,
     * and the next older file is tried. A file that cannot be read for another reason (I/O error,
     * a newer format version) is logged and skipped but left in place.
     */
    public Optional<Loaded> loadNewestValid() throws IOException {
        for (Path file : list()) {
            try {
                Checkpoint c = read(file);
                LOG.log(Level.INFO, "loaded checkpoint {0} (version {1})", file,
                        Long.toUnsignedString(c.getParameters().getVersion()));
                return Optional.of(new Loaded(file, c));
            } catch (CorruptCheckpointException e) {
                Path quarantined = file.resolveSibling(file.getFileName() + CORRUPT_SUFFIX);
                try {
                    Files.move(file, quarantined, StandardCopyOption.REPLACE_EXISTING);
                    LOG.log(Level.WARNING, "skipping corrupt checkpoint {0}: {1} (renamed to {2})",
                            file, reason(e), quarantined.getFileName());
                } catch (IOException moveFailed) {
                    LOG.log(Level.WARNING, "skipping corrupt checkpoint {0}: {1} (could not rename it: {2})",
                            file, reason(e), moveFailed.toString());
                }
            } catch (IOException e) {
                LOG.log(Level.WARNING, "skipping unreadable checkpoint {0}: {1}", file, e.toString());
            }
        }
        return Optional.empty();
    }

    /**
     * Reads and fully validates one checkpoint file: frame, CRC, message, and the weights and
     * optimizer state it holds (spec hash, sizes, finite values).
     *
     * @throws CorruptCheckpointException if the file can never be loaded
     * @throws IOException if it cannot be read, or has a format version this code does not know
     */
    public static Checkpoint read(Path file) throws IOException {
        long size = Files.size(file);
        if (size < HEADER_BYTES + TRAILER_BYTES) {
            throw new CorruptCheckpointException(file, "truncated: " + size + " bytes, shorter than the "
                    + (HEADER_BYTES + TRAILER_BYTES) + "-byte frame");
        }
        if (size > Integer.MAX_VALUE - 64) {
            throw new CorruptCheckpointException(file, "implausibly large: " + size + " bytes");
        }
        byte[] bytes = Files.readAllBytes(file);
        ByteBuffer buf = ByteBuffer.wrap(bytes).order(ByteOrder.BIG_ENDIAN);
        if (!Arrays.equals(bytes, 0, MAGIC_BYTES.length, MAGIC_BYTES, 0, MAGIC_BYTES.length)) {
            throw new CorruptCheckpointException(file, "bad magic: not a Starling checkpoint (expected " + MAGIC + ")");
        }
        int format = buf.getInt(8);
        if (format != FORMAT_VERSION) {
            throw new IOException(file + ": checkpoint format version " + format
                    + " is not supported (this build reads version " + FORMAT_VERSION + ")");
        }
        int length = buf.getInt(12);
        long expectedSize = (long) HEADER_BYTES + length + TRAILER_BYTES;
        if (length < 0 || expectedSize > bytes.length) {
            throw new CorruptCheckpointException(file, "truncated: the header announces " + length
                    + " message bytes (" + expectedSize + " bytes in all) but the file has " + bytes.length);
        }
        if (expectedSize < bytes.length) {
            throw new CorruptCheckpointException(file, "has " + (bytes.length - expectedSize)
                    + " unexpected bytes after the CRC");
        }
        long stored = buf.getInt(HEADER_BYTES + length) & 0xffffffffL;
        long computed = crc(bytes, HEADER_BYTES, length);
        if (stored != computed) {
            throw new CorruptCheckpointException(file, String.format(
                    "CRC mismatch: stored %08x, computed %08x over the message", stored, computed));
        }
        Checkpoint c;
        try {
            c = Checkpoint.parseFrom(ByteBuffer.wrap(bytes, HEADER_BYTES, length));
        } catch (InvalidProtocolBufferException e) {
            throw new CorruptCheckpointException(file, "unparsable checkpoint message: " + e.getMessage(), e);
        }
        if (!c.hasParameters()) {
            throw new CorruptCheckpointException(file, "the checkpoint holds no parameters");
        }
        Rejection problem = Validation.checkParameters(c.getParameters());
        if (problem == null && c.hasOptimizerState()) {
            problem = Validation.checkOptimizerState(c.getOptimizerState(), c.getParameters());
        }
        if (problem != null) {
            throw new CorruptCheckpointException(file, "invalid contents: " + problem.message());
        }
        Long named = versionOf(file);
        if (named != null && named != c.getParameters().getVersion()) {
            throw new CorruptCheckpointException(file, "the name says version " + Long.toUnsignedString(named)
                    + " but the file holds version " + Long.toUnsignedString(c.getParameters().getVersion()));
        }
        return c;
    }

    /** Deletes all but the newest {@code keep} checkpoints; never {@code justWritten}. */
    private void prune(Path justWritten) throws IOException {
        List<Path> files = list();
        for (int i = keep; i < files.size(); i++) {
            Path old = files.get(i);
            if (!old.equals(justWritten)) {
                Files.deleteIfExists(old);
                LOG.log(Level.DEBUG, "deleted old checkpoint {0}", old);
            }
        }
    }

    /** Makes the rename durable; not every platform can open a directory for that. */
    private void forceDirectory() {
        try (FileChannel d = FileChannel.open(dir, StandardOpenOption.READ)) {
            d.force(true);
        } catch (IOException | UnsupportedOperationException e) {
            LOG.log(Level.DEBUG, "cannot fsync directory {0}: {1}", dir, e.toString());
        }
    }

    private static Long versionOf(Path file) {
        Matcher m = NAME.matcher(file.getFileName().toString());
        if (!m.matches()) {
            return null;
        }
        try {
            return Long.parseUnsignedLong(m.group(1));
        } catch (NumberFormatException e) {
            return null;
        }
    }

    private static String reason(CorruptCheckpointException e) {
        String m = e.getMessage();
        String prefix = e.file() + ": ";
        return m.startsWith(prefix) ? m.substring(prefix.length()) : m;
    }

    private static long crc(byte[] bytes, int offset, int length) {
        CRC32 crc = new CRC32();
        crc.update(bytes, offset, length);
        return crc.getValue();
    }
}
