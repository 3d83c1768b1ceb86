package dev.starling.envs;

import dev.starling.env.ActionSpace;
import dev.starling.env.Discrete;
import dev.starling.env.ObservationSpace;

/**
 * The caller-owned buffers of one {@link VectorEnv} step over {@code K} environments, reused
 * from step to step so the hot path does not allocate. Made by {@link VectorEnv#newStep()}.
 *
 * <p>Before {@link VectorEnv#step}: the actions. After it: the next observations (for an
 * environment whose episode ended, the first observation of its new episode), the rewards,
 * {@code terminated} and {@code truncated} (at most one of them per environment), and for every
 * truncated environment its episode's last observation in {@code finalObservations}, which the
 * actor needs to bootstrap the value there.
 */
public final class VectorStep {

    /** {@code [K]}: the action of each environment (discrete action spaces; empty otherwise). */
    public final int[] discreteActions;
    /**
     * {@code [K, D]}: the action of each environment (continuous action spaces; empty otherwise),
     * as sampled: the vector environment clips a copy to the bounds, this array keeps the sample.
     */
    public final float[] continuousActions;
    /** {@code [K, observationSize]}: written by reset and step. */
    public final float[] observations;
    /** {@code [K]}. */
    public final float[] rewards;
    /** {@code [K]}: the step reached a terminal state (a new episode has started). */
    public final boolean[] terminated;
    /** {@code [K]}: the step hit a time limit (a new episode has started). */
    public final boolean[] truncated;
    /** {@code [K, observationSize]}: row k is the last observation of a truncated episode. */
    public final float[] finalObservations;
    /** How many environments the last step truncated. */
    public int truncations;

    /** Buffers for {@code numEnvs} environments of these spaces. */
    public static VectorStep of(int numEnvs, ObservationSpace observationSpace, ActionSpace actionSpace) {
        boolean discrete = actionSpace instanceof Discrete;
        int actions = Math.multiplyExact(numEnvs, actionSpace.size());
        return new VectorStep(numEnvs, observationSpace.size(), discrete ? numEnvs : 0, discrete ? 0 : actions);
    }

    private VectorStep(int numEnvs, int observationSize, int discrete, int continuous) {
        discreteActions = new int[discrete];
        continuousActions = new float[continuous];
        observations = new float[Math.multiplyExact(numEnvs, observationSize)];
        rewards = new float[numEnvs];
        terminated = new boolean[numEnvs];
        truncated = new boolean[numEnvs];
        finalObservations = new float[observations.length];
    }

    /**
     * Checks that these buffers were made for {@code env} (its {@link VectorEnvironment#newStep()}).
     *
     * @throws IllegalArgumentException naming the environment, if not
     */
    public void checkMadeFor(VectorEnvironment env) {
        boolean discrete = env.actionSpace() instanceof Discrete;
        int k = env.numEnvs();
        int actions = k * env.actionSpace().size();
        if (observations.length != k * env.observationSize() || rewards.length != k
                || discreteActions.length != (discrete ? k : 0) || continuousActions.length != (discrete ? 0 : actions)) {
            throw new IllegalArgumentException("step buffers were made for another vector environment than '"
                    + env.name() + "' (" + k + " x " + env.observationSpace() + " / " + env.actionSpace()
                    + "): use newStep()");
        }
    }

    /**
     * Checks the actions before any environment is stepped: a discrete action within the space, a
     * continuous one not NaN (it is clipped to the box on its way into the environment).
     *
     * @throws IllegalArgumentException naming the environment and the value
     */
    public void checkActions(ActionSpace space) {
        if (space instanceof Discrete d) {
            for (int k = 0; k < discreteActions.length; k++) {
                if (!d.contains(discreteActions[k])) {
                    throw new IllegalArgumentException("action " + discreteActions[k] + " for environment " + k
                            + " is out of range [0, " + d.n() + ")");
                }
            }
        } else {
            int size = space.size();
            for (int i = 0; i < continuousActions.length; i++) {
                if (Float.isNaN(continuousActions[i])) {
                    throw new IllegalArgumentException("action value " + i % size + " for environment " + i / size
                            + " is NaN");
                }
            }
        }
    }

    /** True if environment k's episode ended with the last step (terminated or truncated). */
    public boolean done(int k) {
        return terminated[k] || truncated[k];
    }
}
