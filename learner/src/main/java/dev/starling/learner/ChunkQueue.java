package dev.starling.learner;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The bounded queue between the PushTrajectories streams (producers) and the trainer (the one
 * consumer). {@link #offer} never blocks and never exceeds the capacity: a stream that finds it
 * full stops asking its client for chunks until the trainer makes room (see
 * {@link LearnerService}). The trainer takes whole batches with {@link #takeBatch}.
 *
 * <p>Thread-safe.
 */
final class ChunkQueue {

    private final int capacity;
    private final ArrayDeque<QueuedChunk> items;
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition added = lock.newCondition();

    ChunkQueue(int capacity) {
        if (capacity < 1) {
            throw new IllegalArgumentException("queue capacity must be >= 1, got " + capacity);
        }
        this.capacity = capacity;
        this.items = new ArrayDeque<>(capacity);
    }

    /** Appends the chunk if there is room; false (and nothing changed) if the queue is full. */
    boolean offer(QueuedChunk chunk) {
        lock.lock();
        try {
            if (items.size() >= capacity) {
                return false;
            }
            items.addLast(chunk);
            added.signalAll();
            return true;
        } finally {
            lock.unlock();
        }
    }

    /**
     * Waits until at least {@code n} chunks are queued and removes the oldest {@code n}.
     *
     * @return the chunks in arrival order, or null if fewer than {@code n} arrived in time
     */
    List<QueuedChunk> takeBatch(int n, long timeout, TimeUnit unit) throws InterruptedException {
        if (n < 1 || n > capacity) {
            throw new IllegalArgumentException("batch of " + n + " does not fit a queue of " + capacity);
        }
        long remaining = unit.toNanos(timeout);
        lock.lock();
        try {
            while (items.size() < n) {
                if (remaining <= 0) {
                    return null;
                }
                remaining = added.awaitNanos(remaining);
            }
            List<QueuedChunk> batch = new ArrayList<>(n);
            for (int i = 0; i < n; i++) {
                batch.add(items.pollFirst());
            }
            return batch;
        } finally {
            lock.unlock();
        }
    }

    int size() {
        lock.lock();
        try {
            return items.size();
        } finally {
            lock.unlock();
        }
    }

    boolean hasRoom() {
        return size() < capacity;
    }

    int capacity() {
        return capacity;
    }

    /** Drops everything queued (at shutdown); returns how many chunks were dropped. */
    int clear() {
        lock.lock();
        try {
            int n = items.size();
            items.clear();
            return n;
        } finally {
            lock.unlock();
        }
    }
}
