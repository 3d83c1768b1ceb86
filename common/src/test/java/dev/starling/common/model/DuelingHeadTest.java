package dev.starling.common.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

import dev.starling.env.Box;
import dev.starling.env.Discrete;
import dev.starling.env.Image;
import dev.starling.proto.v1.Head;
import dev.starling.proto.v1.ModelSpec;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.junit.jupiter.api.Test;

/**
 * The dueling Q head against the formula computed here from the linear layer's weights
 * (Q = V + A - mean A, then max Q), its refusal of continuous actions, and its place in the model
 * spec: round-tripped, and in the hash only for Q-networks.
 */
class DuelingHeadTest {

    private static final int ACTIONS = 4;
    private static final int LSTM = 8;
    private static final ModelConfig DUELING = TestConfigs.discrete(3, ACTIONS, 16, LSTM)
            .withHead(ModelConfig.Head.DUELING_Q);

    @Test
    void qValuesAreValuePlusCentredAdvantagesThenTheirMaximum() {
        try (ActorCritic model = new ActorCritic(DUELING, 5, Torch.device("cpu"));
                PointerScope scope = new PointerScope()) {
            SplittableRandom rng = new SplittableRandom(8);
            int outputs = ACTIONS + 1;
            // Head weights of order 1 in every row (the init shrinks the advantage rows by 100):
            // every term of the formula then moves the result.
            float[] w = new float[outputs * LSTM];
            float[] bias = new float[outputs];
            for (int i = 0; i < w.length; i++) {
                w[i] = (float) rng.nextGaussian();
            }
            for (int i = 0; i < bias.length; i++) {
                bias[i] = (float) rng.nextGaussian();
            }
            try (NoGradGuard noGrad = new NoGradGuard()) {
                model.parameter("head.weight").copy_(Torch.floats(w, model.device(), outputs, LSTM));
                model.parameter("head.bias").copy_(Torch.floats(bias, model.device(), outputs));
            }
            // Read back what the model holds: the reference uses the model's own weights.
            float[] weight = Torch.toArray(model.parameter("head.weight").detach());
            float[] b = Torch.toArray(model.parameter("head.bias").detach());
            assertEquals(outputs * LSTM, weight.length);
            int t = 3;
            int rows = 5;
            float[] core = new float[t * rows * LSTM];
            for (int i = 0; i < core.length; i++) {
                core[i] = (float) Math.tanh(rng.nextGaussian());
            }
            float[] out = Torch.toArray(model.head(Torch.floats(core, model.device(), t, rows, LSTM)).detach()
                    .contiguous());
            assertEquals(t * rows * outputs, out.length);
            double spread = 0;
            for (int n = 0; n < t * rows; n++) {
                // The linear layer: y_j = b_j + sum_k W[j][k] core[k]; y_0..y_{P-1} = A, y_P = V.
                double[] y = new double[outputs];
                for (int j = 0; j < outputs; j++) {
                    y[j] = b[j];
                    for (int k = 0; k < LSTM; k++) {
                        y[j] += weight[j * LSTM + k] * (double) core[n * LSTM + k];
                    }
                }
                double meanA = 0;
                for (int a = 0; a < ACTIONS; a++) {
                    meanA += y[a] / ACTIONS;
                }
                double max = Double.NEGATIVE_INFINITY;
                for (int a = 0; a < ACTIONS; a++) {
                    double q = y[ACTIONS] + y[a] - meanA;
                    max = Math.max(max, q);
                    assertEquals(q, out[n * outputs + a], 1e-6, "Q of action " + a + " at row " + n);
                }
                assertEquals(max, out[n * outputs + ACTIONS], 1e-6, "max Q at row " + n);
                spread = Math.max(spread, Math.abs(meanA));
            }
            assertTrue(spread > 0.1, "the advantages' mean must matter for the test to mean something: " + spread);
        }
    }

    @Test
    void theActorCriticHeadOfTheSameWeightsIsTheRawLinearLayer() {
        ModelConfig ac = DUELING.withHead(ModelConfig.Head.ACTOR_CRITIC);
        try (ActorCritic dueling = new ActorCritic(DUELING, 5, Torch.device("cpu"));
                ActorCritic actorCritic = new ActorCritic(ac, 5, Torch.device("cpu"));
                PointerScope scope = new PointerScope()) {
            assertEquals(dueling.parameterNames(), actorCritic.parameterNames(), "the same layers");
            float[] core = new float[2 * LSTM];
            for (int i = 0; i < core.length; i++) {
                core[i] = (float) Math.sin(i + 1.0);
            }
            float[] raw = Torch.toArray(actorCritic.head(Torch.floats(core, actorCritic.device(), 2, LSTM)).detach()
                    .contiguous());
            float[] q = Torch.toArray(dueling.head(Torch.floats(core, dueling.device(), 2, LSTM)).detach()
                    .contiguous());
            // Same seed, same weights: the dueling outputs are the raw ones recombined.
            for (int n = 0; n < 2; n++) {
                double meanA = 0;
                for (int a = 0; a < ACTIONS; a++) {
                    meanA += raw[n * (ACTIONS + 1) + a] / (double) ACTIONS;
                }
                for (int a = 0; a < ACTIONS; a++) {
                    assertEquals(raw[n * (ACTIONS + 1) + ACTIONS] + raw[n * (ACTIONS + 1) + a] - meanA,
                            q[n * (ACTIONS + 1) + a], 1e-6);
                }
            }
        }
    }

    @Test
    void aQNetworkNeedsDiscreteActions() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new ModelConfig(Box.of(3),
                Box.bounded(-2, 2, 2), List.of(), List.of(8), 8, ModelConfig.Head.DUELING_Q));
        assertTrue(e.getMessage().contains("needs a discrete action space"), e.getMessage());
        assertTrue(e.getMessage().contains(Box.bounded(-2, 2, 2).describe()), e.getMessage());
        assertThrows(IllegalArgumentException.class,
                () -> TestConfigs.continuous(3, 1, 8, 8).withHead(ModelConfig.Head.DUELING_Q));
    }

    @Test
    void theHeadIsDescribedAndKeptByWithArchitecture() {
        assertEquals("obs " + Box.of(3).describe() + ", actions discrete(4), encoder [16], lstm 8, head dueling-q",
                DUELING.describe());
        assertEquals(ModelConfig.Head.DUELING_Q, DUELING.withArchitecture(List.of(32), 16).head());
        assertEquals(ModelConfig.Head.ACTOR_CRITIC, TestConfigs.discrete(3, 4, 16, 8).head());
    }

    @Test
    void theSpecRoundTripsTheHead() {
        for (ModelConfig c : List.of(DUELING, DUELING.withHead(ModelConfig.Head.ACTOR_CRITIC),
                new ModelConfig(new Image(1, 9, 9), new Discrete(3), List.of(new ModelConfig.ConvLayer(2, 3, 2)),
                        List.of(8), 8, ModelConfig.Head.DUELING_Q))) {
            try (ActorCritic model = new ActorCritic(c, 1, Torch.device("cpu"))) {
                ModelSpec spec = ModelSpecs.of(model);
                assertEquals(c.head() == ModelConfig.Head.DUELING_Q ? Head.HEAD_DUELING_Q : Head.HEAD_ACTOR_CRITIC,
                        spec.getHead());
                assertEquals(c, ModelSpecs.config(spec));
                assertEquals(spec.getHash(), ModelSpecs.hash(spec.toBuilder().clearHash().build()));
            }
        }
    }

    @Test
    void anUnknownHeadIsRefusedNamingTheField() throws Exception {
        try (ActorCritic model = new ActorCritic(DUELING, 1, Torch.device("cpu"))) {
            ModelSpec future = ModelSpecs.of(model).toBuilder().setHeadValue(7).build();
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ModelSpecs.config(future));
            assertTrue(e.getMessage().contains("head"), e.getMessage());
            assertTrue(e.getMessage().contains("7"), e.getMessage());
        }
    }

    /**
     * The hash from the documented canonical text, computed here with SHA-256: an actor-critic
     * model's text has no head (its pinned hash, e60ceaa0111966e7 in ModelConfigTest, stays), a
     * Q-network's adds ";head=1" before the tensors, so the two never match as peers.
     */
    @Test
    void theHashCoversTheHeadOnlyForQNetworks() throws Exception {
        ModelConfig ac = new ModelConfig(Box.of(4), new Discrete(2), List.of(64), 128);
        ModelConfig q = ac.withHead(ModelConfig.Head.DUELING_Q);
        String tensors = ";encoder.weight:64x4;encoder.bias:64;lstm.weight_ih_l0:512x64;lstm.weight_hh_l0:512x128"
                + ";lstm.bias_ih_l0:512;lstm.bias_hh_l0:512;head.weight:3x128;head.bias:3";
        String layers = "obs=" + Box.of(4).describe() + ";actions=" + new Discrete(2).describe()
                + ";encoder=[64];lstm=128";
        assertEquals("e60ceaa0111966e7", hex(sha256Prefix(layers + tensors)), "the reference text is the documented one");
        assertEquals("e60ceaa0111966e7", hash(ac), "actor-critic hashes are unchanged");
        assertEquals(hex(sha256Prefix(layers + ";head=1" + tensors)), hash(q));
        assertNotEquals(hash(ac), hash(q));
    }

    private static long sha256Prefix(String text) throws Exception {
        byte[] d = MessageDigest.getInstance("SHA-256").digest(text.getBytes(StandardCharsets.UTF_8));
        long h = 0;
        for (int i = 0; i < 8; i++) {
            h = (h << 8) | (d[i] & 0xffL);
        }
        return h;
    }

    private static String hex(long h) {
        return String.format("%016x", h);
    }

    private static String hash(ModelConfig c) {
        try (ActorCritic model = new ActorCritic(c, 1, Torch.device("cpu"))) {
            assertEquals(List.of("encoder.weight", "encoder.bias", "lstm.weight_ih_l0", "lstm.weight_hh_l0",
                    "lstm.bias_ih_l0", "lstm.bias_hh_l0", "head.weight", "head.bias"), model.parameterNames(),
                    Arrays.toString(model.parameterNames().toArray()));
            return ModelSpecs.hex(ModelSpecs.of(model).getHash());
        }
    }
}
