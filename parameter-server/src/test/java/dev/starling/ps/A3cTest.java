package dev.starling.ps;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import java.util.stream.Stream;

import com.google.protobuf.ByteString;
import dev.starling.transport.GrpcCleanupExtension;
import dev.starling.transport.metrics.Metrics;
import dev.starling.common.model.ActorCritic;
import dev.starling.common.model.ModelSpecs;
import dev.starling.common.model.Torch;
import dev.starling.proto.v1.Checkpoint;
import dev.starling.proto.v1.GetParametersRequest;
import dev.starling.proto.v1.GetParametersResponse;
import dev.starling.proto.v1.GradientAck;
import dev.starling.proto.v1.GradientUpdate;
import dev.starling.proto.v1.LearnerStatus;
import dev.starling.proto.v1.LearnerStatusRequest;
import dev.starling.proto.v1.OptimizerState;
import dev.starling.proto.v1.Parameters;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.RMSprop;
import org.bytedeco.pytorch.RMSpropOptions;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** The A3C gradient path: PushGradients, the shared optimizer, staleness, validation, checkpoints. */
class A3cTest {

    private static final long SEED = 7;
    private static final GetParametersRequest GET_WITH_OPTIMIZER =
            GetParametersRequest.newBuilder().setIncludeOptimizerState(true).build();

    @RegisterExtension
    final GrpcCleanupExtension grpc = new GrpcCleanupExtension();

    @TempDir
    Path dir;

    private static ParameterServerConfig a3c(Path checkpointDir) {
        return ParameterServerConfig.defaults(0, checkpointDir).withA3c(TestModels.CONFIG, SEED);
    }

    @Test
    void appliedGradientsEqualLibtorchRmspropStepsAndAreBroadcast() throws Exception {
        Harness h = Harness.start(grpc, a3c(null));
        Harness.WatchClient w = h.watch(grpc, 0, -1);
        Parameters v0 = w.next();
        assertEquals(0, v0.getVersion());
        try (Reference ref = new Reference()) {
            assertArrayEquals(ref.weights(), floats(v0.getWeights()), 0f, "version 0 is the seeded model");
            Harness.GradientClient push = h.push(grpc, -1);
            for (int k = 1; k <= 3; k++) {
                float[] g = TestModels.gradient(100 + k);
                GradientAck ack = push.exchange(TestModels.update(40 + k, k - 1, g));
                assertEquals(GradientAck.newBuilder().setSequence(40 + k).setApplied(true).setVersion(k).build(), ack);
                ref.step(g);
                Parameters broadcast = w.next();
                assertEquals(k, broadcast.getVersion(), "the watcher receives each new version");
                assertClose(ref.weights(), floats(broadcast.getWeights()), "version " + k);
            }
            push.complete();
            assertEquals(Status.Code.OK, push.done.get(10, TimeUnit.SECONDS).getCode());
        }
        Parameters held = h.blocking().getParameters(GetParametersRequest.getDefaultInstance()).getParameters();
        assertEquals(3, held.getVersion());
        assertEquals(new A3cStatus(3, 0, 0, 96, 3, 3), h.server.a3cStatus().orElseThrow());
        assertEquals(3.0, h.counter(GradientApplier.APPLIED));
        assertEquals(96.0, h.counter(GradientApplier.FRAMES));
        assertEquals(3, h.registry.get(Metrics.POLICY_LAG).summary().count());
        assertEquals(3.0, h.gauge(Metrics.PARAMETERS_VERSION));
    }

    /**
     * After a restart from an older checkpoint, actors still hold the previous incarnation's
     * weights, possibly of a higher version: their gradients are dropped as stale (acked, not
     * applied), never refused as "from the future", so the actors keep running.
     */
    @Test
    void aGradientOfAnotherIncarnationIsDroppedAsStaleEvenWithAHigherBaseVersion() throws Exception {
        Harness h = Harness.start(grpc, a3c(null));
        Harness.GradientClient push = h.push(grpc, -1);
        assertTrue(push.exchange(TestModels.update(1, 0, TestModels.gradient(1))).getApplied());
        ParameterSnapshot before = h.server.store().current();
        long other = h.server.store().incarnation() + 1;

        GradientAck ack = push.exchange(TestModels.update(2, 1275, TestModels.gradient(2)).toBuilder()
                .setBaseIncarnation(other).build());
        assertEquals(GradientAck.newBuilder().setSequence(2).setApplied(false).setVersion(1).build(), ack);
        assertSame(before, h.server.store().current(), "the state is untouched");
        assertEquals(1.0, h.counter(GradientApplier.STALE));
        assertEquals(0.0, h.rejected("future_version"));
        // The same base version within this incarnation is a bug in the sender: refused.
        Status future = push.failure(TestModels.update(3, 1275, TestModels.gradient(3)).toBuilder()
                .setBaseIncarnation(h.server.store().incarnation()).build());
        assertEquals(Status.Code.INVALID_ARGUMENT, future.getCode());
    }

    /** The checkpoint of an a3c server pairs the newest weights with the statistics of that very version. */
    @Test
    void anA3cCheckpointHoldsTheOptimizerStateOfItsNewestWeights() throws Exception {
        Harness h = Harness.start(grpc, a3c(dir).withOptimizerStateEverySeconds(3600));
        Harness.GradientClient push = h.push(grpc, -1);
        for (int k = 1; k <= 3; k++) {
            assertTrue(push.exchange(TestModels.update(k, k - 1, TestModels.gradient(k))).getApplied());
        }
        Path file = h.server.checkpointNow().orElseThrow();
        Checkpoint c = CheckpointStore.read(file);
        assertEquals(3, c.getParameters().getVersion());
        assertEquals(3, c.getOptimizerStateVersion(), "statistics exported for the checkpoint, not an hour old");
        assertEquals(3, c.getOptimizerState().getStep());
        assertEquals(c.getParameters().getWeights(), c.getOptimizerStateParameters().getWeights());
    }

    @Test
    void staleGradientIsAckedUnappliedCountedAndChangesNothing() throws Exception {
        Harness h = Harness.start(grpc, a3c(null).withMaxStaleness(1));
        Harness.GradientClient push = h.push(grpc, -1);
        assertTrue(push.exchange(TestModels.update(1, 0, TestModels.gradient(1))).getApplied());
        // One version stale: exactly the maximum, still applied.
        GradientAck atLimit = push.exchange(TestModels.update(2, 0, TestModels.gradient(2)));
        assertTrue(atLimit.getApplied());
        assertEquals(2, atLimit.getVersion());
        ParameterSnapshot before = h.server.store().current();

        GradientAck stale = push.exchange(TestModels.update(3, 0, TestModels.gradient(3)));
        assertEquals(GradientAck.newBuilder().setSequence(3).setApplied(false).setVersion(2).build(), stale);
        assertSame(before, h.server.store().current(), "a stale gradient replaced the state");
        assertArrayEquals(before.parameters().getWeights().toByteArray(),
                h.blocking().getParameters(GetParametersRequest.getDefaultInstance()).getParameters().getWeights().toByteArray(),
                "weights bit-identical");
        assertEquals(1.0, h.counter(GradientApplier.STALE));
        assertEquals(new A3cStatus(2, 1, 0, 64, 2, 2), h.server.a3cStatus().orElseThrow());

        // The stream goes on.
        GradientAck fresh = push.exchange(TestModels.update(4, 2, TestModels.gradient(4)));
        assertTrue(fresh.getApplied());
        assertEquals(3, fresh.getVersion());
    }

    /** name, the bad update (the server holds version 1), code, counter reason, message fragment. */
    static Stream<Arguments> malformedGradients() {
        Supplier<GradientUpdate> good = () -> TestModels.update(9, 1, TestModels.gradient(9));
        int bytes = TestModels.gradient(9).length * Float.BYTES;
        String ours = ModelSpecs.hex(TestModels.params(0).getSpec().getHash());
        String foreign = ModelSpecs.hex(TestModels.foreign(0).getSpec().getHash());
        return Stream.of(
                Arguments.of("gradient four bytes short",
                        (Supplier<GradientUpdate>) () -> good.get().toBuilder()
                                .setGradient(good.get().getGradient().substring(4)).build(),
                        Status.Code.INVALID_ARGUMENT, "gradient_size",
                        "gradient blob has " + (bytes - 4) + " bytes, expected " + bytes),
                Arguments.of("NaN value", (Supplier<GradientUpdate>) () -> withValue(5, Float.NaN),
                        Status.Code.INVALID_ARGUMENT, "non_finite", "gradient blob has a non-finite value at index 5"),
                Arguments.of("infinite value", (Supplier<GradientUpdate>) () -> withValue(0, Float.POSITIVE_INFINITY),
                        Status.Code.INVALID_ARGUMENT, "non_finite", "gradient blob has a non-finite value at index 0"),
                Arguments.of("value whose square overflows", (Supplier<GradientUpdate>) () -> withValue(3, -1e20f),
                        Status.Code.INVALID_ARGUMENT, "gradient_range", "gradient blob has -1.0E20 at index 3"),
                Arguments.of("spec hash of another model",
                        (Supplier<GradientUpdate>) () -> good.get().toBuilder()
                                .setSpecHash(TestModels.foreign(0).getSpec().getHash()).build(),
                        Status.Code.FAILED_PRECONDITION, "spec_hash",
                        "gradient is for model spec " + foreign + " but the parameter server holds " + ours),
                Arguments.of("base version from the future",
                        (Supplier<GradientUpdate>) () -> good.get().toBuilder().setBaseVersion(2).build(),
                        Status.Code.INVALID_ARGUMENT, "future_version", "base_version 2 is newer than the server's version 1"),
                Arguments.of("base version beyond int64",
                        (Supplier<GradientUpdate>) () -> good.get().toBuilder().setBaseVersion(-1L).build(),
                        Status.Code.INVALID_ARGUMENT, "future_version", "base_version 18446744073709551615 is newer"),
                Arguments.of("episode counts differ",
                        (Supplier<GradientUpdate>) () -> good.get().toBuilder().addEpisodeLengths(3).build(),
                        Status.Code.INVALID_ARGUMENT, "episodes",
                        "episode_returns (1) and episode_lengths (2) must have equal counts"),
                Arguments.of("more episode statistics than a chunk may carry",
                        (Supplier<GradientUpdate>) () -> {
                            GradientUpdate.Builder b = good.get().toBuilder().clearEpisodeReturns().clearEpisodeLengths();
                            for (int i = 0; i <= 1 << 16; i++) {
                                b.addEpisodeReturns(1f).addEpisodeLengths(1);
                            }
                            return b.build();
                        },
                        Status.Code.INVALID_ARGUMENT, "episodes", "episode statistics; at most 65536 are accepted"),
                Arguments.of("NaN episode return",
                        (Supplier<GradientUpdate>) () -> good.get().toBuilder().setEpisodeReturns(0, Float.NaN).build(),
                        Status.Code.INVALID_ARGUMENT, "non_finite", "episode_returns[0] is not finite"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("malformedGradients")
    void malformedGradientEndsTheStreamCountedAndChangesNothing(String name, Supplier<GradientUpdate> bad,
            Status.Code code, String reason, String fragment) throws Exception {
        Harness h = Harness.start(grpc, a3c(null));
        Harness.GradientClient first = h.push(grpc, -1);
        assertTrue(first.exchange(TestModels.update(1, 0, TestModels.gradient(1))).getApplied());
        ParameterSnapshot before = h.server.store().current();
        byte[] weightsBefore = before.parameters().getWeights().toByteArray();

        Status status = first.failure(bad.get());
        assertEquals(code, status.getCode(), status.toString());
        assertTrue(status.getDescription().contains(fragment), status.getDescription());
        assertTrue(first.received.isEmpty(), "no ack for a rejected gradient");
        assertEquals(1.0, h.rejected(reason));

        assertSame(before, h.server.store().current(), "a rejected gradient replaced the state");
        Parameters now = h.blocking().getParameters(GetParametersRequest.getDefaultInstance()).getParameters();
        assertArrayEquals(weightsBefore, now.getWeights().toByteArray(), "weights bit-identical");
        assertEquals(1, now.getVersion());
        assertEquals(new A3cStatus(1, 0, 1, 32, 1, 1), h.server.a3cStatus().orElseThrow());

        // The optimizer is untouched too: the next valid gradient is applied as the second step.
        Harness.GradientClient second = h.push(grpc, -1);
        GradientAck ack = second.exchange(TestModels.update(2, 1, TestModels.gradient(2)));
        assertTrue(ack.getApplied());
        assertEquals(2, ack.getVersion());
        assertEquals(2, h.server.a3cStatus().orElseThrow().optimizerSteps());
    }

    @Test
    void publishInA3cModeIsFailedPreconditionAndChangesNothing() throws Exception {
        Harness h = Harness.start(grpc, a3c(null));
        ParameterSnapshot v0 = h.server.store().current();
        StatusRuntimeException e = assertThrows(StatusRuntimeException.class,
                () -> h.blocking().publishParameters(TestModels.publish(TestModels.params(5, 2))));
        assertEquals(Status.Code.FAILED_PRECONDITION, e.getStatus().getCode());
        assertTrue(e.getStatus().getDescription().startsWith(
                "the parameter server is in a3c mode: weights change only through PushGradients"),
                e.getStatus().getDescription());
        assertEquals(1.0, h.rejected("a3c_mode"));
        assertSame(v0, h.server.store().current());
        assertEquals(0, h.blocking().getParameters(GET_WITH_OPTIMIZER).getParameters().getVersion());
    }

    @Test
    void concurrentStreamsAreAppliedOneAtATimeWithDistinctVersions() throws Exception {
        Harness h = Harness.start(grpc, a3c(null).withMaxStaleness(100));
        Harness.GradientClient a = h.push(grpc, -1);
        Harness.GradientClient b = h.push(grpc, -1);
        int each = 5;
        for (int i = 0; i < each; i++) {
            a.send(TestModels.update(i, 0, TestModels.gradient(i)));
            b.send(TestModels.update(100 + i, 0, TestModels.gradient(100 + i)));
        }
        Set<Long> versions = new TreeSet<>();
        for (Harness.GradientClient c : List.of(a, b)) {
            long last = 0;
            for (int i = 0; i < each; i++) {
                GradientAck ack = c.nextAck();
                assertTrue(ack.getApplied());
                assertTrue(ack.getVersion() > last, "acks of one stream come in order");
                last = ack.getVersion();
                versions.add(ack.getVersion());
            }
        }
        assertEquals(new TreeSet<>(List.of(1L, 2L, 3L, 4L, 5L, 6L, 7L, 8L, 9L, 10L)), versions);
        assertEquals(10, h.server.store().current().version());
        assertEquals(10, h.server.a3cStatus().orElseThrow().optimizerSteps());
    }

    @Test
    void aClientThatReadsNoAcksIsNotReadFrom() throws Exception {
        Harness h = Harness.start(grpc, a3c(null).withMaxStaleness(100));
        Harness.GradientClient push = h.push(grpc, 1);
        for (int i = 0; i < 5; i++) {
            push.send(TestModels.update(i, 0, TestModels.gradient(i)));
        }
        assertEquals(0, push.nextAck().getSequence());
        // The client asked for one ack only: the server must not take the next gradient.
        Thread.sleep(200);
        assertEquals(1, h.server.a3cStatus().orElseThrow().applied(), "applied beyond what the client reads");
        push.request(10);
        for (int i = 1; i < 5; i++) {
            assertEquals(i, push.nextAck().getSequence());
        }
        assertEquals(5, h.server.a3cStatus().orElseThrow().applied());
    }

    @Test
    void checkpointCarriesTheOptimizerStateAndARestartContinuesExactly() throws Exception {
        // The default 5 s refresh means the store holds the version-0 statistics until close.
        Harness first = Harness.start(grpc, a3c(dir));
        Harness.GradientClient push = first.push(grpc, -1);
        for (int k = 1; k <= 3; k++) {
            assertTrue(push.exchange(TestModels.update(k, k - 1, TestModels.gradient(100 + k))).getApplied());
        }
        first.server.close();
        assertEquals(Status.Code.UNAVAILABLE, push.done.get(10, TimeUnit.SECONDS).getCode(),
                "close ends gradient streams");

        Path file = dir.resolve(CheckpointStore.fileName(3));
        assertTrue(Files.isRegularFile(file), "final checkpoint written on close");
        Checkpoint c = CheckpointStore.read(file);
        assertEquals(3, c.getParameters().getVersion());
        OptimizerState opt = c.getOptimizerState();
        assertEquals("rmsprop", opt.getAlgorithm());
        assertEquals(3, opt.getStep());
        assertEquals(TestModels.params(0).getSpec().getHash(), opt.getSpecHash());
        assertEquals(3, c.getOptimizerStateVersion());
        assertEquals(3, c.getLearnerUpdates());

        Harness second = Harness.start(grpc, a3c(dir));
        assertEquals(3, second.server.store().current().version());
        assertArrayEquals(c.getParameters().getWeights().toByteArray(),
                second.server.store().current().parameters().getWeights().toByteArray());
        assertEquals(new A3cStatus(0, 0, 0, 0, 3, 3), second.server.a3cStatus().orElseThrow());
        GradientAck ack = second.push(grpc, -1).exchange(TestModels.update(4, 3, TestModels.gradient(104)));
        assertEquals(4, ack.getVersion());
        assertEquals(4, second.server.a3cStatus().orElseThrow().optimizerSteps());

        // Four uninterrupted libtorch steps land on the same weights: the statistics survived.
        try (Reference ref = new Reference()) {
            for (int k = 1; k <= 4; k++) {
                ref.step(TestModels.gradient(100 + k));
            }
            assertClose(ref.weights(), floats(second.server.store().current().parameters().getWeights()), "after restart");
        }
    }

    @Test
    void optimizerStateIsRefreshedWithEveryGradientWhenAsked() throws Exception {
        Harness h = Harness.start(grpc, a3c(null).withOptimizerStateEverySeconds(0));
        Harness.GradientClient push = h.push(grpc, -1);
        push.exchange(TestModels.update(1, 0, TestModels.gradient(1)));
        push.exchange(TestModels.update(2, 1, TestModels.gradient(2)));
        GetParametersResponse r = h.blocking().getParameters(GET_WITH_OPTIMIZER);
        assertEquals(2, r.getOptimizerState().getStep());
        assertEquals(2, h.server.store().current().optimizerStateVersion());
    }

    @Test
    void anImpalaCheckpointIsContinuedInA3cModeWithFreshStatisticsOfTheOtherAlgorithm() throws Exception {
        Harness impala = Harness.start(grpc, ParameterServerConfig.defaults(0, dir));
        Parameters p5 = TestModels.params(5, 3);
        impala.blocking().publishParameters(TestModels.publish(p5).toBuilder()
                .setOptimizerState(TestModels.adam(p5, 0.5f, 50)).build());
        impala.server.close();

        Harness h = Harness.start(grpc, a3c(dir));
        GetParametersResponse r = h.blocking().getParameters(GET_WITH_OPTIMIZER);
        assertEquals(p5, TestModels.plain(r.getParameters()), "the learner's weights are kept");
        assertEquals("rmsprop", r.getOptimizerState().getAlgorithm());
        assertEquals(0, r.getOptimizerState().getStep());
        GradientAck ack = h.push(grpc, -1).exchange(TestModels.update(1, 5, TestModels.gradient(1)));
        assertEquals(6, ack.getVersion());
    }

    @Test
    void aCheckpointOfAnotherModelStopsTheStart() throws Exception {
        Harness other = Harness.start(grpc, ParameterServerConfig.defaults(0, dir));
        other.blocking().publishParameters(TestModels.publish(TestModels.foreign(4)));
        other.server.close();

        IllegalStateException e = assertThrows(IllegalStateException.class, () -> Harness.start(grpc, a3c(dir)));
        assertTrue(e.getMessage().contains("restored version 4 of model spec "
                + ModelSpecs.hex(TestModels.foreign(0).getSpec().getHash())), e.getMessage());
        assertTrue(e.getMessage().contains("use the checkpoint's model sizes or another checkpoint directory"),
                e.getMessage());
        assertTrue(Files.isRegularFile(dir.resolve(CheckpointStore.fileName(4))), "the checkpoint is left alone");
    }

    @Test
    void impalaModeHasNoA3cStatus() throws Exception {
        Harness h = Harness.start(grpc);
        assertFalse(h.server.a3cStatus().isPresent());
    }

    @Test
    void getStatusReportsTheGradientPathAsTheTrainer() throws Exception {
        Harness h = Harness.start(grpc, a3c(null).withMaxStaleness(1));
        assertEquals(LearnerStatus.getDefaultInstance(), status(h), "nothing trained yet, version 0");

        Harness.GradientClient push = h.push(grpc, -1);
        // Held 0, base 0: lag 0, applied. Two episodes.
        assertTrue(push.exchange(episodes(1, 0, 32, new float[] {1f, 3f}, 10, 12)).getApplied());
        // Held 1, base 0: lag 1, applied. No episode ended.
        assertTrue(push.exchange(episodes(2, 0, 32, new float[0])).getApplied());
        // Held 2, base 0: lag 2 > 1, dropped; its frames and lag do not count, its episode does.
        assertFalse(push.exchange(episodes(3, 0, 32, new float[] {8f}, 5)).getApplied());
        // Held 2, base 2: lag 0, applied.
        assertTrue(push.exchange(episodes(4, 2, 50, new float[] {4f}, 7)).getApplied());

        LearnerStatus expected = LearnerStatus.newBuilder()
                .setFrames(32 + 32 + 50)
                .setEpisodes(4)
                .setAverageReturn((1.0 + 3.0 + 8.0 + 4.0) / 4)
                .setUpdates(3)
                .setPolicyVersion(3)
                .setMeanPolicyLag((0.0 + 1.0 + 0.0) / 3)
                .build();
        assertEquals(expected, status(h));
        assertEquals(expected, h.server.status());

        // A rejected gradient counts nothing, not even its episodes.
        GradientUpdate malformed = withValue(0, Float.NaN).toBuilder().setBaseVersion(3).setSequence(5)
                .clearEpisodeReturns().clearEpisodeLengths().addEpisodeReturns(100f).addEpisodeLengths(9).build();
        assertEquals(Status.Code.INVALID_ARGUMENT, push.failure(malformed).getCode());
        assertEquals(expected, status(h));
    }

    @Test
    void getStatusAveragesTheLast100EpisodesAndTheLast100AppliedGradients() throws Exception {
        Harness h = Harness.start(grpc, a3c(null).withMaxStaleness(100));
        Harness.GradientClient push = h.push(grpc, -1);
        // 101 episodes with returns 0..100 in the first gradient: the window holds 1..100.
        float[] returns = new float[101];
        int[] lengths = new int[101];
        for (int i = 0; i < returns.length; i++) {
            returns[i] = i;
            lengths[i] = 1;
        }
        // All on version 0: lags 0, 1, ..., 99.
        assertTrue(push.exchange(episodes(0, 0, 32, returns, lengths)).getApplied());
        for (int k = 1; k < 100; k++) {
            assertTrue(push.exchange(episodes(k, 0, 32, new float[0])).getApplied());
        }
        // Lag 0 again: the window is lags 1..99 and 0, lag 0 of the first gradient has left it.
        assertTrue(push.exchange(episodes(100, 100, 32, new float[0])).getApplied());

        LearnerStatus s = status(h);
        assertEquals(101, s.getEpisodes());
        assertEquals(50.5, s.getAverageReturn(), 1e-9);
        assertEquals(101, s.getUpdates());
        assertEquals(101, s.getPolicyVersion());
        assertEquals(101 * 32, s.getFrames());
        assertEquals(4950.0 / GradientApplier.LAG_WINDOW, s.getMeanPolicyLag(), 1e-9);
        assertEquals(0, s.getQueuedChunks());
    }

    @Test
    void getStatusInImpalaModeReportsOnlyTheVersion() throws Exception {
        Harness h = Harness.start(grpc);
        assertEquals(LearnerStatus.getDefaultInstance(), status(h), "nothing held: version 0");
        h.blocking().publishParameters(TestModels.publish(TestModels.params(5)));
        assertEquals(LearnerStatus.newBuilder().setPolicyVersion(5).build(), status(h),
                "the learner has the training figures");
    }

    /** GetStatus over the channel, with the harness' deadline. */
    private static LearnerStatus status(Harness h) {
        return h.blocking().getStatus(LearnerStatusRequest.getDefaultInstance());
    }

    /** A gradient computed on {@code baseVersion} behind {@code frames} steps, carrying these episodes. */
    private static GradientUpdate episodes(long sequence, long baseVersion, int frames, float[] returns,
            int... lengths) {
        GradientUpdate.Builder b = TestModels.update(sequence, baseVersion, TestModels.gradient(sequence)).toBuilder()
                .setFrames(frames).clearEpisodeReturns().clearEpisodeLengths();
        for (int i = 0; i < returns.length; i++) {
            b.addEpisodeReturns(returns[i]).addEpisodeLengths(lengths[i]);
        }
        return b.build();
    }

    private static GradientUpdate withValue(int index, float value) {
        float[] g = TestModels.gradient(9);
        g[index] = value;
        return TestModels.update(9, 1, g);
    }

    private static float[] floats(ByteString blob) {
        FloatBuffer fb = blob.asReadOnlyByteBuffer().order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer();
        float[] out = new float[fb.remaining()];
        fb.get(out);
        return out;
    }

    private static void assertClose(float[] expected, float[] actual, String what) {
        assertEquals(expected.length, actual.length, what);
        for (int i = 0; i < expected.length; i++) {
            assertEquals(expected[i], actual[i], 1e-6, what + ": weight " + i);
        }
    }

    /**
     * libtorch's own RMSprop with the settings of {@code Optimizer.create("rmsprop")} (alpha 0.99,
     * eps 1e-5) on a model from the same seed; each gradient reaches it through
     * {@code d/dp sum(p * g) = g}.
     */
    private static final class Reference implements AutoCloseable {

        private final ActorCritic model = new ActorCritic(TestModels.CONFIG, SEED, Torch.device("cpu"));
        private final RMSpropOptions options = new RMSpropOptions(ParameterServerConfig.A3c.DEFAULT_LEARNING_RATE);
        private final TensorVector parameters = new TensorVector(model.parameters().toArray(new Tensor[0]));
        private final RMSprop optimizer;

        Reference() {
            options.alpha().put(0.99);
            options.eps().put(1e-5);
            optimizer = new RMSprop(parameters, options);
        }

        void step(float[] gradient) {
            try (PointerScope scope = new PointerScope()) {
                model.zeroGrad();
                Tensor loss = null;
                int offset = 0;
                for (Tensor p : model.parameters()) {
                    int n = (int) p.numel();
                    Tensor g = Torch.floats(Arrays.copyOfRange(gradient, offset, offset + n), p.device(),
                            p.sizes().vec().get());
                    offset += n;
                    Tensor term = p.mul(g).sum();
                    loss = loss == null ? term : loss.add(term);
                }
                loss.backward();
                optimizer.step();
            }
        }

        float[] weights() {
            List<float[]> parts = new ArrayList<>();
            int total = 0;
            for (Tensor p : model.parameters()) {
                float[] a = Torch.toArray(p);
                parts.add(a);
                total += a.length;
            }
            float[] out = new float[total];
            int offset = 0;
            for (float[] a : parts) {
                System.arraycopy(a, 0, out, offset, a.length);
                offset += a.length;
            }
            return out;
        }

        @Override
        public void close() {
            optimizer.close();
            parameters.close();
            options.close();
            model.close();
        }
    }
}
