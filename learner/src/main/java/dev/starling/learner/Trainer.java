package dev.starling.learner;

/**
 * The learner's training thread, one implementation per mode: {@link TrainerLoop} (impala:
 * V-trace on each batch of chunks) and {@link R2d2Trainer} (r2d2: a replay
 * of sequences). It takes chunks from the {@link ChunkQueue}, updates the model and hands
 * snapshots to the {@link Publisher}. {@link #stop()} and {@link #hold(boolean)} may be called
 * from any thread; the rest before the thread starts or after it ended.
 */
public interface Trainer extends Runnable {

    /** Counts {@code updates} applied by earlier learners; the weights were just restored (call before the thread starts). */
    void resumeFrom(long updatesBefore);

    /** Asks the loop to end after the current update. */
    void stop();

    /** Fault-injection point: while {@code true}, the trainer leaves the queue alone. */
    void hold(boolean value);

    /** The current weights, with the optimizer state if asked. */
    Publisher.Snapshot snapshot(boolean withOptimizerState);

    /** Releases what the trainer owns beyond the learner's model and optimizer (after the thread ended). */
    default void close() {
    }
}
