package dev.starling.envs;

import dev.starling.env.ActionSpace;
import dev.starling.env.Discrete;
import dev.starling.env.Image;
import dev.starling.env.Observation;
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
 *
 * <p>Observations of a {@link dev.starling.env.Box} are floats ({@link #observations}); those of
 * an {@link Image} are one byte per pixel ({@link #pixels}) all the way to the learner's device,
 * a quarter of the memory and of the bytes on the wire. The other pair of arrays is empty.
 */
public final class VectorStep {

    /** {@code [K]}: the action of each environment (discrete action spaces; empty otherwise). */
    public final int[] discreteActions;
    /**
     * {@code [K, D]}: the action of each environment (continuous action spaces; empty otherwise),
     * as sampled: the vector environment clips a copy to the bounds, this array keeps the sample.
     */
    public final float[] continuousActions;
    /** {@code [K, observationSize]}: written by reset and step (box observations; empty for images). */
    public final float[] observations;
    /** {@code [K, observationSize]}: pixels 0..255 written by reset and step (images; empty for boxes). */
    public final byte[] pixels;
    /** {@code [K]}. */
    public final float[] rewards;
    /** {@code [K]}: the step reached a terminal state (a new episode has started). */
    public final boolean[] terminated;
    /** {@code [K]}: the step hit a time limit (a new episode has started). */
    public final boolean[] truncated;
    /** {@code [K, observationSize]}: row k is the last observation of a truncated episode (boxes). */
    public final float[] finalObservations;
    /** {@code [K, observationSize]}: row k is the last frame of a truncated episode (images). */
    public final byte[] finalPixels;
    /** Values in one observation. */
    public final int observationSize;
    /** How many environments the last step truncated. */
    public int truncations;

    /** Buffers for {@code numEnvs} environments of these spaces. */
    public static VectorStep of(int numEnvs, ObservationSpace observationSpace, ActionSpace actionSpace) {
        boolean discrete = actionSpace instanceof Discrete;
        int actions = Math.multiplyExact(numEnvs, actionSpace.size());
        return new VectorStep(numEnvs, observationSpace.size(), observationSpace instanceof Image,
                discrete ? numEnvs : 0, discrete ? 0 : actions);
    }

    private VectorStep(int numEnvs, int observationSize, boolean images, int discrete, int continuous) {
        int values = Math.multiplyExact(numEnvs, observationSize);
        this.observationSize = observationSize;
        discreteActions = new int[discrete];
        continuousActions = new float[continuous];
        observations = new float[images ? 0 : values];
        pixels = new byte[images ? values : 0];
        rewards = new float[numEnvs];
        terminated = new boolean[numEnvs];
        truncated = new boolean[numEnvs];
        finalObservations = new float[observations.length];
        finalPixels = new byte[pixels.length];
    }

    /** True if the observations are images ({@link #pixels}) rather than floats. */
    public boolean images() {
        return pixels.length > 0;
    }

    /** A window into the observation rows, for environments to write into ({@link Observation#moveTo}). */
    public Observation observationWindow() {
        return images() ? Observation.ofBytes(pixels, observationSize) : Observation.ofFloats(observations, observationSize);
    }

    /** Keeps environment k's current observation as its episode's last one (it was truncated). */
    public void keepFinal(int k) {
        int from = k * observationSize;
        if (images()) {
            System.arraycopy(pixels, from, finalPixels, from, observationSize);
        } else {
            System.arraycopy(observations, from, finalObservations, from, observationSize);
        }
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
        boolean images = env.observationSpace() instanceof Image;
        if (observationSize != env.observationSize() || images != images() || rewards.length != k
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
