package dev.starling.ps;

import java.nio.ByteOrder;
import java.nio.FloatBuffer;

import com.google.protobuf.ByteString;
import dev.starling.common.model.ModelSpecs;
import dev.starling.proto.v1.ModelSpec;
import dev.starling.proto.v1.OptimizerState;
import dev.starling.proto.v1.Parameters;
import dev.starling.proto.v1.WatchParametersRequest;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;

/**
 * Checks weights, optimizer state and watch requests from peers, and weights from checkpoint
 * files. Each check returns {@code null} when the message is fine, else a {@link Rejection}
 * saying exactly what is wrong. Stateless and thread-safe.
 */
final class Validation {

    /**
     * Largest accepted weights version, 2^53 - 1: exact in the {@code double} of the version
     * gauge and in JSON, and far beyond any real run. Without a bound, one publish of a version
     * near 2^63 would leave no newer version for the learner ever to publish.
     */
    static final long MAX_VERSION = (1L << 53) - 1;

    /** Longest accepted {@code subscriber_id} (it names the subscriber in logs). */
    static final int MAX_SUBSCRIBER_ID_LENGTH = 256;

    /** Most float32 values a weights blob can hold (a protobuf {@code bytes} field is under 2 GiB). */
    static final long MAX_ELEMENTS = Integer.MAX_VALUE / Float.BYTES;

    private Validation() {
    }

    /**
     * Why a message was refused.
     *
     * @param code INVALID_ARGUMENT for a malformed message, FAILED_PRECONDITION for a stale or
     *     foreign one
     * @param reason short snake_case tag for the {@code starling.rejected} counter
     * @param message what was wrong, for the caller
     */
    record Rejection(Status.Code code, String reason, String message) {

        static Rejection invalid(String reason, String message) {
            return new Rejection(Status.Code.INVALID_ARGUMENT, reason, message);
        }

        static Rejection precondition(String reason, String message) {
            return new Rejection(Status.Code.FAILED_PRECONDITION, reason, message);
        }

        StatusRuntimeException toException() {
            return Status.fromCode(code).withDescription(message).asRuntimeException();
        }
    }

    /** Spec self-consistency, blob size and finiteness of one weights message. */
    static Rejection checkParameters(Parameters p) {
        if (p.getVersion() < 0 || p.getVersion() > MAX_VERSION) {
            return Rejection.invalid("invalid_version", "parameters version " + Long.toUnsignedString(p.getVersion())
                    + " is out of range (at most 2^53 - 1 = " + MAX_VERSION + ")");
        }
        ModelSpec spec = p.getSpec();
        if (!p.hasSpec() || spec.getTensorsCount() == 0) {
            return Rejection.invalid("invalid_spec", "parameters carry no model spec (no tensors)");
        }
        long computed = ModelSpecs.hash(spec);
        if (computed != spec.getHash()) {
            return Rejection.invalid("spec_hash_mismatch", "model spec hash " + ModelSpecs.hex(spec.getHash())
                    + " does not match the spec's contents, which hash to " + ModelSpecs.hex(computed));
        }
        long elements;
        try {
            ModelSpecs.config(spec);
            elements = ModelSpecs.elementCount(spec);
        } catch (IllegalArgumentException | ArithmeticException e) {
            return Rejection.invalid("invalid_spec", "invalid model spec: " + e.getMessage());
        }
        if (elements > MAX_ELEMENTS) {
            // Checked before multiplying by 4, which could overflow to the size of the blob sent.
            return Rejection.invalid("invalid_spec", "invalid model spec: its tensors hold " + elements
                    + " float32 values, more than a weights blob can carry (" + MAX_ELEMENTS + ")");
        }
        long expected = elements * Float.BYTES;
        if (p.getWeights().size() != expected) {
            return Rejection.invalid("weights_size", "weights blob has " + p.getWeights().size()
                    + " bytes, spec " + ModelSpecs.hex(spec.getHash()) + " needs " + expected
                    + " (" + elements + " float32 values)");
        }
        int bad = firstNonFinite(p.getWeights());
        if (bad >= 0) {
            return Rejection.invalid("non_finite_weights",
                    "weights blob has a non-finite value at float index " + bad);
        }
        return null;
    }

    /**
     * An optimizer state sent with (or stored with) {@code p}, which passed
     * {@link #checkParameters}: same spec hash, a step count a signed 64-bit counter can hold
     * (Adam's bias correction divides by zero or goes negative otherwise), a known algorithm, the
     * buffer size that algorithm needs for this spec, and finite values.
     */
    static Rejection checkOptimizerState(OptimizerState s, Parameters p) {
        long specHash = p.getSpec().getHash();
        if (s.getSpecHash() != specHash) {
            return Rejection.invalid("optimizer_spec_mismatch", "optimizer state is for model spec "
                    + ModelSpecs.hex(s.getSpecHash()) + " but the parameters are for " + ModelSpecs.hex(specHash));
        }
        if (s.getStep() < 0) {
            return Rejection.invalid("invalid_optimizer_state", "optimizer state step "
                    + Long.toUnsignedString(s.getStep()) + " is out of range (at most " + Long.MAX_VALUE + ")");
        }
        int buffersPerParameter;
        switch (s.getAlgorithm()) {
            case "adam":
                buffersPerParameter = 2;
                break;
            case "rmsprop":
                buffersPerParameter = 1;
                break;
            default:
                return Rejection.invalid("invalid_optimizer_state", "optimizer state has unknown algorithm '"
                        + s.getAlgorithm() + "': expected adam or rmsprop");
        }
        long expected = ModelSpecs.elementCount(p.getSpec()) * Float.BYTES * buffersPerParameter;
        if (s.getBuffers().size() != expected) {
            return Rejection.invalid("invalid_optimizer_state", s.getAlgorithm() + " optimizer state has "
                    + s.getBuffers().size() + " bytes of buffers, expected " + expected);
        }
        int bad = firstNonFinite(s.getBuffers());
        if (bad >= 0) {
            return Rejection.invalid("invalid_optimizer_state",
                    "optimizer state has a non-finite value at float index " + bad);
        }
        return null;
    }

    /** A WatchParameters request: a version that can exist and a short subscriber id. */
    static Rejection checkWatch(WatchParametersRequest r) {
        if (r.getAfterVersion() < 0 || r.getAfterVersion() > MAX_VERSION) {
            return Rejection.invalid("invalid_version", "after_version " + Long.toUnsignedString(r.getAfterVersion())
                    + " is out of range (at most 2^53 - 1 = " + MAX_VERSION + ")");
        }
        if (r.getSubscriberId().length() > MAX_SUBSCRIBER_ID_LENGTH) {
            return Rejection.invalid("subscriber_id", "subscriber_id has " + r.getSubscriberId().length()
                    + " characters, at most " + MAX_SUBSCRIBER_ID_LENGTH + " are accepted");
        }
        return null;
    }

    /** Index of the first NaN or infinity in a little-endian float32 blob, or -1. */
    static int firstNonFinite(ByteString blob) {
        FloatBuffer fb = blob.asReadOnlyByteBuffer().order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer();
        int n = fb.remaining();
        for (int i = 0; i < n; i++) {
            if (!Float.isFinite(fb.get(i))) {
                return i;
            }
        }
        return -1;
    }
}
