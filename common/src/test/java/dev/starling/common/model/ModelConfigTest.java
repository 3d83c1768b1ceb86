package dev.starling.common.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;

import dev.starling.env.Box;
import dev.starling.env.Discrete;
import dev.starling.env.Image;
import org.junit.jupiter.api.Test;

/** The architecture's rules, the conv layers of image models, and the spec hash of box models. */
class ModelConfigTest {

    private static final ModelConfig.ConvLayer C16 = new ModelConfig.ConvLayer(16, 3, 2);

    @Test
    void convLayersReadTheirDescriptionAndNoneMeansTheDefaultOfTheObservation() {
        assertEquals(new ModelConfig.ConvLayer(16, 3, 2), ModelConfig.ConvLayer.parse(" 16:3:2"));
        for (ModelConfig.ConvLayer layer : ModelConfig.DEFAULT_CONV_LAYERS) {
            assertEquals(layer, ModelConfig.ConvLayer.parse(layer.describe()));
        }
        for (String bad : List.of("16:3", "16:3:2:1", "a:3:2", "", "16:0:2")) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> ModelConfig.ConvLayer.parse(bad));
            assertTrue(e.getMessage().contains(bad), e.getMessage());
        }
        Image image = new Image(1, 32, 32);
        assertEquals(ModelConfig.DEFAULT_CONV_LAYERS,
                ModelConfig.of(image, new Discrete(3), List.of(), List.of(64), 128).convLayers());
        assertEquals(List.of(new ModelConfig.ConvLayer(8, 4, 4)), ModelConfig.of(image, new Discrete(3),
                List.of(new ModelConfig.ConvLayer(8, 4, 4)), List.of(64), 128).convLayers());
        assertEquals(List.of(), ModelConfig.of(Box.of(2), new Discrete(3), List.of(), List.of(64), 128).convLayers());
    }

    @Test
    void boxModelsKeepTheSpecHashTheyHadBeforeImageModels() {
        // Computed with the code before conv layers existed (git 0c90df4): checkpoints and running
        // peers of box models must still match.
        assertEquals("e60ceaa0111966e7", hash(new ModelConfig(Box.of(4), new Discrete(2), List.of(64), 128)));
        assertEquals("c94ba870ed6321a4", hash(new ModelConfig(Box.of(3), Box.bounded(-2, 2, 1), List.of(32, 16), 24)));
    }

    @Test
    void imageObservationsGetTheDefaultConvLayers() {
        ModelConfig c = ModelConfig.defaults(new Image(1, 32, 32), new Discrete(3));
        assertEquals(ModelConfig.DEFAULT_CONV_LAYERS, c.convLayers());
        // 32 -> 15 -> 7 -> 3: 32 channels x 3 x 3.
        assertEquals(288, c.encoderInputSize());
        assertEquals("obs image(1,32,32), actions discrete(3), conv [16:3:2, 32:3:2, 32:3:2], encoder [64], lstm 128",
                c.describe());
        assertEquals(List.of(), ModelConfig.defaults(Box.of(4), new Discrete(2)).convLayers());
        assertEquals(4, ModelConfig.defaults(Box.of(4), new Discrete(2)).encoderInputSize());
    }

    @Test
    void convLayersAreCheckedAgainstTheObservation() {
        assertTrue(assertThrows(IllegalArgumentException.class, () -> new ModelConfig(Box.of(4), new Discrete(2),
                List.of(C16), List.of(8), 8)).getMessage().contains("box(4) is not an image"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> new ModelConfig(new Image(1, 8, 8),
                new Discrete(2), List.of(), List.of(8), 8)).getMessage().contains("needs 1 to 8 conv layers"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> new ModelConfig(new Image(1, 4, 4),
                new Discrete(2), List.of(new ModelConfig.ConvLayer(8, 5, 1)), List.of(8), 8)).getMessage()
                .contains("kernel larger than its 4x4 input"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> new ModelConfig(new Image(4, 128, 128),
                new Discrete(2), List.of(new ModelConfig.ConvLayer(64, 1, 1)), List.of(8), 8)).getMessage()
                .contains("use more stride"));
        assertThrows(IllegalArgumentException.class, () -> new ModelConfig.ConvLayer(0, 3, 2));
        assertThrows(IllegalArgumentException.class, () -> new ModelConfig.ConvLayer(8, 3, 0));
    }

    @Test
    void theSpecCarriesTheConvLayersAndTheirHash() {
        ModelConfig a = new ModelConfig(new Image(1, 12, 12), new Discrete(3), List.of(new ModelConfig.ConvLayer(4, 3, 2)),
                List.of(16), 24);
        // On a 3x3 image a 3x3 kernel leaves one pixel whatever the stride: equal tensors, other models.
        ModelConfig stride1 = new ModelConfig(new Image(1, 3, 3), new Discrete(3),
                List.of(new ModelConfig.ConvLayer(4, 3, 1)), List.of(16), 24);
        ModelConfig stride2 = new ModelConfig(new Image(1, 3, 3), new Discrete(3),
                List.of(new ModelConfig.ConvLayer(4, 3, 2)), List.of(16), 24);
        try (ActorCritic model = new ActorCritic(a, 1, Torch.device("cpu"))) {
            assertEquals(a, ModelSpecs.config(ModelSpecs.of(model)));
            assertEquals("[4, 1, 3, 3]", java.util.Arrays.toString(model.parameter("conv.weight").sizes().vec().get()));
        }
        assertNotEquals(hash(stride1), hash(stride2), "the hash covers the conv layers, not only the tensors");
    }

    @Test
    void theImageEncoderKeepsEveryRowApart() {
        ModelConfig c = new ModelConfig(new Image(2, 9, 9), new Discrete(3), List.of(new ModelConfig.ConvLayer(4, 3, 2),
                new ModelConfig.ConvLayer(6, 3, 1)), List.of(5), 8);
        try (ActorCritic model = new ActorCritic(c, 3, Torch.device("cpu"));
                org.bytedeco.javacpp.PointerScope scope = new org.bytedeco.javacpp.PointerScope()) {
            float[] pixels = new float[3 * 4 * c.observationSize()];
            java.util.SplittableRandom random = new java.util.SplittableRandom(5);
            for (int i = 0; i < pixels.length; i++) {
                pixels[i] = (float) random.nextDouble();
            }
            // [T=3, K=4, C*H*W] at once against each observation alone as [1, C*H*W].
            float[] batched = Torch.toArray(model.encode(Torch.floats(pixels, model.device(), 3, 4,
                    c.observationSize())).detach());
            assertEquals(3 * 4 * 5, batched.length);
            for (int row = 0; row < 12; row++) {
                float[] one = java.util.Arrays.copyOfRange(pixels, row * c.observationSize(),
                        (row + 1) * c.observationSize());
                float[] alone = Torch.toArray(model.encode(Torch.floats(one, model.device(), 1, c.observationSize()))
                        .detach());
                for (int j = 0; j < 5; j++) {
                    assertEquals(alone[j], batched[row * 5 + j], 1e-6, "row " + row + ", feature " + j);
                }
            }
        }
    }

    @Test
    void theConvolutionReadsPixelsInTheEnvironmentsRowMajorLayout() {
        // A 3x4 image (not square, so rows and columns cannot be swapped unnoticed), one 2x2
        // kernel [[1, 2], [3, 4]], no bias, then an identity tanh layer: feature (i, j) is
        // tanh(x[i][j] + 2 x[i][j+1] + 3 x[i+1][j] + 4 x[i+1][j+1]).
        ModelConfig c = new ModelConfig(new Image(1, 3, 4), new Discrete(2), List.of(new ModelConfig.ConvLayer(1, 2, 1)),
                List.of(6), 4);
        try (ActorCritic model = new ActorCritic(c, 1, Torch.device("cpu"));
                org.bytedeco.javacpp.PointerScope scope = new org.bytedeco.javacpp.PointerScope()) {
            set(model, "conv.weight", new float[] {1, 2, 3, 4}, 1, 1, 2, 2);
            set(model, "conv.bias", new float[] {0}, 1);
            float[] identity = new float[36];
            for (int i = 0; i < 6; i++) {
                identity[i * 6 + i] = 1;
            }
            set(model, "encoder.weight", identity, 6, 6);
            set(model, "encoder.bias", new float[6], 6);
            float[] x = new float[12];
            for (int i = 0; i < 12; i++) {
                x[i] = 0.01f * (i + 1);
            }
            float[] out = Torch.toArray(model.encode(Torch.floats(x, model.device(), 1, 12)).detach());
            for (int i = 0; i < 2; i++) {
                for (int j = 0; j < 3; j++) {
                    double v = x[i * 4 + j] + 2 * x[i * 4 + j + 1] + 3 * x[(i + 1) * 4 + j] + 4 * x[(i + 1) * 4 + j + 1];
                    assertEquals(Math.tanh(v), out[i * 3 + j], 1e-6, "feature (" + i + ", " + j + ")");
                }
            }
        }
    }

    @Test
    void convLayersStartOrthogonalWithGainSqrt2AndZeroBiases() {
        // A ReLU layer keeps the scale of its input with these; libtorch's default init shrinks it
        // layer by layer, and Pong's 2x2 ball stopped moving the features (a plateau of millions
        // of frames before any learning, BENCHMARKS.md).
        ModelConfig c = ModelConfig.defaults(new Image(1, 32, 32), new Discrete(3));
        try (ActorCritic model = new ActorCritic(c, 4, Torch.device("cpu"));
                org.bytedeco.javacpp.PointerScope scope = new org.bytedeco.javacpp.PointerScope()) {
            for (String layer : List.of("conv", "conv_1", "conv_2")) {
                org.bytedeco.pytorch.Tensor w = model.parameter(layer + ".weight").detach();
                long rows = w.size(0);
                long cols = w.numel() / rows;
                org.bytedeco.pytorch.Tensor m = w.reshape(rows, cols);
                // Orthogonal rows (fewer rows than columns) or columns, each of squared norm 2.
                org.bytedeco.pytorch.Tensor gram = rows <= cols ? m.matmul(m.t()) : m.t().matmul(m);
                float[] g = Torch.toArray(gram.contiguous());
                int n = (int) Math.min(rows, cols);
                for (int i = 0; i < n; i++) {
                    for (int j = 0; j < n; j++) {
                        assertEquals(i == j ? 2.0 : 0.0, g[i * n + j], 1e-4, layer + " gram[" + i + "][" + j + "]");
                    }
                }
                for (float b : Torch.toArray(model.parameter(layer + ".bias").detach())) {
                    assertEquals(0f, b, layer + ".bias");
                }
            }
        }
    }

    private static void set(ActorCritic model, String name, float[] values, long... shape) {
        try (org.bytedeco.pytorch.NoGradGuard noGrad = new org.bytedeco.pytorch.NoGradGuard()) {
            model.parameter(name).copy_(Torch.floats(values, model.device(), shape));
        }
    }

    private static String hash(ModelConfig c) {
        try (ActorCritic model = new ActorCritic(c, 1, Torch.device("cpu"))) {
            return ModelSpecs.hex(ModelSpecs.of(model).getHash());
        }
    }
}
