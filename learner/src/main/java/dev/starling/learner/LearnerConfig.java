package dev.starling.learner;

import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Objects;

import dev.starling.transport.Channels;
import dev.starling.common.model.ModelConfig;
import dev.starling.common.rl.LossConfig;
import dev.starling.common.rl.R2d2Config;
import dev.starling.common.rl.Rollout;
import dev.starling.transport.wire.ChunkLimits;
import dev.starling.env.EnvironmentDefinition;
import dev.starling.envs.EnvironmentRegistry;

/**
 * Settings of the gRPC learner: the one place that defines each key, its default and its
 * validation. Immutable; an invalid value fails in the constructor with an
 * {@link IllegalArgumentException} that names the field.
 *
 * @param port TCP port of the Learner service; 0 picks a free one (see {@link Learner#port()}).
 *     Ignored when the learner is built from a caller-supplied {@code ServerBuilder}.
 * @param parameterServer gRPC target of the parameter server, e.g. {@code "localhost:50051"}.
 *     Ignored when the caller supplies the channel.
 * @param model the model: the environment's spaces (the learner never loads environment code)
 *     and the architecture
 * @param unroll T: steps per chunk; chunks with another T are rejected (INVALID_ARGUMENT)
 * @param batchChunks chunks per update; the batch has the sum of their K sequences
 * @param queueChunks capacity of the bounded chunk queue, at least {@code batchChunks}: streams
 *     ask for more chunks only while it has room
 * @param maxPolicyLag chunks whose policy version is more than this many versions behind the
 *     newest published one are dropped (acked with accepted=false) and counted
 * @param publishEvery applied updates between weight publishes
 * @param optimizerStateEverySeconds a publish carries the optimizer state when at least this many
 *     seconds passed since the last one the server acknowledged (0: every publish); the final
 *     publish at close always carries it
 * @param optimizer {@code "adam"} or {@code "rmsprop"}
 * @param learningRate optimizer step size, finite and positive
 * @param loss the actor-critic loss (V-trace, costs, clipping, reward scale)
 * @param seed initialises the model (the same seed gives the same fresh weights)
 * @param device {@code "cpu"}, {@code "cuda"} or {@code "auto"} (resolved at construction of
 *     the learner, not here)
 * @param maxMessageBytes largest inbound gRPC message (server and parameter-server channel)
 * @param chunkLimits bounds on what an actor may send
 * @param startupTimeout how long {@link Learner#start()} keeps retrying an unavailable parameter
 *     server before it gives up
 * @param training {@code true} (the default): the trainer runs an update on every batch and
 *     publishes. {@code false} is for measuring ingest alone ({@code starling bench}, learner
 *     ingest capacity): chunks are still validated, queued, acked and counted exactly as in
 *     training (status frames, {@code starling_learner_samples_total} as the trainer takes them
 *     from the queue), but the trainer drops each batch it takes: no update, no publish, the
 *     weights and the parameter server's version never change
 * @param r2d2 null for IMPALA (V-trace on each batch of chunks); set, the R2D2 replay learner
 *     ({@link #withR2d2})
 */
public record LearnerConfig(
        int port,
        String parameterServer,
        ModelConfig model,
        int unroll,
        int batchChunks,
        int queueChunks,
        long maxPolicyLag,
        int publishEvery,
        long optimizerStateEverySeconds,
        String optimizer,
        double learningRate,
        LossConfig loss,
        long seed,
        String device,
        int maxMessageBytes,
        ChunkLimits chunkLimits,
        Duration startupTimeout,
        boolean training,
        R2d2Config r2d2) {

    public static final int DEFAULT_UNROLL = 32;
    public static final int DEFAULT_BATCH_CHUNKS = 2;
    public static final int DEFAULT_QUEUE_CHUNKS = 2;
    public static final long DEFAULT_MAX_POLICY_LAG = 20;
    public static final int DEFAULT_PUBLISH_EVERY = 1;
    public static final long DEFAULT_OPTIMIZER_STATE_EVERY_SECONDS = 5;
    public static final String DEFAULT_OPTIMIZER = "rmsprop";
    public static final double DEFAULT_LEARNING_RATE = 1e-3;
    public static final Duration DEFAULT_STARTUP_TIMEOUT = Duration.ofSeconds(60);
    /** Smallest accepted {@code maxMessageBytes}. */
    public static final int MIN_MESSAGE_BYTES = 4096;

    public LearnerConfig {
        if (port < 0 || port > 65535) {
            throw new IllegalArgumentException("port must be in [0, 65535] (0 = any free port), got " + port);
        }
        if (parameterServer == null || parameterServer.isBlank()) {
            throw new IllegalArgumentException("parameterServer must be a gRPC target such as host:port, got '"
                    + parameterServer + "'");
        }
        if (model == null) {
            throw new IllegalArgumentException("model must be set (the spaces and the architecture)");
        }
        if (chunkLimits == null) {
            throw new IllegalArgumentException("chunkLimits must not be null");
        }
        if (unroll < 1 || unroll > chunkLimits.maxUnroll()) {
            throw new IllegalArgumentException("unroll must be in [1, " + chunkLimits.maxUnroll() + "], got " + unroll);
        }
        if (batchChunks < 1) {
            throw new IllegalArgumentException("batchChunks must be at least 1, got " + batchChunks);
        }
        if (queueChunks < batchChunks) {
            throw new IllegalArgumentException("queueChunks must be at least batchChunks (" + batchChunks
                    + "): the trainer takes a whole batch from the queue, got " + queueChunks);
        }
        if (maxPolicyLag < 0) {
            throw new IllegalArgumentException("maxPolicyLag must be >= 0, got " + maxPolicyLag);
        }
        if (publishEvery < 1) {
            throw new IllegalArgumentException("publishEvery must be at least 1, got " + publishEvery);
        }
        if (optimizerStateEverySeconds < 0) {
            throw new IllegalArgumentException(
                    "optimizerStateEverySeconds must be >= 0 (0 = with every publish), got " + optimizerStateEverySeconds);
        }
        if (!"adam".equals(optimizer) && !"rmsprop".equals(optimizer)) {
            throw new IllegalArgumentException("optimizer must be adam or rmsprop, got '" + optimizer + "'");
        }
        if (!(learningRate > 0) || Double.isInfinite(learningRate)) {
            throw new IllegalArgumentException("learningRate must be finite and > 0, got " + learningRate);
        }
        if (loss == null) {
            throw new IllegalArgumentException("loss must not be null");
        }
        if (device == null) {
            throw new IllegalArgumentException("device must be auto, cpu or cuda, got null");
        }
        device = device.toLowerCase(Locale.ROOT);
        if (!device.equals("auto") && !device.equals("cpu") && !device.equals("cuda")) {
            throw new IllegalArgumentException("device must be auto, cpu or cuda, got '" + device + "'");
        }
        if (maxMessageBytes < MIN_MESSAGE_BYTES) {
            throw new IllegalArgumentException(
                    "maxMessageBytes must be at least " + MIN_MESSAGE_BYTES + ", got " + maxMessageBytes);
        }
        if (startupTimeout == null || startupTimeout.isNegative() || startupTimeout.isZero()) {
            throw new IllegalArgumentException("startupTimeout must be positive, got " + startupTimeout);
        }
        if (r2d2 != null) {
            if (model.head() != ModelConfig.Head.DUELING_Q) {
                throw new IllegalArgumentException("r2d2 trains a dueling Q-network: the model's head must be"
                        + " DUELING_Q, got " + model.head());
            }
            if (unroll != r2d2.chunkSteps()) {
                throw new IllegalArgumentException("r2d2: chunks must have sequence length - overlap = "
                        + r2d2.chunkSteps() + " steps, got unroll " + unroll);
            }
            long perSequence = new Rollout(r2d2.sequenceLength(), 1, model).bytes();
            if (r2d2.replayBytes() / perSequence < r2d2.minReplaySequences()) {
                throw new IllegalArgumentException("--replay-bytes " + r2d2.replayBytes() + " holds "
                        + r2d2.replayBytes() / perSequence + " sequences of this model (" + perSequence + " bytes each),"
                        + " fewer than --min-replay-sequences " + r2d2.minReplaySequences()
                        + ": training would never start");
            }
        } else if (model.head() != ModelConfig.Head.ACTOR_CRITIC) {
            throw new IllegalArgumentException("impala trains an actor-critic: the model's head must be ACTOR_CRITIC,"
                    + " got " + model.head());
        }
    }

    /**
     * R2D2 instead of IMPALA: a replay learner of dueling-Q sequences; the model becomes a Q-network
     * and chunks carry {@code r2d2.chunkSteps()} steps.
     */
    public LearnerConfig withR2d2(R2d2Config settings) {
        return new LearnerConfig(port, parameterServer, model.withHead(ModelConfig.Head.DUELING_Q),
                settings.chunkSteps(), batchChunks, queueChunks, maxPolicyLag, publishEvery,
                optimizerStateEverySeconds, optimizer, learningRate, loss, seed, device, maxMessageBytes, chunkLimits,
                startupTimeout, training, settings);
    }

    /**
     * The defaults for the built-in environment {@code env} (its spaces and reward scale), training
     * against the parameter server at {@code parameterServer}; see the other overload.
     */
    public static LearnerConfig defaults(String env, String parameterServer) {
        EnvironmentDefinition def = EnvironmentRegistry.builtIn().get(Objects.requireNonNull(env, "env"));
        return defaults(ModelConfig.defaults(def.observationSpace(), def.actionSpace()), parameterServer)
                .withLoss(LossConfig.defaults().withRewardScale(def.rewardScale()));
    }

    /**
     * The defaults for {@code model}, training against the parameter server at
     * {@code parameterServer}: T = 32, 2 chunks per update, a queue of 2,
     * maximum policy lag 20, publish after every update with the optimizer state at most every
     * 5 s, RMSProp at 1e-3, the default loss (reward scale 1), seed 1, CPU, 64 MiB messages,
     * default chunk limits, 60 s to reach the parameter server, training on.
     */
    public static LearnerConfig defaults(ModelConfig model, String parameterServer) {
        return new LearnerConfig(0, parameterServer, model, DEFAULT_UNROLL,
                DEFAULT_BATCH_CHUNKS, DEFAULT_QUEUE_CHUNKS, DEFAULT_MAX_POLICY_LAG, DEFAULT_PUBLISH_EVERY,
                DEFAULT_OPTIMIZER_STATE_EVERY_SECONDS, DEFAULT_OPTIMIZER, DEFAULT_LEARNING_RATE,
                LossConfig.defaults(), 1L, "cpu",
                Channels.DEFAULT_MAX_MESSAGE_BYTES, ChunkLimits.defaults(), DEFAULT_STARTUP_TIMEOUT, true, null);
    }

    /** The model these settings train. */
    public ModelConfig modelConfig() {
        return model;
    }

    public LearnerConfig withPort(int p) {
        return new LearnerConfig(p, parameterServer, model, unroll, batchChunks, queueChunks,
                maxPolicyLag, publishEvery, optimizerStateEverySeconds, optimizer, learningRate, loss, seed, device,
                maxMessageBytes, chunkLimits, startupTimeout, training, r2d2);
    }

    public LearnerConfig withParameterServer(String target) {
        return new LearnerConfig(port, target, model, unroll, batchChunks, queueChunks,
                maxPolicyLag, publishEvery, optimizerStateEverySeconds, optimizer, learningRate, loss, seed, device,
                maxMessageBytes, chunkLimits, startupTimeout, training, r2d2);
    }

    public LearnerConfig withModel(List<Integer> encoder, int lstm) {
        return new LearnerConfig(port, parameterServer, model.withArchitecture(encoder, lstm), unroll, batchChunks, queueChunks,
                maxPolicyLag, publishEvery, optimizerStateEverySeconds, optimizer, learningRate, loss, seed, device,
                maxMessageBytes, chunkLimits, startupTimeout, training, r2d2);
    }

    public LearnerConfig withUnroll(int t) {
        return new LearnerConfig(port, parameterServer, model, t, batchChunks, queueChunks,
                maxPolicyLag, publishEvery, optimizerStateEverySeconds, optimizer, learningRate, loss, seed, device,
                maxMessageBytes, chunkLimits, startupTimeout, training, r2d2);
    }

    /** Chunks per update and queue capacity. */
    public LearnerConfig withBatching(int batch, int queue) {
        return new LearnerConfig(port, parameterServer, model, unroll, batch, queue,
                maxPolicyLag, publishEvery, optimizerStateEverySeconds, optimizer, learningRate, loss, seed, device,
                maxMessageBytes, chunkLimits, startupTimeout, training, r2d2);
    }

    public LearnerConfig withMaxPolicyLag(long lag) {
        return new LearnerConfig(port, parameterServer, model, unroll, batchChunks, queueChunks,
                lag, publishEvery, optimizerStateEverySeconds, optimizer, learningRate, loss, seed, device,
                maxMessageBytes, chunkLimits, startupTimeout, training, r2d2);
    }

    /** Updates per publish and the optimizer-state interval. */
    public LearnerConfig withPublishing(int every, long optimizerStateSeconds) {
        return new LearnerConfig(port, parameterServer, model, unroll, batchChunks, queueChunks,
                maxPolicyLag, every, optimizerStateSeconds, optimizer, learningRate, loss, seed, device,
                maxMessageBytes, chunkLimits, startupTimeout, training, r2d2);
    }

    public LearnerConfig withOptimizer(String name, double lr) {
        return new LearnerConfig(port, parameterServer, model, unroll, batchChunks, queueChunks,
                maxPolicyLag, publishEvery, optimizerStateEverySeconds, name, lr, loss, seed, device,
                maxMessageBytes, chunkLimits, startupTimeout, training, r2d2);
    }

    public LearnerConfig withLoss(LossConfig l) {
        return new LearnerConfig(port, parameterServer, model, unroll, batchChunks, queueChunks,
                maxPolicyLag, publishEvery, optimizerStateEverySeconds, optimizer, learningRate, l, seed, device,
                maxMessageBytes, chunkLimits, startupTimeout, training, r2d2);
    }

    public LearnerConfig withSeed(long s) {
        return new LearnerConfig(port, parameterServer, model, unroll, batchChunks, queueChunks,
                maxPolicyLag, publishEvery, optimizerStateEverySeconds, optimizer, learningRate, loss, s, device,
                maxMessageBytes, chunkLimits, startupTimeout, training, r2d2);
    }

    public LearnerConfig withDevice(String d) {
        return new LearnerConfig(port, parameterServer, model, unroll, batchChunks, queueChunks,
                maxPolicyLag, publishEvery, optimizerStateEverySeconds, optimizer, learningRate, loss, seed, d,
                maxMessageBytes, chunkLimits, startupTimeout, training, r2d2);
    }

    public LearnerConfig withMaxMessageBytes(int bytes) {
        return new LearnerConfig(port, parameterServer, model, unroll, batchChunks, queueChunks,
                maxPolicyLag, publishEvery, optimizerStateEverySeconds, optimizer, learningRate, loss, seed, device,
                bytes, chunkLimits, startupTimeout, training, r2d2);
    }

    public LearnerConfig withChunkLimits(ChunkLimits limits) {
        return new LearnerConfig(port, parameterServer, model, unroll, batchChunks, queueChunks,
                maxPolicyLag, publishEvery, optimizerStateEverySeconds, optimizer, learningRate, loss, seed, device,
                maxMessageBytes, limits, startupTimeout, training, r2d2);
    }

    public LearnerConfig withStartupTimeout(Duration timeout) {
        return new LearnerConfig(port, parameterServer, model, unroll, batchChunks, queueChunks,
                maxPolicyLag, publishEvery, optimizerStateEverySeconds, optimizer, learningRate, loss, seed, device,
                maxMessageBytes, chunkLimits, timeout, training, r2d2);
    }

    /**
     * Training on (the default) or off: off, the learner ingests as usual but drops what it would
     * train on (see the {@code training} parameter of the class comment).
     */
    public LearnerConfig withTraining(boolean on) {
        return new LearnerConfig(port, parameterServer, model, unroll, batchChunks, queueChunks,
                maxPolicyLag, publishEvery, optimizerStateEverySeconds, optimizer, learningRate, loss, seed, device,
                maxMessageBytes, chunkLimits, startupTimeout, on, r2d2);
    }
}
