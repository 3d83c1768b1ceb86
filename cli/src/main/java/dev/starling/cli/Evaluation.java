package dev.starling.cli;

import java.io.IOException;
import java.nio.file.Path;

import dev.starling.env.EnvironmentDefinition;
import dev.starling.envs.EnvironmentSource;
import dev.starling.envs.VectorEnvironment;
import dev.starling.envs.VectorStep;
import dev.starling.policy.Batch;
import dev.starling.policy.Policy;

/**
 * What {@code eval} measures, in one place: a checkpoint's policy plays {@code episodes} episodes,
 * each the first episode of its own environment copy (so short episodes do not bias the mean),
 * all stepped together as one {@link Batch}. {@code train} judges "solved" with the same
 * measurement on the same seeds, so a solved run is one that {@code eval} reports as solved.
 */
final class Evaluation {

    static final int DEFAULT_EPISODES = 100;
    static final long DEFAULT_SEED = 12345;
    /** Mixed into the environment seed for the sampling generator, so the two streams differ. */
    private static final long SAMPLING_SEED_MIX = 0x9E3779B97F4A7C15L;

    /** The outcome: mean and standard deviation of the episode returns, and the weights version played. */
    record Result(double mean, double std, int episodes, long version) {
    }

    private Evaluation() {
    }

    /**
     * Plays {@code checkpoint} (a file, or a folder as {@link Policy#load} takes it) on environments
     * from {@code source}: {@code episodes} of them, in this process or in environment servers.
     *
     * @param greedy take the most likely action instead of sampling (training samples)
     * @throws IllegalArgumentException if the checkpoint's spaces are not {@code env}'s
     */
    static Result run(Path checkpoint, EnvironmentSource source, int episodes, long seed, boolean greedy)
            throws IOException {
        if (episodes < 1 || episodes > 100_000) {
            throw new IllegalArgumentException("episodes must be in [1, 100000], got " + episodes);
        }
        EnvironmentDefinition env = source.definition();
        double[] returns = new double[episodes];
        long version;
        try (Policy policy = greedy ? Policy.load(checkpoint) : Policy.loadSampling(checkpoint, seed ^ SAMPLING_SEED_MIX)) {
            if (!policy.observationSpace().equals(env.observationSpace())
                    || !policy.actionSpace().equals(env.actionSpace())) {
                throw new IllegalArgumentException("the checkpoint's model observes " + policy.observationSpace()
                        + " and acts in " + policy.actionSpace() + ", but " + env.name() + " has "
                        + env.observationSpace() + " and " + env.actionSpace());
            }
            version = policy.version();
            // In rounds of at most what the source opens at once (environment servers host a few per
            // stream); every episode is still the first of its own environment copy.
            int done = 0;
            for (int round = 0; done < episodes; round++) {
                int n = Math.min(source.batchLimit(), episodes - done);
                double[] part = new double[n];
                try (VectorEnvironment envs = source.open(n, seed + round); Batch batch = policy.newBatch(n)) {
                    play(envs, batch, policy.continuous(), part);
                }
                System.arraycopy(part, 0, returns, done, n);
                done += n;
            }
        }
        double mean = 0;
        for (double r : returns) {
            mean += r;
        }
        mean /= episodes;
        double var = 0;
        for (double r : returns) {
            var += (r - mean) * (r - mean);
        }
        return new Result(mean, Math.sqrt(var / episodes), episodes, version);
    }

    /** Steps every environment until each has finished its first episode. */
    private static void play(VectorEnvironment envs, Batch policy, boolean continuous, double[] returns) {
        int k = envs.numEnvs();
        VectorStep step = envs.newStep();
        boolean[] dones = new boolean[k];
        boolean[] finished = new boolean[k];
        envs.reset(step);
        int remaining = k;
        while (remaining > 0) {
            if (step.images() && continuous) {
                policy.act(step.pixels, step.continuousActions);
            } else if (step.images()) {
                policy.act(step.pixels, step.discreteActions);
            } else if (continuous) {
                policy.act(step.observations, step.continuousActions);
            } else {
                policy.act(step.observations, step.discreteActions);
            }
            envs.step(step);
            for (int e = 0; e < k; e++) {
                dones[e] = step.done(e);
                if (!finished[e]) {
                    returns[e] += step.rewards[e];
                    if (dones[e]) {
                        finished[e] = true;
                        remaining--;
                    }
                }
            }
            policy.reset(dones);
        }
    }
}
