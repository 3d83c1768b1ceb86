package dev.starling.common.rl;

import dev.starling.common.model.TestConfigs;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;

import dev.starling.common.model.ActorCritic;
import dev.starling.common.model.ModelConfig;
import dev.starling.common.model.Torch;
import dev.starling.env.Discrete;
import dev.starling.env.Image;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.Tensor;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** The fast split-at-done path must equal the reference step loop in outputs and gradients. */
class SequenceForwardTest {

    private static final ModelConfig CONFIG = TestConfigs.discrete(5, 3, 16, 24);
    /** An image model: 12x12 -> conv 4:3:2 -> 5x5 -> conv 8:3:2 -> 2x2, 32 features into the tanh layer. */
    private static final ModelConfig IMAGE_CONFIG = new ModelConfig(new Image(1, 12, 12), new Discrete(3),
            List.of(new ModelConfig.ConvLayer(4, 3, 2), new ModelConfig.ConvLayer(8, 3, 2)), List.of(16), 24);
    private static final int T = 12;
    private static final int B = 7;
    private static ActorCritic model;
    private static ActorCritic imageModel;

    @BeforeAll
    static void build() {
        model = new ActorCritic(CONFIG, 42, Torch.device("cpu"));
        imageModel = new ActorCritic(IMAGE_CONFIG, 42, Torch.device("cpu"));
    }

    @AfterAll
    static void close() {
        model.close();
        imageModel.close();
    }

    @ParameterizedTest
    @EnumSource(RolloutFixtures.Dones.class)
    void fastPathEqualsReferenceLoopInOutputsAndEveryGradient(RolloutFixtures.Dones pattern) {
        assertPathsEqual(model, pattern);
    }

    @ParameterizedTest
    @EnumSource(RolloutFixtures.Dones.class)
    void theConvolutionalEncoderKeepsThePathsEqual(RolloutFixtures.Dones pattern) {
        assertEquals(32, IMAGE_CONFIG.encoderInputSize());
        assertEquals(List.of("conv.weight", "conv.bias", "conv_1.weight", "conv_1.bias", "encoder.weight"),
                imageModel.parameterNames().subList(0, 5));
        assertPathsEqual(imageModel, pattern);
        // The conv layers are trained too: their gradient is not zero.
        Pass loop = pass(imageModel, RolloutFixtures.random(IMAGE_CONFIG, T, B, pattern, 3), ForwardPath.LOOP);
        double norm = 0;
        for (float v : loop.grads.get(imageModel.parameterNames().indexOf("conv.weight"))) {
            norm += v * v;
        }
        assertTrue(norm > 1e-8, "the first conv layer received no gradient");
    }

    private static void assertPathsEqual(ActorCritic model, RolloutFixtures.Dones pattern) {
        ModelConfig config = model.config();
        Rollout r = RolloutFixtures.random(config, T, B, pattern, 7 + pattern.ordinal());
        Pass loop = pass(model, r, ForwardPath.LOOP);
        Pass fast = pass(model, r, ForwardPath.FAST);
        assertEquals(loop.output.length, (T + 1) * B * (config.policyOutputs() + 1));
        assertClose("outputs", loop.output, fast.output, 1e-5);
        assertEquals(loop.grads.size(), fast.grads.size());
        for (int i = 0; i < loop.grads.size(); i++) {
            assertClose("gradient of " + model.parameterNames().get(i), loop.grads.get(i), fast.grads.get(i), 1e-5);
        }
        // The gradients are not trivially zero: the comparison means something.
        double norm = 0;
        for (float v : loop.grads.get(model.parameterNames().indexOf("lstm.weight_hh_l0"))) {
            norm += v * v;
        }
        assertTrue(norm > 1e-6, "recurrent weights received no gradient");
    }

    @ParameterizedTest
    @EnumSource(RolloutFixtures.Dones.class)
    void stateIsResetAfterDone(RolloutFixtures.Dones pattern) {
        // Perturbing the stored initial state must change nothing after the row's first done.
        Rollout r = RolloutFixtures.random(CONFIG, T, B, pattern, 99);
        Pass base = pass(model, r, ForwardPath.FAST);
        for (int i = 0; i < r.initialH.length; i++) {
            r.initialH[i] += 1.0f;
        }
        Pass moved = pass(model, r, ForwardPath.FAST);
        int out = CONFIG.policyOutputs() + 1;
        for (int b = 0; b < B; b++) {
            int firstDone = -1;
            for (int t = 0; t < T && firstDone < 0; t++) {
                if (r.dones[t * B + b]) {
                    firstDone = t;
                }
            }
            for (int t = 0; t <= T; t++) {
                double diff = 0;
                for (int j = 0; j < out; j++) {
                    int i = (t * B + b) * out + j;
                    diff = Math.max(diff, Math.abs(base.output[i] - moved.output[i]));
                }
                if (firstDone >= 0 && t > firstDone) {
                    assertEquals(0.0, diff, 0.0, "row " + b + " step " + t + " saw the state from before its done");
                } else if (t == 0) {
                    assertTrue(diff > 1e-6, "row " + b + " ignored its stored initial state");
                }
            }
        }
    }

    private record Pass(float[] output, List<float[]> grads) {
    }

    private static Pass pass(ActorCritic model, Rollout r, ForwardPath path) {
        Device cpu = model.device();
        ModelConfig config = model.config();
        try (PointerScope scope = new PointerScope()) {
            model.zeroGrad();
            Tensor obs = SequenceForward.observations(r, cpu);
            Tensor h0 = Torch.floats(r.initialH, cpu, B, config.lstmSize());
            Tensor c0 = Torch.floats(r.initialC, cpu, B, config.lstmSize());
            Tensor out = SequenceForward.run(model, obs, h0, c0, r.dones, T, B, path);
            // A loss that touches every output with a different weight.
            float[] w = new float[(int) out.numel()];
            for (int i = 0; i < w.length; i++) {
                w[i] = (float) Math.sin(0.37 * i);
            }
            out.mul(Torch.floats(w, cpu, out.sizes().vec().get())).sum().backward();
            List<float[]> grads = new ArrayList<>();
            for (Tensor p : model.parameters()) {
                grads.add(Torch.toArray(p.grad()));
            }
            float[] output = Torch.toArray(out.detach());
            model.zeroGrad();
            return new Pass(output, grads);
        }
    }

    static void assertClose(String what, float[] expected, float[] actual, double tol) {
        assertEquals(expected.length, actual.length, what + ": lengths");
        double worst = 0;
        int at = -1;
        for (int i = 0; i < expected.length; i++) {
            double d = Math.abs(expected[i] - actual[i]);
            if (d > worst) {
                worst = d;
                at = i;
            }
        }
        assertTrue(worst <= tol, what + ": max difference " + worst + " at index " + at + " exceeds " + tol);
    }
}
