package dev.starling.common.model;

import java.io.IOException;
import java.lang.System.Logger.Level;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.zip.CRC32;

import com.google.protobuf.InvalidProtocolBufferException;
import dev.starling.proto.v1.Checkpoint;
import dev.starling.proto.v1.ModelSpec;
import dev.starling.proto.v1.Parameters;

/**
 * The checkpoint file format, and reading checkpoints without a parameter server: what
 * {@code eval} and an application's {@code Policy} need. The parameter server's
 * {@code CheckpointStore} writes, retains and quarantines files with it.
 *
 * <p>File format (all integers big-endian):
 * <pre>
 *   offset 0   8 bytes  magic "STARCKPT" (ASCII)
 *   offset 8   int32    format version ({@value #FORMAT_VERSION})
 *   offset 12  int32    N, length of the serialized {@link Checkpoint} message
 *   offset 16  N bytes  the Checkpoint message (proto starling.v1.Checkpoint)
 *   offset 16+N int32   CRC32 of the N message bytes
 * </pre>
 * A file is named {@code checkpoint-<version zero-padded to 12 digits>.ckpt} ({@link #fileName}).
 *
 * <p>Stateless and thread-safe; reading never changes a file.
 */
public final class CheckpointFiles {

    private static final System.Logger LOG = System.getLogger(CheckpointFiles.class.getName());

    /** First 8 bytes of every checkpoint file. */
    public static final String MAGIC = "STARCKPT";
    /** The frame layout this code writes and reads. */
    public static final int FORMAT_VERSION = 1;
    /** Bytes before the message: magic, format version, length. */
    public static final int HEADER_BYTES = 16;
    /** Bytes after the message: the CRC. */
    public static final int TRAILER_BYTES = 4;

    private static final byte[] MAGIC_BYTES = MAGIC.getBytes(StandardCharsets.US_ASCII);
    private static final Pattern NAME = Pattern.compile("checkpoint-(\\d{12,20})\\.ckpt");
    /** The sub-folder of a run folder that holds its checkpoints. */
    private static final String RUN_FOLDER_CHECKPOINTS = "checkpoints";
    /** The sub-folder of a run folder that holds its best checkpoint (the highest evaluation in training). */
    public static final String RUN_FOLDER_BEST = "best";

    private CheckpointFiles() {
    }

    /** A checkpoint read from disk, and the file it came from. */
    public record Loaded(Path file, Checkpoint checkpoint) {
    }

    /**
     * Checks a checkpoint whose frame and message are intact; returns {@code null} if it may be
     * loaded, else what is wrong with it (it then counts as corrupt).
     */
    @FunctionalInterface
    public interface ContentCheck {
        String problem(Checkpoint checkpoint);
    }

    /**
     * A checkpoint file that can never be loaded: truncated, wrong magic, CRC mismatch, unparsable
     * or invalid content. The message is {@code "<file>: <reason>"}.
     */
    public static final class CorruptException extends IOException {

        private static final long serialVersionUID = 1L;

        private final transient Path file;
        private final String reason;

        public CorruptException(Path file, String reason, Throwable cause) {
            super(file + ": " + reason, cause);
            this.file = file;
            this.reason = reason;
        }

        /** The offending file. */
        public Path file() {
            return file;
        }

        /** What is wrong with it, without the file name. */
        public String reason() {
            return reason;
        }
    }

    /** The file name of a version's checkpoint. */
    public static String fileName(long version) {
        String digits = Long.toUnsignedString(version);
        return "checkpoint-" + "0".repeat(Math.max(0, 12 - digits.length())) + digits + ".ckpt";
    }

    /** The version a checkpoint file's name carries, or {@code null} if it is not a checkpoint's name. */
    public static Long versionOf(Path file) {
        Path name = file.getFileName();
        Matcher m = NAME.matcher(name == null ? "" : name.toString());
        if (!m.matches()) {
            return null;
        }
        try {
            return Long.parseUnsignedLong(m.group(1));
        } catch (NumberFormatException e) {
            return null;
        }
    }

    /**
     * The checkpoint files in {@code dir} (by name), newest version first; quarantined and
     * temporary files excluded. Empty if {@code dir} is not a directory.
     */
    public static List<Path> list(Path dir) throws IOException {
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

    /** The complete file contents for {@code checkpoint}: header, message, CRC. */
    public static byte[] frame(Checkpoint checkpoint) {
        byte[] message = checkpoint.toByteArray();
        ByteBuffer b = ByteBuffer.allocate(HEADER_BYTES + message.length + TRAILER_BYTES).order(ByteOrder.BIG_ENDIAN);
        b.put(MAGIC_BYTES).putInt(FORMAT_VERSION).putInt(message.length).put(message)
                .putInt((int) crc(message, 0, message.length));
        return b.array();
    }

    /**
     * Reads one checkpoint file and checks it with {@link #checkWeights}: frame, CRC, message,
     * and the weights (spec, sizes, finite values).
     *
     * @throws CorruptException if the file can never be loaded
     * @throws IOException if it cannot be read, or has a format version this code does not know
     */
    public static Checkpoint read(Path file) throws IOException {
        return read(file, CheckpointFiles::checkWeights);
    }

    /**
     * Reads one checkpoint file: frame, CRC, message (which must hold parameters), then
     * {@code check}, then that the version in the name (if it has a checkpoint's name) is the
     * version inside.
     *
     * @throws CorruptException if the file can never be loaded
     * @throws IOException if it cannot be read, or has a format version this code does not know
     */
    public static Checkpoint read(Path file, ContentCheck check) throws IOException {
        long size = Files.size(file);
        if (size < HEADER_BYTES + TRAILER_BYTES) {
            throw corrupt(file, "truncated: " + size + " bytes, shorter than the "
                    + (HEADER_BYTES + TRAILER_BYTES) + "-byte frame");
        }
        if (size > Integer.MAX_VALUE - 64) {
            throw corrupt(file, "implausibly large: " + size + " bytes");
        }
        byte[] bytes = Files.readAllBytes(file);
        ByteBuffer buf = ByteBuffer.wrap(bytes).order(ByteOrder.BIG_ENDIAN);
        if (!Arrays.equals(bytes, 0, MAGIC_BYTES.length, MAGIC_BYTES, 0, MAGIC_BYTES.length)) {
            throw corrupt(file, "bad magic: not a Starling checkpoint (expected " + MAGIC + ")");
        }
        int format = buf.getInt(8);
        if (format != FORMAT_VERSION) {
            throw new IOException(file + ": checkpoint format version " + format
                    + " is not supported (this build reads version " + FORMAT_VERSION + ")");
        }
        int length = buf.getInt(12);
        long expectedSize = (long) HEADER_BYTES + length + TRAILER_BYTES;
        if (length < 0 || expectedSize > bytes.length) {
            throw corrupt(file, "truncated: the header announces " + length
                    + " message bytes (" + expectedSize + " bytes in all) but the file has " + bytes.length);
        }
        if (expectedSize < bytes.length) {
            throw corrupt(file, "has " + (bytes.length - expectedSize) + " unexpected bytes after the CRC");
        }
        long stored = buf.getInt(HEADER_BYTES + length) & 0xffffffffL;
        long computed = crc(bytes, HEADER_BYTES, length);
        if (stored != computed) {
            throw corrupt(file, String.format("CRC mismatch: stored %08x, computed %08x over the message",
                    stored, computed));
        }
        Checkpoint c;
        try {
            c = Checkpoint.parseFrom(ByteBuffer.wrap(bytes, HEADER_BYTES, length));
        } catch (InvalidProtocolBufferException e) {
            throw new CorruptException(file, "unparsable checkpoint message: " + e.getMessage(), e);
        }
        if (!c.hasParameters()) {
            throw corrupt(file, "the checkpoint holds no parameters");
        }
        String problem = check.problem(c);
        if (problem != null) {
            throw corrupt(file, "invalid contents: " + problem);
        }
        Long named = versionOf(file);
        if (named != null && named != c.getParameters().getVersion()) {
            throw corrupt(file, "the name says version " + Long.toUnsignedString(named)
                    + " but the file holds version " + Long.toUnsignedString(c.getParameters().getVersion()));
        }
        return c;
    }

    /**
     * The checkpoint at {@code path}: the file itself, or else the newest checkpoint that reads
     * back validly ({@link #read(Path)}) in the folder {@code path}; for a run folder, the valid
     * checkpoint in its {@code best} sub-folder if there is one (the weights that evaluated best
     * during training), else the newest in its {@code checkpoints} sub-folder. Older files are tried when newer ones are
     * corrupt or unreadable; each skipped file is logged at WARNING. Read-only: unlike the
     * parameter server, this never renames a corrupt file.
     *
     * @throws IllegalArgumentException naming the path if it does not exist or holds no valid
     *     checkpoint (a corrupt single file included; its {@link CorruptException} is the cause)
     * @throws IOException if the file or folder cannot be read
     */
    public static Loaded readNewestValid(Path path) throws IOException {
        if (Files.isRegularFile(path)) {
            try {
                return new Loaded(path, read(path));
            } catch (CorruptException e) {
                throw new IllegalArgumentException("no valid checkpoint at " + path + ": " + e.reason(), e);
            }
        }
        Path best = path.resolve(RUN_FOLDER_BEST);
        if (Files.isDirectory(best)) {
            for (Path file : list(best)) {
                try {
                    return new Loaded(file, read(file));
                } catch (IOException e) {
                    LOG.log(Level.WARNING, "skipping the run''s best checkpoint {0}: {1}", file, e.getMessage());
                }
            }
        }
        Path runCheckpoints = path.resolve(RUN_FOLDER_CHECKPOINTS);
        Path dir = Files.isDirectory(runCheckpoints) ? runCheckpoints : path;
        if (!Files.isDirectory(dir)) {
            throw new IllegalArgumentException("checkpoint " + path + " does not exist");
        }
        List<String> skipped = new ArrayList<>();
        for (Path file : list(dir)) {
            try {
                return new Loaded(file, read(file));
            } catch (IOException e) {
                LOG.log(Level.WARNING, "skipping checkpoint {0}: {1}", file, e.getMessage());
                skipped.add(e.getMessage());
            }
        }
        throw new IllegalArgumentException("no valid checkpoint in " + dir + (skipped.isEmpty()
                ? " (no checkpoint-<version>.ckpt files)" : "; skipped " + String.join("; ", skipped)));
    }

    /**
     * The content check {@link #read(Path)} applies: a weights version in {@code [0, 2^63)}, a
     * model spec whose hash matches its contents and which describes a model this code can build,
     * and a weights blob of the spec's size holding only finite values. Returns {@code null} if
     * fine, else what is wrong.
     */
    public static String checkWeights(Checkpoint checkpoint) {
        Parameters p = checkpoint.getParameters();
        if (p.getVersion() < 0) {
            return "parameters version " + Long.toUnsignedString(p.getVersion()) + " is out of range";
        }
        ModelSpec spec = p.getSpec();
        if (!p.hasSpec() || spec.getTensorsCount() == 0) {
            return "parameters carry no model spec (no tensors)";
        }
        long computed = ModelSpecs.hash(spec);
        if (computed != spec.getHash()) {
            return "model spec hash " + ModelSpecs.hex(spec.getHash()) + " does not match the spec's contents, which"
                    + " hash to " + ModelSpecs.hex(computed);
        }
        long elements;
        try {
            ModelSpecs.config(spec);
            elements = ModelSpecs.elementCount(spec);
        } catch (IllegalArgumentException | ArithmeticException e) {
            return "invalid model spec: " + e.getMessage();
        }
        if (elements > Integer.MAX_VALUE / Float.BYTES) {
            return "invalid model spec: its tensors hold " + elements + " float32 values, more than a weights blob"
                    + " can carry";
        }
        long expected = elements * Float.BYTES;
        if (p.getWeights().size() != expected) {
            return "weights blob has " + p.getWeights().size() + " bytes, spec " + ModelSpecs.hex(spec.getHash())
                    + " needs " + expected + " (" + elements + " float32 values)";
        }
        FloatBuffer fb = p.getWeights().asReadOnlyByteBuffer().order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer();
        for (int i = 0; i < fb.remaining(); i++) {
            if (!Float.isFinite(fb.get(i))) {
                return "weights blob has a non-finite value at float index " + i;
            }
        }
        return null;
    }

    private static CorruptException corrupt(Path file, String reason) {
        return new CorruptException(file, reason, null);
    }

    private static long crc(byte[] bytes, int offset, int length) {
        CRC32 crc = new CRC32();
        crc.update(bytes, offset, length);
        return crc.getValue();
    }
}
