package dev.starling.envs;

import java.util.List;

import dev.starling.env.EnvironmentDefinition;
import dev.starling.env.EnvironmentProvider;

/**
 * Starling's own environments, registered through {@code META-INF/services} exactly as a user's
 * jar registers its own.
 */
public final class BuiltInEnvironments implements EnvironmentProvider {

    @Override
    public List<EnvironmentDefinition> environments() {
        return List.of(
                new EnvironmentDefinition("cartpole",
                        "Gymnasium CartPole-v1: balance a pole, reward 1 per step, 500-step limit",
                        CartPole.OBSERVATION_SPACE, CartPole.ACTION_SPACE, 0.05, CartPole::new)
                        .withRewardThreshold(475),
                new EnvironmentDefinition("masked-cartpole",
                        "CartPole-v1 observing only [x, theta]; velocities need memory",
                        MaskedCartPole.OBSERVATION_SPACE, CartPole.ACTION_SPACE, 0.05, MaskedCartPole::new)
                        .withRewardThreshold(475),
                new EnvironmentDefinition("repeat-previous",
                        "POPGym RepeatPreviousEasy: output the suit of the card seen 4 observations ago; 51 steps,"
                                + " return in [-1, 1]",
                        RepeatPrevious.OBSERVATION_SPACE, RepeatPrevious.ACTION_SPACE, 1.0, RepeatPrevious::new),
                new EnvironmentDefinition("scripted",
                        "deterministic test env: obs [t/L, 1, episode parity], reward 1 if action == t % 2, L = "
                                + ScriptedEnv.DEFAULT_EPISODE_LENGTH + " steps",
                        ScriptedEnv.OBSERVATION_SPACE, ScriptedEnv.ACTION_SPACE, 1.0, ScriptedEnv::new),
                // Per-step rewards lie in [-16.3, 0]; 0.1 keeps each scaled reward within [-1.63, 0], near unit scale.
                new EnvironmentDefinition("pendulum",
                        "Gymnasium Pendulum-v1: swing up and hold a pendulum, continuous torque in [-2, 2], 200 steps,"
                                + " return in about [-1600, 0]",
                        Pendulum.OBSERVATION_SPACE, Pendulum.ACTION_SPACE, 0.1, Pendulum::new)
                        // Not Gymnasium's (it has none): the level a trained swing-up policy holds.
                        .withRewardThreshold(-200),
                new EnvironmentDefinition("pong",
                        "two-paddle ball game from a 32x32 grayscale frame (image, one frame per observation: the"
                                + " ball's velocity needs memory), 3 actions, a game to " + Pong.POINTS_TO_WIN
                                + " points against a scripted paddle, return in [-5, 5]",
                        Pong.OBSERVATION_SPACE, Pong.ACTION_SPACE, 1.0, Pong::new)
                        // 80% of the largest return: the agent wins 5 points to at most 1 on average.
                        .withRewardThreshold(4));
    }
}
