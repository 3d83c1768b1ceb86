package dev.starling.common.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

import com.google.protobuf.ByteString;
import dev.starling.proto.v1.Parameters;
import org.junit.jupiter.api.Test;

class ParameterCodecTest {

    private static final ModelConfig CONFIG = TestConfigs.discrete(4, 2, 16, 32);

    @Test
    void roundTripRestoresIdenticalOutputs() {
        try (ActorCritic a = new ActorCritic(CONFIG, 1, Torch.device("cpu"));
                ActorCritic b = new ActorCritic(CONFIG, 2, Torch.device("cpu"));
                PolicyInference pa = new PolicyInference(a, 3);
                PolicyInference pb = new PolicyInference(b, 3)) {
            ParameterCodec ca = new ParameterCodec(a);
            ParameterCodec cb = new ParameterCodec(b);
            assertEquals(ca.specHash(), cb.specHash(), "same config, same spec");
            float[] obs = {0.1f, -0.2f, 0.3f, 0.05f, 1f, 2f, 3f, 4f, -1f, 0f, 0.5f, 0.25f};
            float[] outA = new float[9];
            float[] outB = new float[9];
            pa.step(obs, outA);
            pb.step(obs, outB);
            assertNotEquals(outA[0], outB[0], "differently seeded models should differ");

            Parameters p = ca.encode(17);
            assertEquals(17, p.getVersion());
            assertEquals(4L * a.parameterCount(), p.getWeights().size());
            cb.decode(p);
            assertArrayEquals(p.getWeights().toByteArray(), cb.encode().toByteArray());
            pb.resetAll();
            pa.resetAll();
            pa.step(obs, outA);
            pb.step(obs, outB);
            assertArrayEquals(outA, outB, "decoded model must compute identical outputs");
        }
    }

    @Test
    void blobLayoutIsLittleEndianFloat32InParameterOrder() {
        try (ActorCritic a = new ActorCritic(CONFIG, 1, Torch.device("cpu"))) {
            ByteString blob = new ParameterCodec(a).encode();
            float first = ByteBuffer.wrap(blob.toByteArray()).order(ByteOrder.LITTLE_ENDIAN).getFloat(0);
            assertEquals(Torch.toArray(a.parameter("encoder.weight"))[0], first);
            assertEquals("encoder.weight", new ParameterCodec(a).spec().getTensors(0).getName());
        }
    }

    @Test
    void wrongSizeSpecOrNonFiniteBlobIsRejectedAndModelUntouched() {
        try (ActorCritic a = new ActorCritic(CONFIG, 1, Torch.device("cpu"));
                ActorCritic other = new ActorCritic(TestConfigs.discrete(4, 2, 16, 33), 1, Torch.device("cpu"))) {
            ParameterCodec codec = new ParameterCodec(a);
            ByteString before = codec.encode();
            Parameters good = codec.encode(1);

            Parameters shortBlob = good.toBuilder().setWeights(good.getWeights().substring(0, 100)).build();
            IllegalArgumentException e1 = assertThrows(IllegalArgumentException.class, () -> codec.decode(shortBlob));
            assertTrue(e1.getMessage().contains("100 bytes, expected " + codec.blobBytes()), e1.getMessage());

            Parameters foreign = new ParameterCodec(other).encode(1);
            IllegalArgumentException e2 = assertThrows(IllegalArgumentException.class, () -> codec.decode(foreign));
            assertTrue(e2.getMessage().contains("model spec"), e2.getMessage());

            byte[] nan = good.getWeights().toByteArray();
            ByteBuffer.wrap(nan).order(ByteOrder.LITTLE_ENDIAN).putFloat(4 * 10, Float.NaN);
            IllegalArgumentException e3 = assertThrows(IllegalArgumentException.class,
                    () -> codec.decode(good.toBuilder().setWeights(ByteString.copyFrom(nan)).build()));
            assertTrue(e3.getMessage().contains("non-finite value at index 10"), e3.getMessage());

            assertEquals(before, codec.encode(), "a rejected blob changed the weights");
        }
    }

    @Test
    void specHashCoversSizesAndNames() {
        try (ActorCritic a = new ActorCritic(CONFIG, 1, Torch.device("cpu"));
                ActorCritic b = new ActorCritic(TestConfigs.discrete(4, 3, 16, 32), 1, Torch.device("cpu"))) {
            assertNotEquals(ModelSpecs.of(a).getHash(), ModelSpecs.of(b).getHash());
            assertEquals(ModelSpecs.hash(ModelSpecs.of(a)), ModelSpecs.of(a).getHash());
            assertEquals(CONFIG, ModelSpecs.config(ModelSpecs.of(a)));
        }
    }
}
