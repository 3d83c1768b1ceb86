package dev.starling.learner.r2d2;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Objects;
import java.util.SplittableRandom;

import dev.starling.common.rl.R2d2Config;

/**
 * R2D2's prioritized replay of fixed-length sequences (Kapturowski et al., ICLR 2019), bounded
 * both in bytes and in number of sequences. Each sequence is an opaque {@code S} (the caller's
 * record, with its start LSTM state) with its size in bytes, given at {@link #add}, and a
 * priority. {@link #sample} draws with replacement, with probability proportional to
 * priority<sup>exponent</sup>; a sequence of priority 0 is never drawn unless all are 0, then the
 * draw is uniform. When an add would exceed either bound, the oldest sequences are evicted first,
 * so the replay never holds more than {@link #maxBytes()} nor {@link #maxSequences()}.
 *
 * <p>Ids are monotonic and never reused; as eviction is first in, first out, the live ids are
 * always one contiguous range, and id {@code i} lives in slot {@code i % maxSequences}. A sum tree
 * over those slots makes adds, evictions, updates and each draw O(log maxSequences). All slots
 * are allocated at construction.
 *
 * <p>Thread-safe: actors' sequences arrive on gRPC threads while the trainer samples and updates
 * priorities. Every public method holds the one monitor of the replay, so each is atomic.
 *
 * @param <S> the caller's sequence type; the replay only stores references to it
 */
public final class SequenceReplay<S> {

    /**
     * Largest {@code maxSequences}. Slots are allocated up front (about 50 bytes each), so a cap
     * turns a mistaken huge value into a clear error instead of an OutOfMemoryError.
     */
    public static final int MAX_SEQUENCES = 1 << 24;

    /**
     * One draw of {@link #sample}, owned by the caller. Entry {@code i} of each array and of the
     * list describes the same draw; an id drawn twice appears twice.
     *
     * @param ids the sequences' ids, for {@link #updatePriorities}
     * @param sequences the sequences
     * @param probabilities the probability with which each was drawn
     * @param priorities each sequence's priority (before the exponent) when it was drawn
     * @param replaySize the number of sequences in the replay at the draw: the N of the
     *     importance weights (see {@link #importanceWeights})
     */
    public record Sample<S>(long[] ids, List<S> sequences, double[] probabilities, double[] priorities,
            int replaySize) {

        /** The mean priority of the drawn sequences (each draw counts once), for metrics. */
        public double meanPriority() {
            double sum = 0;
            for (double p : priorities) {
                sum += p;
            }
            return sum / priorities.length;
        }
    }

    private final long maxBytes;
    private final int maxSequences;
    private final double priorityExponent;
    private final SplittableRandom random;

    private final List<S> sequences;
    private final long[] sizes;
    private final double[] priorities;
    /**
     * Sum tree: the leaf of slot s is {@code tree[leaves + s]}, node i sums its children 2i and
     * 2i + 1, and tree[1] is the total. Padding leaves and free slots hold 0.
     */
    private final double[] tree;
    private final int leaves;

    /** The oldest live id; live ids are [oldestId, nextId). */
    private long oldestId;
    private long nextId;
    private long bytes;
    private long evictions;
    private long staleUpdates;

    /**
     * @param maxBytes the most bytes (as given at {@link #add}) held at any moment, at least 1
     * @param maxSequences the most sequences held at any moment, in [1, {@value #MAX_SEQUENCES}]
     * @param priorityExponent alpha, in [0, 1]: 0 draws uniformly among the non-zero priorities
     * @param seed seeds the draws: the same seed and calls give the same samples
     */
    public SequenceReplay(long maxBytes, int maxSequences, double priorityExponent, long seed) {
        if (maxBytes < 1) {
            throw new IllegalArgumentException("maxBytes must be >= 1, got " + maxBytes);
        }
        if (maxSequences < 1 || maxSequences > MAX_SEQUENCES) {
            throw new IllegalArgumentException(
                    "maxSequences must be in [1, " + MAX_SEQUENCES + "], got " + maxSequences);
        }
        // Written so that NaN fails too.
        if (!(priorityExponent >= 0 && priorityExponent <= 1)) {
            throw new IllegalArgumentException("priorityExponent must be in [0, 1], got " + priorityExponent);
        }
        this.maxBytes = maxBytes;
        this.maxSequences = maxSequences;
        this.priorityExponent = priorityExponent;
        this.random = new SplittableRandom(seed);
        this.sequences = new ArrayList<>(Collections.nCopies(maxSequences, null));
        this.sizes = new long[maxSequences];
        this.priorities = new double[maxSequences];
        int n = 1;
        while (n < maxSequences) {
            n <<= 1;
        }
        this.leaves = n;
        this.tree = new double[2 * n];
    }

    /**
     * Adds a sequence, first evicting the oldest ones until it fits both bounds.
     *
     * @param bytes the sequence's size, at least 1 and at most {@link #maxBytes()}
     * @param priority finite and >= 0
     * @return the sequence's id, greater than every id returned before
     * @throws IllegalArgumentException for a bad size or priority; then nothing changed
     */
    public synchronized long add(S sequence, long bytes, double priority) {
        Objects.requireNonNull(sequence, "sequence");
        if (bytes < 1 || bytes > maxBytes) {
            throw new IllegalArgumentException(
                    "a sequence of " + bytes + " bytes does not fit a replay of maxBytes " + maxBytes
                            + " (sizes must be in [1, maxBytes])");
        }
        checkPriority(priority, "priority");
        while (size() == maxSequences || this.bytes + bytes > maxBytes) {
            evictOldest();
        }
        long id = nextId++;
        int slot = slot(id);
        sequences.set(slot, sequence);
        sizes[slot] = bytes;
        this.bytes += bytes;
        setPriority(slot, priority);
        return id;
    }

    /**
     * Draws {@code batch} sequences with replacement, each with probability proportional to
     * priority<sup>exponent</sup> (uniformly if all priorities are 0).
     *
     * @throws IllegalStateException if the replay is empty
     */
    public synchronized Sample<S> sample(int batch) {
        if (batch < 1) {
            throw new IllegalArgumentException("batch must be >= 1, got " + batch);
        }
        int size = size();
        if (size == 0) {
            throw new IllegalStateException("cannot sample from an empty replay: no sequence was added yet,"
                    + " or all were evicted");
        }
        double total = tree[1];
        if (Double.isInfinite(total)) {
            throw new IllegalStateException("the sum of priorities^" + priorityExponent
                    + " overflowed; priorities must be far below Double.MAX_VALUE");
        }
        long[] ids = new long[batch];
        List<S> drawn = new ArrayList<>(batch);
        double[] probabilities = new double[batch];
        double[] drawnPriorities = new double[batch];
        for (int i = 0; i < batch; i++) {
            int slot;
            double probability;
            if (total == 0) {
                slot = slot(oldestId + random.nextInt(size));
                probability = 1.0 / size;
            } else {
                slot = find(random.nextDouble() * total);
                probability = tree[leaves + slot] / total;
            }
            ids[i] = idOf(slot);
            drawn.add(sequences.get(slot));
            probabilities[i] = probability;
            drawnPriorities[i] = priorities[slot];
        }
        return new Sample<>(ids, Collections.unmodifiableList(drawn), probabilities, drawnPriorities, size);
    }

    /**
     * Sets the priorities of sampled sequences; {@code ids[i]} gets {@code priorities[i]}, and of
     * an id given twice the last entry wins. Ids evicted since they were sampled are skipped and
     * counted in {@link #staleUpdates()}: actors keep adding while the trainer computes, so that
     * is normal.
     *
     * @throws IllegalArgumentException if the lengths differ, a priority is not finite or
     *     negative, or an id was never returned by {@link #add}; then nothing is updated
     */
    public synchronized void updatePriorities(long[] ids, double[] priorities) {
        if (ids.length != priorities.length) {
            throw new IllegalArgumentException(
                    ids.length + " ids but " + priorities.length + " priorities; they must match");
        }
        // Validate all before writing any, so a bad batch changes nothing.
        for (int i = 0; i < ids.length; i++) {
            checkPriority(priorities[i], "priorities[" + i + "]");
            if (ids[i] < 0 || ids[i] >= nextId) {
                throw new IllegalArgumentException("ids[" + i + "] = " + ids[i] + " was never returned by add"
                        + " (ids so far are in [0, " + nextId + "))");
            }
        }
        for (int i = 0; i < ids.length; i++) {
            if (ids[i] < oldestId) {
                staleUpdates++;
            } else {
                setPriority(slot(ids[i]), priorities[i]);
            }
        }
    }

    /**
     * R2D2's sequence priority {@code eta * max|delta| + (1 - eta) * mean|delta|} over
     * {@code absTdErrors[from, from + length)}, the sequence's trained steps (after the burn-in).
     *
     * @param absTdErrors absolute TD errors, finite and >= 0 in the range
     * @param eta in [0, 1]; R2D2 uses {@value R2d2Config#DEFAULT_PRIORITY_ETA}
     */
    public static double sequencePriority(double[] absTdErrors, int from, int length, double eta) {
        if (from < 0 || length < 1 || from > absTdErrors.length - length) {
            throw new IllegalArgumentException("range [" + from + ", " + from + " + " + length
                    + ") is empty or outside absTdErrors of length " + absTdErrors.length);
        }
        if (!(eta >= 0 && eta <= 1)) {
            throw new IllegalArgumentException("eta must be in [0, 1], got " + eta);
        }
        double max = 0;
        double sum = 0;
        for (int i = from; i < from + length; i++) {
            double e = absTdErrors[i];
            // Negative means the caller forgot the absolute value.
            if (!(e >= 0 && e < Double.POSITIVE_INFINITY)) {
                throw new IllegalArgumentException(
                        "absTdErrors[" + i + "] = " + e + " must be finite and >= 0 (an absolute TD error)");
            }
            max = Math.max(max, e);
            sum += e;
        }
        return eta * max + (1 - eta) * (sum / length);
    }

    /**
     * Importance-sampling weights {@code w_i = (size * p_i)^-beta / max_j w_j} (Ape-X, R2D2):
     * they undo the bias of prioritized sampling, and the normalization keeps them <= 1.
     *
     * @param probabilities the draws' probabilities, as in {@link Sample#probabilities()}, each in (0, 1]
     * @param size the number of sequences the draws were made from ({@link Sample#replaySize()})
     * @param beta in [0, 1]: 0 gives all weights 1, 1 undoes the bias fully; R2D2 uses
     *     {@value R2d2Config#DEFAULT_IMPORTANCE_EXPONENT}
     */
    public static double[] importanceWeights(double[] probabilities, int size, double beta) {
        if (size < 1) {
            throw new IllegalArgumentException("size must be >= 1, got " + size);
        }
        if (!(beta >= 0 && beta <= 1)) {
            throw new IllegalArgumentException("beta must be in [0, 1], got " + beta);
        }
        double[] weights = new double[probabilities.length];
        double max = 0;
        for (int i = 0; i < probabilities.length; i++) {
            double p = probabilities[i];
            if (!(p > 0 && p <= 1)) {
                throw new IllegalArgumentException("probabilities[" + i + "] = " + p + " must be in (0, 1]");
            }
            weights[i] = Math.pow(size * p, -beta);
            max = Math.max(max, weights[i]);
        }
        for (int i = 0; i < weights.length; i++) {
            weights[i] /= max;
        }
        return weights;
    }

    /** One held sequence, its size and its priority, as {@link #entries()} lists them. */
    public record Entry<S>(S sequence, long bytes, double priority) {
    }

    /** Every held sequence, oldest first (what a saved replay writes, and adds back in that order). */
    public synchronized List<Entry<S>> entries() {
        List<Entry<S>> out = new ArrayList<>(size());
        for (long id = oldestId; id < nextId; id++) {
            int s = slot(id);
            out.add(new Entry<>(sequences.get(s), sizes[s], priorities[s]));
        }
        return out;
    }

    /** Sequences held now. */
    public synchronized int size() {
        return (int) (nextId - oldestId);
    }

    /** Bytes held now: the sum of the live sequences' sizes as given at {@link #add}. */
    public synchronized long bytes() {
        return bytes;
    }

    public long maxBytes() {
        return maxBytes;
    }

    public int maxSequences() {
        return maxSequences;
    }

    public double priorityExponent() {
        return priorityExponent;
    }

    /** Sequences evicted to make room, since construction. */
    public synchronized long evictions() {
        return evictions;
    }

    /** Sequences added since construction (refused ones are not counted). */
    public synchronized long totalAdded() {
        return nextId;
    }

    /** Priority updates skipped because their sequence had been evicted, since construction. */
    public synchronized long staleUpdates() {
        return staleUpdates;
    }

    /** Whether the sequence with this id is still held. */
    public synchronized boolean contains(long id) {
        return id >= oldestId && id < nextId;
    }

    /** The sum tree's total, the sum of priority^exponent over the live sequences; for tests. */
    synchronized double totalMass() {
        return tree[1];
    }

    private void evictOldest() {
        int slot = slot(oldestId);
        bytes -= sizes[slot];
        sizes[slot] = 0;
        sequences.set(slot, null);
        setPriority(slot, 0);
        oldestId++;
        evictions++;
    }

    /** Writes the slot's priority and recomputes its path to the root from the children. */
    private void setPriority(int slot, double priority) {
        priorities[slot] = priority;
        int node = leaves + slot;
        // Math.pow(0, 0) is 1, but a priority of 0 must stay undrawable also at exponent 0.
        tree[node] = priority == 0 ? 0 : Math.pow(priority, priorityExponent);
        // Summing children rather than adding a delta keeps the tree free of drift.
        for (node >>= 1; node >= 1; node >>= 1) {
            tree[node] = tree[2 * node] + tree[2 * node + 1];
        }
    }

    /**
     * The slot whose cumulative-mass interval holds {@code u}, in [0, total). Only enters subtrees
     * of positive mass, so rounding (u - left a hair above right) never ends on an empty slot.
     */
    private int find(double u) {
        int node = 1;
        while (node < leaves) {
            double left = tree[2 * node];
            double right = tree[2 * node + 1];
            if (u < left || right == 0) {
                node = 2 * node;
            } else {
                u -= left;
                node = 2 * node + 1;
            }
        }
        return node - leaves;
    }

    private int slot(long id) {
        return (int) (id % maxSequences);
    }

    /** The live id in {@code slot}: the one in [oldestId, oldestId + maxSequences) congruent to it. */
    private long idOf(int slot) {
        int oldestSlot = slot(oldestId);
        int offset = slot >= oldestSlot ? slot - oldestSlot : slot + maxSequences - oldestSlot;
        return oldestId + offset;
    }

    private static void checkPriority(double priority, String name) {
        if (!(priority >= 0 && priority < Double.POSITIVE_INFINITY)) {
            throw new IllegalArgumentException(name + " must be finite and >= 0, got " + priority);
        }
    }
}
