package dev.starling.common.env;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.SplittableRandom;

/**
 * Registry of the built-in environments, by name.
 *
 * <ul>
 *   <li>{@code "cartpole"}: {@link CartPole}, Gymnasium CartPole-v1.
 *   <li>{@code "masked-cartpole"}: {@link MaskedCartPole}, CartPole observing only {@code [x,
 *       theta]}.
 *   <li>{@code "repeat-previous"}: {@link RepeatPrevious}, POPGym RepeatPreviousEasy.
 *   <li>{@code "scripted"}: {@link ScriptedEnv} with episode length {@value
 *       ScriptedEnv#DEFAULT_EPISODE_LENGTH}.
 * </ul>
 *
 * <p>Seeding: {@link #create} builds a root {@code new SplittableRandom(seed)} and gives the
 * {@code k}-th environment the {@code k}-th {@code root.split()}, so the same seed reproduces the
 * same trajectories and the environments of one {@link VectorEnv} are independent.
 */
public final class Environments {

    private static final List<EnvInfo> INFOS = List.of(
            new EnvInfo("cartpole", 4, 2,
                    "Gymnasium CartPole-v1: balance a pole, reward 1 per step, 500-step limit", 0.05),
            new EnvInfo("masked-cartpole", 2, 2,
                    "CartPole-v1 observing only [x, theta]; velocities need memory", 0.05),
            new EnvInfo("repeat-previous", RepeatPrevious.NUM_SUITS, RepeatPrevious.NUM_SUITS,
                    "POPGym RepeatPreviousEasy: output the suit of the card seen 4 observations"
                            + " ago; 51 steps, return in [-1, 1]", 1.0),
            new EnvInfo("scripted", 3, 2,
                    "deterministic test env: obs [t/L, 1, episode parity], reward 1 if action == t % 2,"
                            + " L = " + ScriptedEnv.DEFAULT_EPISODE_LENGTH + " steps", 1.0));

    private static final List<String> NAMES = INFOS.stream().map(EnvInfo::name).toList();

    private Environments() {}

    /**
     * Creates {@code numEnvs} independently seeded copies of environment {@code name}.
     *
     * @throws IllegalArgumentException if the name is unknown (the message lists the valid names)
     *     or {@code numEnvs < 1}
     */
    public static VectorEnv create(String name, int numEnvs, long seed) {
        EnvInfo info = info(name);
        if (numEnvs < 1) {
            throw new IllegalArgumentException("numEnvs must be >= 1, got " + numEnvs);
        }
        SplittableRandom root = new SplittableRandom(seed);
        List<Environment> envs = new ArrayList<>(numEnvs);
        for (int k = 0; k < numEnvs; k++) {
            envs.add(newEnvironment(info.name(), root.split()));
        }
        return new VectorEnv(info.name(), envs);
    }

    /** The registered names, in a fixed order. */
    public static List<String> names() {
        return NAMES;
    }

    /**
     * Sizes and description of environment {@code name}, without constructing it.
     *
     * @throws IllegalArgumentException if the name is unknown (the message lists the valid names)
     */
    public static EnvInfo info(String name) {
        Objects.requireNonNull(name, "name");
        for (EnvInfo info : INFOS) {
            if (info.name().equals(name)) {
                return info;
            }
        }
        throw new IllegalArgumentException(
                "unknown environment '" + name + "'; valid names: " + String.join(", ", NAMES));
    }

    private static Environment newEnvironment(String name, SplittableRandom rng) {
        return switch (name) {
            case "cartpole" -> new CartPole(rng);
            case "masked-cartpole" -> new MaskedCartPole(rng);
            case "repeat-previous" -> new RepeatPrevious(rng);
            case "scripted" -> new ScriptedEnv(ScriptedEnv.DEFAULT_EPISODE_LENGTH);
            default -> throw new IllegalArgumentException("unknown environment '" + name + "'");
        };
    }
}
