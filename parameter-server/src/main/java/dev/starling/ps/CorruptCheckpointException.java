package dev.starling.ps;

import java.io.IOException;
import java.nio.file.Path;

/**
 * A checkpoint file that can never be loaded: truncated, wrong magic, CRC mismatch, unparsable or
 * invalid content. The message names the file and the reason.
 */
public final class CorruptCheckpointException extends IOException {

    private static final long serialVersionUID = 1L;

    private final transient Path file;

    public CorruptCheckpointException(Path file, String reason) {
        super(file + ": " + reason);
        this.file = file;
    }

    public CorruptCheckpointException(Path file, String reason, Throwable cause) {
        super(file + ": " + reason, cause);
        this.file = file;
    }

    /** The offending file. */
    public Path file() {
        return file;
    }
}
