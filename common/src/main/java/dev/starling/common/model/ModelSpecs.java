package dev.starling.common.model;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.List;

import dev.starling.proto.v1.ModelSpec;
import dev.starling.proto.v1.TensorSpec;
import org.bytedeco.pytorch.Tensor;

/** Builds the wire {@link ModelSpec} of a model and its hash, and checks specs from peers. */
public final class ModelSpecs {

    private ModelSpecs() {
    }

    /** The spec of a live model, hash included. */
    public static ModelSpec of(ActorCritic model) {
        ModelConfig c = model.config();
        ModelSpec.Builder b = ModelSpec.newBuilder()
                .setObservationSize(c.observationSize())
                .setNumActions(c.numActions())
                .setEncoderSize(c.encoderSize())
                .setLstmSize(c.lstmSize());
        List<String> names = model.parameterNames();
        List<Tensor> params = model.parameters();
        for (int i = 0; i < names.size(); i++) {
            TensorSpec.Builder t = TensorSpec.newBuilder().setName(names.get(i));
            for (long d : params.get(i).sizes().vec().get()) {
                t.addShape(d);
            }
            b.addTensors(t);
        }
        return b.setHash(hash(b.build())).build();
    }

    /** The config a spec describes. */
    public static ModelConfig config(ModelSpec spec) {
        return new ModelConfig(spec.getObservationSize(), spec.getNumActions(), spec.getEncoderSize(), spec.getLstmSize());
    }

    /**
     * First 8 bytes (big-endian) of SHA-256 over the canonical text
     * {@code obs=O;actions=A;encoder=E;lstm=H;name:d0xd1;...} (the {@code hash} field excluded).
     */
    public static long hash(ModelSpec spec) {
        StringBuilder s = new StringBuilder()
                .append("obs=").append(spec.getObservationSize())
                .append(";actions=").append(spec.getNumActions())
                .append(";encoder=").append(spec.getEncoderSize())
                .append(";lstm=").append(spec.getLstmSize());
        for (TensorSpec t : spec.getTensorsList()) {
            s.append(';').append(t.getName()).append(':');
            for (int i = 0; i < t.getShapeCount(); i++) {
                s.append(i == 0 ? "" : "x").append(t.getShape(i));
            }
        }
        try {
            byte[] d = MessageDigest.getInstance("SHA-256").digest(s.toString().getBytes(StandardCharsets.UTF_8));
            long h = 0;
            for (int i = 0; i < 8; i++) {
                h = (h << 8) | (d[i] & 0xffL);
            }
            return h;
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is required by the Java platform", e);
        }
    }

    /** Number of float32 values in a blob for this spec; rejects non-positive or absurd shapes. */
    public static long elementCount(ModelSpec spec) {
        long n = 0;
        for (TensorSpec t : spec.getTensorsList()) {
            long e = 1;
            for (long d : t.getShapeList()) {
                if (d < 1 || d > ModelConfig.MAX_WIDTH * 4L) {
                    throw new IllegalArgumentException("tensor " + t.getName() + " has invalid dimension " + d);
                }
                e = Math.multiplyExact(e, d);
            }
            n = Math.addExact(n, e);
        }
        return n;
    }

    /** Human-readable hash, as logged and shown in errors. */
    public static String hex(long hash) {
        return String.format("%016x", hash);
    }
}
