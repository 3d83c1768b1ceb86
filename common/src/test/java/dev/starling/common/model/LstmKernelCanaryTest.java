package dev.starling.common.model;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Locale;

import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.InferenceMode;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.T_TensorT_TensorTensor_T_T;
import org.bytedeco.pytorch.T_TensorTensor_T;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptional;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.Test;

/**
 * Canary for a libtorch 2.10 kernel bug: with gradients off, the LSTM module runs oneDNN's
 * inference kernel, which on AVX-512 CPUs returns wrong values when the hidden size H mod 32 is
 * in 1..16 (H = 8 and 16 off by 0.1-0.4; FACTS.md). The per-step {@code lstm_cell} never goes
 * through oneDNN, so it is the reference here. Every module call in Starling goes through
 * {@link ActorCritic#lstmForward}, which must agree with the cell under every gradient mode on
 * every CPU. The raw module's deviation under no-grad is printed, so a libtorch upgrade shows
 * whether the kernel still needs the guard.
 */
class LstmKernelCanaryTest {

    private static final int[] HIDDEN = {8, 16, 40, 128};
    private static final int[] INPUT = {8, 64};
    private static final int[] STEPS = {1, 20};
    private static final int[] BATCH = {1, 5, 32};
    private static final double TOLERANCE = 1e-5;

    private enum Mode { GRAD, NO_GRAD, INFERENCE }

    @Test
    void guardedModuleCallEqualsTheCellWithGradientsOnOffAndInInferenceMode() {
        double rawWorst = 0;
        String rawWhere = "";
        for (int hidden : HIDDEN) {
            for (int input : INPUT) {
                try (ActorCritic model = new ActorCritic(TestConfigs.discrete(3, 2, input, hidden), hidden + input,
                        Torch.device("cpu"))) {
                    for (int steps : STEPS) {
                        for (int batch : BATCH) {
                            try (PointerScope scope = new PointerScope()) {
                                torch.manual_seed(steps * 100L + batch);
                                Tensor x = torch.randn(steps, batch, input);
                                Tensor h0 = torch.randn(1, batch, hidden);
                                Tensor c0 = torch.randn(1, batch, hidden);
                                Tensor cell = cellLoop(model, x, h0, c0);
                                for (Mode mode : Mode.values()) {
                                    double d = maxAbs(guarded(model, x, h0, c0, mode), cell);
                                    assertTrue(d < TOLERANCE, String.format(Locale.ROOT,
                                            "lstmForward under %s differs from lstm_cell by %.3g at H=%d E=%d L=%d N=%d",
                                            mode, d, hidden, input, steps, batch));
                                }
                                double raw = maxAbs(rawNoGrad(model, x, h0, c0), cell);
                                if (raw > rawWorst) {
                                    rawWorst = raw;
                                    rawWhere = String.format(Locale.ROOT, "H=%d E=%d L=%d N=%d", hidden, input, steps, batch);
                                }
                            }
                        }
                    }
                }
            }
        }
        System.out.printf(Locale.ROOT, "canary: the raw LSTM module under no-grad differs from lstm_cell by at most"
                + " %.3g on this CPU (%s)%s%n", rawWorst, rawWhere, rawWorst < TOLERANCE ? "" : ": the kernel bug is present");
    }

    /** Outputs and final state of {@link ActorCritic#lstmForward} under {@code mode}, concatenated. */
    @SuppressWarnings("try")
    private static Tensor guarded(ActorCritic model, Tensor x, Tensor h0, Tensor c0, Mode mode) {
        switch (mode) {
            case GRAD:
                return flat(model.lstmForward(x, h0, c0)).detach();
            case NO_GRAD:
                try (NoGradGuard off = new NoGradGuard()) {
                    return flat(model.lstmForward(x, h0, c0));
                }
            default:
                try (InferenceMode off = new InferenceMode()) {
                    return flat(model.lstmForward(x, h0, c0));
                }
        }
    }

    /** What the module computes when called directly with gradients off (the buggy path). */
    @SuppressWarnings("try")
    private static Tensor rawNoGrad(ActorCritic model, Tensor x, Tensor h0, Tensor c0) {
        try (NoGradGuard off = new NoGradGuard()) {
            T_TensorT_TensorTensor_T_T r = model.lstmModuleForTests().forward(x, new T_TensorTensor_T(h0, c0));
            T_TensorTensor_T state = r.get1();
            return torch.cat(new TensorVector(new Tensor(r.get0()).flatten(), new Tensor(state.get0()).flatten(),
                    new Tensor(state.get1()).flatten()), 0);
        }
    }

    /** The same sequence one {@code lstm_cell} step at a time, with the model's own weights. */
    @SuppressWarnings("try")
    private static Tensor cellLoop(ActorCritic model, Tensor x, Tensor h0, Tensor c0) {
        try (NoGradGuard off = new NoGradGuard()) {
            Tensor h = h0.squeeze(0);
            Tensor c = c0.squeeze(0);
            TensorVector outs = new TensorVector();
            for (long t = 0; t < x.size(0); t++) {
                T_TensorTensor_T next = torch.lstm_cell(x.select(0, t), new TensorVector(h, c), model.weightIh(),
                        model.weightHh(), new TensorOptional(model.biasIh()), new TensorOptional(model.biasHh()));
                h = new Tensor(next.get0());
                c = new Tensor(next.get1());
                outs.push_back(h.flatten());
            }
            outs.push_back(h.flatten());
            outs.push_back(c.flatten());
            return torch.cat(outs, 0);
        }
    }

    private static Tensor flat(ActorCritic.LstmOutput r) {
        return torch.cat(new TensorVector(r.output().flatten(), r.h().flatten(), r.c().flatten()), 0);
    }

    private static double maxAbs(Tensor a, Tensor b) {
        return a.sub(b).abs().max().item_double();
    }
}
