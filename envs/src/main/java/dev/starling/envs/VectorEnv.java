package dev.starling.envs;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.SplittableRandom;

import dev.starling.env.Action;
import dev.starling.env.ActionSpace;
import dev.starling.env.Box;
import dev.starling.env.Discrete;
import dev.starling.env.Environment;
import dev.starling.env.EnvironmentDefinition;
import dev.starling.env.Observation;
import dev.starling.env.ObservationSpace;

/**
 * {@code K} environments of the same kind stepped together in this process, on the caller's
 * thread, with automatic reset and episode statistics.
 *
 * <p>Observations are laid out row-major as {@code [K, observationSize]} (floats, or bytes for images). When an environment's
 * episode ends during {@link #step}, it is reset at once and its row of observations holds the
 * first observation of the new episode (auto-reset, as in IMPALA and Sample Factory); a
 * truncated episode's last observation goes to {@link VectorStep#finalObservations} (or {@code finalPixels}).
 *
 * <p>Seeding: the {@code k}-th environment gets the {@code k}-th {@code split()} of
 * {@code new SplittableRandom(seed)}, and each of its resets the next long of that stream, so
 * the same seed reproduces the same episodes and the environments are independent.
 *
 * <p>The step path allocates nothing but what an environment's reset does once per episode: all
 * outputs go into the caller's {@link VectorStep}, and
 * finished episodes are buffered in primitive arrays that only grow until the largest backlog
 * between two {@link #drainEpisodes} calls is reached.
 *
 * <p>Not thread-safe: one actor thread owns a {@code VectorEnv} and its environments.
 */
public final class VectorEnv implements VectorEnvironment {

    private final String name;
    private final Environment[] envs;
    private final SplittableRandom[] seeds;
    private final int numEnvs;
    private final ObservationSpace observationSpace;
    private final ActionSpace actionSpace;
    private final int obsSize;
    private final int actionSize;
    private final int[] discreteScratch;
    private final float[] clippedScratch;
    private final Action actionWindow;

    private final EpisodeTally tally;
    private long totalSteps;
    private boolean started;
    /** The buffers of the last reset; steps must use the same ones (the observation rows carry over). */
    private VectorStep current;
    private Observation currentWindow;

    /** {@code numEnvs} new instances of {@code definition}, seeded from {@code seed}. */
    public VectorEnv(EnvironmentDefinition definition, int numEnvs, long seed) {
        this(definition.name(), instances(definition, numEnvs), seed);
    }

    /**
     * @param name environment name, reported by {@link #name()} and in errors
     * @param envs the environments; this object drives them from now on
     * @throws IllegalArgumentException if {@code envs} is empty or the spaces differ
     */
    public VectorEnv(String name, List<? extends Environment> envs, long seed) {
        this.name = Objects.requireNonNull(name, "name");
        Objects.requireNonNull(envs, "envs");
        if (envs.isEmpty()) {
            throw new IllegalArgumentException("a VectorEnv needs at least one environment");
        }
        this.envs = envs.toArray(new Environment[0]);
        this.numEnvs = this.envs.length;
        for (int k = 0; k < numEnvs; k++) {
            Objects.requireNonNull(this.envs[k], "environment " + k + " is null");
        }
        this.observationSpace = Objects.requireNonNull(this.envs[0].observationSpace(), "observation space");
        this.actionSpace = Objects.requireNonNull(this.envs[0].actionSpace(), "action space");
        for (int k = 1; k < numEnvs; k++) {
            Environment env = this.envs[k];
            if (!observationSpace.equals(env.observationSpace()) || !actionSpace.equals(env.actionSpace())) {
                throw new IllegalArgumentException("environment " + k + " of '" + name + "' has spaces "
                        + env.observationSpace() + " / " + env.actionSpace() + " but environment 0 has "
                        + observationSpace + " / " + actionSpace);
            }
        }
        this.obsSize = observationSpace.size();
        this.actionSize = actionSpace.size();
        SplittableRandom root = new SplittableRandom(seed);
        this.seeds = new SplittableRandom[numEnvs];
        for (int k = 0; k < numEnvs; k++) {
            seeds[k] = root.split();
        }
        if (actionSpace instanceof Discrete) {
            discreteScratch = new int[1];
            clippedScratch = null;
            actionWindow = Action.ofDiscrete(discreteScratch);
        } else {
            discreteScratch = null;
            clippedScratch = new float[actionSize];
            actionWindow = Action.ofContinuous(clippedScratch, actionSize);
        }
        this.tally = new EpisodeTally(numEnvs);
    }

    private static List<Environment> instances(EnvironmentDefinition definition, int numEnvs) {
        if (numEnvs < 1) {
            throw new IllegalArgumentException("numEnvs must be >= 1, got " + numEnvs);
        }
        List<Environment> list = new ArrayList<>(numEnvs);
        for (int k = 0; k < numEnvs; k++) {
            list.add(definition.create());
        }
        return list;
    }

    @Override
    public int numEnvs() {
        return numEnvs;
    }

    @Override
    public ObservationSpace observationSpace() {
        return observationSpace;
    }

    @Override
    public ActionSpace actionSpace() {
        return actionSpace;
    }

    @Override
    public int observationSize() {
        return obsSize;
    }

    /** Environment name given at construction. */
    @Override
    public String name() {
        return name;
    }

    /**
     * Resets every environment and writes the first observations into {@code into}. Episodes in
     * progress are abandoned without being recorded; finished episodes not yet drained are kept.
     */
    @Override
    public void reset(VectorStep into) {
        Objects.requireNonNull(into, "step buffers").checkMadeFor(this);
        Observation obs = into == current ? currentWindow : into.observationWindow();
        for (int k = 0; k < numEnvs; k++) {
            envs[k].reset(seeds[k].nextLong(), obs.moveTo(k));
            tally.abandon(k);
        }
        Arrays.fill(into.terminated, false);
        Arrays.fill(into.truncated, false);
        into.truncations = 0;
        current = into;
        currentWindow = obs;
        started = true;
    }

    /**
     * Steps every environment once with the actions in {@code s}. All actions are validated
     * before any environment is stepped, so an invalid action leaves every environment and
     * statistic unchanged. Continuous actions are clipped to the action box on the way in.
     *
     * @throws IllegalArgumentException on an invalid discrete action or a NaN continuous one
     * @throws IllegalStateException if {@link #reset} was not called with these buffers
     */
    @Override
    public void step(VectorStep s) {
        Objects.requireNonNull(s, "step buffers").checkMadeFor(this);
        if (!started) {
            throw new IllegalStateException("VectorEnv '" + name + "': step() called before reset()");
        }
        if (s != current) {
            throw new IllegalStateException("VectorEnv '" + name + "': step() needs the buffers of the last reset()");
        }
        s.checkActions(actionSpace);
        Observation obs = currentWindow;
        int truncations = 0;
        for (int k = 0; k < numEnvs; k++) {
            Environment env = envs[k];
            float reward = env.step(action(s, k), obs.moveTo(k));
            if (!Float.isFinite(reward)) {
                throw new IllegalStateException("environment " + k + " of '" + name + "' returned reward " + reward
                        + "; rewards must be finite");
            }
            s.rewards[k] = reward;
            tally.add(k, reward);
            boolean terminated = env.terminated();
            boolean truncated = !terminated && env.truncated();
            s.terminated[k] = terminated;
            s.truncated[k] = truncated;
            if (terminated || truncated) {
                if (truncated) {
                    s.keepFinal(k);
                    truncations++;
                }
                tally.end(k);
                env.reset(seeds[k].nextLong(), obs.moveTo(k));
            }
        }
        s.truncations = truncations;
        totalSteps += numEnvs;
    }

    private Action action(VectorStep s, int k) {
        if (discreteScratch != null) {
            discreteScratch[0] = s.discreteActions[k];
        } else {
            Box box = (Box) actionSpace;
            int base = k * actionSize;
            for (int i = 0; i < actionSize; i++) {
                clippedScratch[i] = box.clip(i, s.continuousActions[base + i]);
            }
        }
        return actionWindow;
    }

    /** In-process environments do the whole step here, on the caller's thread. */
    @Override
    public void startStep(VectorStep s) {
        step(s);
    }

    /** Nothing left to wait for: {@link #startStep} did the work. */
    @Override
    public void finishStep(VectorStep s) {
    }

    @Override
    public int drainEpisodes(EpisodeSink sink) {
        return tally.drain(sink);
    }

    /** Environment steps taken so far, summed over all {@code K} environments. */
    public long totalSteps() {
        return totalSteps;
    }

    /** Episodes finished so far, drained or not. */
    public long totalEpisodes() {
        return tally.episodes();
    }
}
