package dev.starling.common.rl;

import dev.starling.common.model.TestConfigs;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

import dev.starling.common.model.ActorCritic;
import dev.starling.common.model.ModelConfig;
import dev.starling.common.model.Torch;
import dev.starling.proto.v1.OptimizerState;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.AdamOptions;
import org.bytedeco.pytorch.RMSpropOptions;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;
import org.junit.jupiter.api.Test;

/** Our optimizers must take exactly libtorch's steps on the same gradients. */
class OptimizerTest {

    private static final ModelConfig CONFIG = TestConfigs.discrete(3, 2, 8, 8);

    @Test
    void adamMatchesLibtorchAdam() {
        compare("adam");
    }

    @Test
    void rmspropMatchesLibtorchRmsprop() {
        compare("rmsprop");
    }

    private void compare(String algorithm) {
        try (ActorCritic ours = new ActorCritic(CONFIG, 1, Torch.device("cpu"));
                ActorCritic theirs = new ActorCritic(CONFIG, 1, Torch.device("cpu"))) {
            double lr = 0.01;
            Optimizer mine = algorithm.equals("adam")
                    ? new Adam(ours.parameters(), lr, 0.9, 0.999, 1e-8)
                    : new RmsProp(ours.parameters(), lr, 0.99, 1e-8);
            TensorVector params = new TensorVector(theirs.parameters().toArray(new Tensor[0]));
            org.bytedeco.pytorch.Optimizer reference = algorithm.equals("adam")
                    ? new org.bytedeco.pytorch.Adam(params, new AdamOptions(lr))
                    : new org.bytedeco.pytorch.RMSprop(params, new RMSpropOptions(lr));
            SplittableRandom rng = new SplittableRandom(5);
            for (int step = 0; step < 5; step++) {
                try (PointerScope scope = new PointerScope()) {
                    List<Tensor> grads = new ArrayList<>();
                    theirs.zeroGrad();
                    Tensor loss = null;
                    for (Tensor p : theirs.parameters()) {
                        float[] g = new float[(int) p.numel()];
                        for (int i = 0; i < g.length; i++) {
                            g[i] = (float) rng.nextGaussian();
                        }
                        Tensor gt = Torch.floats(g, p.device(), p.sizes().vec().get());
                        grads.add(gt);
                        // d/dp sum(p * g) = g: gives libtorch's optimizer the same gradient.
                        Tensor term = p.mul(gt).sum();
                        loss = loss == null ? term : loss.add(term);
                    }
                    loss.backward();
                    reference.step();
                    mine.step(grads);
                }
            }
            for (int i = 0; i < ours.parameters().size(); i++) {
                float[] a = Torch.toArray(ours.parameters().get(i));
                float[] b = Torch.toArray(theirs.parameters().get(i));
                for (int j = 0; j < a.length; j++) {
                    assertEquals(b[j], a[j], 1e-6, algorithm + " " + ours.parameterNames().get(i) + "[" + j + "]");
                }
            }
            assertEquals(5, mine.steps());
            mine.close();
        }
    }

    @Test
    void stateRoundTripsAndBadStateIsRejectedUnchanged() {
        try (ActorCritic model = new ActorCritic(CONFIG, 1, Torch.device("cpu"));
                Optimizer adam = Optimizer.create("adam", model.parameters(), 1e-3);
                Optimizer restored = Optimizer.create("adam", model.parameters(), 1e-3)) {
            List<Tensor> grads = new ArrayList<>();
            for (Tensor p : model.parameters()) {
                grads.add(org.bytedeco.pytorch.global.torch.ones_like(p));
            }
            adam.step(grads);
            adam.step(grads);
            OptimizerState state = adam.exportState(77);
            restored.importState(state, 77);
            assertEquals(2, restored.steps());
            assertArrayEquals(state.getBuffers().toByteArray(), restored.exportState(77).getBuffers().toByteArray());

            OptimizerState before = restored.exportState(77);
            IllegalArgumentException wrongSpec = assertThrows(IllegalArgumentException.class,
                    () -> restored.importState(state, 78));
            assertTrue(wrongSpec.getMessage().contains("spec"), wrongSpec.getMessage());
            IllegalArgumentException wrongAlgo = assertThrows(IllegalArgumentException.class,
                    () -> restored.importState(state.toBuilder().setAlgorithm("rmsprop").build(), 77));
            assertTrue(wrongAlgo.getMessage().contains("rmsprop"), wrongAlgo.getMessage());
            IllegalArgumentException truncated = assertThrows(IllegalArgumentException.class,
                    () -> restored.importState(state.toBuilder().setBuffers(state.getBuffers().substring(4)).build(), 77));
            assertTrue(truncated.getMessage().contains("bytes"), truncated.getMessage());
            assertEquals(before, restored.exportState(77), "a rejected import changed the state");
        }
    }
}
