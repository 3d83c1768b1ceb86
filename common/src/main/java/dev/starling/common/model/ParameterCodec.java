package dev.starling.common.model;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.util.List;

import com.google.protobuf.ByteString;
import dev.starling.proto.v1.ModelSpec;
import dev.starling.proto.v1.Parameters;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;

/**
 * Model weights to one little-endian float32 blob and back, in the model's fixed parameter
 * order. Decoding validates everything (spec hash, sizes, finiteness) before it writes a single
 * weight, so a bad blob leaves the model untouched.
 */
public final class ParameterCodec {

    private final ActorCritic model;
    private final ModelSpec spec;
    private final long elements;
    private final float[][] scratch;

    public ParameterCodec(ActorCritic model) {
        this.model = model;
        this.spec = ModelSpecs.of(model);
        this.elements = model.parameterCount();
        List<Tensor> params = model.parameters();
        scratch = new float[params.size()][];
        for (int i = 0; i < scratch.length; i++) {
            scratch[i] = new float[(int) params.get(i).numel()];
        }
    }

    public ModelSpec spec() {
        return spec;
    }

    public long specHash() {
        return spec.getHash();
    }

    /** Bytes in a blob: 4 per parameter. */
    public int blobBytes() {
        return (int) (elements * Float.BYTES);
    }

    /** The model's current weights as a blob. */
    public ByteString encode() {
        ByteBuffer buf = ByteBuffer.allocate(blobBytes()).order(ByteOrder.LITTLE_ENDIAN);
        FloatBuffer fb = buf.asFloatBuffer();
        try (PointerScope scope = new PointerScope()) {
            List<Tensor> params = model.parameters();
            for (int i = 0; i < scratch.length; i++) {
                Torch.read(params.get(i), scratch[i]);
                fb.put(scratch[i]);
            }
        }
        return ByteString.copyFrom(buf.array());
    }

    /**
     * The parameters' current gradients as a blob of the same layout (what an A3C actor sends).
     * A parameter without a gradient contributes zeros.
     */
    public ByteString encodeGradients() {
        ByteBuffer buf = ByteBuffer.allocate(blobBytes()).order(ByteOrder.LITTLE_ENDIAN);
        FloatBuffer fb = buf.asFloatBuffer();
        try (PointerScope scope = new PointerScope()) {
            List<Tensor> params = model.parameters();
            for (int i = 0; i < scratch.length; i++) {
                Tensor g = params.get(i).grad();
                if (g.defined()) {
                    Torch.read(g, scratch[i]);
                } else {
                    java.util.Arrays.fill(scratch[i], 0f);
                }
                fb.put(scratch[i]);
            }
        }
        return ByteString.copyFrom(buf.array());
    }

    /** Weights and spec as a wire message. */
    public Parameters encode(long version) {
        return Parameters.newBuilder().setVersion(version).setSpec(spec).setWeights(encode()).build();
    }

    /** Checks a wire message against this model; returns null if fine, else what is wrong. */
    public String validate(Parameters p) {
        if (p.getSpec().getHash() != spec.getHash()) {
            return "parameters are for model spec " + ModelSpecs.hex(p.getSpec().getHash())
                    + " but this model is " + ModelSpecs.hex(spec.getHash());
        }
        return validateBlob(p.getWeights(), "weights");
    }

    /** Checks a float32 blob of this model's layout: size and finiteness. Null if fine. */
    public String validateBlob(ByteString blob, String what) {
        if (blob.size() != blobBytes()) {
            return what + " blob has " + blob.size() + " bytes, expected " + blobBytes()
                    + " (" + elements + " float32 values)";
        }
        FloatBuffer fb = blob.asReadOnlyByteBuffer().order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer();
        for (int i = 0; i < elements; i++) {
            if (!Float.isFinite(fb.get(i))) {
                return what + " blob has a non-finite value at index " + i;
            }
        }
        return null;
    }

    /** Loads weights into the model; throws IllegalArgumentException (model untouched) if invalid. */
    public void decode(Parameters p) {
        String problem = validate(p);
        if (problem != null) {
            throw new IllegalArgumentException(problem);
        }
        write(p.getWeights());
    }

    /** Loads a validated blob of this model's layout. */
    public void write(ByteString blob) {
        FloatBuffer fb = blob.asReadOnlyByteBuffer().order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer();
        List<Tensor> params = model.parameters();
        for (float[] s : scratch) {
            fb.get(s);
        }
        try (PointerScope scope = new PointerScope(); NoGradGuard ignored = new NoGradGuard()) {
            for (int i = 0; i < scratch.length; i++) {
                Tensor p = params.get(i);
                if (p.is_cpu()) {
                    p.data_ptr_float().put(scratch[i]);
                } else {
                    p.copy_(Torch.floats(scratch[i], p.device(), p.sizes().vec().get()));
                }
            }
        }
    }

    /** Reads a blob of this layout into per-parameter float arrays (e.g. gradients). */
    public float[][] split(ByteString blob) {
        FloatBuffer fb = blob.asReadOnlyByteBuffer().order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer();
        float[][] out = new float[scratch.length][];
        for (int i = 0; i < out.length; i++) {
            out[i] = new float[scratch[i].length];
            fb.get(out[i]);
        }
        return out;
    }
}
