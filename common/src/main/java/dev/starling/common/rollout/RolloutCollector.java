package dev.starling.common.rollout;

import java.util.List;
import java.util.SplittableRandom;

import dev.starling.common.model.PolicyDistribution;
import dev.starling.common.model.PolicyInference;
import dev.starling.common.rl.Rollout;
import dev.starling.envs.EpisodeSink;
import dev.starling.envs.VectorEnvironment;
import dev.starling.envs.VectorStep;

/**
 * Plays K environments with the batched policy and fills rollouts of T steps, carrying the
 * environments and the LSTM state from one rollout to the next (each rollout stores the state
 * it started from). At a truncation it asks the policy for the value of the episode's last
 * observation, from the state that saw the episode, before that state is reset: the learner
 * bootstraps from it. Does not own the environments or the policies. Not thread-safe.
 *
 * <p>The K environments may come as several groups ("lanes"), each with its own policy state,
 * filling consecutive rows of the rollout. With two lanes the play is double-buffered (Sample
 * Factory's double-buffered sampling): while one lane's environments step (in an environment
 * server), the policy runs on the other's, so a slow environment hides behind inference. With one
 * lane it is the plain loop: infer, step, infer, step.
 */
public final class RolloutCollector {

    /** One group of environments with its policy, its step buffers and its rows in the rollout. */
    private static final class Lane {
        final VectorEnvironment env;
        final PolicyInference policy;
        final int firstRow;
        final int envs;
        final VectorStep step;
        final float[] out;
        final float[] finalValues;
        final boolean[] dones;

        Lane(VectorEnvironment env, PolicyInference policy, int firstRow, int stride) {
            if (env.numEnvs() != policy.numEnvs()) {
                throw new IllegalArgumentException("env has " + env.numEnvs() + " copies, policy " + policy.numEnvs());
            }
            this.env = env;
            this.policy = policy;
            this.firstRow = firstRow;
            this.envs = env.numEnvs();
            this.step = env.newStep();
            this.out = new float[envs * stride];
            this.finalValues = new float[envs];
            this.dones = new boolean[envs];
        }
    }

    private final Lane[] lanes;
    private final PolicyDistribution distribution;
    private final SplittableRandom rng;
    private final int envs;
    private final int obsSize;
    private final boolean images;
    private final int actionSize;
    private final int stride;
    private final float[] logStd;
    /** Charge wall time to the model and to the environments (the benchmark's breakdown). */
    private boolean timed;
    private long envNanos;
    private long modelNanos;
    private long mark;

    /** The plain loop over one group of environments. */
    public RolloutCollector(VectorEnvironment env, PolicyInference policy, PolicyDistribution distribution, long seed) {
        this(List.of(env), List.of(policy), distribution, seed);
    }

    /**
     * Environments in lanes: lane i's environments are played by {@code policies.get(i)} and fill
     * the rows after lane i-1's. Two lanes double-buffer.
     */
    public RolloutCollector(List<? extends VectorEnvironment> envs, List<PolicyInference> policies,
            PolicyDistribution distribution, long seed) {
        if (envs.isEmpty() || envs.size() != policies.size()) {
            throw new IllegalArgumentException("need one policy per group of environments, got " + envs.size()
                    + " groups and " + policies.size() + " policies");
        }
        this.stride = policies.get(0).outputsPerEnv();
        this.lanes = new Lane[envs.size()];
        int rows = 0;
        for (int i = 0; i < lanes.length; i++) {
            lanes[i] = new Lane(envs.get(i), policies.get(i), rows, stride);
            rows += lanes[i].envs;
            if (!envs.get(i).observationSpace().equals(envs.get(0).observationSpace())
                    || !envs.get(i).actionSpace().equals(envs.get(0).actionSpace())) {
                throw new IllegalArgumentException("every group of environments needs the same spaces");
            }
        }
        this.envs = rows;
        this.distribution = distribution;
        this.rng = new SplittableRandom(seed);
        this.obsSize = envs.get(0).observationSize();
        this.images = lanes[0].step.images();
        this.actionSize = envs.get(0).actionSpace().size();
        this.logStd = new float[distribution instanceof dev.starling.common.model.DiagonalGaussian g ? g.dims() : 0];
        for (Lane lane : lanes) {
            lane.env.reset(lane.step);
            lane.policy.resetAll();
        }
    }

    /**
     * From now on, charges every nanosecond of {@link #collect} to either the environments
     * (starting and finishing their steps, storing the outputs, draining episodes) or the model
     * (the rest), readable with {@link #envNanos()} and {@link #modelNanos()}; {@link #resetClock()}
     * zeroes them.
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

    /** Environments played, over all lanes. */
    public int numEnvs() {
        return envs;
    }

    /**
     * Plays {@code into.unroll} steps; finished episodes go to {@code episodes}. Each lane's step
     * t is finished just before its step t+1 is inferred, so with two lanes one lane's
     * environments step while the policy runs on the other's.
     */
    public void collect(Rollout into, EpisodeSink episodes) {
        if (into.rows != envs || into.observationSize != obsSize || into.images != images
                || into.actionSize != actionSize) {
            throw new IllegalArgumentException("rollout shape does not match the environments");
        }
        mark = timed ? System.nanoTime() : 0;
        for (Lane lane : lanes) {
            lane.policy.readState(into.initialH, into.initialC, lane.firstRow);
        }
        if (logStd.length > 0) {
            lanes[0].policy.readLogStd(logStd);
        }
        for (int t = 0; t < into.unroll; t++) {
            for (Lane lane : lanes) {
                if (t > 0) {
                    finish(lane, t - 1, into);
                }
                act(lane, t, into);
            }
        }
        for (Lane lane : lanes) {
            finish(lane, into.unroll - 1, into);
            storeObservations(lane, into.unroll, into);
        }
        chargeModel();
        for (Lane lane : lanes) {
            lane.env.drainEpisodes(episodes);
        }
        chargeEnv();
    }

    /** Records the lane's observations, infers and samples its actions, and starts its step. */
    private void act(Lane lane, int t, Rollout into) {
        int base = t * envs + lane.firstRow;
        VectorStep step = lane.step;
        storeObservations(lane, t, into);
        if (images) {
            lane.policy.step(step.pixels, lane.out);
        } else {
            lane.policy.step(step.observations, lane.out);
        }
        for (int k = 0; k < lane.envs; k++) {
            into.behaviourLogProbs[base + k] = distribution.sample(lane.out, k * stride, logStd, rng,
                    step.discreteActions, step.continuousActions, k);
        }
        if (into.continuous) {
            System.arraycopy(step.continuousActions, 0, into.continuousActions, base * actionSize,
                    lane.envs * actionSize);
        } else {
            System.arraycopy(step.discreteActions, 0, into.actions, base, lane.envs);
        }
        chargeModel();
        lane.env.startStep(step);
        chargeEnv();
    }

    /** Waits for the lane's step t, stores its outcome, bootstraps truncations, resets finished states. */
    private void finish(Lane lane, int t, Rollout into) {
        int base = t * envs + lane.firstRow;
        VectorStep step = lane.step;
        lane.env.finishStep(step);
        System.arraycopy(step.rewards, 0, into.rewards, base, lane.envs);
        System.arraycopy(step.truncated, 0, into.truncated, base, lane.envs);
        for (int k = 0; k < lane.envs; k++) {
            lane.dones[k] = step.terminated[k] || step.truncated[k];
        }
        System.arraycopy(lane.dones, 0, into.dones, base, lane.envs);
        chargeEnv();
        if (step.truncations > 0) {
            if (images) {
                lane.policy.peekValues(step.finalPixels, lane.finalValues);
            } else {
                lane.policy.peekValues(step.finalObservations, lane.finalValues);
            }
            for (int k = 0; k < lane.envs; k++) {
                into.bootstrapValues[base + k] = step.truncated[k] ? lane.finalValues[k] : 0f;
            }
        } else {
            java.util.Arrays.fill(into.bootstrapValues, base, base + lane.envs, 0f);
        }
        lane.policy.resetWhereDone(lane.dones);
    }

    /** Copies the lane's current observations into x_t of the rollout. */
    private void storeObservations(Lane lane, int t, Rollout into) {
        int at = (t * envs + lane.firstRow) * obsSize;
        if (images) {
            System.arraycopy(lane.step.pixels, 0, into.pixels, at, lane.envs * obsSize);
        } else {
            System.arraycopy(lane.step.observations, 0, into.observations, at, lane.envs * obsSize);
        }
    }

    private void chargeModel() {
        if (timed) {
            long now = System.nanoTime();
            modelNanos += now - mark;
            mark = now;
        }
    }

    private void chargeEnv() {
        if (timed) {
            long now = System.nanoTime();
            envNanos += now - mark;
            mark = now;
        }
    }
}
