package dev.starling.common.rl;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.List;

import com.google.protobuf.ByteString;
import dev.starling.common.model.Torch;
import dev.starling.proto.v1.OptimizerState;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/** Shared plumbing: per-parameter state buffers, their export and import. */
abstract class BufferedOptimizer implements Optimizer {

    protected final List<Tensor> parameters;
    /** buffers.get(i)[j]: j-th state buffer of parameter i, shaped like it. */
    protected final List<Tensor[]> buffers = new ArrayList<>();
    protected long steps;
    private final int buffersPerParameter;
    private boolean closed;

    BufferedOptimizer(List<Tensor> parameters, int buffersPerParameter) {
        this.parameters = List.copyOf(parameters);
        this.buffersPerParameter = buffersPerParameter;
        for (Tensor p : parameters) {
            Tensor[] b = new Tensor[buffersPerParameter];
            for (int j = 0; j < b.length; j++) {
                b[j] = torch.zeros_like(p).detach();
            }
            buffers.add(b);
        }
    }

    @Override
    public final void step(List<Tensor> gradients) {
        if (gradients.size() != parameters.size()) {
            throw new IllegalArgumentException("expected " + parameters.size() + " gradients, got " + gradients.size());
        }
        steps++;
        try (PointerScope scope = new PointerScope(); NoGradGuard ignored = new NoGradGuard()) {
            for (int i = 0; i < parameters.size(); i++) {
                update(parameters.get(i), gradients.get(i), buffers.get(i));
            }
        }
    }

    /** Updates one parameter in place; runs under no-grad inside a scope. */
    protected abstract void update(Tensor parameter, Tensor gradient, Tensor[] state);

    @Override
    public long steps() {
        return steps;
    }

    @Override
    public OptimizerState exportState(long specHash) {
        long total = 0;
        for (Tensor p : parameters) {
            total += p.numel() * buffersPerParameter;
        }
        ByteBuffer buf = ByteBuffer.allocate(Math.toIntExact(total * Float.BYTES)).order(ByteOrder.LITTLE_ENDIAN);
        FloatBuffer fb = buf.asFloatBuffer();
        try (PointerScope scope = new PointerScope()) {
            for (Tensor[] state : buffers) {
                for (Tensor s : state) {
                    fb.put(Torch.toArray(s));
                }
            }
        }
        return OptimizerState.newBuilder().setAlgorithm(algorithm()).setStep(steps)
                .setBuffers(ByteString.copyFrom(buf.array())).setSpecHash(specHash).build();
    }

    @Override
    public void importState(OptimizerState state, long specHash) {
        if (!state.getAlgorithm().equals(algorithm())) {
            throw new IllegalArgumentException("optimizer state is for " + state.getAlgorithm() + ", not " + algorithm());
        }
        if (state.getSpecHash() != specHash) {
            throw new IllegalArgumentException("optimizer state belongs to another model spec");
        }
        long total = 0;
        for (Tensor p : parameters) {
            total += p.numel() * buffersPerParameter;
        }
        if (state.getBuffers().size() != total * Float.BYTES) {
            throw new IllegalArgumentException("optimizer state has " + state.getBuffers().size()
                    + " bytes, expected " + total * Float.BYTES);
        }
        FloatBuffer fb = state.getBuffers().asReadOnlyByteBuffer().order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer();
        for (int i = 0; i < total; i++) {
            if (!Float.isFinite(fb.get(i))) {
                throw new IllegalArgumentException("optimizer state has a non-finite value at index " + i);
            }
        }
        try (PointerScope scope = new PointerScope(); NoGradGuard ignored = new NoGradGuard()) {
            for (Tensor[] bufs : buffers) {
                for (Tensor s : bufs) {
                    float[] values = new float[(int) s.numel()];
                    fb.get(values);
                    s.copy_(Torch.floats(values, s.device(), s.sizes().vec().get()));
                }
            }
        }
        steps = state.getStep();
    }

    @Override
    public void close() {
        if (!closed) {
            closed = true;
            for (Tensor[] b : buffers) {
                for (Tensor t : b) {
                    t.close();
                }
            }
        }
    }
}
