package dev.starling.common.rl;

import dev.starling.common.model.ActorCritic;
import dev.starling.common.model.Torch;
import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.T_TensorT_TensorTensor_T_T;
import org.bytedeco.pytorch.T_TensorTensor_T;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;

/**
 * The learner's forward pass over a rollout: head outputs {@code [T+1, B, A+1]} (logits, then
 * value) for x_0 .. x_T, starting each sequence from its stored LSTM state and resetting the
 * state to zero after every done. Call inside a {@code PointerScope}.
 */
public final class SequenceForward {

    private SequenceForward() {
    }

    /**
     * @param obs  observations {@code [T+1, B, obs]} on the model's device
     * @param h0   initial hidden state {@code [B, H]}
     * @param c0   initial cell state {@code [B, H]}
     */
    public static Tensor run(ActorCritic model, Tensor obs, Tensor h0, Tensor c0, boolean[] dones,
            int unroll, int rows, ForwardPath path) {
        return path == ForwardPath.FAST
                ? fast(model, obs, h0, c0, dones, unroll, rows)
                : loop(model, obs, h0, c0, dones, unroll, rows);
    }

    private static Tensor loop(ActorCritic model, Tensor obs, Tensor h0, Tensor c0, boolean[] dones,
            int unroll, int rows) {
        int steps = unroll + 1;
        float[] keep = new float[unroll * rows];
        for (int i = 0; i < keep.length; i++) {
            keep[i] = dones[i] ? 0f : 1f;
        }
        Tensor masks = Torch.floats(keep, model.device(), unroll, 1, rows, 1);
        Tensor enc = model.encode(obs);
        Tensor h = h0.unsqueeze(0);
        Tensor c = c0.unsqueeze(0);
        TensorVector outs = new TensorVector();
        for (int t = 0; t < steps; t++) {
            if (t > 0) {
                Tensor m = masks.select(0, t - 1);
                h = h.mul(m);
                c = c.mul(m);
            }
            T_TensorT_TensorTensor_T_T r = model.lstm().forward(enc.narrow(0, t, 1), new T_TensorTensor_T(h, c));
            // The tuple hands out references into its own storage: copy before it goes.
            outs.push_back(new Tensor(r.get0()));
            T_TensorTensor_T state = r.get1();
            h = new Tensor(state.get0());
            c = new Tensor(state.get1());
        }
        return model.head(torch.cat(outs, 0));
    }

    private static Tensor fast(ActorCritic model, Tensor obs, Tensor h0, Tensor c0, boolean[] dones,
            int unroll, int rows) {
        int steps = unroll + 1;
        Device device = model.device();
        int hidden = model.config().lstmSize();
        Tensor enc = model.encode(obs);
        int segments = rows;
        for (boolean d : dones) {
            if (d) {
                segments++;
            }
        }
        if (segments == rows) {
            // No episode ends: one LSTM call on the batch as it is.
            T_TensorT_TensorTensor_T_T r = model.lstm().forward(enc,
                    new T_TensorTensor_T(h0.unsqueeze(0), c0.unsqueeze(0)));
            return model.head(new Tensor(r.get0()));
        }
        // Segments: row b from start (0 or t+1 after a done at t) for len steps.
        int[] segRow = new int[segments];
        int[] segStart = new int[segments];
        int[] segLen = new int[segments];
        int s = 0;
        int maxLen = 0;
        for (int b = 0; b < rows; b++) {
            int start = 0;
            for (int t = 0; t < unroll; t++) {
                if (dones[t * rows + b]) {
                    segRow[s] = b;
                    segStart[s] = start;
                    segLen[s] = t + 1 - start;
                    maxLen = Math.max(maxLen, segLen[s]);
                    s++;
                    start = t + 1;
                }
            }
            segRow[s] = b;
            segStart[s] = start;
            segLen[s] = steps - start;
            maxLen = Math.max(maxLen, segLen[s]);
            s++;
        }
        // Gather indices into [steps*B + 1] encoder rows (the last row is zero padding), the
        // inverse scatter, and which segments start from a stored state rather than zero.
        int padRow = steps * rows;
        long[] gather = new long[maxLen * segments];
        long[] scatter = new long[steps * rows];
        long[] stateRow = new long[segments];
        for (int seg = 0; seg < segments; seg++) {
            int b = segRow[seg];
            stateRow[seg] = segStart[seg] == 0 ? b : rows;
            for (int l = 0; l < maxLen; l++) {
                int flat = l * segments + seg;
                if (l < segLen[seg]) {
                    int src = (segStart[seg] + l) * rows + b;
                    gather[flat] = src;
                    scatter[src] = flat;
                } else {
                    gather[flat] = padRow;
                }
            }
        }
        int encSize = model.config().encoderSize();
        Tensor encRows = torch.cat(new TensorVector(enc.view(steps * rows, encSize),
                torch.zeros(new long[] {1, encSize}, obs.options())), 0);
        Tensor padded = encRows.index_select(0, Torch.longs(gather, device, gather.length))
                .view(maxLen, segments, encSize);
        Tensor stateIdx = Torch.longs(stateRow, device, segments);
        Tensor zero = torch.zeros(new long[] {1, hidden}, obs.options());
        Tensor hs = torch.cat(new TensorVector(h0, zero), 0).index_select(0, stateIdx).unsqueeze(0);
        Tensor cs = torch.cat(new TensorVector(c0, zero), 0).index_select(0, stateIdx).unsqueeze(0);
        // Padding sits after each segment's last step, so it never leaks into real outputs.
        T_TensorT_TensorTensor_T_T r = model.lstm().forward(padded, new T_TensorTensor_T(hs, cs));
        Tensor out = new Tensor(r.get0()).view(maxLen * segments, hidden);
        Tensor core = out.index_select(0, Torch.longs(scatter, device, scatter.length)).view(steps, rows, hidden);
        return model.head(core);
    }
}
