package dev.starling.common.rl;

import dev.starling.common.model.ActorCritic;
import dev.starling.common.model.Torch;
import org.bytedeco.pytorch.Device;
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
     * The observations x_0 .. x_T of {@code r} as the model's input {@code [T+1, B, obs]} on
     * {@code device}: float32, or for images uint8 pixels (one byte each across the host-to-device
     * copy; the model scales them on the device).
     */
    public static Tensor observations(Rollout r, Device device) {
        return r.images ? Torch.pixels(r.pixels, device, r.unroll + 1, r.rows, r.observationSize)
                : Torch.floats(r.observations, device, r.unroll + 1, r.rows, r.observationSize);
    }

    /**
     * @param obs  observations {@code [T+1, B, obs]} on the model's device ({@link #observations})
     * @param h0   initial hidden state {@code [B, H]}
     * @param c0   initial cell state {@code [B, H]}
     */
    public static Tensor run(ActorCritic model, Tensor obs, Tensor h0, Tensor c0, boolean[] dones,
            int unroll, int rows, ForwardPath path) {
        return path == ForwardPath.FAST
                ? fast(model, obs, h0, c0, dones, unroll, rows)
                : loop(model, obs, h0, c0, dones, unroll, rows);
    }

    /** An LSTM state {@code [B, H]} each. */
    public record State(Tensor h, Tensor c) {
    }

    /**
     * The state the LSTM carries into x_steps: it reads x_0 .. x_{steps-1} ({@code obs}'s first
     * {@code steps} rows) from {@code (h0, c0)}, zeroed after every done among done_0 ..
     * done_{steps-1} (R2D2's burn-in). Runs between dones in one LSTM call each. Under no-grad the
     * result carries no graph (call it so for a burn-in).
     */
    public static State advance(ActorCritic model, Tensor obs, Tensor h0, Tensor c0, boolean[] dones, int steps,
            int rows) {
        Tensor h = h0.unsqueeze(0);
        Tensor c = c0.unsqueeze(0);
        if (steps == 0) {
            return new State(h0, c0);
        }
        Tensor enc = model.encode(obs.narrow(0, 0, steps));
        float[] keep = new float[rows];
        int from = 0;
        for (int t = 0; t < steps; t++) {
            boolean anyDone = false;
            for (int b = 0; b < rows; b++) {
                anyDone |= dones[t * rows + b];
            }
            if (!anyDone && t < steps - 1) {
                continue;
            }
            ActorCritic.LstmOutput r = model.lstmForward(enc.narrow(0, from, t + 1 - from), h, c);
            h = r.h();
            c = r.c();
            if (anyDone) {
                for (int b = 0; b < rows; b++) {
                    keep[b] = dones[t * rows + b] ? 0f : 1f;
                }
                Tensor m = Torch.floats(keep, model.device(), 1, rows, 1);
                h = h.mul(m);
                c = c.mul(m);
            }
            from = t + 1;
        }
        return new State(h.squeeze(0), c.squeeze(0));
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
            ActorCritic.LstmOutput r = model.lstmForward(enc.narrow(0, t, 1), h, c);
            outs.push_back(r.output());
            h = r.h();
            c = r.c();
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
            return model.head(model.lstmForward(enc, h0.unsqueeze(0), c0.unsqueeze(0)).output());
        }
        // Segments: row b from start (0 or t+1 after a done at t) for len steps.
        int[] segRow = new int[segments];
        int[] segStart = new int[segments];
        int[] segLen = new int[segments];
        int s = 0;
        for (int b = 0; b < rows; b++) {
            int start = 0;
            for (int t = 0; t < unroll; t++) {
                if (dones[t * rows + b]) {
                    segRow[s] = b;
                    segStart[s] = start;
                    segLen[s++] = t + 1 - start;
                    start = t + 1;
                }
            }
            segRow[s] = b;
            segStart[s] = start;
            segLen[s++] = steps - start;
        }
        // Group the segments, longest first, into a few padded batches; each batch is one fused
        // LSTM call (libtorch's packed-sequence backward is several times slower than the fused
        // one here). Groups are chosen to minimise padding plus a per-call cost.
        int[] order = byLengthDescending(segLen, steps);
        int[] groupStart = groups(order, segLen);
        int groupCount = groupStart.length - 1;
        int padRow = steps * rows;
        int total = 0;
        for (int g = 0; g < groupCount; g++) {
            total += segLen[order[groupStart[g]]] * (groupStart[g + 1] - groupStart[g]);
        }
        long[] gather = new long[total];
        long[] scatter = new long[steps * rows];
        long[] stateRow = new long[segments];
        int offset = 0;
        for (int g = 0; g < groupCount; g++) {
            int first = groupStart[g];
            int count = groupStart[g + 1] - first;
            int len = segLen[order[first]];
            for (int l = 0; l < len; l++) {
                for (int k = 0; k < count; k++) {
                    int seg = order[first + k];
                    int flat = offset + l * count + k;
                    if (l < segLen[seg]) {
                        int src = (segStart[seg] + l) * rows + segRow[seg];
                        gather[flat] = src;
                        scatter[src] = flat;
                    } else {
                        gather[flat] = padRow;
                    }
                }
            }
            offset += len * count;
        }
        for (int r = 0; r < segments; r++) {
            stateRow[r] = segStart[order[r]] == 0 ? segRow[order[r]] : rows;
        }
        int encSize = model.config().encoderSize();
        Tensor encRows = torch.cat(new TensorVector(enc.view(steps * rows, encSize),
                torch.zeros(new long[] {1, encSize}, obs.options())), 0);
        Tensor inputs = encRows.index_select(0, Torch.longs(gather, device, total));
        Tensor stateIdx = Torch.longs(stateRow, device, segments);
        Tensor zero = torch.zeros(new long[] {1, hidden}, obs.options());
        Tensor hs = torch.cat(new TensorVector(h0, zero), 0).index_select(0, stateIdx);
        Tensor cs = torch.cat(new TensorVector(c0, zero), 0).index_select(0, stateIdx);
        TensorVector outputs = new TensorVector();
        offset = 0;
        for (int g = 0; g < groupCount; g++) {
            int first = groupStart[g];
            int count = groupStart[g + 1] - first;
            int len = segLen[order[first]];
            Tensor x = inputs.narrow(0, offset, (long) len * count).view(len, count, encSize);
            Tensor y = model.lstmForward(x, hs.narrow(0, first, count).unsqueeze(0),
                    cs.narrow(0, first, count).unsqueeze(0)).output();
            // Padding sits after each segment's last step, so it never leaks into real outputs.
            outputs.push_back(y.view((long) len * count, hidden));
            offset += len * count;
        }
        Tensor out = torch.cat(outputs, 0);
        Tensor core = out.index_select(0, Torch.longs(scatter, device, scatter.length)).view(steps, rows, hidden);
        return model.head(core);
    }

    /**
     * Cost of one fused LSTM call per time step, in units of one row-step of LSTM work: measured
     * on 2-core CPUs, fixed per-step overhead of a call is worth about 16 rows of compute.
     */
    private static final int CALL_STEP_COST = 16;

    /**
     * Splits segments (in {@code order}, longest first) into contiguous groups minimising
     * {@code sum over groups of (CALL_STEP_COST + count) * maxLen}. Returns group starts with a
     * final sentinel equal to the segment count.
     */
    static int[] groups(int[] order, int[] segLen) {
        int n = order.length;
        long[] best = new long[n + 1];
        int[] cut = new int[n + 1];
        for (int j = 1; j <= n; j++) {
            best[j] = Long.MAX_VALUE;
            for (int i = 0; i < j; i++) {
                long cost = best[i] + (long) (CALL_STEP_COST + j - i) * segLen[order[i]];
                if (cost < best[j]) {
                    best[j] = cost;
                    cut[j] = i;
                }
            }
        }
        int count = 0;
        for (int j = n; j > 0; j = cut[j]) {
            count++;
        }
        int[] starts = new int[count + 1];
        starts[count] = n;
        for (int j = n, g = count - 1; j > 0; j = cut[j], g--) {
            starts[g] = cut[j];
        }
        return starts;
    }

    /** Segment indices sorted by length, longest first (counting sort; lengths are 1..maxLen). */
    private static int[] byLengthDescending(int[] lengths, int maxLen) {
        int[] count = new int[maxLen + 2];
        for (int len : lengths) {
            count[len]++;
        }
        int[] startAt = new int[maxLen + 2];
        int pos = 0;
        for (int len = maxLen; len >= 1; len--) {
            startAt[len] = pos;
            pos += count[len];
        }
        int[] order = new int[lengths.length];
        for (int i = 0; i < lengths.length; i++) {
            order[startAt[lengths[i]]++] = i;
        }
        return order;
    }
}
