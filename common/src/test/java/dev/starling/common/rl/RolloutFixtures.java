package dev.starling.common.rl;

import java.util.SplittableRandom;

import dev.starling.common.model.ModelConfig;

/** Random rollouts with chosen done patterns, for tests. */
public final class RolloutFixtures {

    private RolloutFixtures() {
    }

    /** Done pattern of a test batch. */
    public enum Dones { NONE, RANDOM, FIRST_STEP, LAST_STEP, EVERY_STEP }

    public static Rollout random(ModelConfig model, int unroll, int rows, Dones dones, long seed) {
        SplittableRandom rng = new SplittableRandom(seed);
        Rollout r = new Rollout(unroll, rows, model);
        for (int i = 0; i < r.observations.length; i++) {
            r.observations[i] = (float) rng.nextGaussian();
        }
        for (int i = 0; i < r.pixels.length; i++) {
            r.pixels[i] = (byte) rng.nextInt(256);
        }
        for (int i = 0; i < r.initialH.length; i++) {
            r.initialH[i] = (float) (0.5 * rng.nextGaussian());
            r.initialC[i] = (float) (0.5 * rng.nextGaussian());
        }
        for (int i = 0; i < r.continuousActions.length; i++) {
            r.continuousActions[i] = (float) rng.nextGaussian();
        }
        for (int i = 0; i < unroll * rows; i++) {
            if (!model.continuous()) {
                r.actions[i] = rng.nextInt(model.policyOutputs());
            }
            r.rewards[i] = (float) rng.nextGaussian();
            int t = i / rows;
            r.dones[i] = switch (dones) {
                case NONE -> false;
                case RANDOM -> rng.nextDouble() < 0.15;
                case FIRST_STEP -> t == 0;
                case LAST_STEP -> t == unroll - 1;
                case EVERY_STEP -> true;
            };
            // Half the episode ends are time limits, bootstrapped from a value near the others.
            r.truncated[i] = r.dones[i] && rng.nextBoolean();
            r.bootstrapValues[i] = r.truncated[i] ? (float) rng.nextGaussian() : 0f;
            r.behaviourLogProbs[i] = (float) (-1 - 0.3 * Math.abs(rng.nextGaussian()));
        }
        return r;
    }
}
