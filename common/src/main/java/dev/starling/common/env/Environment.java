package dev.starling.common.env;

/**
 * One environment instance.
 *
 * <p>Implementations are on the actor hot path: {@link #reset} and {@link #step} write into
 * caller-provided arrays and must not allocate. Not thread-safe; a {@link VectorEnv} owns its
 * environments and drives them from a single thread.
 */
public interface Environment {

    /** Number of floats in one observation. */
    int observationSize();

    /** Number of discrete actions; valid actions are {@code 0 .. numActions()-1}. */
    int numActions();

    /** Starts a new episode; writes its first observation at obs[offset .. offset+observationSize). */
    void reset(float[] obs, int offset);

    /**
     * Applies a valid action (0..numActions-1, already validated by VectorEnv), writes the next
     * observation at obs[offset..], returns the reward.
     */
    float step(int action, float[] obs, int offset);

    /** True if the last step ended the episode (terminated or truncated by a time limit). */
    boolean episodeEnded();
}
