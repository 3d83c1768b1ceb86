package dev.starling.transport;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import io.grpc.CallOptions;
import io.grpc.ClientCall;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.Status;

/** One request on any gRPC method, unary or streaming, for tests that only care how it went. */
public final class SingleCall {

    private SingleCall() {
    }

    /**
     * Sends {@code request} on {@code method} and returns how it went: OK as soon as a response
     * arrives (server streams may not end on their own), else the status the call closed with.
     * The call has a deadline of {@code deadline}; the wait for it a few seconds more.
     */
    public static <Req, Resp> Status status(ManagedChannel channel, MethodDescriptor<Req, Resp> method, Req request,
            Duration deadline) throws Exception {
        CompletableFuture<Status> done = new CompletableFuture<>();
        ClientCall<Req, Resp> call = channel.newCall(method,
                CallOptions.DEFAULT.withDeadlineAfter(deadline.toMillis(), TimeUnit.MILLISECONDS));
        call.start(new ClientCall.Listener<>() {
            @Override
            public void onMessage(Resp message) {
                done.complete(Status.OK);
            }

            @Override
            public void onClose(Status status, Metadata trailers) {
                done.complete(status);
            }
        }, new Metadata());
        call.request(1);
        call.sendMessage(request);
        call.halfClose();
        Status status = done.get(deadline.toMillis() + 5000, TimeUnit.MILLISECONDS);
        call.cancel("test done", null);
        return status;
    }
}
