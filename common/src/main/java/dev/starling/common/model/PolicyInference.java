package dev.starling.common.model;

import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.InferenceMode;
import org.bytedeco.pytorch.T_TensorTensor_T;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptional;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;

/**
 * Actor-side inference: one LSTM cell step batched over K environments, under inference mode,
 * using the model's own LSTM weights (so it equals the learner's LSTM on the same inputs). The
 * recurrent state lives in persistent tensors owned by this object; {@link #close()} frees them.
 * Not thread-safe; the model must not be written while a step runs.
 */
public final class PolicyInference implements AutoCloseable {

    private final ActorCritic model;
    private final int envs;
    private final int outputs;
    private final Tensor obs;
    private final Tensor h;
    private final Tensor c;
    private final Tensor keep;
    private final float[] keepScratch;
    private final TensorVector state;
    private final TensorOptional biasIh;
    private final TensorOptional biasHh;
    /** Where observations are loaded: floats for a box, bytes (uint8) for an image; the other is null. */
    private final FloatPointer obsData;
    private final BytePointer pixelData;
    private final FloatPointer keepData;
    private boolean closed;

    public PolicyInference(ActorCritic model, int numEnvs) {
        if (numEnvs < 1) {
            throw new IllegalArgumentException("numEnvs must be >= 1, got " + numEnvs);
        }
        if (!model.device().is_cpu()) {
            throw new IllegalArgumentException("actor inference runs on the CPU");
        }
        this.model = model;
        this.envs = numEnvs;
        this.outputs = model.config().policyOutputs() + 1;
        int hidden = model.config().lstmSize();
        int obsSize = model.config().observationSize();
        obs = model.config().pixels() ? Tensor.create(new byte[numEnvs * obsSize], false, numEnvs, obsSize)
                : torch.zeros(numEnvs, obsSize);
        h = torch.zeros(numEnvs, hidden);
        c = torch.zeros(numEnvs, hidden);
        keep = torch.ones(numEnvs, 1);
        keepScratch = new float[numEnvs];
        // Built once: the state tensors are updated in place, so these handles stay valid.
        state = new TensorVector(h, c);
        biasIh = new TensorOptional(model.biasIh());
        biasHh = new TensorOptional(model.biasHh());
        obsData = model.config().pixels() ? null : obs.data_ptr_float();
        pixelData = model.config().pixels() ? obs.data_ptr_byte() : null;
        keepData = keep.data_ptr_float();
    }

    public int numEnvs() {
        return envs;
    }

    /** Values per environment in {@link #step}'s output: the policy's outputs, then the value. */
    public int outputsPerEnv() {
        return outputs;
    }

    /**
     * Steps the policy: reads observations {@code [K, obs]}, advances each environment's LSTM
     * state, writes {@code [K, P+1]} (policy outputs, then value) to {@code out}.
     */
    public void step(float[] observations, float[] out) {
        load(observations);
        step(out);
    }

    /** {@link #step(float[], float[])} for an image model: pixels {@code [K, C*H*W]}, 0..255. */
    public void step(byte[] pixels, float[] out) {
        load(pixels);
        step(out);
    }

    private void step(float[] out) {
        if (out.length != envs * outputs) {
            throw new IllegalArgumentException("out has " + out.length + " values, expected " + envs * outputs);
        }
        try (PointerScope scope = new PointerScope(); InferenceMode mode = new InferenceMode()) {
            Tensor x = model.encode(obs);
            T_TensorTensor_T next = torch.lstm_cell(x, state, model.weightIh(), model.weightHh(), biasIh, biasHh);
            // Copy out of the tuple before it is freed.
            h.copy_(next.get0());
            c.copy_(next.get1());
            Tensor y = model.head(h).contiguous();
            y.data_ptr_float().get(out);
        }
    }

    /**
     * The value of observations {@code [K, obs]} as the next step would see them, without
     * advancing the state: {@code valuesOut[k]} for every k. The actor calls it with the last
     * observations of truncated episodes (before their state is reset) to bootstrap there.
     */
    public void peekValues(float[] observations, float[] valuesOut) {
        load(observations);
        peekValues(valuesOut);
    }

    /** {@link #peekValues(float[], float[])} for an image model: pixels {@code [K, C*H*W]}, 0..255. */
    public void peekValues(byte[] pixels, float[] valuesOut) {
        load(pixels);
        peekValues(valuesOut);
    }

    private void peekValues(float[] valuesOut) {
        if (valuesOut.length != envs) {
            throw new IllegalArgumentException("peekValues needs " + envs + " outputs, got " + valuesOut.length);
        }
        try (PointerScope scope = new PointerScope(); InferenceMode mode = new InferenceMode()) {
            Tensor x = model.encode(obs);
            T_TensorTensor_T next = torch.lstm_cell(x, state, model.weightIh(), model.weightHh(), biasIh, biasHh);
            Tensor v = model.head(next.get0()).narrow(1, outputs - 1, 1).contiguous();
            v.data_ptr_float().get(valuesOut);
        }
    }

    private void load(float[] observations) {
        if (obsData == null) {
            throw new IllegalArgumentException("this model observes images: pass pixels (byte[])");
        }
        checkLength(observations.length);
        obsData.put(observations);
    }

    private void load(byte[] pixels) {
        if (pixelData == null) {
            throw new IllegalArgumentException("this model observes a box of floats: pass float[] observations");
        }
        checkLength(pixels.length);
        pixelData.put(pixels);
    }

    private void checkLength(int values) {
        if (values != obs.numel()) {
            throw new IllegalArgumentException("observations have " + values + " values, expected " + obs.numel());
        }
    }

    /** The model's log standard deviations (continuous policies) into {@code out} {@code [D]}. */
    public void readLogStd(float[] out) {
        try (PointerScope scope = new PointerScope(); InferenceMode mode = new InferenceMode()) {
            model.logStd().contiguous().data_ptr_float().get(out);
        }
    }

    /** Zeroes the state of every environment whose {@code done} is set (a new episode starts). */
    public void resetWhereDone(boolean[] done) {
        boolean any = false;
        for (int k = 0; k < envs; k++) {
            keepScratch[k] = done[k] ? 0f : 1f;
            any |= done[k];
        }
        if (any) {
            try (PointerScope scope = new PointerScope(); InferenceMode mode = new InferenceMode()) {
                keepData.put(keepScratch);
                h.mul_(keep);
                c.mul_(keep);
            }
        }
    }

    /** Zeroes every environment's state. */
    public void resetAll() {
        try (PointerScope scope = new PointerScope(); InferenceMode mode = new InferenceMode()) {
            h.zero_();
            c.zero_();
        }
    }

    /** Copies the current state {@code [K, H]} out (the initial state of a chunk). */
    public void readState(float[] hOut, float[] cOut) {
        readState(hOut, cOut, 0);
    }

    /**
     * Copies the current state {@code [K, H]} into rows {@code firstRow .. firstRow+K-1} of
     * {@code [rows, H]} arrays (a rollout whose rows several policies fill).
     */
    public void readState(float[] hOut, float[] cOut, int firstRow) {
        int n = (int) h.numel();
        int start = firstRow * (n / envs);
        h.data_ptr_float().get(hOut, start, n);
        c.data_ptr_float().get(cOut, start, n);
    }

    @Override
    public void close() {
        if (!closed) {
            closed = true;
            state.close();
            biasIh.close();
            biasHh.close();
            obs.close();
            h.close();
            c.close();
            keep.close();
        }
    }
}
