package dev.starling.ps;

import java.io.IOException;
import java.lang.System.Logger.Level;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicLong;

import dev.starling.common.model.CheckpointFiles;
import dev.starling.proto.v1.Checkpoint;
import dev.starling.ps.Validation.Rejection;

/**
 * Checkpoint files in one directory: atomic writes, retention of the newest N, and loading the
 * newest valid one (quarantining corrupt files). The file format and the read side are
 * {@link CheckpointFiles}'s (in common, so applications read checkpoints without a server).
 *
 * <p>A checkpoint is written to a temporary file in the same directory, forced to disk, renamed
 * over its final name ({@link #fileName}) atomically, and then the directory itself is forced,
 * so a crash leaves either the old set of files or the new one, never a half-written checkpoint
 * under a final name.
 *
 * <p>Thread-safe: writes and pruning are serialized on the instance. Several processes must not
 * share one directory.
 */
public final class CheckpointStore {

    private static final System.Logger LOG = System.getLogger(CheckpointStore.class.getName());

    /** First 8 bytes of every checkpoint file. */
    public static final String MAGIC = CheckpointFiles.MAGIC;
    /** The frame layout written by this class. */
    public static final int FORMAT_VERSION = CheckpointFiles.FORMAT_VERSION;
    /** Suffix given to files that failed to load, so they are neither retried nor counted. */
    public static final String CORRUPT_SUFFIX = ".corrupt";

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
        return CheckpointFiles.fileName(version);
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
        ByteBuffer frame = ByteBuffer.wrap(CheckpointFiles.frame(checkpoint));
        try {
            try (FileChannel ch = FileChannel.open(temp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
                while (frame.hasRemaining()) {
                    ch.write(frame);
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
        return CheckpointFiles.list(dir);
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
     * Reads and fully validates one checkpoint file: frame, CRC, message ({@link CheckpointFiles}),
     * and the weights and optimizer state it holds (spec hash, sizes, finite values).
     *
     * @throws CorruptCheckpointException if the file can never be loaded
     * @throws IOException if it cannot be read, or has a format version this code does not know
     */
    public static Checkpoint read(Path file) throws IOException {
        try {
            return CheckpointFiles.read(file, CheckpointStore::contentProblem);
        } catch (CheckpointFiles.CorruptException e) {
            throw new CorruptCheckpointException(e.file(), e.reason(), e.getCause());
        }
    }

    /** The parameter server's own checks of what a checkpoint holds; null if it may be loaded. */
    private static String contentProblem(Checkpoint c) {
        Rejection problem = Validation.checkParameters(c.getParameters());
        if (problem == null && c.hasOptimizerState()) {
            problem = Validation.checkOptimizerState(c.getOptimizerState(), c.getParameters());
        }
        return problem == null ? null : problem.message();
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

    private static String reason(CorruptCheckpointException e) {
        String m = e.getMessage();
        String prefix = e.file() + ": ";
        return m.startsWith(prefix) ? m.substring(prefix.length()) : m;
    }
}
