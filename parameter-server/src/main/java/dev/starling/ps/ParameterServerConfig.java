package dev.starling.ps;

import java.nio.file.Path;
import java.util.Collections;
import java.util.Map;
import java.util.TreeMap;

/**
 * Settings of the parameter server: the one place that defines each key, its default and its
 * validation. Immutable; invalid values fail in the constructor with an
 * {@link IllegalArgumentException} that names the field.
 *
 * @param port TCP port to listen on; 0 picks a free one (see {@link ParameterServer#port()}).
 *     Ignored when the server is built from a caller-supplied {@code ServerBuilder}.
 * @param checkpointDir directory for checkpoints, created if missing; {@code null} disables
 *     checkpoints (nothing is restored at start or written at all)
 * @param checkpointIntervalSeconds seconds between periodic checkpoints (a checkpoint is written
 *     only if the version changed since the last one), at least 1
 * @param keepCheckpoints how many of the newest checkpoint files to keep, at least 1
 * @param maxMessageBytes largest inbound gRPC message accepted (a publish carries the whole
 *     weight blob and optimizer state), at least {@value #MIN_MESSAGE_BYTES}
 * @param provenance run configuration recorded in every checkpoint (for example the command-line
 *     options); may be {@code null} (empty). The keys {@code git_revision} and
 *     {@code libtorch_version}, when present, override the detected values. Copied and sorted.
 */
public record ParameterServerConfig(
        int port,
        Path checkpointDir,
        long checkpointIntervalSeconds,
        int keepCheckpoints,
        int maxMessageBytes,
        Map<String, String> provenance) {

    public static final long DEFAULT_CHECKPOINT_INTERVAL_SECONDS = 30;
    public static final int DEFAULT_KEEP_CHECKPOINTS = 3;
    public static final int DEFAULT_MAX_MESSAGE_BYTES = 64 * 1024 * 1024;
    public static final int MIN_MESSAGE_BYTES = 4096;

    public ParameterServerConfig {
        if (port < 0 || port > 65535) {
            throw new IllegalArgumentException("port must be in [0, 65535] (0 = any free port), got " + port);
        }
        if (checkpointIntervalSeconds < 1) {
            throw new IllegalArgumentException(
                    "checkpointIntervalSeconds must be at least 1, got " + checkpointIntervalSeconds);
        }
        if (keepCheckpoints < 1) {
            throw new IllegalArgumentException("keepCheckpoints must be at least 1, got " + keepCheckpoints);
        }
        if (maxMessageBytes < MIN_MESSAGE_BYTES) {
            throw new IllegalArgumentException(
                    "maxMessageBytes must be at least " + MIN_MESSAGE_BYTES + ", got " + maxMessageBytes);
        }
        TreeMap<String, String> copy = new TreeMap<>();
        if (provenance != null) {
            for (Map.Entry<String, String> e : provenance.entrySet()) {
                if (e.getKey() == null || e.getValue() == null) {
                    throw new IllegalArgumentException(
                            "provenance must not contain null keys or values, got " + e.getKey() + "=" + e.getValue());
                }
                copy.put(e.getKey(), e.getValue());
            }
        }
        provenance = Collections.unmodifiableMap(copy);
    }

    /** Defaults for everything but the port and the checkpoint directory (which may be null). */
    public static ParameterServerConfig defaults(int port, Path checkpointDir) {
        return new ParameterServerConfig(port, checkpointDir, DEFAULT_CHECKPOINT_INTERVAL_SECONDS,
                DEFAULT_KEEP_CHECKPOINTS, DEFAULT_MAX_MESSAGE_BYTES, Map.of());
    }

    /** A copy with another checkpoint interval. */
    public ParameterServerConfig withCheckpointIntervalSeconds(long seconds) {
        return new ParameterServerConfig(port, checkpointDir, seconds, keepCheckpoints, maxMessageBytes, provenance);
    }

    /** A copy keeping another number of checkpoint files. */
    public ParameterServerConfig withKeepCheckpoints(int keep) {
        return new ParameterServerConfig(port, checkpointDir, checkpointIntervalSeconds, keep, maxMessageBytes, provenance);
    }

    /** A copy with another inbound message limit. */
    public ParameterServerConfig withMaxMessageBytes(int bytes) {
        return new ParameterServerConfig(port, checkpointDir, checkpointIntervalSeconds, keepCheckpoints, bytes, provenance);
    }

    /** A copy recording another provenance map in checkpoints. */
    public ParameterServerConfig withProvenance(Map<String, String> map) {
        return new ParameterServerConfig(port, checkpointDir, checkpointIntervalSeconds, keepCheckpoints, maxMessageBytes, map);
    }

    /** Whether checkpoints are enabled. */
    public boolean checkpointsEnabled() {
        return checkpointDir != null;
    }
}
