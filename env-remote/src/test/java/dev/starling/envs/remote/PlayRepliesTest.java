package dev.starling.envs.remote;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

import com.google.protobuf.ByteString;
import dev.starling.env.Box;
import dev.starling.env.Image;
import dev.starling.proto.v1.DType;
import dev.starling.proto.v1.PlayReply;
import dev.starling.proto.v1.Tensor;
import org.junit.jupiter.api.Test;

/** Every rule of a reply, one broken at a time; the message names the field. */
class PlayRepliesTest {

    private static final Box SPACE = Box.of(2);

    private static Tensor floats(int rows, float... values) {
        ByteBuffer b = ByteBuffer.allocate(values.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        for (float v : values) {
            b.putFloat(v);
        }
        return Tensor.newBuilder().setDtype(DType.FLOAT32).addShape(rows).addShape(2)
                .setData(ByteString.copyFrom(b.array())).build();
    }

    /** Two environments; the second truncated, with its final observation. */
    private static PlayReply.Builder good() {
        return PlayReply.newBuilder().setObservations(floats(2, 1, 2, 3, 4)).addRewards(1).addRewards(0.5f)
                .addTerminated(false).addTerminated(false).addTruncated(false).addTruncated(true)
                .setFinalObservations(floats(1, 7, 8));
    }

    private static String refusal(PlayReply.Builder r) {
        return assertThrows(PlayReplies.BadReplyException.class, () -> PlayReplies.checkStepped(r.build(), 2, SPACE))
                .getMessage();
    }

    @Test
    void aGoodReplyPasses() {
        PlayReplies.checkStepped(good().build(), 2, SPACE);
        PlayReplies.checkOpened(PlayReply.newBuilder().setObservations(floats(2, 1, 2, 3, 4)).build(), 2, SPACE);
    }

    @Test
    void eachBrokenRuleIsNamed() {
        assertEquals("observations is missing", refusal(good().clearObservations()));
        assertEquals("observations has dtype UINT8; box(2) needs FLOAT32",
                refusal(good().setObservations(floats(2, 1, 2, 3, 4).toBuilder().setDtype(DType.UINT8))));
        assertEquals("observations has shape [3, 2]; expected [2, 2] (2 x box(2))",
                refusal(good().setObservations(floats(3, 1, 2, 3, 4, 5, 6))));
        assertEquals("observations has 12 bytes of data; its shape and dtype need 16",
                refusal(good().setObservations(floats(2, 1, 2, 3))));
        assertEquals("observations[1][0] is Infinity; observations must be finite",
                refusal(good().setObservations(floats(2, 1, 2, Float.POSITIVE_INFINITY, 4))));
        assertEquals("rewards has 1 values for 2 environments", refusal(good().clearRewards().addRewards(1)));
        assertEquals("terminated has 3 values for 2 environments", refusal(good().addTerminated(true)));
        assertEquals("truncated has 1 values for 2 environments", refusal(good().clearTruncated().addTruncated(true)));
        assertEquals("environment 1 is both terminated and truncated", refusal(good().setTerminated(1, true)));
        assertEquals("final_observations is missing", refusal(good().clearFinalObservations()));
        assertEquals("final_observations has shape [2, 2]; expected [1, 2] (1 x box(2))",
                refusal(good().setFinalObservations(floats(2, 1, 2, 3, 4))));
        assertEquals("final_observations has 1 rows but no environment was truncated",
                refusal(good().setTruncated(1, false)));
    }

    @Test
    void anOpenReplyCarriesObservationsOnly() {
        PlayReply withRewards = PlayReply.newBuilder().setObservations(floats(2, 1, 2, 3, 4)).addRewards(1).build();
        assertThrows(PlayReplies.BadReplyException.class, () -> PlayReplies.checkOpened(withRewards, 2, SPACE));
    }

    @Test
    void imagesTravelAsBytes() {
        Image image = new Image(1, 2, 2);
        Tensor pixels = Tensor.newBuilder().setDtype(DType.UINT8).addShape(1).addShape(1).addShape(2).addShape(2)
                .setData(ByteString.copyFrom(new byte[] {0, 1, 2, (byte) 255})).build();
        PlayReplies.checkOpened(PlayReply.newBuilder().setObservations(pixels).build(), 1, image);
        PlayReply asFloats = PlayReply.newBuilder().setObservations(pixels.toBuilder().setDtype(DType.FLOAT32)).build();
        assertEquals("observations has dtype FLOAT32; image(1,2,2) needs UINT8", assertThrows(
                PlayReplies.BadReplyException.class, () -> PlayReplies.checkOpened(asFloats, 1, image)).getMessage());
    }
}
