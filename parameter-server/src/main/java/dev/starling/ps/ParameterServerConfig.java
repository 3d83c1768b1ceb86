package dev.starling.ps;

import java.nio.file.Path;
import java.util.Collections;
import java.util.Map;
import java.util.TreeMap;

import dev.starling.common.model.ModelConfig;

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
 * @param a3c the A3C gradient path (PushGradients); {@code null} means {@link A3c#DISABLED}
 *     (impala mode: weights change only through PublishParameters)
 */
public record ParameterServerConfig(
        int port,
        Path checkpointDir,
        long checkpointIntervalSeconds,
        int keepCheckpoints,
        int maxMessageBytes,
        Map<String, String> provenance,
        A3c a3c) {

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
        if (a3c == null) {
            a3c = A3c.DISABLED;
        }
    }

    /** Impala mode (A3C disabled); kept for callers that predate the A3C settings. */
    public ParameterServerConfig(int port, Path checkpointDir, long checkpointIntervalSeconds, int keepCheckpoints,
            int maxMessageBytes, Map<String, String> provenance) {
        this(port, checkpointDir, checkpointIntervalSeconds, keepCheckpoints, maxMessageBytes, provenance, A3c.DISABLED);
    }

    /**
     * Defaults for everything but the port and the checkpoint directory (which may be null):
     * impala mode (see {@link #withA3c(ModelConfig, long)} for a3c mode).
     */
    public static ParameterServerConfig defaults(int port, Path checkpointDir) {
        return new ParameterServerConfig(port, checkpointDir, DEFAULT_CHECKPOINT_INTERVAL_SECONDS,
                DEFAULT_KEEP_CHECKPOINTS, DEFAULT_MAX_MESSAGE_BYTES, Map.of());
    }

    /** A copy with another checkpoint interval. */
    public ParameterServerConfig withCheckpointIntervalSeconds(long seconds) {
        return new ParameterServerConfig(port, checkpointDir, seconds, keepCheckpoints, maxMessageBytes, provenance, a3c);
    }

    /** A copy keeping another number of checkpoint files. */
    public ParameterServerConfig withKeepCheckpoints(int keep) {
        return new ParameterServerConfig(port, checkpointDir, checkpointIntervalSeconds, keep, maxMessageBytes, provenance,
                a3c);
    }

    /** A copy with another inbound message limit. */
    public ParameterServerConfig withMaxMessageBytes(int bytes) {
        return new ParameterServerConfig(port, checkpointDir, checkpointIntervalSeconds, keepCheckpoints, bytes, provenance,
                a3c);
    }

    /** A copy recording another provenance map in checkpoints. */
    public ParameterServerConfig withProvenance(Map<String, String> map) {
        return new ParameterServerConfig(port, checkpointDir, checkpointIntervalSeconds, keepCheckpoints, maxMessageBytes, map,
                a3c);
    }

    /** A copy with other A3C settings ({@code null}: disabled). */
    public ParameterServerConfig withA3c(A3c settings) {
        return new ParameterServerConfig(port, checkpointDir, checkpointIntervalSeconds, keepCheckpoints, maxMessageBytes,
                provenance, settings);
    }

    /**
     * A copy in a3c mode: the server applies gradients from PushGradients, and a server that
     * starts without a checkpoint initialises {@code model} from {@code seed} as version 0.
     * The other A3C settings are kept.
     */
    public ParameterServerConfig withA3c(ModelConfig model, long seed) {
        return withA3c(new A3c(true, model, seed, a3c.optimizer(), a3c.learningRate(), a3c.maxStaleness(),
                a3c.optimizerStateEverySeconds()));
    }

    /** A copy in impala mode (A3C off), keeping the other A3C settings for a later {@link #withA3c}. */
    public ParameterServerConfig withoutA3c() {
        return withA3c(new A3c(false, a3c.model(), a3c.seed(), a3c.optimizer(), a3c.learningRate(),
                a3c.maxStaleness(), a3c.optimizerStateEverySeconds()));
    }

    /** A copy whose A3C optimizer is {@code optimizer} ("rmsprop" or "adam") with that learning rate. */
    public ParameterServerConfig withA3cOptimizer(String optimizer, double learningRate) {
        return withA3c(new A3c(a3c.enabled(), a3c.model(), a3c.seed(), optimizer, learningRate, a3c.maxStaleness(),
                a3c.optimizerStateEverySeconds()));
    }

    /** A copy dropping gradients more than {@code versions} versions stale. */
    public ParameterServerConfig withMaxStaleness(long versions) {
        return withA3c(new A3c(a3c.enabled(), a3c.model(), a3c.seed(), a3c.optimizer(), a3c.learningRate(), versions,
                a3c.optimizerStateEverySeconds()));
    }

    /** A copy refreshing the held A3C optimizer state at most every {@code seconds} (0: every gradient). */
    public ParameterServerConfig withOptimizerStateEverySeconds(long seconds) {
        return withA3c(new A3c(a3c.enabled(), a3c.model(), a3c.seed(), a3c.optimizer(), a3c.learningRate(),
                a3c.maxStaleness(), seconds));
    }

    /** Whether checkpoints are enabled. */
    public boolean checkpointsEnabled() {
        return checkpointDir != null;
    }

    /** Whether the server runs in a3c mode (applies gradients from PushGradients). */
    public boolean a3cEnabled() {
        return a3c.enabled();
    }

    /**
     * The A3C gradient path: one optimizer on the server, shared by every actor ("RMSProp with
     * shared statistics", Mnih et al. 2016), applies each gradient in arrival order.
     *
     * @param enabled a3c mode; when false PushGradients answers UNIMPLEMENTED and the other
     *     fields are unused
     * @param model sizes of the model the server initialises when it starts without a checkpoint;
     *     required when enabled (a restored checkpoint must hold weights of this model), may be
     *     {@code null} otherwise
     * @param seed initialises that model (the same seed gives the same version 0)
     * @param optimizer {@code "rmsprop"} (default; alpha 0.99, eps 1e-5) or {@code "adam"}
     * @param learningRate step size, finite and positive; default {@value #DEFAULT_LEARNING_RATE},
     *     the learner's default, so switching modes keeps the step size
     * @param maxStaleness gradients computed on weights more than this many versions older than
     *     the server's are dropped (acked with applied=false) and counted; at least 0 (0: only
     *     gradients on the newest weights are applied)
     * @param optimizerStateEverySeconds the optimizer state held for checkpoints and
     *     GetParameters is refreshed at most this often (0: with every applied gradient); it is
     *     always refreshed when the server closes, so the final checkpoint carries it
     */
    public record A3c(
            boolean enabled,
            ModelConfig model,
            long seed,
            String optimizer,
            double learningRate,
            long maxStaleness,
            long optimizerStateEverySeconds) {

        public static final String DEFAULT_OPTIMIZER = "rmsprop";
        public static final double DEFAULT_LEARNING_RATE = 1e-3;
        public static final long DEFAULT_MAX_STALENESS = 10;
        public static final long DEFAULT_OPTIMIZER_STATE_EVERY_SECONDS = 5;
        public static final long DEFAULT_SEED = 1;

        /** Impala mode, with the A3C defaults ready for {@link ParameterServerConfig#withA3c(ModelConfig, long)}. */
        public static final A3c DISABLED = new A3c(false, null, DEFAULT_SEED, DEFAULT_OPTIMIZER, DEFAULT_LEARNING_RATE,
                DEFAULT_MAX_STALENESS, DEFAULT_OPTIMIZER_STATE_EVERY_SECONDS);

        public A3c {
            if (enabled && model == null) {
                throw new IllegalArgumentException("a3c.model must be set when a3c is enabled: the server initialises"
                        + " those weights when it starts without a checkpoint");
            }
            if (!"rmsprop".equals(optimizer) && !"adam".equals(optimizer)) {
                throw new IllegalArgumentException("a3c.optimizer must be rmsprop or adam, got '" + optimizer + "'");
            }
            if (!(learningRate > 0) || Double.isInfinite(learningRate)) {
                throw new IllegalArgumentException("a3c.learningRate must be finite and > 0, got " + learningRate);
            }
            if (maxStaleness < 0) {
                throw new IllegalArgumentException("a3c.maxStaleness must be >= 0, got " + maxStaleness);
            }
            if (optimizerStateEverySeconds < 0) {
                throw new IllegalArgumentException("a3c.optimizerStateEverySeconds must be >= 0 (0 = every gradient), got "
                        + optimizerStateEverySeconds);
            }
        }
    }
}
