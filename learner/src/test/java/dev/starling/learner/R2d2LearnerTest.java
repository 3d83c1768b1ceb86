package dev.starling.learner;

import static dev.starling.learner.Cluster.ENVS;
import static dev.starling.learner.Cluster.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.lang.reflect.Field;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import dev.starling.common.model.ModelConfig;
import dev.starling.common.model.ModelSpecs;
import dev.starling.common.rl.R2d2Config;
import dev.starling.common.rl.Rollout;
import dev.starling.common.rl.RolloutFixtures;
import dev.starling.common.rl.ValueRescaling;
import dev.starling.common.rollout.EpisodeBuffer;
import dev.starling.proto.v1.ChunkAck;
import dev.starling.proto.v1.GetParametersResponse;
import dev.starling.proto.v1.LearnerStatus;
import dev.starling.proto.v1.TrajectoryChunk;
import dev.starling.transport.GrpcCleanupExtension;
import dev.starling.transport.metrics.Metrics;
import dev.starling.transport.wire.ChunkCodec;
import io.grpc.Status;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * The r2d2 learner ({@link R2d2Trainer}) against a real in-process parameter server, fed over the
 * real PushTrajectories stream: sequences are made only of one actor's consecutive chunks; a
 * restarted learner keeps the weights, the optimizer and the numbering of target updates (and
 * refills its replay); the replay metrics follow what happened, exactly.
 *
 * <p>Sizes: sequences of m = 8 steps overlapping by 4, so chunks of T = 4 steps and two
 * consecutive chunks make one sequence per environment (K = {@link Cluster#ENVS}); a chunk after
 * an actor's first completes K sequences. With one update per chunk once the replay holds
 * {@code minReplay} sequences, the number of updates is known in advance: no wall-clock
 * assumption, only waits with a timeout.
 */
class R2d2LearnerTest {

    @RegisterExtension
    final GrpcCleanupExtension grpc = new GrpcCleanupExtension();

    static final int SEQUENCE = 8;
    static final int OVERLAP = 4;
    static final int CHUNK = SEQUENCE - OVERLAP;
    static final int BURN_IN = 2;
    static final int N_STEP = 2;
    static final int BATCH = 4;
    static final int TARGET_EVERY = 3;
    static final int REPLAY_SEQUENCES = 64;
    static final long UNBOUNDED_BYTES = 1L << 30;

    /** The test's r2d2 settings; the rest are R2D2's defaults. */
    static R2d2Config r2d2(int minReplay, long replayBytes) {
        return r2d2(minReplay, replayBytes, null);
    }

    /** The same, saving the replay in {@code replayDir} (null: not saved). */
    static R2d2Config r2d2(int minReplay, long replayBytes, java.nio.file.Path replayDir) {
        double discount = 0.99;
        double updatesPerChunk = 1;
        double rewardScale = 1;
        return new R2d2Config(SEQUENCE, OVERLAP, BURN_IN, N_STEP, discount, ValueRescaling.DEFAULT_EPSILON,
                R2d2Config.DEFAULT_PRIORITY_EXPONENT, R2d2Config.DEFAULT_IMPORTANCE_EXPONENT,
                R2d2Config.DEFAULT_PRIORITY_ETA, TARGET_EVERY, BATCH, REPLAY_SEQUENCES, replayBytes, minReplay,
                updatesPerChunk, R2d2Config.DEFAULT_MAX_GRAD_NORM, rewardScale, replayDir);
    }

    /**
     * masked-cartpole with Cluster's tiny model, as a Q-network; a queue with room for every chunk
     * the tests send at once; the optimizer state with every publish; staleness out of the way
     * (these tests are about sequences, and chunks carry policy version 0).
     */
    static LearnerConfig config(R2d2Config r2d2) {
        return Cluster.config().withBatching(1, 16).withPublishing(1, 0).withMaxPolicyLag(1_000).withR2d2(r2d2);
    }

    /** Bytes the replay counts for one sequence: its share of the m-step rollout joined for its K environments. */
    static long bytesPerSequence(ModelConfig model) {
        return new Rollout(SEQUENCE, ENVS, model).bytes() / ENVS;
    }

    @Test
    void sequencesAreMadeOnlyOfOneActorsConsecutiveChunks() throws Exception {
        Cluster cluster = new Cluster(grpc);
        // The minimum is the whole replay, never reached here: nothing trains, the replay only fills.
        Cluster.Node node = cluster.learner(config(r2d2(REPLAY_SEQUENCES, UNBOUNDED_BYTES)));
        assertEquals(ModelConfig.Head.DUELING_Q, node.learner.config().modelConfig().head());
        assertEquals(CHUNK, node.learner.config().unroll());
        node.learner.start();
        assertEquals(ModelConfig.Head.DUELING_Q, ModelSpecs.config(node.learner.modelSpec()).head(),
                "the spec names the Q-network");
        Feed feed = new Feed(node);

        Actor a = feed.actor("actor-a", 100);
        a.send(a.next());
        assertEquals(0, feed.settle(), "one chunk is half a sequence");
        a.send(a.next());
        assertEquals(ENVS, feed.settle(), "two consecutive chunks: one sequence per environment");
        a.send(a.next());
        assertEquals(2 * ENVS, feed.settle(), "each further chunk completes K more (its predecessor is shared)");

        a.send(a.jump());
        assertEquals(2 * ENVS, feed.settle(), "a chunk that does not start where the previous one ended adds nothing");
        a.send(a.next());
        assertEquals(3 * ENVS, feed.settle(), "pairing restarts at the chunk that broke it");

        a.send(a.afterGap());
        assertEquals(3 * ENVS, feed.settle(),
                "a gap in the sequence numbers (a chunk lost on the way) adds nothing, though the observations continue");
        a.send(a.next());
        assertEquals(4 * ENVS, feed.settle(), "pairing restarts after the gap");

        // An actor that reconnects (a new stream, the numbering continued) goes on pairing.
        a.reconnect();
        a.send(a.next());
        assertEquals(5 * ENVS, feed.settle(), "a new stream of the same actor continues its sequences");

        // Two actors interleaved, each on its own stream: each chunk pairs with its own actor's previous one.
        Actor b = feed.actor("actor-b", 200);
        Actor c = feed.actor("actor-c", 300);
        for (int i = 0; i < 3; i++) {
            b.send(b.next());
            c.send(c.next());
        }
        assertEquals(5 * ENVS + 2 * 2 * ENVS, feed.settle(), "3 chunks each: 2 x 2 x K sequences");
        // A chunk under b's name that continues c's steps is not b's next chunk.
        b.send(b.continuing(c));
        assertEquals(9 * ENVS, feed.settle(), "chunks are paired per actor, not with whatever came before");

        assertEquals(9 * ENVS * bytesPerSequence(node.learner.config().modelConfig()), feed.replayBytes(),
                "the bytes gauge counts each held sequence once");
        assertEquals(0, node.counter(Metrics.LEARNER_UPDATES), "below the minimum nothing trains");
        assertEquals(0, node.counter(Metrics.TARGET_UPDATES));
        assertEquals(0, cluster.psVersion(), "nothing trained, nothing published");
        LearnerStatus s = node.status();
        assertEquals((long) feed.sent * CHUNK * ENVS, s.getFrames(), "every chunk was accepted and counted");
        assertEquals(0, s.getUpdates());
        assertEquals(0, node.learner.status().getQueuedChunks());
        node.learner.close();
        assertEquals(0, cluster.psVersion(), "close publishes nothing when nothing was trained");
    }

    /**
     * Updates: replay minimum 8 = 4 chunks' worth of sequences after an actor's first chunk, so of
     * N chunks from one actor the last N - 4 each earn one update: 8 before the restart, 4 after.
     * Target copies at every third update of the total count are after updates 3, 6 (first
     * learner), 9 and 12 (second): 2 for the second learner, where its own count alone would give 1.
     */
    @Test
    void aRestartedLearnerKeepsTheWeightsTheOptimizerAndTheTargetUpdateNumberingAndRefillsItsReplay()
            throws Exception {
        Cluster cluster = new Cluster(grpc);
        int minReplay = 2 * ENVS * 2;
        int chunksBeforeTraining = minReplay / ENVS;
        LearnerConfig config = config(r2d2(minReplay, UNBOUNDED_BYTES));
        Cluster.Node first = cluster.learner(config);
        first.learner.start();
        Feed feed = new Feed(first);
        Actor a = feed.actor("actor-a", 100);
        int firstChunks = 12;
        long firstUpdates = firstChunks - chunksBeforeTraining;
        for (int i = 0; i < firstChunks; i++) {
            a.send(a.next());
        }
        await(() -> first.learner.status().getUpdates() == firstUpdates, firstUpdates + " updates");
        first.learner.close();
        assertEquals(firstUpdates, first.counter(Metrics.LEARNER_UPDATES), "no update beyond one per chunk");
        assertEquals(firstUpdates / TARGET_EVERY, first.counter(Metrics.TARGET_UPDATES));
        assertEquals(0, first.counter(Metrics.LEARNER_SKIPPED));
        GetParametersResponse afterFirst = cluster.held();
        long firstVersion = afterFirst.getParameters().getVersion();
        assertTrue(firstVersion >= 1, "version " + firstVersion);
        assertEquals(firstUpdates, afterFirst.getOptimizerState().getStep(), "close publishes the optimizer state");
        assertEquals(firstUpdates, cluster.ps.store().current().learnerUpdates());

        // Another seed: its fresh weights differ, so equal weights below mean they were loaded.
        Cluster.Node second = cluster.learner(config.withSeed(77));
        Publisher.Snapshot fresh = snapshotOf(second.learner);
        assertNotEquals(afterFirst.getParameters().getWeights(), fresh.parameters().getWeights());
        second.learner.start();
        assertEquals(firstVersion, second.status().getPolicyVersion(), "continues from the server's version");
        Publisher.Snapshot resumed = snapshotOf(second.learner);
        assertEquals(afterFirst.getParameters().getWeights(), resumed.parameters().getWeights(),
                "the restarted learner trains the published weights");
        assertEquals(firstUpdates, resumed.optimizerSteps());
        assertEquals(afterFirst.getOptimizerState().getBuffers(), resumed.optimizerState().getBuffers(),
                "and continues the published optimizer state");
        assertEquals(firstUpdates, resumed.learnerUpdates());
        assertEquals(afterFirst.getParameters().getWeights(), cluster.held().getParameters().getWeights(),
                "start-up publishes nothing when the server holds weights");

        // The replay is not saved: it refills from the actors before training resumes.
        Feed feed2 = new Feed(second);
        Actor b = feed2.actor("actor-b", 200);
        int secondChunks = 8;
        for (int i = 0; i < chunksBeforeTraining; i++) {
            b.send(b.next());
        }
        assertEquals(minReplay - ENVS, feed2.settle());
        assertEquals(0, second.learner.status().getUpdates(), "no update before the refilled replay holds the minimum");
        for (int i = chunksBeforeTraining; i < secondChunks; i++) {
            b.send(b.next());
        }
        // The settle chunk above earned nothing (the replay was below the minimum); each chunk after it earns one.
        long secondUpdates = secondChunks - chunksBeforeTraining;
        await(() -> second.learner.status().getUpdates() == secondUpdates, secondUpdates + " updates");
        second.learner.close();
        assertEquals(secondUpdates, second.counter(Metrics.LEARNER_UPDATES));
        GetParametersResponse afterSecond = cluster.held();
        assertTrue(afterSecond.getParameters().getVersion() > firstVersion);
        long total = firstUpdates + secondUpdates;
        assertEquals(total, afterSecond.getOptimizerState().getStep(), "the optimizer step continues");
        assertEquals(total, cluster.ps.store().current().learnerUpdates(), "learner updates continue");
        // Copies happen at every multiple of TARGET_EVERY of the total count, not of this learner's own.
        assertEquals(total / TARGET_EVERY - firstUpdates / TARGET_EVERY, second.counter(Metrics.TARGET_UPDATES),
                "target updates continue the numbering");
    }

    /**
     * 12 chunks from one actor with a replay bounded in bytes to 12 sequences (22 are added): the
     * bytes bound evicts, 8 updates (chunks 5 to 12), copies of the target after updates 3 and 6.
     */
    @Test
    void replayAndTargetMetricsFollowWhatHappened() throws Exception {
        Cluster cluster = new Cluster(grpc);
        ModelConfig model = config(r2d2(BATCH, UNBOUNDED_BYTES)).modelConfig();
        long bytesEach = bytesPerSequence(model);
        int held = 12;
        long boundBytes = held * bytesEach + bytesEach / 2;
        int minReplay = 2 * ENVS * 2;
        Cluster.Node node = cluster.learner(config(r2d2(minReplay, boundBytes)));
        node.learner.start();
        Feed feed = new Feed(node);
        Actor a = feed.actor("actor-a", 100);
        int chunks = 12;
        long updates = chunks - minReplay / ENVS;
        for (int i = 0; i < chunks; i++) {
            a.send(a.next());
        }
        await(() -> node.learner.status().getUpdates() == updates, updates + " updates");
        // Closing joins the trainer: the counters below are final.
        node.learner.close();

        assertEquals(held, node.registry.get(Metrics.REPLAY_SEQUENCES).gauge().value(),
                "the bytes bound holds " + held + " of the " + (chunks - 1) * ENVS + " sequences added");
        double bytes = node.registry.get(Metrics.REPLAY_BYTES).gauge().value();
        assertEquals(held * bytesEach, bytes);
        assertTrue(bytes > 0 && bytes <= boundBytes, bytes + " bytes, bound " + boundBytes);
        assertEquals(updates, node.counter(Metrics.LEARNER_UPDATES));
        assertEquals(updates / TARGET_EVERY, node.counter(Metrics.TARGET_UPDATES),
                "one copy every " + TARGET_EVERY + " updates");
        long trainedSteps = updates * BATCH * (SEQUENCE - BURN_IN);
        assertEquals(trainedSteps, node.counter(Metrics.LEARNER_SAMPLES), "samples are the steps trained on");
        double ratio = node.registry.get(Metrics.REPLAY_RATIO).gauge().value();
        assertEquals((double) trainedSteps / (chunks * CHUNK * ENVS), ratio, 1e-12,
                "steps trained on per step received");
        assertTrue(ratio > 0);
        assertEquals(updates * BATCH, node.registry.get(Metrics.REPLAY_SAMPLED_PRIORITY).summary().count(),
                "every sampled sequence's priority is recorded");
        assertEquals(updates, node.registry.get(Metrics.LEARNER_UPDATE_TIME).timer().count());
        assertEquals(chunks, node.registry.get(Metrics.POLICY_LAG).summary().count());
        assertTrue(Double.isFinite(node.registry.get(Metrics.LEARNER_LOSS).tag("term", "total").gauge().value()));
        assertTrue(node.registry.get(Metrics.LEARNER_GRAD_NORM).gauge().value() > 0);
        assertEquals(0, node.counter(Metrics.LEARNER_SKIPPED));
        assertEquals(updates, cluster.held().getOptimizerState().getStep());
    }

    /**
     * With a replay directory the learner writes its replay when it closes and a new learner reads
     * it back: the same sequences, step for step, with the priorities training gave them; read
     * and written again unchanged. A file of another model, or a cut one, is left alone and the
     * learner starts with an empty replay.
     */
    @Test
    void aSavedReplayComesBackWithItsPriorities(@TempDir Path dir) throws Exception {
        Cluster cluster = new Cluster(grpc);
        int minReplay = 2 * ENVS * 2;
        LearnerConfig config = config(r2d2(minReplay, UNBOUNDED_BYTES, dir));
        Cluster.Node first = cluster.learner(config);
        first.learner.start();
        Actor a = new Feed(first).actor("actor-a", 100);
        int chunks = 10;
        long updates = chunks - minReplay / ENVS;
        for (int i = 0; i < chunks; i++) {
            a.send(a.next());
        }
        await(() -> first.learner.status().getUpdates() == updates, updates + " updates");
        first.learner.close();
        ModelConfig model = config.modelConfig();
        List<ReplayFile.Saved> saved = ReplayFile.read(dir, model, first.specHash(), SEQUENCE, config.chunkLimits());
        assertEquals((chunks - 1) * ENVS, saved.size(), "every sequence added");
        assertTrue(saved.stream().mapToDouble(ReplayFile.Saved::priority).distinct().count() > 2,
                "training set priorities of its own: " + saved.stream().map(ReplayFile.Saved::priority).toList());

        Cluster.Node second = cluster.learner(config);
        second.learner.start();
        assertEquals(saved.size(), second.registry.get(Metrics.REPLAY_SEQUENCES).gauge().value(),
                "the replay is back before any chunk arrives");
        second.learner.close();
        List<ReplayFile.Saved> again = ReplayFile.read(dir, model, first.specHash(), SEQUENCE, config.chunkLimits());
        assertEquals(saved.size(), again.size());
        for (int i = 0; i < saved.size(); i++) {
            assertEquals(saved.get(i).priority(), again.get(i).priority(), "priority of sequence " + i);
            assertSameSteps(saved.get(i).steps(), again.get(i).steps(), "sequence " + i);
        }

        // Another model (another LSTM width, its own parameter server): the file is not for it, and
        // it does not write over a file it could not use.
        byte[] file = Files.readAllBytes(dir.resolve(ReplayFile.NAME));
        Cluster.Node other = new Cluster(grpc).learner(config.withModel(model.encoderSizes(), model.lstmSize() + 1));
        other.learner.start();
        assertEquals(0, other.registry.get(Metrics.REPLAY_SEQUENCES).gauge().value());
        other.learner.close();
        assertArrayEquals(file, Files.readAllBytes(dir.resolve(ReplayFile.NAME)), "left alone");
        Files.write(dir.resolve(ReplayFile.NAME), java.util.Arrays.copyOf(file, file.length / 2));
        IOException cut = assertThrows(IOException.class,
                () -> ReplayFile.read(dir, model, first.specHash(), SEQUENCE, config.chunkLimits()));
        assertTrue(cut.getMessage().contains(ReplayFile.NAME), cut.getMessage());
        Cluster.Node fourth = cluster.learner(config);
        fourth.learner.start();
        assertEquals(0, fourth.registry.get(Metrics.REPLAY_SEQUENCES).gauge().value(), "a cut file is not loaded");
        fourth.learner.close();
    }

    private static void assertSameSteps(Rollout expected, Rollout actual, String what) {
        assertArrayEquals(expected.observations, actual.observations, what + " observations");
        assertArrayEquals(expected.actions, actual.actions, what + " actions");
        assertArrayEquals(expected.rewards, actual.rewards, what + " rewards");
        assertArrayEquals(expected.dones, actual.dones, what + " dones");
        assertArrayEquals(expected.truncated, actual.truncated, what + " truncated");
        assertArrayEquals(expected.bootstrapValues, actual.bootstrapValues, what + " bootstrap values");
        assertArrayEquals(expected.initialH, actual.initialH, what + " h0");
        assertArrayEquals(expected.initialC, actual.initialC, what + " c0");
    }

    /** What the learner's trainer would publish now. The learner has no accessor for it; read while the trainer is idle. */
    private static Publisher.Snapshot snapshotOf(Learner learner) throws ReflectiveOperationException {
        Field field = Learner.class.getDeclaredField("trainer");
        field.setAccessible(true);
        return ((Trainer) field.get(learner)).snapshot(true);
    }

    /**
     * Feeds one learner: actors on their own streams, each chunk awaited until acked (so queued),
     * and {@link #settle()}, which returns once the trainer has taken every chunk sent so far.
     */
    static final class Feed {
        final Cluster.Node node;
        final Actor marker;
        int sent;

        Feed(Cluster.Node node) {
            this.node = node;
            this.marker = new Actor(this, "settle-marker", 9_000);
        }

        Actor actor(String id, long seed) {
            return new Actor(this, id, seed);
        }

        /**
         * Sends a chunk that completes no sequence (it never continues the marker's previous one)
         * and waits until the trainer takes it. The queue is FIFO and the trainer takes one chunk at
         * a time and ingests it before taking the next, so every chunk acked before was ingested.
         *
         * @return the replay's size then
         */
        int settle() throws InterruptedException {
            marker.send(marker.jump());
            int expected = sent;
            await(() -> node.registry.get(Metrics.POLICY_LAG).summary().count() == expected,
                    "the trainer to take all " + expected + " chunks");
            return (int) node.registry.get(Metrics.REPLAY_SEQUENCES).gauge().value();
        }

        double replayBytes() {
            return node.registry.get(Metrics.REPLAY_BYTES).gauge().value();
        }
    }

    /** One actor: numbered chunks that continue one another in time unless a test says otherwise. */
    static final class Actor {
        private final Feed feed;
        final String id;
        private final ModelConfig model;
        private Cluster.ChunkClient stream;
        private long sequence;
        private long seed;
        private Rollout last;

        Actor(Feed feed, String id, long seed) {
            this.feed = feed;
            this.id = id;
            this.seed = seed;
            this.model = feed.node.learner.config().modelConfig();
            this.stream = feed.node.push();
        }

        /** The next chunk: it starts with this actor's last observation. */
        TrajectoryChunk next() {
            return chunk(sequence++, last);
        }

        /** The next number, but its first observation is not this actor's last (a restarted environment). */
        TrajectoryChunk jump() {
            return chunk(sequence++, null);
        }

        /** The observations continue, but the number skips one (a chunk dropped in between). */
        TrajectoryChunk afterGap() {
            sequence++;
            return next();
        }

        /** The next number, starting where {@code other} ended rather than where this actor did. */
        TrajectoryChunk continuing(Actor other) {
            return chunk(sequence++, other.last);
        }

        /** Ends this actor's stream and opens another; the numbering goes on. */
        void reconnect() throws Exception {
            stream.complete();
            assertEquals(Status.Code.OK, stream.awaitDone().getCode());
            stream = feed.node.push();
        }

        /** Sends on this actor's stream and waits for the ack: accepted means queued. */
        void send(TrajectoryChunk chunk) throws InterruptedException {
            stream.send(chunk);
            ChunkAck ack = stream.nextAck();
            assertEquals(chunk.getSequence(), ack.getSequence());
            assertTrue(ack.getAccepted(), "chunk " + chunk.getSequence() + " of " + id);
            feed.sent++;
        }

        private TrajectoryChunk chunk(long number, Rollout startFrom) {
            Rollout r = RolloutFixtures.random(model, CHUNK, ENVS, RolloutFixtures.Dones.RANDOM, seed++);
            if (startFrom != null) {
                int frame = ENVS * model.observationSize();
                System.arraycopy(startFrom.observations, CHUNK * frame, r.observations, 0, frame);
                assertTrue(Rollout.followsInTime(startFrom, r));
            } else if (last != null) {
                assertFalse(Rollout.followsInTime(last, r), "random observations happen to continue");
            }
            last = r;
            return ChunkCodec.encode(r, id, number, 0, feed.node.specHash(), new EpisodeBuffer());
        }
    }
}
