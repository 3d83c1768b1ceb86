package dev.starling.common.rl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;

import dev.starling.common.model.ActorCritic;
import dev.starling.common.model.ModelConfig;
import dev.starling.common.model.TestConfigs;
import dev.starling.common.model.Torch;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * {@link SequenceForward#advance} (R2D2's burn-in) against the definition, one LSTM step at a
 * time: read x_t, then zero the rows whose episode ended at t. LSTM size 8 is one of the sizes the
 * no-grad LSTM kernel gets wrong on AVX-512 (FACTS.md), so the burn-in's no-grad call is covered.
 */
class SequenceForwardAdvanceTest {

    private static final int T = 9;
    private static final int B = 4;
    private static final ModelConfig CONFIG = TestConfigs.discrete(3, 3, 16, 8).withHead(ModelConfig.Head.DUELING_Q);
    private static ActorCritic model;

    @BeforeAll
    static void build() {
        model = new ActorCritic(CONFIG, 21, Torch.device("cpu"));
    }

    @AfterAll
    static void close() {
        model.close();
    }

    /** Done patterns, [T, B]: none, random, at step 0, at the last step read, every step. */
    private static boolean[] dones(String pattern, int steps, long seed) {
        boolean[] d = new boolean[T * B];
        SplittableRandom rng = new SplittableRandom(seed);
        for (int t = 0; t < T; t++) {
            for (int b = 0; b < B; b++) {
                d[t * B + b] = switch (pattern) {
                    case "none" -> false;
                    case "random" -> rng.nextDouble() < 0.25;
                    case "first" -> t == 0 && b % 2 == 0;
                    case "last" -> t == steps - 1 && b != 1;
                    case "mixed" -> (t == 0 && b == 0) || (t == steps - 1 && b == 2) || (t == 2 && b == 3);
                    case "every" -> true;
                    default -> throw new IllegalArgumentException(pattern);
                };
            }
        }
        return d;
    }

    @Test
    void advanceEqualsTheStepByStepDefinitionForEveryDonePattern() {
        for (String pattern : new String[] {"none", "random", "first", "last", "mixed", "every"}) {
            for (int steps : new int[] {1, 2, 4, T}) {
                for (boolean noGrad : new boolean[] {false, true}) {
                    check(pattern, steps, noGrad, 100 + steps);
                }
            }
        }
    }

    private static void check(String pattern, int steps, boolean noGrad, long seed) {
        String what = pattern + ", " + steps + " steps" + (noGrad ? ", no-grad" : "");
        Device cpu = model.device();
        SplittableRandom rng = new SplittableRandom(seed);
        float[] x = new float[(T + 1) * B * 3];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) rng.nextGaussian();
        }
        float[] h0 = new float[B * 8];
        float[] c0 = new float[B * 8];
        for (int i = 0; i < h0.length; i++) {
            h0[i] = (float) (0.5 * rng.nextGaussian());
            c0[i] = (float) (0.5 * rng.nextGaussian());
        }
        boolean[] d = dones(pattern, steps, seed);
        try (PointerScope scope = new PointerScope()) {
            Tensor obs = Torch.floats(x, cpu, T + 1, B, 3);
            Tensor h = Torch.floats(h0, cpu, B, 8);
            Tensor c = Torch.floats(c0, cpu, B, 8);
            float[] ah;
            float[] ac;
            if (noGrad) {
                try (NoGradGuard guard = new NoGradGuard()) {
                    SequenceForward.State s = SequenceForward.advance(model, obs, h, c, d, steps, B);
                    assertFalse(s.h().requires_grad(), "a no-grad burn-in carries no graph: " + what);
                    assertFalse(s.c().requires_grad(), "a no-grad burn-in carries no graph: " + what);
                    ah = Torch.toArray(s.h());
                    ac = Torch.toArray(s.c());
                }
            } else {
                SequenceForward.State s = SequenceForward.advance(model, obs, h, c, d, steps, B);
                assertTrue(s.h().requires_grad(), "with gradients on the state depends on the weights: " + what);
                ah = Torch.toArray(s.h().detach());
                ac = Torch.toArray(s.c().detach());
            }
            float[][] ref = reference(obs, h0, c0, d, steps);
            SequenceForwardTest.assertClose("h after " + what, ref[0], ah, 1e-5);
            SequenceForwardTest.assertClose("c after " + what, ref[1], ac, 1e-5);
            // A row whose episode ended at the last step read starts from exactly zero.
            for (int b = 0; b < B; b++) {
                if (d[(steps - 1) * B + b]) {
                    for (int j = 0; j < 8; j++) {
                        assertEquals(0.0, ah[b * 8 + j], 0.0, what + ": h of row " + b);
                        assertEquals(0.0, ac[b * 8 + j], 0.0, what + ": c of row " + b);
                    }
                }
            }
        }
    }

    /** One LSTM step at a time from (h0, c0), the rows of done_t zeroed after x_t. */
    private static float[][] reference(Tensor obs, float[] h0, float[] c0, boolean[] d, int steps) {
        Device cpu = model.device();
        Tensor enc = model.encode(obs);
        Tensor h = Torch.floats(h0, cpu, 1, B, 8);
        Tensor c = Torch.floats(c0, cpu, 1, B, 8);
        for (int t = 0; t < steps; t++) {
            ActorCritic.LstmOutput r = model.lstmForward(enc.narrow(0, t, 1), h, c);
            float[] keep = new float[B];
            for (int b = 0; b < B; b++) {
                keep[b] = d[t * B + b] ? 0f : 1f;
            }
            Tensor m = Torch.floats(keep, cpu, 1, B, 1);
            h = r.h().mul(m);
            c = r.c().mul(m);
        }
        return new float[][] {Torch.toArray(h.detach().contiguous()), Torch.toArray(c.detach().contiguous())};
    }

    @Test
    void zeroStepsIsTheStoredState() {
        Device cpu = model.device();
        float[] h0 = new float[B * 8];
        float[] c0 = new float[B * 8];
        for (int i = 0; i < h0.length; i++) {
            h0[i] = 0.01f * i;
            c0[i] = -0.02f * i;
        }
        try (PointerScope scope = new PointerScope(); NoGradGuard guard = new NoGradGuard()) {
            Tensor obs = Torch.floats(new float[(T + 1) * B * 3], cpu, T + 1, B, 3);
            boolean[] all = new boolean[T * B];
            java.util.Arrays.fill(all, true);
            SequenceForward.State s = SequenceForward.advance(model, obs, Torch.floats(h0, cpu, B, 8),
                    Torch.floats(c0, cpu, B, 8), all, 0, B);
            assertEquals("[4, 8]", java.util.Arrays.toString(s.h().sizes().vec().get()));
            SequenceForwardTest.assertClose("h", h0, Torch.toArray(s.h()), 0);
            SequenceForwardTest.assertClose("c", c0, Torch.toArray(s.c()), 0);
        }
    }

    @Test
    void theStateAfterTheBurnInContinuesTheSequenceAsIfReadInOneGo() {
        // run() over x_0..x_T from (h0, c0) and run() over x_k..x_T from advance(k) give the same
        // outputs from step k on: the burn-in hands over exactly the state the sequence carries.
        Device cpu = model.device();
        Rollout r = RolloutFixtures.random(CONFIG, T, B, RolloutFixtures.Dones.RANDOM, 5);
        int k = 4;
        r.dones[(k - 1) * B + 1] = true;
        int out = CONFIG.policyOutputs() + 1;
        try (PointerScope scope = new PointerScope(); NoGradGuard guard = new NoGradGuard()) {
            Tensor obs = SequenceForward.observations(r, cpu);
            Tensor h0 = Torch.floats(r.initialH, cpu, B, 8);
            Tensor c0 = Torch.floats(r.initialC, cpu, B, 8);
            float[] whole = Torch.toArray(SequenceForward.run(model, obs, h0, c0, r.dones, T, B, ForwardPath.LOOP)
                    .contiguous());
            SequenceForward.State s = SequenceForward.advance(model, obs, h0, c0, r.dones, k, B);
            boolean[] rest = java.util.Arrays.copyOfRange(r.dones, k * B, T * B);
            float[] tail = Torch.toArray(SequenceForward.run(model, obs.narrow(0, k, T + 1 - k), s.h(), s.c(), rest,
                    T - k, B, ForwardPath.FAST).contiguous());
            float[] expected = java.util.Arrays.copyOfRange(whole, k * B * out, (T + 1) * B * out);
            SequenceForwardTest.assertClose("outputs after the burn-in", expected, tail, 1e-5);
        }
    }
}
