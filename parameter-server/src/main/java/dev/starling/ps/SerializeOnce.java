package dev.starling.ps;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.concurrent.atomic.AtomicReference;

import com.google.protobuf.MessageLite;
import io.grpc.Drainable;
import io.grpc.KnownLength;
import io.grpc.MethodDescriptor;

/**
 * A response marshaller that serialises each message instance once, however many streams send
 * it: every WatchParameters subscriber gets the same {@link dev.starling.proto.v1.Parameters}
 * object for a version, so the broadcast to N subscribers encodes it once and copies the bytes N
 * times. Remembers the last instance only (a newer version replaces it); two threads racing on a
 * new instance may both encode it, which is harmless. Parsing is the wrapped marshaller's.
 */
final class SerializeOnce<T extends MessageLite> implements MethodDescriptor.Marshaller<T> {

    private record Encoded(Object message, byte[] bytes) {
    }

    private final MethodDescriptor.Marshaller<T> parser;
    private final AtomicReference<Encoded> last = new AtomicReference<>();

    SerializeOnce(MethodDescriptor.Marshaller<T> parser) {
        this.parser = parser;
    }

    @Override
    public InputStream stream(T value) {
        return new Bytes(encoded(value));
    }

    /** The bytes of {@code value}: encoded now, or the same array as last time for the same instance. */
    byte[] encoded(T value) {
        Encoded e = last.get();
        if (e == null || e.message() != value) {
            e = new Encoded(value, value.toByteArray());
            last.set(e);
        }
        return e.bytes();
    }

    @Override
    public T parse(InputStream stream) {
        return parser.parse(stream);
    }

    /** Known length and drainable, so gRPC frames it with one copy into its buffers. */
    private static final class Bytes extends ByteArrayInputStream implements KnownLength, Drainable {

        Bytes(byte[] bytes) {
            super(bytes);
        }

        @Override
        public synchronized int drainTo(OutputStream target) throws IOException {
            int n = count - pos;
            target.write(buf, pos, n);
            pos = count;
            return n;
        }
    }
}
