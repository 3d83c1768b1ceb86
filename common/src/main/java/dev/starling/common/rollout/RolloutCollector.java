package dev.starling.common.rollout;

import java.util.SplittableRandom;

import dev.starling.common.model.PolicyDistribution;
import dev.starling.common.model.PolicyInference;
import dev.starling.common.rl.Rollout;
import dev.starling.envs.EpisodeSink;
import dev.starling.envs.VectorEnv;
import dev.starling.envs.VectorStep;

/**
 * Plays K environments with the batched policy and fills rollouts of T steps, carrying the
 * environments and the LSTM state from one rollout to the next (each rollout stores the state
 * it started from). At a truncation it asks the policy for the value of the episode's last
 * observation, from the state that saw the episode, before that state is reset: the learner
 * bootstraps from it. Does not own the environment or the policy. Not thread-safe.
 */
public final class RolloutCollector {

    private final VectorEnv env;
    private final PolicyInference policy;
    private final PolicyDistribution distribution;
    private final SplittableRandom rng;
    private final int envs;
    private final int obsSize;
    private final int actionSize;
    private final int stride;
    private final VectorStep step;
    private final float[] out;
    private final float[] logStd;
    private final float[] finalValues;
    private final boolean[] dones;
    /** Charge wall time to the model and to the environments (the benchmark's breakdown). */
    private boolean timed;
    private long envNanos;
    private long modelNanos;

    public RolloutCollector(VectorEnv env, PolicyInference policy, PolicyDistribution distribution, long seed) {
        if (env.numEnvs() != policy.numEnvs()) {
            throw new IllegalArgumentException("env has " + env.numEnvs() + " copies, policy " + policy.numEnvs());
        }
        this.env = env;
        this.policy = policy;
        this.distribution = distribution;
        this.rng = new SplittableRandom(seed);
        this.envs = env.numEnvs();
        this.obsSize = env.observationSize();
        this.actionSize = env.actionSpace().size();
        this.stride = policy.outputsPerEnv();
        this.step = env.newStep();
        this.out = new float[envs * stride];
        this.logStd = new float[distribution instanceof dev.starling.common.model.DiagonalGaussian g ? g.dims() : 0];
        this.finalValues = new float[envs];
        this.dones = new boolean[envs];
        env.reset(step);
        policy.resetAll();
    }

    /**
     * From now on, charges every nanosecond of {@link #collect} to either the environments
     * ({@code VectorEnv.step}, storing its outputs, draining episodes) or the model (the rest),
     * readable with {@link #envNanos()} and {@link #modelNanos()}; {@link #resetClock()} zeroes them.
     */
    public void enableTiming() {
        timed = true;
    }

    public void resetClock() {
        envNanos = 0;
        modelNanos = 0;
    }

    public long envNanos() {
        return envNanos;
    }

    public long modelNanos() {
        return modelNanos;
    }

    /** Plays {@code into.unroll} steps; finished episodes go to {@code episodes}. */
    public void collect(Rollout into, EpisodeSink episodes) {
        if (into.rows != envs || into.observationSize != obsSize || into.actionSize != actionSize) {
            throw new IllegalArgumentException("rollout shape does not match the environments");
        }
        long mark = timed ? System.nanoTime() : 0;
        policy.readState(into.initialH, into.initialC);
        if (logStd.length > 0) {
            policy.readLogStd(logStd);
        }
        float[] obs = step.observations;
        for (int t = 0; t < into.unroll; t++) {
            int base = t * envs;
            System.arraycopy(obs, 0, into.observations, base * obsSize, envs * obsSize);
            policy.step(obs, out);
            for (int k = 0; k < envs; k++) {
                into.behaviourLogProbs[base + k] = distribution.sample(out, k * stride, logStd, rng,
                        step.discreteActions, step.continuousActions, k);
            }
            if (into.continuous) {
                System.arraycopy(step.continuousActions, 0, into.continuousActions, base * actionSize,
                        envs * actionSize);
            } else {
                System.arraycopy(step.discreteActions, 0, into.actions, base, envs);
            }
            if (timed) {
                long now = System.nanoTime();
                modelNanos += now - mark;
                mark = now;
            }
            env.step(step);
            System.arraycopy(step.rewards, 0, into.rewards, base, envs);
            System.arraycopy(step.truncated, 0, into.truncated, base, envs);
            for (int k = 0; k < envs; k++) {
                dones[k] = step.terminated[k] || step.truncated[k];
            }
            System.arraycopy(dones, 0, into.dones, base, envs);
            if (timed) {
                long now = System.nanoTime();
                envNanos += now - mark;
                mark = now;
            }
            if (step.truncations > 0) {
                policy.peekValues(step.finalObservations, finalValues);
                for (int k = 0; k < envs; k++) {
                    into.bootstrapValues[base + k] = step.truncated[k] ? finalValues[k] : 0f;
                }
            } else {
                java.util.Arrays.fill(into.bootstrapValues, base, base + envs, 0f);
            }
            policy.resetWhereDone(dones);
        }
        System.arraycopy(obs, 0, into.observations, into.unroll * envs * obsSize, envs * obsSize);
        if (timed) {
            long now = System.nanoTime();
            modelNanos += now - mark;
            mark = now;
        }
        env.drainEpisodes(episodes);
        if (timed) {
            envNanos += System.nanoTime() - mark;
        }
    }
}
