package dev.starling.envs.remote;

import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.util.Arrays;

import dev.starling.env.Image;
import dev.starling.env.ObservationSpace;
import dev.starling.proto.v1.DType;
import dev.starling.proto.v1.PlayReply;
import dev.starling.proto.v1.Tensor;

/**
 * Checks what an environment server sends before anything of it is used: every count, shape,
 * dtype and size against the stream's environments and the observation space, and every reward
 * and float observation finite. A reply either passes whole or is refused whole.
 */
final class PlayReplies {

    /** A reply that breaks the contract; the message names the field. */
    static final class BadReplyException extends IllegalArgumentException {
        BadReplyException(String message) {
            super(message);
        }
    }

    private PlayReplies() {
    }

    /** The reply to an Open of {@code n} environments: observations only. */
    static void checkOpened(PlayReply r, int n, ObservationSpace space) {
        checkTensor("observations", r.hasObservations() ? r.getObservations() : null, n, space);
        if (r.getRewardsCount() != 0 || r.getTerminatedCount() != 0 || r.getTruncatedCount() != 0
                || hasRows(r.getFinalObservations())) {
            throw new BadReplyException("the reply to Open carries rewards, flags or final_observations: it must carry"
                    + " the first observations only");
        }
    }

    /** The reply to an Act for {@code n} environments. */
    static void checkStepped(PlayReply r, int n, ObservationSpace space) {
        checkTensor("observations", r.hasObservations() ? r.getObservations() : null, n, space);
        checkCount("rewards", r.getRewardsCount(), n);
        checkCount("terminated", r.getTerminatedCount(), n);
        checkCount("truncated", r.getTruncatedCount(), n);
        int truncations = 0;
        for (int k = 0; k < n; k++) {
            float reward = r.getRewards(k);
            if (!Float.isFinite(reward)) {
                throw new BadReplyException("rewards[" + k + "] is " + reward + "; rewards must be finite");
            }
            if (r.getTruncated(k)) {
                if (r.getTerminated(k)) {
                    throw new BadReplyException("environment " + k + " is both terminated and truncated");
                }
                truncations++;
            }
        }
        if (truncations > 0) {
            checkTensor("final_observations", r.hasFinalObservations() ? r.getFinalObservations() : null, truncations,
                    space);
        } else if (hasRows(r.getFinalObservations())) {
            throw new BadReplyException("final_observations has " + r.getFinalObservations().getShape(0)
                    + " rows but no environment was truncated");
        }
    }

    /** The float32 data of a checked tensor, little-endian. */
    static FloatBuffer floats(Tensor t) {
        return t.getData().asReadOnlyByteBuffer().order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer();
    }

    private static boolean hasRows(Tensor t) {
        return t.getShapeCount() > 0 && t.getShape(0) > 0 || !t.getData().isEmpty();
    }

    private static void checkCount(String field, int count, int n) {
        if (count != n) {
            throw new BadReplyException(field + " has " + count + " values for " + n + " environments");
        }
    }

    private static void checkTensor(String field, Tensor t, int rows, ObservationSpace space) {
        if (t == null) {
            throw new BadReplyException(field + " is missing");
        }
        DType expected = space instanceof Image ? DType.UINT8 : DType.FLOAT32;
        if (t.getDtype() != expected) {
            throw new BadReplyException(field + " has dtype " + t.getDtype() + "; " + space + " needs " + expected);
        }
        int[] inner = space.shape();
        boolean shapeOk = t.getShapeCount() == inner.length + 1 && t.getShape(0) == rows;
        for (int i = 0; shapeOk && i < inner.length; i++) {
            shapeOk = t.getShape(i + 1) == inner[i];
        }
        if (!shapeOk) {
            int[] want = new int[inner.length + 1];
            want[0] = rows;
            System.arraycopy(inner, 0, want, 1, inner.length);
            throw new BadReplyException(field + " has shape " + t.getShapeList() + "; expected "
                    + Arrays.toString(want) + " (" + rows + " x " + space + ")");
        }
        long bytes = (long) rows * space.size() * (expected == DType.UINT8 ? 1 : Float.BYTES);
        if (t.getData().size() != bytes) {
            throw new BadReplyException(field + " has " + t.getData().size() + " bytes of data; its shape and dtype"
                    + " need " + bytes);
        }
        if (expected == DType.FLOAT32) {
            FloatBuffer values = floats(t);
            int size = space.size();
            for (int i = 0; i < values.limit(); i++) {
                float v = values.get(i);
                if (!Float.isFinite(v)) {
                    throw new BadReplyException(field + "[" + i / size + "][" + i % size + "] is " + v
                            + "; observations must be finite");
                }
            }
        }
    }
}
