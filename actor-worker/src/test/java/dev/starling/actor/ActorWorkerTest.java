package dev.starling.actor;

import static dev.starling.actor.Cluster.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.starling.transport.GrpcCleanupExtension;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

import dev.starling.transport.metrics.Metrics;
import dev.starling.common.model.ActorCritic;
import dev.starling.common.model.ModelConfig;
import dev.starling.common.model.ModelSpecs;
import dev.starling.common.rl.Rollout;
import dev.starling.transport.wire.ChunkCodec;
import dev.starling.transport.wire.ChunkLimits;
import dev.starling.transport.wire.InvalidMessageException;
import dev.starling.proto.v1.TrajectoryChunk;
import io.grpc.Status;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The actor against a real in-process parameter server and a recording learner that speaks the
 * learner's side of PushTrajectories (acks, withheld acks, failures, restarts).
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class ActorWorkerTest {

    private static final String ENV = "cartpole";
    private static final Duration WAIT = Duration.ofSeconds(20);

    @RegisterExtension
    final GrpcCleanupExtension grpc = new GrpcCleanupExtension();

    private final SimpleMeterRegistry registry = new SimpleMeterRegistry();

    @BeforeAll
    static void loadLibtorch() {
        // Loading the natives takes seconds the first time; keep that out of the timed parts.
        TestModels.model(TestModels.config(ENV), 1).close();
    }

    private ActorWorker worker(Cluster cluster, ActorConfig config) {
        return grpc.register(new ActorWorker(config, registry, cluster.learnerChannel, cluster.psChannel));
    }

    @Test
    void chunksHaveTheRightShapesSequencesAndVersionsAndWeightsSwapBetweenChunks() throws Exception {
        Cluster cluster = Cluster.start(grpc);
        ModelConfig mc = TestModels.config(ENV);
        try (ActorCritic v0 = TestModels.model(mc, 11); ActorCritic v1 = TestModels.sharpen(TestModels.model(mc, 12), 50)) {
            cluster.publish(TestModels.params(v0, 0));
            ActorConfig config = cluster.config(ENV, 4, 8);
            ActorWorker actor = worker(cluster, config);
            CompletableFuture<Void> done = actor.start();
            RecordingLearner learner = cluster.learner();
            await(() -> learner.chunkCount() >= 3, WAIT, "3 chunks with version 0");
            assertEquals(0, actor.stats().weightsVersion());
            cluster.publish(TestModels.params(v1, 1));
            await(() -> learner.chunks().stream().filter(c -> c.getPolicyVersion() == 1).count() >= 2, WAIT,
                    "2 chunks with version 1");
            actor.close();
            assertTrue(done.isDone() && !done.isCompletedExceptionally(), "a closed actor completes normally");
            // The server handles messages on its own executor: the stream's end arrives after every chunk.
            await(() -> learner.halfClosed() == 1, WAIT, "the learner to see the stream's end");

            List<TrajectoryChunk> chunks = learner.chunks();
            long specHash = ModelSpecs.of(v0).getHash();
            long lastVersion = 0;
            int firstV1 = -1;
            for (int i = 0; i < chunks.size(); i++) {
                TrajectoryChunk c = chunks.get(i);
                assertEquals(i, c.getSequence(), "sequence numbers count from 0 without gaps");
                assertEquals("actor-7", c.getActorId());
                assertEquals(8, c.getUnrollLength());
                assertEquals(4, c.getNumEnvs());
                assertEquals(specHash, c.getSpecHash());
                assertTrue(c.getPolicyVersion() >= lastVersion, "versions never go back");
                lastVersion = c.getPolicyVersion();
                if (firstV1 < 0 && lastVersion == 1) {
                    firstV1 = i;
                }
                Rollout r = decode(c, mc, specHash, 1, 8);
                ActorCritic producer = c.getPolicyVersion() == 0 ? v0 : v1;
                double diff = TestModels.maxAbsDiff(TestModels.replay(producer, r).logProbs(), r.behaviourLogProbs);
                assertTrue(diff < 1e-4, "chunk " + i + " log-probabilities differ from version " + c.getPolicyVersion()
                        + "'s by " + diff);
                if (c.getPolicyVersion() == 1) {
                    double old = TestModels.maxAbsDiff(TestModels.replay(v0, r).logProbs(), r.behaviourLogProbs);
                    assertTrue(old > 1e-2, "version 1 chunk " + i + " looks like version 0 (diff " + old + ")");
                }
            }
            assertTrue(firstV1 >= 3, "the first chunks used version 0");
            ActorWorker.Stats s = actor.stats();
            assertEquals(1, s.weightsVersion());
            assertEquals(chunks.size(), s.chunksSent(), "every sent chunk arrived");
            assertEquals(s.chunksSent() * 32, s.frames(), "T*K frames per chunk");
            assertEquals(s.frames(), registry.get(Metrics.ENV_FRAMES).tag("actor", "actor-7").counter().count());
            assertEquals(1.0, registry.get(Metrics.PARAMETERS_VERSION).tag("actor", "actor-7").gauge().value());
            assertEquals(s.chunksSent(),
                    registry.get("starling.actor.chunks.sent").tag("actor", "actor-7").counter().count());
            long episodesInChunks = chunks.stream().mapToLong(TrajectoryChunk::getEpisodeReturnsCount).sum();
            assertTrue(s.episodes() >= episodesInChunks, s.episodes() + " episodes < " + episodesInChunks);
            assertEquals((double) s.episodes(),
                    registry.get(Metrics.EPISODES).tag("actor", "actor-7").counter().count());
            if (s.episodes() > 0) {
                assertTrue(s.averageReturn() > 0, "CartPole returns are positive");
            }
        }
    }

    @Test
    void lstmStateCarriesAcrossChunksAndIsZeroAfterAnEpisodeEnds() throws Exception {
        Cluster cluster = Cluster.start(grpc);
        ModelConfig mc = TestModels.config(ENV);
        try (ActorCritic v0 = TestModels.model(mc, 11)) {
            cluster.publish(TestModels.params(v0, 0));
            ActorWorker actor = worker(cluster, cluster.config(ENV, 8, 4));
            actor.start();
            RecordingLearner learner = cluster.learner();
            await(() -> learner.chunkCount() >= 40, WAIT, "40 chunks");
            actor.close();
            List<TrajectoryChunk> chunks = learner.chunks();
            long specHash = ModelSpecs.of(v0).getHash();
            int carried = 0;
            int reset = 0;
            Rollout previous = null;
            for (TrajectoryChunk c : chunks) {
                Rollout r = decode(c, mc, specHash, 0, 4);
                if (previous != null) {
                    TestModels.Replay end = TestModels.replay(v0, previous);
                    for (int k = 0; k < r.rows; k++) {
                        boolean doneAtEnd = previous.dones[(previous.unroll - 1) * previous.rows + k];
                        float[] h = slice(r.initialH, k, mc.lstmSize());
                        float[] cs = slice(r.initialC, k, mc.lstmSize());
                        if (doneAtEnd) {
                            reset++;
                            assertTrue(allZero(h) && allZero(cs), "env " + k + " of chunk " + c.getSequence()
                                    + " starts a new episode: its initial state must be zero");
                        } else {
                            carried++;
                            double dh = TestModels.maxAbsDiff(slice(end.finalH(), k, mc.lstmSize()), h);
                            double dc = TestModels.maxAbsDiff(slice(end.finalC(), k, mc.lstmSize()), cs);
                            assertTrue(dh < 1e-5 && dc < 1e-5, "env " + k + " of chunk " + c.getSequence()
                                    + " does not start from the previous chunk's final state (" + dh + ", " + dc + ")");
                            assertFalse(allZero(h), "a carried state is not zero");
                        }
                    }
                }
                previous = r;
            }
            assertTrue(carried > 0, "some environments carried their state");
            assertTrue(reset > 0, "some episodes ended at a chunk's last step (" + chunks.size() + " chunks)");
        }
    }

    @Test
    void atMostMaxInFlightChunksWhileTheLearnerWithholdsAcks() throws Exception {
        Cluster cluster = Cluster.start(grpc);
        ModelConfig mc = TestModels.config(ENV);
        try (ActorCritic v0 = TestModels.model(mc, 11)) {
            cluster.publish(TestModels.params(v0, 0));
            RecordingLearner learner = cluster.learner();
            learner.withholdAcks(true);
            ActorWorker actor = worker(cluster, cluster.config(ENV, 4, 8).withMaxInFlight(2)
                    .withAckTimeout(Duration.ofSeconds(30)));
            actor.start();
            await(() -> learner.chunkCount() >= 2, WAIT, "2 chunks");
            Thread.sleep(700);
            assertEquals(2, learner.chunkCount(), "no more than maxInFlight unacked chunks");
            assertEquals(2, actor.stats().chunksSent());
            assertEquals(0, actor.stats().chunksAcked());
            learner.releaseAcks();
            await(() -> learner.chunkCount() >= 6, WAIT, "chunks flowing after the acks");
            assertEquals(ActorWorker.State.RUNNING, actor.state());
        }
    }

    @Test
    void closeIsIdempotentAndPromptWhileWaitingForAcks() throws Exception {
        Cluster cluster = Cluster.start(grpc);
        ModelConfig mc = TestModels.config(ENV);
        try (ActorCritic v0 = TestModels.model(mc, 11)) {
            cluster.publish(TestModels.params(v0, 0));
            RecordingLearner learner = cluster.learner();
            learner.withholdAcks(true);
            ActorWorker actor = worker(cluster, cluster.config(ENV, 4, 8).withMaxInFlight(1));
            CompletableFuture<Void> done = actor.start();
            await(() -> learner.chunkCount() >= 1, WAIT, "a chunk");
            long t0 = System.nanoTime();
            actor.close();
            actor.close();
            long millis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
            assertTrue(millis < ActorWorker.CLOSE_WAIT.toMillis(), "close took " + millis + " ms: as long as waiting out a stuck actor thread");
            assertEquals(ActorWorker.State.CLOSED, actor.state());
            assertTrue(actor.awaitTermination(Duration.ofSeconds(1)));
            assertTrue(done.isDone() && !done.isCompletedExceptionally());
            await(() -> learner.halfClosed() == 1, WAIT, "the learner to see the stream's end");
            assertThrows(IllegalStateException.class, actor::start);
        }
    }

    @Test
    void closeBeforeStartAndWhileWaitingForWeights() throws Exception {
        Cluster cluster = Cluster.start(grpc);
        ActorWorker unstarted = worker(cluster, cluster.config(ENV, 2, 4));
        unstarted.close();
        assertEquals(ActorWorker.State.CLOSED, unstarted.state());
        assertTrue(unstarted.awaitTermination(Duration.ZERO));

        ActorWorker waiting = new ActorWorker(cluster.config(ENV, 2, 4).withStartupTimeout(Duration.ofSeconds(30)),
                new SimpleMeterRegistry(), cluster.learnerChannel, cluster.psChannel);
        grpc.register(waiting);
        CompletableFuture<Void> done = waiting.start();
        Thread.sleep(300);
        long t0 = System.nanoTime();
        waiting.close();
        long millis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
        assertTrue(millis < ActorWorker.CLOSE_WAIT.toMillis(), "close took " + millis + " ms: as long as waiting out a stuck actor thread");
        assertTrue(waiting.awaitTermination(Duration.ofSeconds(10)));
        assertFalse(done.isCompletedExceptionally());
        assertEquals(0, cluster.learner().streams(), "no stream before weights");
    }

    @Test
    void ackTimeoutCountsAsADeadStreamAndInFlightChunksAreNotResent() throws Exception {
        Cluster cluster = Cluster.start(grpc);
        ModelConfig mc = TestModels.config(ENV);
        try (ActorCritic v0 = TestModels.model(mc, 11)) {
            cluster.publish(TestModels.params(v0, 0));
            RecordingLearner learner = cluster.learner();
            learner.withholdAcks(true);
            ActorWorker actor = worker(cluster, cluster.config(ENV, 4, 8).withMaxInFlight(1)
                    .withAckTimeout(Duration.ofMillis(300)));
            actor.start();
            await(() -> learner.streams() >= 3, WAIT, "reconnects after ack timeouts");
            await(() -> actor.stats().reconnects() >= 2, WAIT, "reconnects counted");
            assertEquals(ActorWorker.State.RUNNING, actor.state());
            assertStrictlyIncreasingSequences(learner.chunks());
            assertTrue(registry.get("starling.actor.stream.failures").tag("actor", "actor-7").counter().count() >= 2);
        }
    }

    @Test
    void reconnectsWithBackoffWhileTheLearnerFailsStreamsWithUnavailable() throws Exception {
        Cluster cluster = Cluster.start(grpc);
        ModelConfig mc = TestModels.config(ENV);
        try (ActorCritic v0 = TestModels.model(mc, 11)) {
            cluster.publish(TestModels.params(v0, 0));
            RecordingLearner learner = cluster.learner();
            ActorWorker actor = worker(cluster, cluster.config(ENV, 4, 8));
            actor.start();
            await(() -> learner.chunkCount() >= 3, WAIT, "3 chunks");

            learner.failNewStreams(Status.UNAVAILABLE.withDescription("learner restarting"));
            learner.failOpenStreams(Status.UNAVAILABLE.withDescription("learner restarting"));
            int streamsBefore = learner.streams();
            int chunksBefore = learner.chunkCount();
            Thread.sleep(2000);
            int attempts = learner.streams() - streamsBefore;
            assertTrue(attempts >= 1 && attempts < 30, attempts + " connection attempts in 2 s of outage");
            assertEquals(chunksBefore, learner.chunkCount(), "nothing is accepted during the outage");

            learner.failNewStreams(null);
            await(() -> learner.chunkCount() >= chunksBefore + 3, WAIT, "chunks flowing again");
            assertTrue(actor.stats().reconnects() >= 1);
            assertTrue(registry.get("starling.actor.reconnects").tag("actor", "actor-7").counter().count() >= 1);
            assertEquals(ActorWorker.State.RUNNING, actor.state());
            assertStrictlyIncreasingSequences(learner.chunks());
        }
    }

    @Test
    void reconnectsWhenTheLearnerServerGoesAwayAndComesBack() throws Exception {
        Cluster cluster = Cluster.start(grpc);
        ModelConfig mc = TestModels.config(ENV);
        try (ActorCritic v0 = TestModels.model(mc, 11)) {
            cluster.publish(TestModels.params(v0, 0));
            RecordingLearner first = cluster.learner();
            ActorWorker actor = worker(cluster, cluster.config(ENV, 4, 8));
            actor.start();
            await(() -> first.chunkCount() >= 3, WAIT, "3 chunks");

            cluster.stopLearner();
            long reconnectsBefore = actor.stats().reconnects();
            Thread.sleep(2000);
            long attempts = actor.stats().reconnects() - reconnectsBefore;
            assertTrue(attempts >= 1 && attempts < 30, attempts + " connection attempts in 2 s of outage");
            ActorWorker.Stats duringOutage = actor.stats();
            Thread.sleep(300);
            assertEquals(duringOutage.frames(), actor.stats().frames(), "nothing sent while the learner is away");
            assertEquals(duringOutage.episodes(), actor.stats().episodes(), "no playing while the learner is away");

            RecordingLearner second = cluster.startLearner();
            await(() -> second.chunkCount() >= 3, WAIT, "chunks on the restarted learner");
            List<TrajectoryChunk> before = first.chunks();
            long lastBefore = before.get(before.size() - 1).getSequence();
            assertTrue(second.chunks().get(0).getSequence() > lastBefore, "sequence numbers continue");
            assertStrictlyIncreasingSequences(second.chunks());
            assertEquals(ActorWorker.State.RUNNING, actor.state());
            actor.close();
        }
    }

    @Test
    void failedPreconditionFromTheLearnerStopsTheActor() throws Exception {
        Cluster cluster = Cluster.start(grpc);
        ModelConfig mc = TestModels.config(ENV);
        try (ActorCritic v0 = TestModels.model(mc, 11)) {
            cluster.publish(TestModels.params(v0, 0));
            RecordingLearner learner = cluster.learner();
            learner.failNewStreams(Status.FAILED_PRECONDITION
                    .withDescription("chunk is for model spec 0123456789abcdef but the learner trains fedcba9876543210"));
            ActorWorker actor = worker(cluster, cluster.config(ENV, 4, 8));
            CompletableFuture<Void> done = actor.start();
            ExecutionException e = assertThrows(ExecutionException.class, () -> done.get(20, TimeUnit.SECONDS));
            assertTrue(e.getCause() instanceof ActorFailedException, e.getCause().toString());
            String message = e.getCause().getMessage();
            assertTrue(message.contains("FAILED_PRECONDITION") && message.contains("fedcba9876543210"), message);
            assertEquals(ActorWorker.State.FAILED, actor.state());
            assertEquals(message, actor.failure().orElseThrow().getMessage());
            assertEquals(1, learner.streams(), "no retry after a fatal status");
        }
    }

    @Test
    void droppedChunksAreCountedButAreNotErrors() throws Exception {
        Cluster cluster = Cluster.start(grpc);
        ModelConfig mc = TestModels.config(ENV);
        try (ActorCritic v0 = TestModels.model(mc, 11)) {
            cluster.publish(TestModels.params(v0, 0));
            RecordingLearner learner = cluster.learner();
            learner.accept(false);
            ActorWorker actor = worker(cluster, cluster.config(ENV, 4, 8));
            actor.start();
            await(() -> actor.stats().chunksDropped() >= 5, WAIT, "5 dropped acks");
            assertEquals(ActorWorker.State.RUNNING, actor.state());
            assertEquals(0, actor.stats().reconnects());
            assertTrue(registry.get("starling.actor.chunks.dropped").tag("actor", "actor-7").counter().count() >= 5);
        }
    }

    @Test
    void specMismatchAtStartupNamesBothHashes() throws Exception {
        Cluster cluster = Cluster.start(grpc);
        try (ActorCritic other = TestModels.model(TestModels.config(ENV, TestModels.ENCODER, 16), 11);
                ActorCritic mine = TestModels.model(TestModels.config(ENV), 11)) {
            cluster.publish(TestModels.params(other, 0));
            ActorWorker actor = worker(cluster, cluster.config(ENV, 4, 8));
            CompletableFuture<Void> done = actor.start();
            ExecutionException e = assertThrows(ExecutionException.class, () -> done.get(20, TimeUnit.SECONDS));
            String message = e.getCause().getMessage();
            String theirs = ModelSpecs.hex(ModelSpecs.of(other).getHash());
            String ours = ModelSpecs.hex(ModelSpecs.of(mine).getHash());
            assertNotEquals(theirs, ours);
            assertTrue(message.contains(theirs) && message.contains(ours), message);
            assertTrue(message.contains("lstm 16") && message.contains("--lstm-size"), message);
            assertEquals(ActorWorker.State.FAILED, actor.state());
            assertEquals(0, cluster.learner().streams(), "nothing sent with the wrong model");
        }
    }

    @Test
    void failsWhenNoWeightsArriveWithinTheStartupTimeout() throws Exception {
        Cluster cluster = Cluster.start(grpc);
        ActorWorker actor = worker(cluster, cluster.config(ENV, 2, 4).withStartupTimeout(Duration.ofMillis(500)));
        CompletableFuture<Void> done = actor.start();
        ExecutionException e = assertThrows(ExecutionException.class, () -> done.get(20, TimeUnit.SECONDS));
        assertTrue(e.getCause().getMessage().contains("no weights"), e.getCause().getMessage());
        assertEquals(ActorWorker.State.FAILED, actor.state());
    }

    private static Rollout decode(TrajectoryChunk c, ModelConfig mc, long specHash, long newest, int unroll)
            throws InvalidMessageException {
        return ChunkCodec.decode(c, mc, specHash, newest, unroll, ChunkLimits.defaults());
    }

    private static void assertStrictlyIncreasingSequences(List<TrajectoryChunk> chunks) {
        for (int i = 1; i < chunks.size(); i++) {
            assertTrue(chunks.get(i).getSequence() > chunks.get(i - 1).getSequence(),
                    "chunk " + chunks.get(i).getSequence() + " after " + chunks.get(i - 1).getSequence()
                            + ": a chunk was resent or reordered");
        }
    }

    private static float[] slice(float[] x, int row, int width) {
        float[] out = new float[width];
        System.arraycopy(x, row * width, out, 0, width);
        return out;
    }

    private static boolean allZero(float[] x) {
        for (float v : x) {
            if (v != 0f) {
                return false;
            }
        }
        return true;
    }
}
