package dev.starling.actor;

import java.time.Duration;
import java.util.List;

import dev.starling.transport.Channels;
import dev.starling.common.model.ModelConfig;
import dev.starling.common.model.EpsilonGreedy;
import dev.starling.env.Discrete;
import dev.starling.common.rl.LossConfig;
import dev.starling.env.EnvironmentDefinition;
import dev.starling.env.Image;
import dev.starling.envs.EnvironmentRegistry;

/**
 * Settings of one actor process: the one place that defines each key, its default and its
 * validation. Immutable; an invalid value fails in the constructor with an
 * {@link IllegalArgumentException} that names the field.
 *
 * @param actorId stable name of this actor, e.g. {@code actor-3}: chunk {@code actor_id}, the
 *     {@code actor} metric tag and the watch subscriber id
 * @param learner target of the learner's gRPC server, {@code host:port}
 * @param parameterServer target of the parameter server's gRPC server, {@code host:port}
 * @param env the environment to play (from the {@link EnvironmentRegistry}, built-in or from an
 *     {@code --env-jar})
 * @param numEnvs K: environments stepped together with one batched inference call
 * @param unroll T: steps per environment in one chunk (the TBPTT length)
 * @param convLayers the model's conv layers (image observations); empty: the default for the
 *     observation space. Must equal the learner's
 * @param encoderSizes widths of the model's encoder layers; must equal the learner's
 * @param lstmSize hidden units of the model's LSTM; must equal the learner's
 * @param seed seeds the environments, the action sampling and the local model's initial weights
 * @param maxInFlight chunks sent to the learner and not yet acked, at most; the actor waits for an
 *     ack before sending more
 * @param maxMessageBytes largest gRPC message in either direction (a chunk must fit)
 * @param ackTimeout a chunk not acked within this time (or a stream that stays unwritable this
 *     long) counts as a dead stream: the actor drops it and reconnects
 * @param startupTimeout how long to wait for the first weights from the parameter server
 * @param a3cLoss null in IMPALA mode; in A3C mode the loss whose gradients the actor pushes
 * @param envServers empty: the environments run in this process; else the environment servers
 *     ({@code host:port}) that host them, {@code env} being what they described
 * @param doubleBuffered play the environments in two halves, one stepping while the policy runs
 *     on the other (pays off when environments step in servers)
 * @param exploration null unless R2D2 mode: how the Q-network acts ({@link #withR2d2}); a second
 *     half of double-buffered environments reuses the first half's epsilons
 */
public record ActorConfig(
        String actorId,
        String learner,
        String parameterServer,
        EnvironmentDefinition env,
        int numEnvs,
        int unroll,
        List<ModelConfig.ConvLayer> convLayers,
        List<Integer> encoderSizes,
        int lstmSize,
        long seed,
        int maxInFlight,
        int maxMessageBytes,
        Duration ackTimeout,
        Duration startupTimeout,
        LossConfig a3cLoss,
        List<String> envServers,
        boolean doubleBuffered,
        EpsilonGreedy exploration) {

    public static final int DEFAULT_NUM_ENVS = 32;
    public static final int DEFAULT_UNROLL = 32;
    public static final List<Integer> DEFAULT_ENCODER_SIZES = ModelConfig.DEFAULT_ENCODER_SIZES;
    public static final int DEFAULT_LSTM_SIZE = ModelConfig.DEFAULT_LSTM_SIZE;
    public static final int DEFAULT_MAX_IN_FLIGHT = 2;
    public static final int DEFAULT_MAX_MESSAGE_BYTES = Channels.DEFAULT_MAX_MESSAGE_BYTES;
    public static final Duration DEFAULT_ACK_TIMEOUT = Duration.ofSeconds(30);
    public static final Duration DEFAULT_STARTUP_TIMEOUT = Duration.ofSeconds(60);
    /** K and T at most (the learner's default chunk limits). */
    public static final int MAX_ENVS = 4096;
    public static final int MAX_UNROLL = 1024;
    /** Smallest accepted message limit. */
    public static final int MIN_MESSAGE_BYTES = 4096;

    public ActorConfig {
        requireText("actorId", actorId);
        requireText("learner", learner);
        requireText("parameterServer", parameterServer);
        if (env == null) {
            throw new IllegalArgumentException("env must be set");
        }
        requireRange("numEnvs", numEnvs, 1, MAX_ENVS);
        requireRange("unroll", unroll, 1, MAX_UNROLL);
        ModelConfig.of(env.observationSpace(), env.actionSpace(), convLayers, encoderSizes, lstmSize);
        convLayers = List.copyOf(convLayers);
        encoderSizes = List.copyOf(encoderSizes);
        requireRange("maxInFlight", maxInFlight, 1, 1024);
        if (maxMessageBytes < MIN_MESSAGE_BYTES) {
            throw new IllegalArgumentException(
                    "maxMessageBytes must be at least " + MIN_MESSAGE_BYTES + ", got " + maxMessageBytes);
        }
        requirePositive("ackTimeout", ackTimeout);
        requirePositive("startupTimeout", startupTimeout);
        envServers = List.copyOf(envServers);
        if (doubleBuffered && numEnvs < 2) {
            throw new IllegalArgumentException("double-buffered play needs numEnvs >= 2 (two halves), got " + numEnvs);
        }
        if (exploration != null) {
            if (a3cLoss != null) {
                throw new IllegalArgumentException("an actor plays one mode: a3c or r2d2, not both");
            }
            if (!(env.actionSpace() instanceof Discrete d) || d.n() != exploration.n()) {
                throw new IllegalArgumentException("r2d2 needs a discrete action space (epsilon-greedy over "
                        + exploration.n() + " actions), got " + env.actionSpace().describe());
            }
            if (exploration.epsilons().length != numEnvs) {
                throw new IllegalArgumentException("r2d2: one epsilon per environment: " + numEnvs + " environments, "
                        + exploration.epsilons().length + " epsilons");
            }
        }
        long chunkBytes = estimatedChunkBytes(env, numEnvs, unroll, lstmSize);
        if (chunkBytes > maxMessageBytes) {
            throw new IllegalArgumentException("maxMessageBytes " + maxMessageBytes + " is smaller than one chunk of K="
                    + numEnvs + " x T=" + unroll + " (about " + chunkBytes + " bytes): raise it or lower numEnvs/unroll");
        }
    }

    /** Defaults (K 32, T 32, encoder 64, LSTM 128, 2 chunks in flight, 64 MiB, 30 s / 60 s). */
    public static ActorConfig defaults(String actorId, String learner, String parameterServer,
            EnvironmentDefinition env, long seed) {
        return new ActorConfig(actorId, learner, parameterServer, env, DEFAULT_NUM_ENVS, DEFAULT_UNROLL,
                List.of(), DEFAULT_ENCODER_SIZES, DEFAULT_LSTM_SIZE, seed, DEFAULT_MAX_IN_FLIGHT, DEFAULT_MAX_MESSAGE_BYTES,
                DEFAULT_ACK_TIMEOUT, DEFAULT_STARTUP_TIMEOUT, null, List.of(), false, null);
    }

    /** Defaults for the built-in environment {@code env}. */
    public static ActorConfig defaults(String actorId, String learner, String parameterServer, String env, long seed) {
        return defaults(actorId, learner, parameterServer, EnvironmentRegistry.builtIn().get(env), seed);
    }

    /**
     * A3C mode: the actor computes the loss gradient of each chunk on its own copy of the model
     * (this loss) and pushes it to the parameter server instead of sending the chunk to a learner.
     */
    public ActorConfig withA3c(LossConfig loss) {
        return new ActorConfig(actorId, learner, parameterServer, env, numEnvs, unroll, convLayers, encoderSizes, lstmSize, seed,
                maxInFlight, maxMessageBytes, ackTimeout, startupTimeout, loss, envServers, doubleBuffered, exploration);
    }

    /**
     * R2D2 mode: the model is a dueling Q-network, played epsilon-greedily with
     * {@code exploration}'s epsilon for each environment; chunks of T = sequence length - overlap
     * steps go to the learner as in IMPALA, which builds the sequences.
     */
    public ActorConfig withR2d2(EpsilonGreedy explore) {
        return new ActorConfig(actorId, learner, parameterServer, env, numEnvs, unroll, convLayers, encoderSizes, lstmSize, seed,
                maxInFlight, maxMessageBytes, ackTimeout, startupTimeout, a3cLoss, envServers, doubleBuffered, explore);
    }

    /** True in R2D2 mode. */
    public boolean r2d2() {
        return exploration != null;
    }

    /** True in A3C mode (gradients to the parameter server); false in IMPALA mode (chunks to the learner). */
    public boolean a3c() {
        return a3cLoss != null;
    }

    /** The model this actor runs: sizes of the environment plus the configured widths. */
    public ModelConfig modelConfig() {
        ModelConfig model = ModelConfig.of(env.observationSpace(), env.actionSpace(), convLayers, encoderSizes, lstmSize);
        return exploration != null ? model.withHead(ModelConfig.Head.DUELING_Q) : model;
    }

    /**
     * Plays the environments that {@code servers} host (their description is {@code env}) instead
     * of in-process ones, double-buffered or not.
     */
    public ActorConfig withEnvServers(EnvironmentDefinition env, List<String> servers, boolean doubleBuffer) {
        return new ActorConfig(actorId, learner, parameterServer, env, numEnvs, unroll, convLayers, encoderSizes, lstmSize, seed,
                maxInFlight, maxMessageBytes, ackTimeout, startupTimeout, a3cLoss, servers, doubleBuffer, exploration);
    }

    public ActorConfig withNumEnvs(int k) {
        return new ActorConfig(actorId, learner, parameterServer, env, k, unroll, convLayers, encoderSizes, lstmSize, seed,
                maxInFlight, maxMessageBytes, ackTimeout, startupTimeout, a3cLoss, envServers, doubleBuffered, exploration);
    }

    public ActorConfig withUnroll(int t) {
        return new ActorConfig(actorId, learner, parameterServer, env, numEnvs, t, convLayers, encoderSizes, lstmSize, seed,
                maxInFlight, maxMessageBytes, ackTimeout, startupTimeout, a3cLoss, envServers, doubleBuffered, exploration);
    }

    /** The model's widths; its conv layers stay. */
    public ActorConfig withModelSizes(List<Integer> encoder, int lstm) {
        return withModel(convLayers, encoder, lstm);
    }

    /** The model's layers: conv layers (empty: the default for the observation), encoder widths, LSTM width. */
    public ActorConfig withModel(List<ModelConfig.ConvLayer> conv, List<Integer> encoder, int lstm) {
        return new ActorConfig(actorId, learner, parameterServer, env, numEnvs, unroll, conv, encoder, lstm, seed,
                maxInFlight, maxMessageBytes, ackTimeout, startupTimeout, a3cLoss, envServers, doubleBuffered, exploration);
    }

    public ActorConfig withMaxInFlight(int chunks) {
        return new ActorConfig(actorId, learner, parameterServer, env, numEnvs, unroll, convLayers, encoderSizes, lstmSize, seed,
                chunks, maxMessageBytes, ackTimeout, startupTimeout, a3cLoss, envServers, doubleBuffered, exploration);
    }

    public ActorConfig withAckTimeout(Duration timeout) {
        return new ActorConfig(actorId, learner, parameterServer, env, numEnvs, unroll, convLayers, encoderSizes, lstmSize, seed,
                maxInFlight, maxMessageBytes, timeout, startupTimeout, a3cLoss, envServers, doubleBuffered, exploration);
    }

    public ActorConfig withStartupTimeout(Duration timeout) {
        return new ActorConfig(actorId, learner, parameterServer, env, numEnvs, unroll, convLayers, encoderSizes, lstmSize, seed,
                maxInFlight, maxMessageBytes, ackTimeout, timeout, a3cLoss, envServers, doubleBuffered, exploration);
    }

    public ActorConfig withMaxMessageBytes(int bytes) {
        return new ActorConfig(actorId, learner, parameterServer, env, numEnvs, unroll, convLayers, encoderSizes, lstmSize, seed,
                maxInFlight, bytes, ackTimeout, startupTimeout, a3cLoss, envServers, doubleBuffered, exploration);
    }

    /** Upper estimate of one encoded chunk: the float payloads plus 8 bytes per action/done entry. */
    static long estimatedChunkBytes(EnvironmentDefinition env, int numEnvs, int unroll, int lstmSize) {
        long k = numEnvs;
        long t = unroll;
        long observations = (t + 1) * k * env.observationSpace().size();
        long floats = t * k * (3 + env.actionSpace().size()) + 2 * k * lstmSize;
        // Image observations travel as one byte per pixel.
        long observationBytes = env.observationSpace() instanceof Image ? observations : observations * Float.BYTES;
        return observationBytes + floats * Float.BYTES + t * k * 8 + 1024;
    }

    private static void requireText(String field, String value) {
        if (value == null || value.isBlank()) {
            throw new IllegalArgumentException(field + " must be a non-empty string, got "
                    + (value == null ? "null" : "'" + value + "'"));
        }
    }

    private static void requireRange(String field, int value, int min, int max) {
        if (value < min || value > max) {
            throw new IllegalArgumentException(field + " must be in [" + min + ", " + max + "], got " + value);
        }
    }

    private static void requirePositive(String field, Duration value) {
        if (value == null || value.isNegative() || value.isZero()) {
            throw new IllegalArgumentException(field + " must be positive, got " + value);
        }
    }
}
