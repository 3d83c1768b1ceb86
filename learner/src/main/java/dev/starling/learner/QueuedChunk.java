package dev.starling.learner;

import dev.starling.common.rl.Rollout;

/**
 * A validated chunk waiting for training: its decoded steps and the weights version that
 * produced them. The rollout is owned by whoever holds the chunk (the queue, then the trainer).
 */
record QueuedChunk(Rollout rollout, long policyVersion, String actorId, long sequence) {

    /** Environment steps in the chunk (T * K). */
    int frames() {
        return rollout.frames();
    }
}
