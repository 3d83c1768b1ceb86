package dev.starling.ps;

import java.nio.ByteOrder;
import java.nio.FloatBuffer;

import com.google.protobuf.ByteString;
import dev.starling.common.model.ModelSpecs;
import dev.starling.proto.v1.ModelSpec;
import dev.starling.proto.v1.OptimizerState;
import dev.starling.proto.v1.Parameters;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;

/**
 * Checks weights and optimizer state from peers and from checkpoint files. Each check returns
 * {@code null} when the message is fine, else a {@link Rejection} saying exactly what is wrong.
 * Stateless and thread-safe.
 */
final class Validation {

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
        if (p.getVersion() < 0) {
            return Rejection.invalid("invalid_version", "parameters version " + Long.toUnsignedString(p.getVersion())
                    + " is out of range (at most " + Long.MAX_VALUE + ")");
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
     * {@link #checkParameters}: same spec hash, a known algorithm, the buffer size that algorithm
     * needs for this spec, and finite values.
     */
    static Rejection checkOptimizerState(OptimizerState s, Parameters p) {
        long specHash = p.getSpec().getHash();
        if (s.getSpecHash() != specHash) {
            return Rejection.invalid("optimizer_spec_mismatch", "optimizer state is for model spec "
                    + ModelSpecs.hex(s.getSpecHash()) + " but the parameters are for " + ModelSpecs.hex(specHash));
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
