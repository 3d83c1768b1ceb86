package dev.starling.learner.r2d2;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import dev.starling.common.rl.R2d2Config;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

/**
 * The replay against references: sampling frequencies against the exact probabilities
 * priority^alpha / sum (with a binomial tolerance; the seed is fixed, so the tests cannot flake),
 * the bounds and FIFO eviction against a plain deque, the sum tree against a plain sum, and the
 * R2D2 formulas against hand computations.
 */
class SequenceReplayTest {

    private static final long SEED = 20190506L;
    private static final int DRAWS = 200_000;
    /** Allowed deviation of a count from its expectation, in binomial standard deviations. */
    private static final double SIGMAS = 5;

    @Test
    void samplingFrequenciesFollowPriorityToTheExponent() {
        double[] priorities = {1, 2, 4, 8};
        SequenceReplay<String> replay = replayWith(0.9, priorities);
        double[] expected = exactProbabilities(priorities, 0.9);

        SequenceReplay.Sample<String> sample = replay.sample(DRAWS);
        assertEquals(4, sample.replaySize());
        for (int i = 0; i < DRAWS; i++) {
            int id = (int) sample.ids()[i];
            assertEquals("s" + id, sample.sequences().get(i));
            assertEquals(expected[id], sample.probabilities()[i], 1e-12, "probability of id " + id);
            assertEquals(priorities[id], sample.priorities()[i]);
        }
        assertFrequencies(counts(sample, 4), expected);
    }

    @Test
    void exponentZeroSamplesUniformly() {
        SequenceReplay<String> replay = replayWith(0.0, 1, 2, 4, 8);
        assertFrequencies(counts(replay.sample(DRAWS), 4), new double[] {0.25, 0.25, 0.25, 0.25});
    }

    @Test
    void zeroPriorityIsNeverDrawnUnlessAllAreZero() {
        double[] priorities = {0, 1, 0, 3};
        for (double exponent : new double[] {0.9, 0}) {
            SequenceReplay<String> replay = replayWith(exponent, priorities);
            long[] counts = counts(replay.sample(DRAWS), 4);
            assertEquals(0, counts[0], "exponent " + exponent);
            assertEquals(0, counts[2], "exponent " + exponent);
            assertFrequencies(counts, exactProbabilities(priorities, exponent));
        }

        SequenceReplay<String> allZero = replayWith(0.9, 0, 0, 0);
        SequenceReplay.Sample<String> sample = allZero.sample(DRAWS);
        for (double p : sample.probabilities()) {
            assertEquals(1.0 / 3, p, 1e-15);
        }
        assertFrequencies(counts(sample, 3), new double[] {1.0 / 3, 1.0 / 3, 1.0 / 3});
    }

    @Test
    void samplingIsDeterministicGivenTheSeed() {
        double[] priorities = {0.5, 1, 2, 3, 5, 8};
        long[] first = seededReplay(SEED, 0.9, priorities).sample(100).ids();
        long[] again = seededReplay(SEED, 0.9, priorities).sample(100).ids();
        assertArrayEquals(first, again);
        assertFalse(Arrays.equals(first, seededReplay(SEED + 1, 0.9, priorities).sample(100).ids()));
    }

    @Test
    void samplingAnEmptyReplayOrABadBatchIsRefused() {
        SequenceReplay<String> replay = new SequenceReplay<>(1000, 10, 0.9, SEED);
        IllegalStateException empty = assertThrows(IllegalStateException.class, () -> replay.sample(1));
        assertTrue(empty.getMessage().contains("empty replay"), empty.getMessage());
        replay.add("s0", 1, 1);
        assertMessage(() -> replay.sample(0), "batch", "0");

        // Each priority is finite, but their sum is not: a clear error, not a garbage draw.
        SequenceReplay<String> huge = new SequenceReplay<>(1000, 10, 1, SEED);
        huge.add("s0", 1, Double.MAX_VALUE);
        huge.add("s1", 1, Double.MAX_VALUE);
        IllegalStateException overflow = assertThrows(IllegalStateException.class, () -> huge.sample(1));
        assertTrue(overflow.getMessage().contains("overflowed"), overflow.getMessage());
    }

    @Test
    void boundsHoldAfterEveryAddAndEvictionIsOldestFirst() {
        long maxBytes = 10_000;
        int maxSequences = 30;
        SequenceReplay<String> replay = new SequenceReplay<>(maxBytes, maxSequences, 0.9, SEED);
        // The reference: a deque of {id, bytes}, evicted from the front until the new one fits.
        ArrayDeque<long[]> live = new ArrayDeque<>();
        long liveBytes = 0;
        long evicted = 0;
        SplittableRandom random = new SplittableRandom(SEED);
        for (int n = 0; n < 5_000; n++) {
            // Mostly sizes that make both bounds bind in turn; now and then one that fills the replay.
            long size = random.nextInt(50) == 0 ? maxBytes : 1 + random.nextInt(650);
            while (live.size() == maxSequences || liveBytes + size > maxBytes) {
                liveBytes -= live.removeFirst()[1];
                evicted++;
            }
            long id = replay.add("s" + n, size, random.nextDouble());
            assertEquals(n, id);
            live.addLast(new long[] {id, size});
            liveBytes += size;

            assertTrue(replay.bytes() <= maxBytes, "bytes " + replay.bytes() + " after add " + n);
            assertTrue(replay.size() <= maxSequences, "size " + replay.size() + " after add " + n);
            assertEquals(liveBytes, replay.bytes());
            assertEquals(live.size(), replay.size());
            assertEquals(evicted, replay.evictions());
            assertEquals(n + 1, replay.totalAdded());
            long oldest = live.getFirst()[0];
            assertFalse(replay.contains(oldest - 1), "id " + (oldest - 1) + " should have been evicted");
            for (long[] entry : live) {
                assertTrue(replay.contains(entry[0]), "id " + entry[0] + " should still be held");
            }
        }
        // Every live id can be drawn and comes with its own sequence.
        SequenceReplay.Sample<String> sample = replay.sample(1000);
        for (int i = 0; i < sample.ids().length; i++) {
            assertTrue(replay.contains(sample.ids()[i]));
            assertEquals("s" + sample.ids()[i], sample.sequences().get(i));
        }
    }

    @Test
    void badSequencesAreRefusedAndChangeNothing() {
        SequenceReplay<String> replay = new SequenceReplay<>(100, 3, 0.9, SEED);
        replay.add("s0", 60, 1);
        replay.add("s1", 30, 2);
        State before = State.of(replay);

        assertMessage(() -> replay.add("big", 101, 1), "101 bytes", "maxBytes 100");
        assertMessage(() -> replay.add("empty", 0, 1), "0 bytes");
        assertMessage(() -> replay.add("negative", -5, 1), "-5 bytes");
        assertMessage(() -> replay.add("nan", 10, Double.NaN), "priority", "NaN");
        assertMessage(() -> replay.add("negative", 10, -0.5), "priority", "-0.5");
        assertMessage(() -> replay.add("infinite", 10, Double.POSITIVE_INFINITY), "priority", "Infinity");
        assertThrows(NullPointerException.class, () -> replay.add(null, 10, 1));
        assertEquals(before, State.of(replay));
        assertTrue(replay.contains(0) && replay.contains(1));

        // Ids go on from where they were; exactly maxBytes is accepted (and evicts everything).
        assertEquals(2, replay.add("s2", 100, 1));
        assertEquals(1, replay.size());
        assertEquals(100, replay.bytes());
    }

    @Test
    void badConstructorArgumentsAreRefusedWithTheirNameAndValue() {
        assertMessage(() -> new SequenceReplay<>(0, 10, 0.9, SEED), "maxBytes", "0");
        assertMessage(() -> new SequenceReplay<>(-1, 10, 0.9, SEED), "maxBytes", "-1");
        assertMessage(() -> new SequenceReplay<>(100, 0, 0.9, SEED), "maxSequences", "got 0");
        assertMessage(() -> new SequenceReplay<>(100, SequenceReplay.MAX_SEQUENCES + 1, 0.9, SEED),
                "maxSequences", String.valueOf(SequenceReplay.MAX_SEQUENCES + 1));
        assertMessage(() -> new SequenceReplay<>(100, 10, -0.1, SEED), "priorityExponent", "-0.1");
        assertMessage(() -> new SequenceReplay<>(100, 10, 1.5, SEED), "priorityExponent", "1.5");
        assertMessage(() -> new SequenceReplay<>(100, 10, Double.NaN, SEED), "priorityExponent", "NaN");

        SequenceReplay<String> replay = new SequenceReplay<>(100, 10, R2d2Config.DEFAULT_PRIORITY_EXPONENT, SEED);
        assertEquals(100, replay.maxBytes());
        assertEquals(10, replay.maxSequences());
        assertEquals(0.9, replay.priorityExponent());
    }

    @Test
    void updatedPrioritiesChangeTheSamplingFrequencies() {
        double[] priorities = {1, 2, 4, 8};
        SequenceReplay<String> replay = replayWith(0.9, priorities);
        SequenceReplay.Sample<String> sample = replay.sample(8);

        double[] updated = {8, 0, 4, 1};
        replay.updatePriorities(new long[] {0, 1, 2, 3}, updated);
        assertEquals(0, replay.staleUpdates());
        assertMessage(() -> replay.updatePriorities(sample.ids(), new double[] {1}), "8 ids but 1 priorities");

        SequenceReplay.Sample<String> after = replay.sample(DRAWS);
        double[] expected = exactProbabilities(updated, 0.9);
        assertFrequencies(counts(after, 4), expected);
        for (int i = 0; i < DRAWS; i++) {
            assertEquals(updated[(int) after.ids()[i]], after.priorities()[i]);
        }
        assertEquals(Arrays.stream(after.priorities()).average().orElseThrow(), after.meanPriority(), 1e-12);

        // An id given twice: the last entry wins.
        replay.updatePriorities(new long[] {1, 1}, new double[] {100, 8});
        assertEquals(mass(new double[] {8, 8, 4, 1}, 0.9), replay.totalMass(), 1e-12);
    }

    @Test
    void updatesOfEvictedIdsAreIgnoredAndCounted() {
        SequenceReplay<String> replay = new SequenceReplay<>(1000, 3, 0.9, SEED);
        replay.add("s0", 1, 1);
        replay.add("s1", 1, 1);
        replay.add("s2", 1, 1);
        // Meanwhile two more arrive and push out ids 0 and 1.
        replay.add("s3", 1, 1);
        replay.add("s4", 1, 1);

        replay.updatePriorities(new long[] {0, 1, 2}, new double[] {5, 6, 7});
        assertEquals(2, replay.staleUpdates());
        assertEquals(3, replay.size());
        assertEquals(Math.pow(7, 0.9) + 2, replay.totalMass(), 1e-12);
        SequenceReplay.Sample<String> sample = replay.sample(1000);
        for (int i = 0; i < sample.ids().length; i++) {
            long id = sample.ids()[i];
            assertTrue(id >= 2, "evicted id " + id + " drawn");
            assertEquals(id == 2 ? 7 : 1, sample.priorities()[i]);
        }
    }

    @Test
    void oneBadEntryInABatchUpdatesNone() {
        SequenceReplay<String> replay = replayWith(0.9, 1, 2, 4, 8);
        State before = State.of(replay);
        long[] ids = {0, 1, 2, 3};

        assertMessage(() -> replay.updatePriorities(ids, new double[] {3, 3, Double.NaN, 3}), "priorities[2]", "NaN");
        assertMessage(() -> replay.updatePriorities(ids, new double[] {3, -1, 3, 3}), "priorities[1]", "-1");
        assertMessage(() -> replay.updatePriorities(ids, new double[] {3, 3, 3, Double.NEGATIVE_INFINITY}),
                "priorities[3]", "-Infinity");
        assertMessage(() -> replay.updatePriorities(new long[] {0, 1, 2, 9}, new double[] {3, 3, 3, 3}),
                "ids[3] = 9", "never returned");
        assertMessage(() -> replay.updatePriorities(new long[] {-1, 1, 2, 3}, new double[] {3, 3, 3, 3}),
                "ids[0] = -1");

        assertEquals(before, State.of(replay));
        SequenceReplay.Sample<String> sample = replay.sample(1000);
        double[] expected = exactProbabilities(new double[] {1, 2, 4, 8}, 0.9);
        for (int i = 0; i < sample.ids().length; i++) {
            assertEquals(expected[(int) sample.ids()[i]], sample.probabilities()[i], 1e-12);
        }
    }

    @Test
    void sequencePriorityMatchesAHandComputation() {
        double[] errors = {100, 0.5, 1, 3, 2, 100};
        // Steps 1..4: max 3, mean (0.5 + 1 + 3 + 2) / 4 = 1.625; 0.9 * 3 + 0.1 * 1.625 = 2.8625.
        assertEquals(2.8625, SequenceReplay.sequencePriority(errors, 1, 4, 0.9), 1e-12);
        assertEquals(3, SequenceReplay.sequencePriority(errors, 1, 4, 1), 1e-12);
        assertEquals(1.625, SequenceReplay.sequencePriority(errors, 1, 4, 0), 1e-12);
        assertEquals(100, SequenceReplay.sequencePriority(errors, 5, 1, R2d2Config.DEFAULT_PRIORITY_ETA), 1e-12);

        assertMessage(() -> SequenceReplay.sequencePriority(errors, 3, 4, 0.9), "[3, 3 + 4)", "length 6");
        assertMessage(() -> SequenceReplay.sequencePriority(errors, -1, 2, 0.9), "[-1, -1 + 2)");
        assertMessage(() -> SequenceReplay.sequencePriority(errors, 0, 0, 0.9), "[0, 0 + 0)");
        assertMessage(() -> SequenceReplay.sequencePriority(errors, 0, 2, 1.1), "eta", "1.1");
        assertMessage(() -> SequenceReplay.sequencePriority(new double[] {1, -2}, 0, 2, 0.9), "absTdErrors[1] = -2");
        assertMessage(() -> SequenceReplay.sequencePriority(new double[] {Double.NaN}, 0, 1, 0.9),
                "absTdErrors[0] = NaN");
    }

    @Test
    void importanceWeightsMatchAHandComputation() {
        // size * p = {2, 1, 0.5, 0.5}; (size * p)^-0.5 = {1/sqrt2, 1, sqrt2, sqrt2}; divided by sqrt2.
        double[] weights = SequenceReplay.importanceWeights(new double[] {0.5, 0.25, 0.125, 0.125}, 4, 0.5);
        assertArrayEquals(new double[] {0.5, 1 / Math.sqrt(2), 1, 1}, weights, 1e-12);
        // Beta 0: no correction.
        assertArrayEquals(new double[] {1, 1}, SequenceReplay.importanceWeights(new double[] {0.9, 0.1}, 2, 0), 0);
        // Beta 0.6 (the default), size 10: (10 * 0.2)^-0.6 / (10 * 0.05)^-0.6 = 4^-0.6.
        assertArrayEquals(new double[] {Math.pow(4, -0.6), 1},
                SequenceReplay.importanceWeights(new double[] {0.2, 0.05}, 10,
                        R2d2Config.DEFAULT_IMPORTANCE_EXPONENT), 1e-12);

        assertMessage(() -> SequenceReplay.importanceWeights(new double[] {0.5}, 0, 0.6), "size", "0");
        assertMessage(() -> SequenceReplay.importanceWeights(new double[] {0.5}, 2, -1), "beta", "-1");
        assertMessage(() -> SequenceReplay.importanceWeights(new double[] {0.5, 0}, 2, 0.6), "probabilities[1] = 0");
    }

    @Test
    void sumTreeTotalStaysTheSumOverLivePrioritiesAfterManyRandomOperations() {
        double exponent = 0.9;
        // Not a power of two, so the tree has padding leaves; bytes bind now and then too.
        SequenceReplay<String> replay = new SequenceReplay<>(2_000, 37, exponent, SEED);
        Map<Long, Double> live = new LinkedHashMap<>();
        Map<Long, Long> sizes = new LinkedHashMap<>();
        long liveBytes = 0;
        long nextId = 0;
        long stale = 0;
        SplittableRandom random = new SplittableRandom(SEED);
        for (int n = 0; n < 20_000; n++) {
            if (nextId == 0 || random.nextInt(3) > 0) {
                long size = 1 + random.nextInt(100);
                double priority = randomPriority(random);
                while (live.size() == 37 || liveBytes + size > 2_000) {
                    long oldest = live.keySet().iterator().next();
                    live.remove(oldest);
                    liveBytes -= sizes.remove(oldest);
                }
                long id = replay.add("s", size, priority);
                assertEquals(nextId++, id);
                live.put(id, priority);
                sizes.put(id, size);
                liveBytes += size;
            } else {
                // Ids from well before the oldest live one, so some updates are stale.
                int k = 1 + random.nextInt(8);
                long[] ids = new long[k];
                double[] priorities = new double[k];
                for (int i = 0; i < k; i++) {
                    ids[i] = Math.max(0, nextId - 1 - random.nextInt(60));
                    priorities[i] = randomPriority(random);
                }
                replay.updatePriorities(ids, priorities);
                for (int i = 0; i < k; i++) {
                    if (live.replace(ids[i], priorities[i]) == null) {
                        stale++;
                    }
                }
            }
            double expected = mass(live.values().stream().mapToDouble(Double::doubleValue).toArray(), exponent);
            double actual = replay.totalMass();
            assertEquals(expected, actual, 1e-9 * Math.max(expected, Double.MIN_NORMAL), "after operation " + n);
            assertEquals(live.size(), replay.size());
            assertEquals(liveBytes, replay.bytes());
            assertEquals(stale, replay.staleUpdates());
        }
        assertTrue(replay.evictions() > 0 && stale > 0, "the operations should evict and go stale");
    }

    @Test
    void concurrentAddsSamplesAndUpdatesKeepTheBounds() throws Exception {
        SequenceReplay<String> replay = new SequenceReplay<>(5_000, 64, 0.9, SEED);
        replay.add("first", 10, 1);
        int addsPerActor = 20_000;
        ExecutorService pool = Executors.newFixedThreadPool(3);
        try {
            List<Future<?>> tasks = new ArrayList<>();
            for (int actor = 0; actor < 2; actor++) {
                long seed = SEED + actor;
                tasks.add(pool.submit(() -> {
                    SplittableRandom random = new SplittableRandom(seed);
                    for (int i = 0; i < addsPerActor; i++) {
                        replay.add("a", 1 + random.nextInt(200), random.nextDouble());
                        assertTrue(replay.bytes() <= 5_000 && replay.size() <= 64);
                    }
                }));
            }
            tasks.add(pool.submit(() -> {
                SplittableRandom random = new SplittableRandom(SEED);
                for (int i = 0; i < 2_000; i++) {
                    SequenceReplay.Sample<String> sample = replay.sample(16);
                    double[] priorities = new double[16];
                    for (int j = 0; j < 16; j++) {
                        priorities[j] = random.nextDouble();
                    }
                    replay.updatePriorities(sample.ids(), priorities);
                }
            }));
            for (Future<?> task : tasks) {
                task.get(60, TimeUnit.SECONDS);
            }
        } finally {
            pool.shutdownNow();
        }
        assertEquals(1 + 2L * addsPerActor, replay.totalAdded());
        assertEquals(replay.totalAdded(), replay.size() + replay.evictions());
        assertTrue(replay.bytes() <= 5_000 && replay.size() <= 64);
    }

    /** A replay with one sequence "s<i>" of 1 byte per priority, ids 0, 1, ... in order. */
    private static SequenceReplay<String> replayWith(double exponent, double... priorities) {
        return seededReplay(SEED, exponent, priorities);
    }

    private static SequenceReplay<String> seededReplay(long seed, double exponent, double... priorities) {
        SequenceReplay<String> replay = new SequenceReplay<>(1_000, 100, exponent, seed);
        for (int i = 0; i < priorities.length; i++) {
            assertEquals(i, replay.add("s" + i, 1, priorities[i]));
        }
        return replay;
    }

    /** p_i^alpha / sum_j p_j^alpha, a priority of 0 counting 0 (uniform when all are 0). */
    private static double[] exactProbabilities(double[] priorities, double exponent) {
        double total = mass(priorities, exponent);
        double[] probabilities = new double[priorities.length];
        for (int i = 0; i < priorities.length; i++) {
            probabilities[i] = priorities[i] == 0 ? 0 : Math.pow(priorities[i], exponent) / total;
        }
        return probabilities;
    }

    private static double mass(double[] priorities, double exponent) {
        double total = 0;
        for (double p : priorities) {
            total += p == 0 ? 0 : Math.pow(p, exponent);
        }
        return total;
    }

    private static long[] counts(SequenceReplay.Sample<?> sample, int ids) {
        long[] counts = new long[ids];
        for (long id : sample.ids()) {
            counts[(int) id]++;
        }
        return counts;
    }

    /** Each count within SIGMAS binomial standard deviations of n * p. */
    private static void assertFrequencies(long[] counts, double[] expected) {
        long n = Arrays.stream(counts).sum();
        for (int i = 0; i < counts.length; i++) {
            double sigma = Math.sqrt(n * expected[i] * (1 - expected[i]));
            assertEquals(n * expected[i], counts[i], SIGMAS * sigma,
                    "draws of id " + i + " of " + Arrays.toString(counts) + ", expected p " + expected[i]);
        }
    }

    /** Mostly spread over six orders of magnitude, sometimes exactly 0. */
    private static double randomPriority(SplittableRandom random) {
        return random.nextInt(10) == 0 ? 0 : Math.exp(random.nextGaussian() * 3);
    }

    private static void assertMessage(Executable call, String... parts) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, call);
        for (String part : parts) {
            assertTrue(e.getMessage().contains(part), "message \"" + e.getMessage() + "\" lacks \"" + part + "\"");
        }
    }

    /** What "nothing changed" compares. */
    private record State(int size, long bytes, long added, long evictions, long staleUpdates, double mass) {
        static State of(SequenceReplay<?> replay) {
            return new State(replay.size(), replay.bytes(), replay.totalAdded(), replay.evictions(),
                    replay.staleUpdates(), replay.totalMass());
        }
    }
}
