package dev.starling.transport;

import java.time.Duration;
import java.util.concurrent.TimeUnit;

import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.binder.grpc.MetricCollectingClientInterceptor;

/** Client channels with the settings every Starling peer uses. */
public final class Channels {

    /** Deadline of every unary call. */
    public static final Duration UNARY_DEADLINE = Duration.ofSeconds(10);
    /** Default largest message in either direction (weights of big models, big chunks). */
    public static final int DEFAULT_MAX_MESSAGE_BYTES = 64 << 20;

    private Channels() {
    }

    /**
     * A plaintext channel to {@code host:port} with keepalive (long-lived streams notice a dead
     * peer within ~20 s) and the message size limit.
     */
    public static ManagedChannel plaintext(String target, int maxMessageBytes) {
        return builder(target, maxMessageBytes).build();
    }

    /**
     * A channel to {@code host:port} secured by {@code security} (TLS with this process's
     * certificate, checking the server's against the trusted CAs and the host name in
     * {@code target}; the bearer token on every call), with the settings of
     * {@link #plaintext(String, int)}, recording every call in {@code registry} (Micrometer's
     * {@code grpc.client.*} meters) unless it is null.
     */
    public static ManagedChannel create(String target, int maxMessageBytes, Security security, MeterRegistry registry) {
        NettyChannelBuilder builder = builder(target, maxMessageBytes, security);
        if (registry != null) {
            builder.intercept(new MetricCollectingClientInterceptor(registry));
        }
        return builder.build();
    }

    private static NettyChannelBuilder builder(String target, int maxMessageBytes) {
        return builder(target, maxMessageBytes, Security.NONE);
    }

    private static NettyChannelBuilder builder(String target, int maxMessageBytes, Security security) {
        NettyChannelBuilder builder;
        try {
            builder = NettyChannelBuilder.forTarget(target, security.channelCredentials());
        } catch (IllegalArgumentException e) {
            // Netty parses the PEM files here: say which ones it could not use.
            throw new IllegalArgumentException("cannot set up TLS with " + security + ": " + e.getMessage(), e);
        }
        return builder
                .maxInboundMessageSize(maxMessageBytes)
                .keepAliveTime(10, TimeUnit.SECONDS)
                .keepAliveTimeout(10, TimeUnit.SECONDS)
                .keepAliveWithoutCalls(true);
    }

    /** Shuts a channel down, waiting briefly, then forcefully. */
    public static void close(ManagedChannel channel) {
        channel.shutdown();
        try {
            if (!channel.awaitTermination(2, TimeUnit.SECONDS)) {
                channel.shutdownNow();
            }
        } catch (InterruptedException e) {
            channel.shutdownNow();
            Thread.currentThread().interrupt();
        }
    }
}
