package dev.starling.transport.wire;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;

import com.google.protobuf.ByteString;
import dev.starling.common.model.ModelConfig;
import dev.starling.common.model.ModelSpecs;
import dev.starling.common.rl.Rollout;
import dev.starling.common.rollout.EpisodeBuffer;
import dev.starling.proto.v1.TrajectoryChunk;
import io.grpc.Status;

/**
 * {@link Rollout} to {@link TrajectoryChunk} and back. Decoding validates everything first
 * (spec, sizes against limits and the model, action range, finite values, version not from the
 * future) and allocates only after the sizes are known to be sane.
 */
public final class ChunkCodec {

    /**
     * Longest accepted {@code actor_id}, in UTF-16 chars: it names the actor in the learner's
     * logs, so it must be present and short.
     */
    public static final int MAX_ACTOR_ID_LENGTH = 256;

    private ChunkCodec() {
    }

    /**
     * Encodes one actor's rollout (B = K environments) with its episode statistics, without an
     * incarnation (0: the receiver compares the version as one of its own).
     */
    public static TrajectoryChunk encode(Rollout r, String actorId, long sequence, long policyVersion, long specHash,
            EpisodeBuffer episodes) {
        return encode(r, actorId, sequence, policyVersion, 0, specHash, episodes);
    }

    /**
     * Encodes one actor's rollout, played with weights {@code policyVersion} of the parameter
     * server's {@code incarnation}.
     */
    public static TrajectoryChunk encode(Rollout r, String actorId, long sequence, long policyVersion, long incarnation,
            long specHash, EpisodeBuffer episodes) {
        TrajectoryChunk.Builder b = TrajectoryChunk.newBuilder()
                .setActorId(actorId)
                .setSequence(sequence)
                .setPolicyVersion(policyVersion)
                .setIncarnation(incarnation)
                .setSpecHash(specHash)
                .setUnrollLength(r.unroll)
                .setNumEnvs(r.rows)
                .setObservations(r.images ? ByteString.copyFrom(r.pixels) : floats(r.observations))
                .setRewards(floats(r.rewards))
                .setBehaviourLogProbs(floats(r.behaviourLogProbs))
                .setInitialH(floats(r.initialH))
                .setInitialC(floats(r.initialC));
        if (r.continuous) {
            b.setContinuousActions(floats(r.continuousActions));
        } else {
            for (int a : r.actions) {
                b.addActions(a);
            }
        }
        for (int i = 0; i < r.dones.length; i++) {
            b.addDones(r.dones[i]);
            b.addTruncated(r.truncated[i]);
            if (r.truncated[i]) {
                b.addTruncationValues(r.bootstrapValues[i]);
            }
        }
        for (int i = 0; i < episodes.size(); i++) {
            b.addEpisodeReturns(episodes.returnAt(i));
            b.addEpisodeLengths(episodes.lengthAt(i));
        }
        return b.build();
    }

    /**
     * Validates a chunk for a learner training {@code model} (spec hash {@code specHash}) whose
     * newest published version is {@code newestVersion}, and decodes it. The sequence number is
     * not checked here: its order is a property of the stream (see the learner's service).
     */
    public static Rollout decode(TrajectoryChunk c, ModelConfig model, long specHash, long newestVersion,
            int expectedUnroll, ChunkLimits limits) throws InvalidMessageException {
        if (c.getSpecHash() != specHash) {
            throw new InvalidMessageException(Status.Code.FAILED_PRECONDITION, "spec_hash",
                    "chunk is for model spec " + ModelSpecs.hex(c.getSpecHash()) + " but the learner trains "
                            + ModelSpecs.hex(specHash));
        }
        String actor = c.getActorId();
        if (actor.isBlank()) {
            throw invalid("actor_id", "actor_id is empty or blank: every chunk must name the actor that sent it");
        }
        if (actor.length() > MAX_ACTOR_ID_LENGTH) {
            throw invalid("actor_id", "actor_id has " + actor.length() + " characters, at most "
                    + MAX_ACTOR_ID_LENGTH + " are accepted");
        }
        int t = c.getUnrollLength();
        int k = c.getNumEnvs();
        if (t < 1 || t > limits.maxUnroll()) {
            throw invalid("unroll", "unroll_length " + Integer.toUnsignedString(t) + " is outside [1, " + limits.maxUnroll() + "]");
        }
        if (t != expectedUnroll) {
            throw invalid("unroll", "unroll_length " + t + " differs from the learner's unroll " + expectedUnroll);
        }
        if (k < 1 || k > limits.maxEnvs()) {
            throw invalid("num_envs", "num_envs " + Integer.toUnsignedString(k) + " is outside [1, " + limits.maxEnvs() + "]");
        }
        if (c.getPolicyVersion() > newestVersion || c.getPolicyVersion() < 0) {
            throw invalid("future_version", "policy_version " + Long.toUnsignedString(c.getPolicyVersion())
                    + " is newer than the newest published version " + newestVersion);
        }
        int obs = model.observationSize();
        int hidden = model.lstmSize();
        boolean continuous = model.continuous();
        int actionSize = model.actionSize();
        long observationValues = (long) (t + 1) * k * obs;
        if (model.pixels()) {
            // An image model's observations are uint8 pixels, one byte each: any byte is a valid pixel.
            if (c.getObservations().size() != observationValues) {
                throw invalid("shape", "observations has " + c.getObservations().size() + " bytes, expected "
                        + observationValues + " ([T+1, K, C*H*W] uint8 pixels of " + model.observationSpace().describe()
                        + ")");
            }
        } else {
            checkFloats(c.getObservations(), observationValues, "observations", "[T+1, K, obs]");
        }
        checkFloats(c.getRewards(), (long) t * k, "rewards", "[T, K]");
        checkFloats(c.getBehaviourLogProbs(), (long) t * k, "behaviour_log_probs", "[T, K]");
        checkFloats(c.getInitialH(), (long) k * hidden, "initial_h", "[K, H]");
        checkFloats(c.getInitialC(), (long) k * hidden, "initial_c", "[K, H]");
        if (continuous) {
            checkFloats(c.getContinuousActions(), (long) t * k * actionSize, "continuous_actions", "[T, K, D]");
            if (c.getActionsCount() != 0) {
                throw invalid("shape", "actions has " + c.getActionsCount() + " values, but the model's actions are"
                        + " continuous: send continuous_actions");
            }
        } else {
            if (c.getActionsCount() != t * k) {
                throw invalid("shape", "actions has " + c.getActionsCount() + " values, expected T*K = " + t * k);
            }
            if (!c.getContinuousActions().isEmpty()) {
                throw invalid("shape", "continuous_actions is set, but the model's actions are discrete");
            }
        }
        if (c.getDonesCount() != t * k) {
            throw invalid("shape", "dones has " + c.getDonesCount() + " values, expected T*K = " + t * k);
        }
        if (c.getTruncatedCount() != t * k) {
            throw invalid("shape", "truncated has " + c.getTruncatedCount() + " values, expected T*K = " + t * k);
        }
        if (c.getEpisodeReturnsCount() != c.getEpisodeLengthsCount()
                || c.getEpisodeReturnsCount() > limits.maxEpisodesPerChunk()) {
            throw invalid("episodes", "episode_returns (" + c.getEpisodeReturnsCount() + ") and episode_lengths ("
                    + c.getEpisodeLengthsCount() + ") must have equal counts, at most " + limits.maxEpisodesPerChunk());
        }
        for (int i = 0; i < c.getEpisodeReturnsCount(); i++) {
            if (!Float.isFinite(c.getEpisodeReturns(i))) {
                throw invalid("non_finite", "episode_returns[" + i + "] is not finite");
            }
        }
        Rollout r = new Rollout(t, k, obs, model.pixels(), continuous, actionSize, hidden);
        int numActions = model.policyOutputs();
        int truncations = 0;
        for (int i = 0; i < t * k; i++) {
            if (!continuous) {
                int a = c.getActions(i);
                if (a < 0 || a >= numActions) {
                    throw invalid("action_range", "actions[" + i + "] = " + a + " is outside [0, " + numActions + ")");
                }
                r.actions[i] = a;
            }
            r.dones[i] = c.getDones(i);
            r.truncated[i] = c.getTruncated(i);
            if (r.truncated[i]) {
                if (!r.dones[i]) {
                    throw invalid("truncated", "truncated[" + i + "] is set but dones[" + i + "] is not: a truncation"
                            + " ends the episode");
                }
                if (truncations >= c.getTruncationValuesCount()) {
                    throw invalid("truncation_values", "truncation_values has " + c.getTruncationValuesCount()
                            + " values, fewer than the truncated steps");
                }
                float v = c.getTruncationValues(truncations++);
                if (!Float.isFinite(v)) {
                    throw invalid("non_finite", "truncation_values[" + (truncations - 1) + "] is not finite");
                }
                r.bootstrapValues[i] = v;
            }
        }
        if (truncations != c.getTruncationValuesCount()) {
            throw invalid("truncation_values", "truncation_values has " + c.getTruncationValuesCount()
                    + " values for " + truncations + " truncated steps");
        }
        if (r.images) {
            c.getObservations().copyTo(r.pixels, 0);
        } else {
            read(c.getObservations(), r.observations, "observations");
        }
        read(c.getRewards(), r.rewards, "rewards");
        read(c.getBehaviourLogProbs(), r.behaviourLogProbs, "behaviour_log_probs");
        if (continuous) {
            read(c.getContinuousActions(), r.continuousActions, "continuous_actions");
        }
        read(c.getInitialH(), r.initialH, "initial_h");
        read(c.getInitialC(), r.initialC, "initial_c");
        return r;
    }

    /**
     * {@code actorId} as it may appear in a log line about a rejected message: an id over the
     * limit is cut to its first 64 characters and its length.
     */
    public static String loggable(String actorId) {
        return actorId.length() <= MAX_ACTOR_ID_LENGTH ? actorId
                : actorId.substring(0, 64) + "... (" + actorId.length() + " characters)";
    }

    /** Little-endian float32 bytes of {@code values}. */
    public static ByteString floats(float[] values) {
        ByteBuffer buf = ByteBuffer.allocate(values.length * Float.BYTES).order(ByteOrder.LITTLE_ENDIAN);
        buf.asFloatBuffer().put(values);
        return ByteString.copyFrom(buf.array());
    }

    private static void checkFloats(ByteString bytes, long expectedValues, String field, String shape)
            throws InvalidMessageException {
        if (bytes.size() != expectedValues * Float.BYTES) {
            throw invalid("shape", field + " has " + bytes.size() + " bytes, expected " + expectedValues * Float.BYTES
                    + " (" + shape + " float32)");
        }
    }

    private static void read(ByteString bytes, float[] out, String field) throws InvalidMessageException {
        FloatBuffer fb = bytes.asReadOnlyByteBuffer().order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer();
        fb.get(out);
        for (int i = 0; i < out.length; i++) {
            if (!Float.isFinite(out[i])) {
                throw invalid("non_finite", field + "[" + i + "] is not finite (" + out[i] + ")");
            }
        }
    }

    private static InvalidMessageException invalid(String reason, String message) {
        return new InvalidMessageException(Status.Code.INVALID_ARGUMENT, reason, message);
    }
}
