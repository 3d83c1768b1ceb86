package dev.starling.transport;

import static org.junit.jupiter.api.Assertions.assertNotNull;

import java.time.Duration;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

import io.grpc.Status;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;

/**
 * Client side of one streaming call in a test: keeps every response and the status the call
 * ended with, sends on the request side, and cancels the call on close if it is still open.
 * Pass it to the async stub's call, then {@link GrpcCleanupExtension#register} it.
 */
public class StreamClient<Req, Resp> implements ClientResponseObserver<Req, Resp>, AutoCloseable {

    public final BlockingQueue<Resp> received = new LinkedBlockingQueue<>();
    public final CompletableFuture<Status> done = new CompletableFuture<>();
    private final int initialRequests;
    private volatile ClientCallStreamObserver<Req> call;

    /** A client that takes every response as it comes. */
    public StreamClient() {
        this(-1);
    }

    /**
     * @param initialRequests responses asked for at the start, then only what {@link #request}
     *     asks for; -1 takes every response as it comes
     */
    public StreamClient(int initialRequests) {
        this.initialRequests = initialRequests;
    }

    @Override
    public void beforeStart(ClientCallStreamObserver<Req> requestStream) {
        call = requestStream;
        if (initialRequests >= 0) {
            requestStream.disableAutoRequestWithInitial(initialRequests);
        }
    }

    @Override
    public void onNext(Resp value) {
        received.add(value);
    }

    @Override
    public void onError(Throwable t) {
        done.complete(Status.fromThrowable(t));
    }

    @Override
    public void onCompleted() {
        done.complete(Status.OK);
    }

    /** Sends without waiting (the call buffers what the server has not asked for yet). */
    public synchronized void send(Req request) {
        call.onNext(request);
    }

    /** Ends the request side. */
    public synchronized void complete() {
        call.onCompleted();
    }

    public void request(int n) {
        call.request(n);
    }

    /** The next response, failing the test if none arrives within {@code timeout}. */
    public Resp next(Duration timeout) throws InterruptedException {
        Resp r = received.poll(timeout.toMillis(), TimeUnit.MILLISECONDS);
        assertNotNull(r, "no response within " + timeout.toSeconds() + " s; the stream ended with " + done.getNow(null));
        return r;
    }

    /** The status the call ended with, waiting up to {@code timeout}. */
    public Status awaitDone(Duration timeout) throws Exception {
        return done.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
    }

    @Override
    public void close() {
        if (!done.isDone()) {
            call.cancel("test finished", null);
        }
    }
}
