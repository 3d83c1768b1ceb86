package dev.starling.env;

import java.util.Objects;
import java.util.function.Supplier;
import java.util.regex.Pattern;

/**
 * A named environment, as an {@link EnvironmentProvider} lists it: what {@code --env NAME}
 * selects. The spaces are stated here so that Starling can build the model without creating an
 * instance; every instance the factory creates must report the same spaces.
 *
 * @param name unique name: lower-case letters, digits, {@code .}, {@code _} and {@code -}, such
 *     as {@code warehouse-v1}
 * @param description one line for {@code ./starling train --help} and errors
 * @param observationSpace what every instance observes
 * @param actionSpace what every instance accepts; a {@link Box} must be bounded
 * @param rewardScale suggested multiplier for rewards in the loss, so value targets sit near
 *     unit scale (CartPole's +1 per step over hundreds of steps uses 0.05); 1 if unsure
 * @param factory creates a new, independent instance
 * @param rewardThreshold the average return over 100 episodes at which the task counts as solved
 *     (Gymnasium's {@code reward_threshold}); {@code ./starling train} stops there unless told
 *     otherwise. NaN if there is none
 */
public record EnvironmentDefinition(String name, String description, ObservationSpace observationSpace,
        ActionSpace actionSpace, double rewardScale, Supplier<? extends Environment> factory,
        double rewardThreshold) {

    private static final Pattern NAME = Pattern.compile("[a-z0-9][a-z0-9._-]{0,63}");

    public EnvironmentDefinition {
        Objects.requireNonNull(name, "name");
        if (!NAME.matcher(name).matches()) {
            throw new IllegalArgumentException("environment name '" + name + "' must be 1-64 lower-case letters,"
                    + " digits, '.', '_' or '-', starting with a letter or digit");
        }
        Objects.requireNonNull(description, "description");
        Objects.requireNonNull(observationSpace, "observationSpace of " + name);
        Objects.requireNonNull(actionSpace, "actionSpace of " + name);
        if (actionSpace instanceof Box b && !b.isBounded()) {
            throw new IllegalArgumentException("environment '" + name + "': a continuous action box needs finite"
                    + " bounds, got " + b);
        }
        if (!(rewardScale > 0) || Double.isInfinite(rewardScale)) {
            throw new IllegalArgumentException("environment '" + name + "': rewardScale must be finite and > 0, got "
                    + rewardScale);
        }
        Objects.requireNonNull(factory, "factory of " + name);
        if (Double.isInfinite(rewardThreshold)) {
            throw new IllegalArgumentException("environment '" + name + "': rewardThreshold must be finite or NaN (none)");
        }
    }

    /** A definition without a reward threshold. */
    public EnvironmentDefinition(String name, String description, ObservationSpace observationSpace,
            ActionSpace actionSpace, double rewardScale, Supplier<? extends Environment> factory) {
        this(name, description, observationSpace, actionSpace, rewardScale, factory, Double.NaN);
    }

    /** This definition with the return at which the task counts as solved. */
    public EnvironmentDefinition withRewardThreshold(double threshold) {
        return new EnvironmentDefinition(name, description, observationSpace, actionSpace, rewardScale, factory,
                threshold);
    }

    /** True if the definition states a reward threshold. */
    public boolean hasRewardThreshold() {
        return !Double.isNaN(rewardThreshold);
    }

    /** A definition with reward scale 1 and no reward threshold. */
    public static EnvironmentDefinition of(String name, String description, ObservationSpace observationSpace,
            ActionSpace actionSpace, Supplier<? extends Environment> factory) {
        return new EnvironmentDefinition(name, description, observationSpace, actionSpace, 1.0, factory);
    }

    /**
     * A new instance, checked against the stated spaces.
     *
     * @throws IllegalStateException if the factory returned null or an instance with other spaces
     */
    public Environment create() {
        Environment env = factory.get();
        if (env == null) {
            throw new IllegalStateException("the factory of environment '" + name + "' returned null");
        }
        if (!observationSpace.equals(env.observationSpace()) || !actionSpace.equals(env.actionSpace())) {
            throw new IllegalStateException("environment '" + name + "' is defined with observation space "
                    + observationSpace.describe() + " and action space " + actionSpace.describe()
                    + " but an instance reports " + env.observationSpace() + " and " + env.actionSpace());
        }
        return env;
    }
}
