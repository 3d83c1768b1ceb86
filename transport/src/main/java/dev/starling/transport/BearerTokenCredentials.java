package dev.starling.transport;

import java.util.concurrent.Executor;

import io.grpc.CallCredentials;
import io.grpc.Metadata;

/**
 * Adds {@code authorization: Bearer <token>} to every call of a channel (see
 * {@link Security#channelCredentials()}). Sent whatever the transport's security level: the
 * operator chose to configure a token. Thread-safe (immutable).
 */
final class BearerTokenCredentials extends CallCredentials {

    private final Metadata headers = new Metadata();

    BearerTokenCredentials(String token) {
        headers.put(Security.AUTHORIZATION, Security.BEARER_PREFIX + token);
    }

    @Override
    public void applyRequestMetadata(RequestInfo requestInfo, Executor appExecutor, MetadataApplier applier) {
        // A fresh copy per call: the transport may mutate what it is given.
        Metadata copy = new Metadata();
        copy.merge(headers);
        applier.apply(copy);
    }
}
