package dev.starling.common.model;

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
    private final FloatPointer obsData;
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
        obs = torch.zeros(numEnvs, model.config().observationSize());
        h = torch.zeros(numEnvs, hidden);
        c = torch.zeros(numEnvs, hidden);
        keep = torch.ones(numEnvs, 1);
        keepScratch = new float[numEnvs];
        // Built once: the state tensors are updated in place, so these handles stay valid.
        state = new TensorVector(h, c);
        biasIh = new TensorOptional(model.biasIh());
        biasHh = new TensorOptional(model.biasHh());
        obsData = obs.data_ptr_float();
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
        if (observations.length != obs.numel()) {
            throw new IllegalArgumentException("observations has " + observations.length + " values, expected " + obs.numel());
        }
        if (out.length != envs * outputs) {
            throw new IllegalArgumentException("out has " + out.length + " values, expected " + envs * outputs);
        }
        try (PointerScope scope = new PointerScope(); InferenceMode mode = new InferenceMode()) {
            obsData.put(observations);
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
        if (observations.length != obs.numel() || valuesOut.length != envs) {
            throw new IllegalArgumentException("peekValues needs " + obs.numel() + " observation values and " + envs
                    + " outputs, got " + observations.length + " and " + valuesOut.length);
        }
        try (PointerScope scope = new PointerScope(); InferenceMode mode = new InferenceMode()) {
            obsData.put(observations);
            Tensor x = model.encode(obs);
            T_TensorTensor_T next = torch.lstm_cell(x, state, model.weightIh(), model.weightHh(), biasIh, biasHh);
            Tensor v = model.head(next.get0()).narrow(1, outputs - 1, 1).contiguous();
            v.data_ptr_float().get(valuesOut);
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
