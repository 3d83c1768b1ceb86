package dev.starling.transport;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;

import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.MethodDescriptor;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;

/**
 * Shared pieces of the fuzz tests (issue 7, "Bad input"): real Netty servers and channels on
 * loopback, raw-bytes method descriptors (to send bytes that are not a valid protobuf encoding
 * on a real method), seeded per-case randomness and byte-level corruptions, and a log capture
 * that turns down the per-rejection warnings and records anything logged at SEVERE.
 */
public final class FuzzSupport {

    /** Passes message bytes through unchanged. */
    public static final MethodDescriptor.Marshaller<byte[]> BYTES = new MethodDescriptor.Marshaller<>() {
        @Override
        public InputStream stream(byte[] value) {
            return new ByteArrayInputStream(value);
        }

        @Override
        public byte[] parse(InputStream stream) {
            try {
                return stream.readAllBytes();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
    };

    private FuzzSupport() {
    }

    /** {@code method} (same name and type) with raw bytes for requests and responses. */
    public static MethodDescriptor<byte[], byte[]> raw(MethodDescriptor<?, ?> method) {
        return method.toBuilder(BYTES, BYTES).build();
    }

    /** A Netty server builder on an ephemeral loopback port. */
    public static NettyServerBuilder loopbackServer() {
        return NettyServerBuilder.forAddress(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
    }

    /** A plaintext channel to {@code port} on loopback (the caller registers it for cleanup). */
    public static ManagedChannel loopbackChannel(int port, int maxInboundMessageBytes) {
        return Grpc.newChannelBuilderForAddress(InetAddress.getLoopbackAddress().getHostAddress(), port,
                InsecureChannelCredentials.create()).maxInboundMessageSize(maxInboundMessageBytes).build();
    }

    /** The random source of case {@code index} of a run seeded with {@code seed}: each case replays alone. */
    public static SplittableRandom caseRandom(long seed, int index) {
        return new SplittableRandom(seed ^ (0x9E3779B97F4A7C15L * (index + 1L)));
    }

    /** Uniformly random bytes, 0 to {@code maxLength} of them. */
    public static byte[] randomBytes(SplittableRandom rng, int maxLength) {
        byte[] b = new byte[rng.nextInt(maxLength + 1)];
        fill(rng, b);
        return b;
    }

    /** A strict prefix of {@code valid} (possibly empty). */
    public static byte[] truncate(byte[] valid, SplittableRandom rng) {
        return Arrays.copyOf(valid, valid.length == 0 ? 0 : rng.nextInt(valid.length));
    }

    /** {@code valid} with 1 to 8 bytes replaced by random ones. */
    public static byte[] flipBytes(byte[] valid, SplittableRandom rng) {
        byte[] b = valid.clone();
        if (b.length == 0) {
            return new byte[] {(byte) rng.nextInt(256)};
        }
        int n = 1 + rng.nextInt(8);
        for (int i = 0; i < n; i++) {
            b[rng.nextInt(b.length)] = (byte) rng.nextInt(256);
        }
        return b;
    }

    /** {@code valid} followed by 1 to 64 random bytes. */
    public static byte[] appendGarbage(byte[] valid, SplittableRandom rng) {
        byte[] tail = new byte[1 + rng.nextInt(64)];
        fill(rng, tail);
        byte[] b = Arrays.copyOf(valid, valid.length + tail.length);
        System.arraycopy(tail, 0, b, valid.length, tail.length);
        return b;
    }

    /**
     * {@code valid} followed by field {@code field} as a length-delimited value that is not
     * UTF-8 (for a proto3 {@code string} field, parsing must fail).
     */
    public static byte[] withInvalidUtf8(byte[] valid, int field, SplittableRandom rng) {
        byte[] bad = {(byte) 0xC3, (byte) 0x28, (byte) 0xFF, (byte) (0x80 + rng.nextInt(64))};
        byte[] tag = {(byte) ((field << 3) | 2), (byte) bad.length};
        byte[] b = Arrays.copyOf(valid, valid.length + tag.length + bad.length);
        System.arraycopy(tag, 0, b, valid.length, tag.length);
        System.arraycopy(bad, 0, b, valid.length + tag.length, bad.length);
        return b;
    }

    private static void fill(SplittableRandom rng, byte[] b) {
        for (int i = 0; i < b.length; i++) {
            b[i] = (byte) rng.nextInt(256);
        }
    }

    /**
     * While open: the named loggers only log SEVERE (each rejection logs a WARNING line, 10,000 of
     * them would drown the test output), and every SEVERE record from any logger is kept (a gRPC
     * executor logs an exception that escaped a call at SEVERE: that is a crash the client may
     * not see). Loggers are held strongly so their levels stick.
     */
    public static final class LogCapture extends Handler implements AutoCloseable {

        private final List<Logger> quieted = new ArrayList<>();
        private final List<Level> previous = new ArrayList<>();
        private final List<LogRecord> severe = new ArrayList<>();
        private final Logger root = Logger.getLogger("");

        public LogCapture(String... quietLoggers) {
            for (String name : quietLoggers) {
                Logger l = Logger.getLogger(name);
                quieted.add(l);
                previous.add(l.getLevel());
                l.setLevel(Level.SEVERE);
            }
            setLevel(Level.SEVERE);
            root.addHandler(this);
        }

        @Override
        public synchronized void publish(LogRecord record) {
            if (record.getLevel().intValue() >= Level.SEVERE.intValue()) {
                severe.add(record);
            }
        }

        /** The SEVERE records so far, as "logger: message (thrown)". */
        public synchronized List<String> severe() {
            List<String> out = new ArrayList<>();
            for (LogRecord r : severe) {
                out.add(r.getLoggerName() + ": " + r.getMessage() + (r.getThrown() == null ? "" : " (" + r.getThrown() + ")"));
            }
            return out;
        }

        @Override
        public void flush() {
        }

        @Override
        public void close() {
            root.removeHandler(this);
            for (int i = 0; i < quieted.size(); i++) {
                quieted.get(i).setLevel(previous.get(i));
            }
        }
    }
}
