package dev.starling.ps;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;

import java.io.ByteArrayOutputStream;
import java.io.InputStream;

import com.google.protobuf.ByteString;
import dev.starling.proto.v1.Parameters;
import dev.starling.proto.v1.ParameterServerGrpc;
import io.grpc.Drainable;
import io.grpc.KnownLength;
import io.grpc.MethodDescriptor;
import org.junit.jupiter.api.Test;

class SerializeOnceTest {

    private final MethodDescriptor.Marshaller<Parameters> proto =
            ParameterServerGrpc.getWatchParametersMethod().getResponseMarshaller();

    @Test
    void oneInstanceIsEncodedOnceAndEveryStreamCarriesTheSameBytesProtobufWould() throws Exception {
        SerializeOnce<Parameters> once = new SerializeOnce<>(proto);
        Parameters v1 = parameters(1);
        byte[] first = once.encoded(v1);
        assertSame(first, once.encoded(v1), "the second subscriber reuses the encoding");
        assertArrayEquals(v1.toByteArray(), first);
        for (int i = 0; i < 3; i++) {
            InputStream s = once.stream(v1);
            assertEquals(first.length, ((KnownLength) s).available());
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            assertEquals(first.length, ((Drainable) s).drainTo(out));
            assertEquals(v1, once.parse(new java.io.ByteArrayInputStream(out.toByteArray())));
            assertEquals(0, s.available(), "drained");
        }
        Parameters v2 = parameters(2);
        byte[] second = once.encoded(v2);
        assertNotSame(first, second, "a new version is encoded anew");
        assertEquals(v2, proto.parse(once.stream(v2)));
    }

    private static Parameters parameters(long version) {
        byte[] blob = new byte[4096];
        for (int i = 0; i < blob.length; i++) {
            blob[i] = (byte) (i * 31 + version);
        }
        return Parameters.newBuilder().setVersion(version).setIncarnation(7).setWeights(ByteString.copyFrom(blob)).build();
    }
}
