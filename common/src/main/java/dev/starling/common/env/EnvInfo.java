package dev.starling.common.env;

/**
 * Static description of a registered environment, available from {@link Environments#info}
 * without constructing the environment.
 *
 * @param name registry name, as accepted by {@link Environments#create}
 * @param observationSize floats per observation
 * @param numActions number of discrete actions
 * @param description one-line human-readable description
 * @param rewardScale default reward multiplier for training, chosen so value targets sit near
 *     unit scale (CartPole's +1 per step over hundreds of steps needs 0.05; see LossConfig)
 */
public record EnvInfo(String name, int observationSize, int numActions, String description, double rewardScale) {}
