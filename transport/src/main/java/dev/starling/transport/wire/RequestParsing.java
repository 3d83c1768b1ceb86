package dev.starling.transport.wire;

import java.io.InputStream;
import java.util.HashMap;
import java.util.Map;
import java.util.function.Consumer;
import java.util.function.Function;

import com.google.protobuf.Message;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerMethodDefinition;
import io.grpc.ServerServiceDefinition;
import io.grpc.ServiceDescriptor;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.ServerCalls;
import io.grpc.stub.StreamObserver;

/**
 * Binds gRPC methods so that a request whose bytes are not a valid protobuf encoding reaches the
 * service as a {@link Parsed} carrying the parse error, instead of failing inside gRPC.
 *
 * <p>Why: grpc-java parses each request with the method's marshaller on the call executor. When
 * that throws, the call ends with UNKNOWN "Application error processing RPC", which does not say
 * what was wrong; the service never hears of it, so nothing is counted; and the executor logs the
 * exception with its stack trace at SEVERE, once per malformed message: a log flood anyone who
 * reaches the port can cause. A service that binds its methods through {@link #streamingRequests}
 * (client and bidirectional streams) or {@link #singleRequest} (unary and server-streaming calls)
 * answers INVALID_ARGUMENT naming the message type and the parse error, and counts the rejection,
 * as for any other malformed message.
 *
 * <p>Stateless and thread-safe.
 */
public final class RequestParsing {

    /** Counter reason ({@code starling_rejected_total{reason}}) of an unparseable request. */
    public static final String REASON = "unparseable";

    private RequestParsing() {
    }

    /**
     * A request as read off the wire: the message, or (with {@code message} null) why its bytes
     * did not parse.
     */
    public record Parsed<T>(T message, String parseError) {

        public boolean parsed() {
            return message != null;
        }
    }

    /** {@code method} with its requests read as {@link Parsed}: reading a request never throws. */
    static <Req, Resp> MethodDescriptor<Parsed<Req>, Resp> method(MethodDescriptor<Req, Resp> method) {
        return method.toBuilder(new ParsingMarshaller<>(method.getRequestMarshaller()), method.getResponseMarshaller())
                .build();
    }

    /** INVALID_ARGUMENT for an unparseable request of {@code method}, naming its type and the error. */
    public static Status unparseable(MethodDescriptor<?, ?> method, String parseError) {
        return Status.INVALID_ARGUMENT.withDescription("the request is not a valid " + requestType(method)
                + " encoding: " + parseError);
    }

    /**
     * For a method whose client sends one message (unary or server streaming): the same method
     * reading {@link Parsed} requests. A parsed request goes to {@code original}'s handler
     * unchanged; an unparseable one is reported to {@code onRejected} (with the status's
     * description) and answered with {@link #unparseable}, and the original handler never sees a
     * message, so the service method is not called.
     */
    public static <Req, Resp> ServerMethodDefinition<Parsed<Req>, Resp> singleRequest(
            ServerMethodDefinition<Req, Resp> original, Consumer<String> onRejected) {
        MethodDescriptor<Req, Resp> descriptor = original.getMethodDescriptor();
        if (!descriptor.getType().clientSendsOneMessage()) {
            throw new IllegalArgumentException(descriptor.getFullMethodName() + " is a client-streaming method");
        }
        ServerCallHandler<Req, Resp> handler = original.getServerCallHandler();
        ServerCallHandler<Parsed<Req>, Resp> parsing = (call, headers) -> {
            // The original handler (grpc-stub's ServerCalls) sends responses through the call and
            // receives requests only through the listener, which unwraps them; it never reads a
            // request through the call, so only the type parameter differs.
            @SuppressWarnings("unchecked")
            ServerCall<Req, Resp> unwrapped = (ServerCall<Req, Resp>) (ServerCall<?, Resp>) call;
            return new UnwrappingListener<>(handler.startCall(unwrapped, headers), call, onRejected);
        };
        return ServerMethodDefinition.create(method(descriptor), parsing);
    }

    /** Passes parsed requests on; closes the call on an unparseable one and forwards nothing more. */
    private static final class UnwrappingListener<Req, Resp> extends ServerCall.Listener<Parsed<Req>> {

        private final ServerCall.Listener<Req> delegate;
        private final ServerCall<Parsed<Req>, Resp> call;
        private final Consumer<String> onRejected;
        // Listener callbacks of one call are never concurrent.
        private boolean rejected;

        UnwrappingListener(ServerCall.Listener<Req> delegate, ServerCall<Parsed<Req>, Resp> call,
                Consumer<String> onRejected) {
            this.delegate = delegate;
            this.call = call;
            this.onRejected = onRejected;
        }

        @Override
        public void onMessage(Parsed<Req> request) {
            if (rejected) {
                return;
            }
            if (request.parsed()) {
                delegate.onMessage(request.message());
                return;
            }
            rejected = true;
            Status status = unparseable(call.getMethodDescriptor(), request.parseError());
            onRejected.accept(status.getDescription());
            call.close(status, new Metadata());
        }

        @Override
        public void onHalfClose() {
            if (!rejected) {
                delegate.onHalfClose();
            }
        }

        @Override
        public void onCancel() {
            delegate.onCancel();
        }

        @Override
        public void onComplete() {
            delegate.onComplete();
        }

        @Override
        public void onReady() {
            if (!rejected) {
                delegate.onReady();
            }
        }
    }

    /**
     * Inbound side of a streaming call bound through {@link #streamingRequests}: it also hears of
     * each request whose bytes did not parse, so it can reject it like any other malformed one.
     */
    public interface ParsedRequestObserver<Req> extends StreamObserver<Req> {

        /** A request arrived whose bytes are not a valid encoding; {@code parseError} says why. */
        void unparseable(String parseError);
    }

    /**
     * For a method whose client streams messages: the same method reading {@link Parsed}
     * requests, served by {@code handler} as by {@link ServerCalls#asyncBidiStreamingCall}. A
     * parsed request goes to the observer's {@code onNext}, an unparseable one to its
     * {@link ParsedRequestObserver#unparseable}, which decides how the call ends.
     */
    public static <Req, Resp> ServerMethodDefinition<Parsed<Req>, Resp> streamingRequests(
            MethodDescriptor<Req, Resp> method, Function<StreamObserver<Resp>, ParsedRequestObserver<Req>> handler) {
        if (method.getType().clientSendsOneMessage()) {
            throw new IllegalArgumentException(method.getFullMethodName() + " is not a client-streaming method");
        }
        return ServerMethodDefinition.create(method(method), ServerCalls.asyncBidiStreamingCall(
                responseObserver -> unwrapping(handler.apply(responseObserver))));
    }

    /** Passes parsed requests to {@code in}'s onNext and unparseable ones to its unparseable. */
    private static <Req> StreamObserver<Parsed<Req>> unwrapping(ParsedRequestObserver<Req> in) {
        return new StreamObserver<>() {
            @Override
            public void onNext(Parsed<Req> request) {
                if (request.parsed()) {
                    in.onNext(request.message());
                } else {
                    in.unparseable(request.parseError());
                }
            }

            @Override
            public void onError(Throwable t) {
                in.onError(t);
            }

            @Override
            public void onCompleted() {
                in.onCompleted();
            }
        };
    }

    /**
     * {@code definition} with the methods of {@code replacements} (matched by full method name)
     * replaced; the service descriptor is rebuilt around them, keeping its schema descriptor
     * (server reflection).
     */
    public static ServerServiceDefinition rebind(ServerServiceDefinition definition,
            ServerMethodDefinition<?, ?>... replacements) {
        Map<String, ServerMethodDefinition<?, ?>> byName = new HashMap<>();
        for (ServerMethodDefinition<?, ?> r : replacements) {
            byName.put(r.getMethodDescriptor().getFullMethodName(), r);
        }
        ServiceDescriptor original = definition.getServiceDescriptor();
        ServiceDescriptor.Builder descriptor = ServiceDescriptor.newBuilder(original.getName())
                .setSchemaDescriptor(original.getSchemaDescriptor());
        Map<String, ServerMethodDefinition<?, ?>> methods = new HashMap<>();
        for (ServerMethodDefinition<?, ?> m : definition.getMethods()) {
            ServerMethodDefinition<?, ?> chosen = byName.getOrDefault(m.getMethodDescriptor().getFullMethodName(), m);
            methods.put(chosen.getMethodDescriptor().getFullMethodName(), chosen);
            descriptor.addMethod(chosen.getMethodDescriptor());
        }
        if (!methods.keySet().containsAll(byName.keySet())) {
            throw new IllegalArgumentException("replacements " + byName.keySet() + " are not all methods of "
                    + original.getName());
        }
        ServerServiceDefinition.Builder b = ServerServiceDefinition.builder(descriptor.build());
        for (ServerMethodDefinition<?, ?> m : methods.values()) {
            b.addMethod(m);
        }
        return b.build();
    }

    private static String requestType(MethodDescriptor<?, ?> method) {
        MethodDescriptor.Marshaller<?> m = method.getRequestMarshaller();
        if (m instanceof ParsingMarshaller<?> p) {
            m = p.delegate;
        }
        if (m instanceof MethodDescriptor.PrototypeMarshaller<?> p && p.getMessagePrototype() instanceof Message msg) {
            return msg.getDescriptorForType().getFullName();
        }
        return "request of " + method.getFullMethodName();
    }

    /** Wraps the protobuf marshaller: parse failures become a {@link Parsed} with the error. */
    private static final class ParsingMarshaller<T> implements MethodDescriptor.Marshaller<Parsed<T>> {

        final MethodDescriptor.Marshaller<T> delegate;

        ParsingMarshaller(MethodDescriptor.Marshaller<T> delegate) {
            this.delegate = delegate;
        }

        @Override
        public InputStream stream(Parsed<T> value) {
            if (!value.parsed()) {
                throw new IllegalArgumentException("an unparsed request cannot be serialized");
            }
            return delegate.stream(value.message());
        }

        @Override
        public Parsed<T> parse(InputStream stream) {
            try {
                return new Parsed<>(delegate.parse(stream), null);
            } catch (StatusRuntimeException e) {
                // grpc-protobuf: INTERNAL "Invalid protobuf byte sequence", caused by protobuf's
                // InvalidProtocolBufferException, whose message says what was wrong.
                Throwable cause = e.getCause();
                String why = cause != null && cause.getMessage() != null ? cause.getMessage()
                        : String.valueOf(e.getStatus().getDescription());
                return new Parsed<>(null, why);
            } catch (RuntimeException e) {
                return new Parsed<>(null, e.toString());
            }
        }
    }
}
