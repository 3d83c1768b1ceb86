package dev.starling.common.rollout;

import java.util.SplittableRandom;

import dev.starling.common.env.EpisodeSink;
import dev.starling.common.env.VectorEnv;
import dev.starling.common.model.PolicyInference;
import dev.starling.common.rl.Rollout;

/**
 * Plays K environments with the batched policy and fills rollouts of T steps, carrying the
 * environments and the LSTM state from one rollout to the next (each rollout stores the state
 * it started from). Does not own the environment or the policy. Not thread-safe.
 */
public final class RolloutCollector {

    private final VectorEnv env;
    private final PolicyInference policy;
    private final SplittableRandom rng;
    private final int envs;
    private final int obsSize;
    private final int numActions;
    private final float[] obs;
    private final float[] out;
    private final int[] actions;
    private final float[] rewards;
    private final boolean[] dones;

    public RolloutCollector(VectorEnv env, PolicyInference policy, long seed) {
        if (env.numEnvs() != policy.numEnvs()) {
            throw new IllegalArgumentException("env has " + env.numEnvs() + " copies, policy " + policy.numEnvs());
        }
        this.env = env;
        this.policy = policy;
        this.rng = new SplittableRandom(seed);
        this.envs = env.numEnvs();
        this.obsSize = env.observationSize();
        this.numActions = env.numActions();
        this.obs = new float[envs * obsSize];
        this.out = new float[envs * (numActions + 1)];
        this.actions = new int[envs];
        this.rewards = new float[envs];
        this.dones = new boolean[envs];
        env.reset(obs);
        policy.resetAll();
    }

    /** Plays {@code into.unroll} steps; finished episodes go to {@code episodes}. */
    public void collect(Rollout into, EpisodeSink episodes) {
        if (into.rows != envs || into.observationSize != obsSize || into.numActions != numActions) {
            throw new IllegalArgumentException("rollout shape does not match the environments");
        }
        policy.readState(into.initialH, into.initialC);
        int stride = numActions + 1;
        for (int t = 0; t < into.unroll; t++) {
            System.arraycopy(obs, 0, into.observations, t * envs * obsSize, envs * obsSize);
            policy.step(obs, out);
            for (int k = 0; k < envs; k++) {
                actions[k] = sample(out, k * stride, numActions, rng);
            }
            int base = t * envs;
            for (int k = 0; k < envs; k++) {
                System.arraycopy(out, k * stride, into.behaviourLogits, (base + k) * numActions, numActions);
            }
            System.arraycopy(actions, 0, into.actions, base, envs);
            env.step(actions, obs, rewards, dones);
            System.arraycopy(rewards, 0, into.rewards, base, envs);
            System.arraycopy(dones, 0, into.dones, base, envs);
            policy.resetWhereDone(dones);
        }
        System.arraycopy(obs, 0, into.observations, into.unroll * envs * obsSize, envs * obsSize);
        env.drainEpisodes(episodes);
    }

    /** Samples an action from softmax(logits[offset .. offset+n)). */
    public static int sample(float[] logits, int offset, int n, SplittableRandom rng) {
        float max = Float.NEGATIVE_INFINITY;
        for (int j = 0; j < n; j++) {
            max = Math.max(max, logits[offset + j]);
        }
        double sum = 0;
        for (int j = 0; j < n; j++) {
            sum += Math.exp(logits[offset + j] - max);
        }
        double u = rng.nextDouble() * sum;
        for (int j = 0; j < n - 1; j++) {
            u -= Math.exp(logits[offset + j] - max);
            if (u < 0) {
                return j;
            }
        }
        return n - 1;
    }
}
