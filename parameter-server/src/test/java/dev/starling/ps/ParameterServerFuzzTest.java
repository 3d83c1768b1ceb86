package dev.starling.ps;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.starling.transport.FuzzSupport;
import dev.starling.transport.GrpcCleanupExtension;
import dev.starling.transport.StreamClient;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Function;

import com.google.protobuf.ByteString;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Message;
import dev.starling.transport.metrics.Metrics;
import dev.starling.common.model.ModelConfig;
import dev.starling.common.model.ModelSpecs;
import dev.starling.transport.wire.ChunkCodec;
import dev.starling.transport.wire.RequestParsing;
import dev.starling.proto.v1.GetParametersRequest;
import dev.starling.proto.v1.GradientAck;
import dev.starling.proto.v1.GradientUpdate;
import dev.starling.proto.v1.LearnerStatus;
import dev.starling.proto.v1.LearnerStatusRequest;
import dev.starling.proto.v1.ModelSpec;
import dev.starling.proto.v1.OptimizerState;
import dev.starling.proto.v1.ParameterServerGrpc;
import dev.starling.proto.v1.Parameters;
import dev.starling.proto.v1.PublishParametersRequest;
import dev.starling.proto.v1.TensorSpec;
import dev.starling.proto.v1.WatchParametersRequest;
import dev.starling.ps.Validation.Rejection;
import io.grpc.CallOptions;
import io.grpc.ClientCall;
import io.grpc.ManagedChannel;
import io.grpc.MethodDescriptor;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.health.v1.HealthGrpc;
import io.grpc.stub.ClientCalls;
import io.grpc.stub.StreamObserver;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Issue 7, "Bad input", parameter-server side: at least 10,000 malformed messages over real Netty
 * gRPC on loopback to two real parameter servers: one in impala mode holding version 5 with an
 * Adam state, one in a3c mode (maximum staleness 0) that applied one gradient and holds version 1.
 *
 * <ul>
 *   <li>PublishParameters (impala): no parameters or spec, wrong or tampered spec hash, another
 *       model, spec sizes out of range, huge or overflowing tensor dimensions, weights of the wrong
 *       length, NaN and infinities, versions not newer, negative (above 2^63) or from the far
 *       future (above 2^53 - 1), optimizer state of another model, unknown algorithm, wrong size,
 *       non-finite or with an impossible step count, messages over the maximum size; and any
 *       publish to the a3c server.
 *   <li>PushGradients (a3c), each on a stream after 0 to 3 stale gradients (acked applied=false):
 *       another model, empty or overlong actor id, wrong length, NaN and infinities, values whose
 *       square overflows float32, base versions from the future, inconsistent episodes, repeated
 *       or older sequence numbers, messages over the maximum size.
 *   <li>GetParameters, WatchParameters, GetStatus: bytes that do not parse, watch versions that
 *       cannot exist, overlong subscriber ids, messages over the maximum size.
 *   <li>On every method: bytes through a raw byte[] marshaller (random, truncated, corrupted,
 *       invalid UTF-8); whatever parses is judged by a local oracle (the server's own checks run
 *       on a scratch store, or a restatement of the gradient checks) and only invalid messages
 *       are sent.
 * </ul>
 *
 * <p>Each message must get the predicted status with a description naming the problem (exact
 * where the oracle gives it), and one {@code starling_rejected_total{reason}} increment on the
 * right server (oversized ones are refused by the transport and never counted). Afterwards both
 * servers hold bit-identical state (the full GetParameters response with optimizer state), report
 * SERVING, and still accept a valid publish and a valid gradient.
 *
 * <p>{@code -Dstarling.fuzz.seed=N} replays a run, {@code -Dstarling.fuzz.messages=N} sizes it.
 */
@Timeout(value = 300, unit = TimeUnit.SECONDS)
class ParameterServerFuzzTest {

    private static final long SEED = Long.getLong("starling.fuzz.seed", 0x5EED_05EEL);
    private static final int MALFORMED = Integer.getInteger("starling.fuzz.messages", 10_000);
    private static final int LANES = 8;
    private static final int MAX_MESSAGE_BYTES = 16 * 1024;
    private static final long DEADLINE_SECONDS = 10;
    /** Version the impala server holds; the a3c one holds 1. */
    private static final long HELD = 5;
    private static final long A3C_HELD = 1;
    private static final ModelConfig MODEL = TestModels.CONFIG;
    private static final int MAX_DIM = ModelConfig.MAX_WIDTH * 4;

    private static final MethodDescriptor<byte[], byte[]> RAW_PUBLISH =
            FuzzSupport.raw(ParameterServerGrpc.getPublishParametersMethod());
    private static final MethodDescriptor<byte[], byte[]> RAW_GET =
            FuzzSupport.raw(ParameterServerGrpc.getGetParametersMethod());
    private static final MethodDescriptor<byte[], byte[]> RAW_WATCH =
            FuzzSupport.raw(ParameterServerGrpc.getWatchParametersMethod());
    private static final MethodDescriptor<byte[], byte[]> RAW_STATUS =
            FuzzSupport.raw(ParameterServerGrpc.getGetStatusMethod());
    private static final MethodDescriptor<byte[], byte[]> RAW_PUSH =
            FuzzSupport.raw(ParameterServerGrpc.getPushGradientsMethod());

    @RegisterExtension
    final GrpcCleanupExtension grpc = new GrpcCleanupExtension();

    /** Where a case goes and how it is broken, with its relative frequency. */
    private enum Kind {
        P_MISSING(2), P_NO_SPEC(3), P_SPEC_HASH(4), P_FOREIGN(3), P_SPEC_SIZES(3), P_HUGE_DIMS(4),
        P_WEIGHTS_SIZE(5), P_NON_FINITE(6), P_STALE(4), P_NEGATIVE(2), P_FAR_FUTURE(3), P_OPT_SPEC(2),
        P_OPT_ALGO(2), P_OPT_SIZE(3), P_OPT_NON_FINITE(3), P_OPT_STEP(2), P_OVERSIZED(2), P_RAW(8), P_A3C(2),
        G_SPEC_HASH(3), G_ACTOR(3), G_SIZE(4), G_NON_FINITE(5), G_RANGE(3), G_FUTURE(4), G_EPISODES(3),
        G_SEQUENCE(3), G_OVERSIZED(2), G_RAW(6),
        GET_RAW(4), WATCH_VERSION(3), WATCH_ID(2), WATCH_RAW(3), WATCH_OVERSIZED(1), STATUS_RAW(1);

        final int weight;

        Kind(int weight) {
            this.weight = weight;
        }

        static Kind pick(SplittableRandom rng) {
            int total = 0;
            for (Kind k : values()) {
                total += k.weight;
            }
            int r = rng.nextInt(total);
            for (Kind k : values()) {
                r -= k.weight;
                if (r < 0) {
                    return k;
                }
            }
            throw new AssertionError();
        }
    }

    /**
     * The answer a case must get. {@code reason} null: refused by the transport (not counted).
     * {@code description} null: only {@code fragment} is checked. {@code otherwise}: also accepted.
     */
    private record Expect(Status.Code code, String reason, String description, String fragment, Expect otherwise) {

        Expect(Status.Code code, String reason, String description, String fragment) {
            this(code, reason, description, fragment, null);
        }

        static Expect of(Rejection r) {
            return new Expect(r.code(), r.reason(), r.message(), null);
        }

        boolean matches(Status s) {
            String d = s.getDescription();
            return s.getCode() == code && d != null && !d.isBlank() && (description == null || description.equals(d))
                    && (fragment == null || d.contains(fragment));
        }

        @Override
        public String toString() {
            return code + "/" + reason + " " + (description != null ? "'" + description + "'"
                    : "containing '" + fragment + "'") + (otherwise == null ? "" : " (or " + otherwise + ")");
        }
    }

    private static final Expect TOO_LARGE = new Expect(Status.Code.RESOURCE_EXHAUSTED, null, null,
            "gRPC message exceeds maximum size " + MAX_MESSAGE_BYTES + ": ");
    /** See LearnerFuzzTest: after earlier messages grpc-java resets the stream (grpc/grpc-java#11245). */
    private static final Expect TOO_LARGE_MID_STREAM = new Expect(TOO_LARGE.code(), null, null, TOO_LARGE.fragment(),
            new Expect(Status.Code.CANCELLED, null, null, "RST_STREAM"));

    private enum Shape { UNARY, SERVER_STREAM, GRADIENT_STREAM }

    /** One call: {@code prefix} (stale gradients, sequences first, first+1, ...) then {@code bad}. */
    private record Case(int index, Kind kind, boolean a3c, MethodDescriptor<byte[], byte[]> method, Shape shape,
            List<byte[]> prefix, long first, byte[] bad, Expect expect) {
    }

    /** What the generator needs to know about the servers. */
    private record World(ParameterSnapshot held, long specHash, ParameterCodecView codec) {
    }

    /** Layout of the a3c model's gradient blob. */
    private record ParameterCodecView(int elements) {
        int bytes() {
            return elements * Float.BYTES;
        }
    }

    @Test
    void tenThousandMalformedMessagesAreEachRejectedClearlyAndChangeNothing() throws Exception {
        SimpleMeterRegistry impalaRegistry = new SimpleMeterRegistry();
        ParameterServer impala = grpc.register(new ParameterServer(FuzzSupport.loopbackServer(),
                ParameterServerConfig.defaults(0, null).withMaxMessageBytes(MAX_MESSAGE_BYTES), impalaRegistry)).start();
        SimpleMeterRegistry a3cRegistry = new SimpleMeterRegistry();
        ParameterServer a3c = grpc.register(new ParameterServer(FuzzSupport.loopbackServer(),
                ParameterServerConfig.defaults(0, null).withMaxMessageBytes(MAX_MESSAGE_BYTES)
                        .withA3c(MODEL, 7).withMaxStaleness(0), a3cRegistry)).start();
        ManagedChannel impalaChannel = grpc.register(FuzzSupport.loopbackChannel(impala.port(), 1 << 20));
        ManagedChannel a3cChannel = grpc.register(FuzzSupport.loopbackChannel(a3c.port(), 1 << 20));

        Parameters heldParams = TestModels.params(HELD);
        OptimizerState heldOpt = TestModels.adam(heldParams, 0.5f, 40);
        ParameterServerGrpc.newBlockingStub(impalaChannel).withDeadlineAfter(DEADLINE_SECONDS, TimeUnit.SECONDS)
                .publishParameters(TestModels.publish(heldParams).toBuilder().setOptimizerState(heldOpt).build());
        long specHash = heldParams.getSpec().getHash();
        // One applied gradient: the a3c server holds version 1, so gradients of version 0 are stale.
        GradientAck applied = pushOne(a3cChannel, TestModels.update(0, 0, TestModels.gradient(1)));
        assertTrue(applied.getApplied());
        assertEquals(A3C_HELD, applied.getVersion());
        World world = new World(new ParameterSnapshot(heldParams, heldOpt, heldParams, HELD * 10, 0), specHash,
                new ParameterCodecView((int) ModelSpecs.elementCount(heldParams.getSpec())));

        byte[] impalaBefore = held(impalaChannel);
        byte[] a3cBefore = held(a3cChannel);
        LearnerStatus impalaStatusBefore = status(impalaChannel);
        A3cStatus a3cStatusBefore = a3c.a3cStatus().orElseThrow();

        Map<String, LongAdder> expectedImpala = new ConcurrentHashMap<>();
        Map<String, LongAdder> expectedA3c = new ConcurrentHashMap<>();
        Map<Kind, LongAdder> kinds = new ConcurrentHashMap<>();
        LongAdder transport = new LongAdder();
        LongAdder resets = new LongAdder();
        AtomicLong staleAcks = new AtomicLong();
        AtomicLong unseenStale = new AtomicLong();
        ConcurrentLinkedQueue<String> failures = new ConcurrentLinkedQueue<>();
        AtomicInteger next = new AtomicInteger();
        long start = System.nanoTime();
        List<String> severe;
        try (FuzzSupport.LogCapture logs = new FuzzSupport.LogCapture(ParameterStore.class.getName(),
                GradientApplier.class.getName(), ParameterServerService.class.getName(),
                "io.grpc.netty.shaded.io.grpc.netty.NettyServerStream")) {
            ExecutorService lanes = Executors.newFixedThreadPool(LANES);
            try {
                List<Future<?>> running = new ArrayList<>();
                for (int l = 0; l < LANES; l++) {
                    running.add(lanes.submit(() -> {
                        for (int i = next.getAndIncrement(); i < MALFORMED; i = next.getAndIncrement()) {
                            Case c = null;
                            try {
                                c = generate(i, world);
                                String problem = run(c.a3c() ? a3cChannel : impalaChannel, c, staleAcks, unseenStale,
                                        resets);
                                if (problem != null) {
                                    failures.add(describe(c) + ": " + problem);
                                } else if (c.expect().reason() == null) {
                                    transport.increment();
                                } else {
                                    (c.a3c() ? expectedA3c : expectedImpala)
                                            .computeIfAbsent(c.expect().reason(), r -> new LongAdder()).increment();
                                }
                                kinds.computeIfAbsent(c.kind(), k -> new LongAdder()).increment();
                            } catch (Exception | AssertionError e) {
                                failures.add((c == null ? "case " + i : describe(c)) + ": " + e);
                            }
                        }
                        return null;
                    }));
                }
                for (Future<?> f : running) {
                    f.get(240, TimeUnit.SECONDS);
                }
            } finally {
                lanes.shutdownNow();
            }
            severe = logs.severe();
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        System.out.printf("parameter-server fuzz: seed %d, %d malformed messages in %.1f s (%s); %d stale prefix"
                + " acks; %d oversized after earlier messages answered CANCELLED (grpc-java#11245)%n",
                SEED, MALFORMED, seconds, new TreeMap<>(kinds), staleAcks.get(), resets.sum());

        assertTrue(failures.isEmpty(), "seed " + SEED + ": " + failures.size() + " of " + MALFORMED
                + " cases failed, first ones:\n" + String.join("\n", first(failures, 25)));
        assertEquals(List.of(), severe, "nothing logged at SEVERE (an exception escaped a call)");

        // Counters match what the clients saw, reason by reason, on each server.
        Map<String, Double> impalaCounted = rejected(impalaRegistry);
        Map<String, Double> a3cCounted = rejected(a3cRegistry);
        assertEquals(sums(expectedImpala), impalaCounted, "impala starling_rejected_total{reason} (seed " + SEED + ")");
        assertEquals(sums(expectedA3c), a3cCounted, "a3c starling_rejected_total{reason} (seed " + SEED + ")");
        assertEquals(MALFORMED, total(impalaCounted) + total(a3cCounted) + transport.sum(),
                "every malformed message rejected once");
        A3cStatus a3cStatus = a3c.a3cStatus().orElseThrow();
        assertEquals(a3cStatusBefore.applied(), a3cStatus.applied(), "no gradient applied");
        assertEquals(total(a3cCounted) - a3cCounted.getOrDefault("a3c_mode", 0.0),
                a3cStatus.rejected() - a3cStatusBefore.rejected(), "rejected gradients in A3cStatus");
        long stale = a3cStatus.stale() - a3cStatusBefore.stale();
        assertTrue(stale >= staleAcks.get() && stale <= staleAcks.get() + unseenStale.get(),
                "stale gradients counted " + stale + ", stale acks seen " + staleAcks.get());

        // Healthy, nothing changed, and both still take a valid message.
        for (ManagedChannel ch : List.of(impalaChannel, a3cChannel)) {
            for (String service : List.of("", ParameterServerGrpc.SERVICE_NAME)) {
                assertEquals(ServingStatus.SERVING, HealthGrpc.newBlockingStub(ch)
                        .withDeadlineAfter(DEADLINE_SECONDS, TimeUnit.SECONDS)
                        .check(HealthCheckRequest.newBuilder().setService(service).build()).getStatus());
            }
        }
        assertArrayEquals(impalaBefore, held(impalaChannel), "impala weights, version and optimizer state"
                + " bit-identical");
        assertArrayEquals(a3cBefore, held(a3cChannel), "a3c weights, version and optimizer state bit-identical");
        assertEquals(impalaStatusBefore, status(impalaChannel));
        assertEquals(A3C_HELD, status(a3cChannel).getPolicyVersion());
        awaitNoWatchers(impalaRegistry);

        assertEquals(HELD + 1, ParameterServerGrpc.newBlockingStub(impalaChannel)
                .withDeadlineAfter(DEADLINE_SECONDS, TimeUnit.SECONDS)
                .publishParameters(TestModels.publish(TestModels.params(HELD + 1, 3))).getVersion());
        GradientAck after = pushOne(a3cChannel, TestModels.update(1, A3C_HELD, TestModels.gradient(2)));
        assertTrue(after.getApplied(), after.toString());
        assertEquals(A3C_HELD + 1, after.getVersion());
    }

    // ---- running a case ----

    /** Runs one case; null if the server answered as expected, else what was wrong. */
    private static String run(ManagedChannel channel, Case c, AtomicLong staleAcks, AtomicLong unseenStale,
            LongAdder resets) throws Exception {
        CallOptions options = CallOptions.DEFAULT.withDeadlineAfter(DEADLINE_SECONDS, TimeUnit.SECONDS);
        StreamClient<byte[], byte[]> observer = new StreamClient<>();
        ClientCall<byte[], byte[]> call = channel.newCall(c.method(), options);
        switch (c.shape()) {
            case UNARY -> ClientCalls.asyncUnaryCall(call, c.bad(), observer);
            case SERVER_STREAM -> ClientCalls.asyncServerStreamingCall(call, c.bad(), observer);
            case GRADIENT_STREAM -> {
                StreamObserver<byte[]> requests = ClientCalls.asyncBidiStreamingCall(call, observer);
                for (byte[] p : c.prefix()) {
                    requests.onNext(p);
                }
                requests.onNext(c.bad());
                requests.onCompleted();
            }
            default -> throw new AssertionError(c.shape());
        }
        Status status = observer.awaitDone(Duration.ofSeconds(DEADLINE_SECONDS + 5));

        Expect e = c.expect();
        if (!e.matches(status)) {
            if (e.otherwise() == null || !e.otherwise().matches(status)) {
                return "expected " + e + " but got " + status.getCode() + " '" + status.getDescription() + "'"
                        + (status.getCause() == null ? "" : " caused by " + status.getCause());
            }
            resets.increment();
        }
        List<byte[]> got = new ArrayList<>(observer.received);
        if (c.shape() != Shape.GRADIENT_STREAM) {
            return got.isEmpty() ? null : got.size() + " responses to a malformed request";
        }
        if (got.size() > c.prefix().size() || (e.reason() != null && got.size() != c.prefix().size())) {
            return got.size() + " acks for " + c.prefix().size() + " stale gradients before the malformed one";
        }
        for (int j = 0; j < got.size(); j++) {
            GradientAck ack = GradientAck.parseFrom(got.get(j));
            if (ack.getApplied() || ack.getSequence() != c.first() + j || ack.getVersion() != A3C_HELD) {
                return "ack " + j + " is " + ack + ", expected sequence " + (c.first() + j) + " stale at version "
                        + A3C_HELD;
            }
        }
        staleAcks.addAndGet(got.size());
        unseenStale.addAndGet(c.prefix().size() - got.size());
        return null;
    }

    // ---- generating cases ----

    /** Case {@code index}, from its own seed. */
    private static Case generate(int index, World w) {
        SplittableRandom rng = FuzzSupport.caseRandom(SEED, index);
        Kind kind = Kind.pick(rng);
        String k = kind.name();
        if (k.startsWith("P_")) {
            return publishCase(index, kind, w, rng);
        }
        if (k.startsWith("G_")) {
            return gradientCase(index, kind, w, rng);
        }
        return switch (kind) {
            case GET_RAW -> unparseableCase(index, kind, RAW_GET, Shape.UNARY,
                    GetParametersRequest.newBuilder().setIncludeOptimizerState(rng.nextBoolean()).build(),
                    GetParametersRequest.parser()::parseFrom, rng);
            case STATUS_RAW -> unparseableCase(index, kind, RAW_STATUS, Shape.UNARY,
                    LearnerStatusRequest.getDefaultInstance(), LearnerStatusRequest.parser()::parseFrom, rng);
            case WATCH_VERSION -> {
                long v = rng.nextBoolean() ? rng.nextLong(Validation.MAX_VERSION + 1, Long.MAX_VALUE)
                        : rng.nextLong(Long.MIN_VALUE, 0);
                yield watchCase(index, kind, watch(rng).setAfterVersion(v).build(), "invalid_version");
            }
            case WATCH_ID -> watchCase(index, kind, watch(rng).setSubscriberId(letters(rng,
                    Validation.MAX_SUBSCRIBER_ID_LENGTH + 1 + rng.nextInt(5000))).build(), "subscriber_id");
            case WATCH_OVERSIZED -> new Case(index, kind, false, RAW_WATCH, Shape.SERVER_STREAM, List.of(), 0,
                    watch(rng).setSubscriberId(letters(rng, MAX_MESSAGE_BYTES + rng.nextInt(2 * MAX_MESSAGE_BYTES)))
                            .build().toByteArray(), TOO_LARGE);
            case WATCH_RAW -> rawCase(index, kind, false, RAW_WATCH, Shape.SERVER_STREAM, List.of(), 0,
                    watch(rng).build(), WatchParametersRequest.parser()::parseFrom,
                    m -> rejectionOrNull(Validation.checkWatch((WatchParametersRequest) m)), rng);
            default -> throw new AssertionError(kind);
        };
    }

    private static WatchParametersRequest.Builder watch(SplittableRandom rng) {
        return WatchParametersRequest.newBuilder().setAfterVersion(rng.nextLong(HELD + 10))
                .setSubscriberId("actor-" + rng.nextInt(100));
    }

    private static Case watchCase(int index, Kind kind, WatchParametersRequest r, String reason) {
        Rejection rej = Validation.checkWatch(r);
        if (rej == null || !rej.reason().equals(reason)) {
            throw new AssertionError("generator bug: " + kind + " meant " + reason + " but validation says " + rej);
        }
        return new Case(index, kind, false, RAW_WATCH, Shape.SERVER_STREAM, List.of(), 0, r.toByteArray(),
                Expect.of(rej));
    }

    /** A valid publish above the held version, with no, an Adam or an RMSProp state. */
    private static PublishParametersRequest validPublish(SplittableRandom rng) {
        Parameters p = TestModels.params(HELD + 1 + rng.nextInt(1000));
        PublishParametersRequest.Builder b = PublishParametersRequest.newBuilder().setParameters(p)
                .setLearnerUpdates(rng.nextLong(1_000_000));
        switch (rng.nextInt(3)) {
            case 0 -> b.setOptimizerState(TestModels.adam(p, (float) rng.nextGaussian(), rng.nextLong(1_000_000)));
            case 1 -> b.setOptimizerState(OptimizerState.newBuilder().setAlgorithm("rmsprop").setStep(rng.nextLong(1000))
                    .setSpecHash(p.getSpec().getHash()).setBuffers(floats(rng, p.getWeights().size() / Float.BYTES)));
            default -> {
            }
        }
        return b.build();
    }

    private static Case publishCase(int index, Kind kind, World w, SplittableRandom rng) {
        PublishParametersRequest base = validPublish(rng);
        if (kind == Kind.P_RAW) {
            return rawCase(index, kind, false, RAW_PUBLISH, Shape.UNARY, List.of(), 0, base,
                    PublishParametersRequest.parser()::parseFrom, m -> publishOracle((PublishParametersRequest) m, w),
                    rng);
        }
        if (kind == Kind.P_OVERSIZED) {
            Parameters big = base.getParameters().toBuilder()
                    .setWeights(ByteString.copyFrom(new byte[MAX_MESSAGE_BYTES + rng.nextInt(3 * MAX_MESSAGE_BYTES)]))
                    .build();
            return new Case(index, kind, false, RAW_PUBLISH, Shape.UNARY, List.of(), 0,
                    base.toBuilder().setParameters(big).build().toByteArray(), TOO_LARGE);
        }
        if (kind == Kind.P_A3C) {
            PublishParametersRequest r = rng.nextBoolean() ? base : mutatePublish(Kind.values()[rng.nextInt(16)],
                    base, w, rng).request();
            return new Case(index, kind, true, RAW_PUBLISH, Shape.UNARY, List.of(), 0, r.toByteArray(),
                    new Expect(Status.Code.FAILED_PRECONDITION, "a3c_mode", null, "a3c mode"));
        }
        PublishMutation m = mutatePublish(kind, base, w, rng);
        Expect e = publishOracle(m.request(), w);
        if (e == null || !e.reason().equals(m.reason())) {
            throw new AssertionError("generator bug: " + kind + " meant " + m.reason() + " but validation says " + e);
        }
        return new Case(index, kind, false, RAW_PUBLISH, Shape.UNARY, List.of(), 0, m.request().toByteArray(), e);
    }

    private record PublishMutation(PublishParametersRequest request, String reason) {
    }

    private static PublishMutation mutatePublish(Kind kind, PublishParametersRequest base, World w,
            SplittableRandom rng) {
        Parameters p = base.getParameters();
        PublishParametersRequest.Builder b = base.toBuilder();
        ModelSpec spec = p.getSpec();
        switch (kind) {
            case P_MISSING -> {
                return new PublishMutation(b.clearParameters().build(), "missing_parameters");
            }
            case P_NO_SPEC -> {
                Parameters q = rng.nextBoolean() ? p.toBuilder().clearSpec().build()
                        : p.toBuilder().setSpec(rehash(spec.toBuilder().clearTensors())).build();
                return new PublishMutation(b.setParameters(q).build(), "invalid_spec");
            }
            case P_SPEC_HASH -> {
                ModelSpec.Builder s = spec.toBuilder();
                switch (rng.nextInt(3)) {
                    case 0 -> s.setHash(spec.getHash() ^ (1L + rng.nextLong(Long.MAX_VALUE)));
                    case 1 -> s.setTensors(0, spec.getTensors(0).toBuilder().setShape(0, 1 + rng.nextInt(100)));
                    default -> s.setTensors(rng.nextInt(spec.getTensorsCount()),
                            spec.getTensors(0).toBuilder().setName("renamed." + rng.nextInt(1000)));
                }
                if (s.getHash() == ModelSpecs.hash(s.build())) {
                    s.setHash(s.getHash() + 1);
                }
                return new PublishMutation(b.setParameters(p.toBuilder().setSpec(s)).build(), "spec_hash_mismatch");
            }
            case P_FOREIGN -> {
                return new PublishMutation(b.clearOptimizerState().setParameters(
                        TestModels.foreign(HELD + 1 + rng.nextInt(100))).build(), "foreign_spec");
            }
            case P_SPEC_SIZES -> {
                ModelSpec.Builder s = spec.toBuilder();
                int bad = switch (rng.nextInt(3)) {
                    case 0 -> 0;
                    case 1 -> ModelConfig.MAX_WIDTH + 1 + rng.nextInt(1_000_000);
                    default -> rng.nextInt(Integer.MIN_VALUE, 0);
                };
                switch (rng.nextInt(7)) {
                    case 0 -> s.getObservationSpaceBuilder().getBoxBuilder().setShape(0, bad);
                    case 1 -> s.getActionSpaceBuilder().getDiscreteBuilder().setN(rng.nextBoolean() ? 1 : bad);
                    case 2 -> s.setEncoderSizes(0, bad);
                    case 3 -> s.clearObservationSpace();
                    case 4 -> s.getActionSpaceBuilder().setBox(dev.starling.proto.v1.BoxSpace.newBuilder().addShape(1)
                            .addLow(Float.NEGATIVE_INFINITY).addHigh(1f));
                    case 5 -> s.clearEncoderSizes();
                    default -> s.setLstmSize(bad);
                }
                return new PublishMutation(b.setParameters(p.toBuilder().setSpec(rehash(s))).build(), "invalid_spec");
            }
            case P_HUGE_DIMS -> {
                ModelSpec.Builder s = spec.toBuilder();
                int t = rng.nextInt(spec.getTensorsCount());
                TensorSpec.Builder tensor = spec.getTensors(t).toBuilder().clearShape();
                switch (rng.nextInt(6)) {
                    case 0 -> tensor.addShape(0);
                    case 1 -> tensor.addShape(rng.nextLong(Long.MIN_VALUE, 0));
                    case 2 -> tensor.addShape(MAX_DIM + 1 + rng.nextLong(Long.MAX_VALUE - MAX_DIM - 1));
                    case 3 -> tensor.addAllShape(List.of((long) MAX_DIM, (long) MAX_DIM, (long) MAX_DIM, (long) MAX_DIM));
                    case 4 -> tensor.addAllShape(List.of((long) MAX_DIM, (long) MAX_DIM, (long) MAX_DIM, 256L));
                    default -> tensor.addAllShape(List.of((long) MAX_DIM, (long) MAX_DIM));
                }
                s.setTensors(t, tensor);
                Parameters.Builder q = p.toBuilder().setSpec(rehash(s));
                if (rng.nextBoolean()) {
                    q.setWeights(ByteString.EMPTY);
                }
                return new PublishMutation(b.clearOptimizerState().setParameters(q).build(), "invalid_spec");
            }
            case P_WEIGHTS_SIZE -> {
                int n = p.getWeights().size();
                int len = switch (rng.nextInt(5)) {
                    case 0 -> 0;
                    case 1 -> n - 1 - rng.nextInt(8);
                    case 2 -> n + 1 + rng.nextInt(8);
                    case 3 -> rng.nextInt(n);
                    default -> n + 4 * (1 + rng.nextInt(100));
                };
                return new PublishMutation(b.setParameters(p.toBuilder().setWeights(bytes(rng, len))).build(),
                        "weights_size");
            }
            case P_NON_FINITE -> {
                return new PublishMutation(b.setParameters(p.toBuilder().setWeights(withNonFinite(p.getWeights(), rng)))
                        .build(), "non_finite_weights");
            }
            case P_STALE -> {
                return new PublishMutation(b.setParameters(p.toBuilder().setVersion(rng.nextLong(HELD + 1))).build(),
                        "stale_version");
            }
            case P_NEGATIVE -> {
                return new PublishMutation(b.setParameters(p.toBuilder().setVersion(rng.nextLong(Long.MIN_VALUE, 0)))
                        .build(), "invalid_version");
            }
            case P_FAR_FUTURE -> {
                long v = rng.nextBoolean() ? Long.MAX_VALUE : rng.nextLong(Validation.MAX_VERSION + 1, Long.MAX_VALUE);
                return new PublishMutation(b.setParameters(p.toBuilder().setVersion(v)).build(), "invalid_version");
            }
            case P_OPT_SPEC -> {
                OptimizerState s = TestModels.adam(p, 1f, 3);
                return new PublishMutation(b.setOptimizerState(s.toBuilder().setSpecHash(s.getSpecHash() ^ (1 + rng
                        .nextLong(Long.MAX_VALUE)))).build(), "optimizer_spec_mismatch");
            }
            case P_OPT_ALGO -> {
                String[] names = {"", "sgd", "ADAM", "adam ", "rmsprop2", "adagrad"};
                return new PublishMutation(b.setOptimizerState(TestModels.adam(p, 1f, 3).toBuilder()
                        .setAlgorithm(names[rng.nextInt(names.length)])).build(), "invalid_optimizer_state");
            }
            case P_OPT_SIZE -> {
                OptimizerState s = TestModels.adam(p, 1f, 3);
                OptimizerState bad = switch (rng.nextInt(3)) {
                    case 0 -> s.toBuilder().setAlgorithm("rmsprop").build();
                    case 1 -> s.toBuilder().setBuffers(s.getBuffers().substring(0, rng.nextInt(s.getBuffers().size())))
                            .build();
                    default -> s.toBuilder().setBuffers(s.getBuffers().concat(bytes(rng, 1 + rng.nextInt(64)))).build();
                };
                return new PublishMutation(b.setOptimizerState(bad).build(), "invalid_optimizer_state");
            }
            case P_OPT_NON_FINITE -> {
                OptimizerState s = TestModels.adam(p, 1f, 3);
                return new PublishMutation(b.setOptimizerState(s.toBuilder().setBuffers(withNonFinite(s.getBuffers(),
                        rng))).build(), "invalid_optimizer_state");
            }
            case P_OPT_STEP -> {
                return new PublishMutation(b.setOptimizerState(TestModels.adam(p, 1f, 3).toBuilder()
                        .setStep(rng.nextLong(Long.MIN_VALUE, 0))).build(), "invalid_optimizer_state");
            }
            default -> throw new AssertionError("not a publish mutation: " + kind);
        }
    }

    /** The server's own checks on a scratch store holding the same state: null if {@code r} would be accepted. */
    private static Expect publishOracle(PublishParametersRequest r, World w) {
        SimpleMeterRegistry scratch = new SimpleMeterRegistry();
        ParameterStore store = new ParameterStore(scratch);
        if (!store.restore(w.held())) {
            throw new AssertionError("oracle store refused the held state");
        }
        try {
            store.publish(r);
            return null;
        } catch (StatusRuntimeException e) {
            Map<String, Double> reasons = rejected(scratch);
            if (reasons.size() != 1) {
                throw new AssertionError("oracle counted " + reasons + " for " + e.getStatus());
            }
            return new Expect(e.getStatus().getCode(), reasons.keySet().iterator().next(), e.getStatus().getDescription(),
                    null);
        }
    }

    private static Case gradientCase(int index, Kind kind, World w, SplittableRandom rng) {
        int prefixCount = kind == Kind.G_SEQUENCE ? 1 + rng.nextInt(3) : rng.nextInt(4);
        long first = rng.nextLong(1L << 40);
        List<byte[]> prefix = new ArrayList<>();
        for (int j = 0; j < prefixCount; j++) {
            prefix.add(validGradient(rng, first + j, 0).toByteArray());
        }
        Long previous = prefixCount == 0 ? null : first + prefixCount - 1;
        GradientUpdate base = validGradient(rng, first + prefixCount, rng.nextInt(2));
        if (kind == Kind.G_RAW) {
            return rawCase(index, kind, true, RAW_PUSH, Shape.GRADIENT_STREAM, prefix, first, base,
                    GradientUpdate.parser()::parseFrom, m -> gradientOracle((GradientUpdate) m, w, previous), rng);
        }
        if (kind == Kind.G_OVERSIZED) {
            GradientUpdate big = base.toBuilder()
                    .setGradient(ByteString.copyFrom(new byte[MAX_MESSAGE_BYTES + rng.nextInt(3 * MAX_MESSAGE_BYTES)]))
                    .build();
            return new Case(index, kind, true, RAW_PUSH, Shape.GRADIENT_STREAM, prefix, first, big.toByteArray(),
                    prefix.isEmpty() ? TOO_LARGE : TOO_LARGE_MID_STREAM);
        }
        GradientUpdate.Builder b = base.toBuilder();
        String reason;
        switch (kind) {
            case G_SPEC_HASH -> {
                b.setSpecHash(w.specHash() ^ (1 + rng.nextLong(Long.MAX_VALUE)));
                reason = "spec_hash";
            }
            case G_ACTOR -> {
                b.setActorId(rng.nextBoolean() ? (rng.nextBoolean() ? "" : "  ")
                        : letters(rng, ChunkCodec.MAX_ACTOR_ID_LENGTH + 1 + rng.nextInt(2000)));
                reason = "actor_id";
            }
            case G_SIZE -> {
                int n = w.codec().bytes();
                int len = switch (rng.nextInt(4)) {
                    case 0 -> 0;
                    case 1 -> n - 1 - rng.nextInt(8);
                    case 2 -> n + 1 + rng.nextInt(64);
                    default -> rng.nextInt(n);
                };
                b.setGradient(bytes(rng, len));
                reason = "gradient_size";
            }
            case G_NON_FINITE -> {
                if (rng.nextInt(4) == 0) {
                    b.addEpisodeReturns(nonFinite(rng)).addEpisodeLengths(1 + rng.nextInt(100));
                } else {
                    b.setGradient(withNonFinite(base.getGradient(), rng));
                }
                reason = "non_finite";
            }
            case G_RANGE -> {
                byte[] raw = base.getGradient().toByteArray();
                float v = (rng.nextBoolean() ? 1 : -1) * (GradientApplier.MAX_GRADIENT_MAGNITUDE * (1.5f + rng.nextFloat())
                        + (rng.nextBoolean() ? 0 : Float.MAX_VALUE / 2));
                ByteBuffer.wrap(raw).order(ByteOrder.LITTLE_ENDIAN).putFloat(Float.BYTES * rng.nextInt(raw.length / 4), v);
                b.setGradient(ByteString.copyFrom(raw));
                reason = "gradient_range";
            }
            case G_FUTURE -> {
                b.setBaseVersion(rng.nextBoolean() ? A3C_HELD + 1 + rng.nextLong(1L << 50) : rng.nextLong(Long.MIN_VALUE, 0));
                reason = "future_version";
            }
            case G_EPISODES -> {
                if (rng.nextBoolean()) {
                    b.addEpisodeReturns((float) rng.nextGaussian());
                } else {
                    b.addEpisodeLengths(1 + rng.nextInt(100));
                }
                reason = "episodes";
            }
            case G_SEQUENCE -> {
                b.setSequence(rng.nextLong(previous + 1));
                reason = "sequence";
            }
            default -> throw new AssertionError(kind);
        }
        GradientUpdate bad = b.build();
        Expect e = gradientOracle(bad, w, previous);
        if (e == null || !e.reason().equals(reason)) {
            throw new AssertionError("generator bug: " + kind + " meant " + reason + " but the oracle says " + e);
        }
        return new Case(index, kind, true, RAW_PUSH, Shape.GRADIENT_STREAM, prefix, first, bad.toByteArray(), e);
    }

    /** A valid gradient (Gaussian values, 0 to 2 episodes) on {@code baseVersion} from one of 16 actors. */
    private static GradientUpdate validGradient(SplittableRandom rng, long sequence, long baseVersion) {
        GradientUpdate.Builder b = TestModels.update(sequence, baseVersion, TestModels.gradient(rng.nextLong()))
                .toBuilder().setActorId("actor-" + rng.nextInt(16)).clearEpisodeReturns().clearEpisodeLengths()
                .setFrames(rng.nextInt(1000));
        for (int i = rng.nextInt(3); i > 0; i--) {
            b.addEpisodeReturns((float) (10 * rng.nextGaussian())).addEpisodeLengths(1 + rng.nextInt(500));
        }
        return b.build();
    }

    /**
     * The gradient checks as documented on {@link GradientApplier#apply} and in the proto, in the
     * applier's order: null if {@code u} would be applied or dropped as stale.
     */
    private static Expect gradientOracle(GradientUpdate u, World w, Long previous) {
        if (u.getSpecHash() != w.specHash()) {
            return new Expect(Status.Code.FAILED_PRECONDITION, "spec_hash", null, "gradient is for model spec");
        }
        if (u.getActorId().isBlank() || u.getActorId().length() > ChunkCodec.MAX_ACTOR_ID_LENGTH) {
            return new Expect(Status.Code.INVALID_ARGUMENT, "actor_id", null, "actor_id");
        }
        if (u.getGradient().size() != w.codec().bytes()) {
            return new Expect(Status.Code.INVALID_ARGUMENT, "gradient_size", "gradient blob has "
                    + u.getGradient().size() + " bytes, expected " + w.codec().bytes() + " (" + w.codec().elements()
                    + " float32 values)", null);
        }
        ByteBuffer g = u.getGradient().asReadOnlyByteBuffer().order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < w.codec().elements(); i++) {
            if (!Float.isFinite(g.getFloat(i * Float.BYTES))) {
                return new Expect(Status.Code.INVALID_ARGUMENT, "non_finite",
                        "gradient blob has a non-finite value at index " + i, null);
            }
        }
        for (int i = 0; i < w.codec().elements(); i++) {
            if (Math.abs(g.getFloat(i * Float.BYTES)) > GradientApplier.MAX_GRADIENT_MAGNITUDE) {
                return new Expect(Status.Code.INVALID_ARGUMENT, "gradient_range", null, "at index " + i + ", beyond");
            }
        }
        if (u.getBaseVersion() < 0 || u.getBaseVersion() > A3C_HELD) {
            return new Expect(Status.Code.INVALID_ARGUMENT, "future_version", "base_version "
                    + Long.toUnsignedString(u.getBaseVersion()) + " is newer than the server's version " + A3C_HELD, null);
        }
        if (u.getEpisodeReturnsCount() != u.getEpisodeLengthsCount()) {
            return new Expect(Status.Code.INVALID_ARGUMENT, "episodes", null, "must have equal counts");
        }
        for (int i = 0; i < u.getEpisodeReturnsCount(); i++) {
            if (!Float.isFinite(u.getEpisodeReturns(i))) {
                return new Expect(Status.Code.INVALID_ARGUMENT, "non_finite", null, "episode_returns[" + i + "]");
            }
        }
        if (previous != null && Long.compareUnsigned(u.getSequence(), previous) <= 0) {
            return new Expect(Status.Code.INVALID_ARGUMENT, "sequence", "sequence "
                    + Long.toUnsignedString(u.getSequence()) + " does not follow the previous gradient's sequence "
                    + previous + " on this stream (sequences must increase)", null);
        }
        return null;
    }

    /** Bytes that do not parse as the method's request (retrying corruptions until one does not). */
    private static Case unparseableCase(int index, Kind kind, MethodDescriptor<byte[], byte[]> method, Shape shape,
            Message valid, Parser parser, SplittableRandom rng) {
        return rawCase(index, kind, false, method, shape, List.of(), 0, valid, parser, m -> null, rng);
    }

    /** Parses like the server does. */
    private interface Parser {
        Message parse(byte[] bytes) throws InvalidProtocolBufferException;
    }

    /**
     * A corruption of {@code valid}'s bytes that the server must reject: either it does not parse,
     * or {@code oracle} says why the parsed message is invalid; corruptions that leave a valid
     * message are drawn again.
     */
    private static Case rawCase(int index, Kind kind, boolean a3c, MethodDescriptor<byte[], byte[]> method,
            Shape shape, List<byte[]> prefix, long first, Message valid, Parser parser,
            Function<Message, Expect> oracle, SplittableRandom rng) {
        byte[] encoded = valid.toByteArray();
        for (int attempt = 0; attempt < 1000; attempt++) {
            byte[] bytes = switch (rng.nextInt(5)) {
                case 0 -> FuzzSupport.randomBytes(rng, 512);
                case 1 -> FuzzSupport.truncate(encoded, rng);
                case 2 -> FuzzSupport.flipBytes(encoded, rng);
                case 3 -> FuzzSupport.appendGarbage(encoded, rng);
                default -> FuzzSupport.withInvalidUtf8(encoded, stringField(valid), rng);
            };
            Message parsed;
            try {
                parsed = parser.parse(bytes);
            } catch (InvalidProtocolBufferException e) {
                return new Case(index, kind, a3c, method, shape, prefix, first, bytes, new Expect(
                        Status.Code.INVALID_ARGUMENT, RequestParsing.REASON, "the request is not a valid "
                                + valid.getDescriptorForType().getFullName() + " encoding: " + e.getMessage(), null));
            }
            Expect e = oracle.apply(parsed);
            if (e != null) {
                return new Case(index, kind, a3c, method, shape, prefix, first, bytes, e);
            }
        }
        throw new AssertionError("1000 corruptions in a row left a valid " + valid.getDescriptorForType().getName());
    }

    /** A string field of the message's type (for invalid UTF-8), or an unknown field number if it has none. */
    private static int stringField(Message m) {
        for (var f : m.getDescriptorForType().getFields()) {
            if (f.getType() == com.google.protobuf.Descriptors.FieldDescriptor.Type.STRING) {
                return f.getNumber();
            }
        }
        return 15;
    }

    private static Expect rejectionOrNull(Rejection r) {
        return r == null ? null : Expect.of(r);
    }

    // ---- small helpers ----

    private static ModelSpec rehash(ModelSpec.Builder s) {
        return s.setHash(ModelSpecs.hash(s.build())).build();
    }

    private static ByteString withNonFinite(ByteString floats, SplittableRandom rng) {
        byte[] raw = floats.toByteArray();
        ByteBuffer.wrap(raw).order(ByteOrder.LITTLE_ENDIAN)
                .putFloat(Float.BYTES * rng.nextInt(raw.length / Float.BYTES), nonFinite(rng));
        return ByteString.copyFrom(raw);
    }

    private static float nonFinite(SplittableRandom rng) {
        return switch (rng.nextInt(4)) {
            case 0 -> Float.NaN;
            case 1 -> Float.POSITIVE_INFINITY;
            case 2 -> Float.NEGATIVE_INFINITY;
            default -> Float.intBitsToFloat(0x7F800001 | rng.nextInt(1 << 22) | (rng.nextBoolean() ? 0x80000000 : 0));
        };
    }

    private static ByteString floats(SplittableRandom rng, int n) {
        ByteBuffer buf = ByteBuffer.allocate(n * Float.BYTES).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < n; i++) {
            buf.putFloat((float) Math.abs(rng.nextGaussian()));
        }
        return ByteString.copyFrom(buf.array());
    }

    private static ByteString bytes(SplittableRandom rng, int n) {
        byte[] b = new byte[Math.max(n, 0)];
        for (int i = 0; i < b.length; i++) {
            b[i] = (byte) rng.nextInt(256);
        }
        return ByteString.copyFrom(b);
    }

    private static String letters(SplittableRandom rng, int n) {
        StringBuilder s = new StringBuilder(n);
        for (int i = 0; i < n; i++) {
            s.append((char) ('a' + rng.nextInt(26)));
        }
        return s.toString();
    }

    private static GradientAck pushOne(ManagedChannel channel, GradientUpdate update) throws Exception {
        CompletableFuture<GradientAck> ack = new CompletableFuture<>();
        StreamObserver<GradientUpdate> requests = ParameterServerGrpc.newStub(channel)
                .withDeadlineAfter(DEADLINE_SECONDS, TimeUnit.SECONDS).pushGradients(new StreamObserver<>() {
                    @Override
                    public void onNext(GradientAck value) {
                        ack.complete(value);
                    }

                    @Override
                    public void onError(Throwable t) {
                        ack.completeExceptionally(t);
                    }

                    @Override
                    public void onCompleted() {
                        ack.completeExceptionally(new AssertionError("stream ended without an ack"));
                    }
                });
        requests.onNext(update);
        GradientAck a = ack.get(DEADLINE_SECONDS, TimeUnit.SECONDS);
        requests.onCompleted();
        return a;
    }

    private static byte[] held(ManagedChannel channel) {
        return ParameterServerGrpc.newBlockingStub(channel).withDeadlineAfter(DEADLINE_SECONDS, TimeUnit.SECONDS)
                .getParameters(GetParametersRequest.newBuilder().setIncludeOptimizerState(true).build()).toByteArray();
    }

    private static LearnerStatus status(ManagedChannel channel) {
        return ParameterServerGrpc.newBlockingStub(channel).withDeadlineAfter(DEADLINE_SECONDS, TimeUnit.SECONDS)
                .getStatus(LearnerStatusRequest.getDefaultInstance());
    }

    private static void awaitNoWatchers(SimpleMeterRegistry registry) throws InterruptedException {
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(DEADLINE_SECONDS);
        while (registry.get(Metrics.PARAMETERS_WATCHERS).gauge().value() != 0) {
            assertFalse(System.nanoTime() > end, "watch streams still open");
            Thread.sleep(10);
        }
    }

    private static Map<String, Double> rejected(SimpleMeterRegistry registry) {
        Map<String, Double> out = new TreeMap<>();
        for (Counter c : registry.find(Metrics.REJECTED).tags("role", ParameterStore.ROLE).counters()) {
            out.put(c.getId().getTag("reason"), c.count());
        }
        return out;
    }

    private static Map<String, Double> sums(Map<String, LongAdder> m) {
        Map<String, Double> out = new TreeMap<>();
        m.forEach((k, v) -> out.put(k, (double) v.sum()));
        return out;
    }

    private static double total(Map<String, Double> m) {
        return m.values().stream().mapToDouble(Double::doubleValue).sum();
    }

    private static String describe(Case c) {
        return "case " + c.index() + " (" + c.kind() + (c.prefix().isEmpty() ? "" : ", " + c.prefix().size()
                + " stale gradients first") + ")";
    }

    private static List<String> first(ConcurrentLinkedQueue<String> q, int n) {
        List<String> out = new ArrayList<>();
        for (String s : q) {
            if (out.size() == n) {
                break;
            }
            out.add(s);
        }
        return out;
    }
}
