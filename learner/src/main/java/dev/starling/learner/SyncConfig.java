package dev.starling.learner;

import java.util.List;

import dev.starling.common.model.ModelConfig;
import dev.starling.common.rl.ForwardPath;
import dev.starling.common.rl.LossConfig;
import dev.starling.env.EnvironmentDefinition;
import dev.starling.envs.EnvironmentRegistry;

/**
 * Settings of the single-process synchronous trainer (and its defaults, which solve
 * masked-velocity CartPole on a 2-core CPU).
 *
 * @param env            the environment (built-in or from an {@code --env-jar})
 * @param numEnvs        K environments stepped together; also the batch size B in sequences
 * @param unroll         T steps per rollout (truncated-BPTT length)
 * @param convLayers     the model's conv layers (image observations); empty: the default for the observation
 * @param targetReturn   stop once the average over the last 100 episodes reaches this
 * @param maxFrames      stop after this many environment steps (0 = no limit)
 * @param maxSeconds     stop after this much wall time (0 = no limit)
 */
public record SyncConfig(EnvironmentDefinition env, int numEnvs, int unroll, long seed,
        List<ModelConfig.ConvLayer> convLayers, List<Integer> encoderSizes, int lstmSize,
        String optimizer, double learningRate, LossConfig loss, ForwardPath forwardPath,
        double targetReturn, long maxFrames, double maxSeconds, String device) {

    public SyncConfig {
        if (env == null) {
            throw new IllegalArgumentException("env must be set");
        }
        if (numEnvs < 1 || numEnvs > 4096) {
            throw new IllegalArgumentException("numEnvs must be in [1, 4096], got " + numEnvs);
        }
        if (unroll < 1 || unroll > 1024) {
            throw new IllegalArgumentException("unroll must be in [1, 1024], got " + unroll);
        }
        convLayers = List.copyOf(convLayers);
        encoderSizes = List.copyOf(encoderSizes);
        ModelConfig.of(env.observationSpace(), env.actionSpace(), convLayers, encoderSizes, lstmSize);
        if (!"adam".equals(optimizer) && !"rmsprop".equals(optimizer)) {
            throw new IllegalArgumentException("optimizer must be adam or rmsprop, got '" + optimizer + "'");
        }
        if (!(learningRate > 0) || Double.isInfinite(learningRate)) {
            throw new IllegalArgumentException("learningRate must be finite and > 0, got " + learningRate);
        }
        if (maxFrames < 0) {
            throw new IllegalArgumentException("maxFrames must be >= 0 (0 = no limit), got " + maxFrames);
        }
        if (!(maxSeconds >= 0)) {
            throw new IllegalArgumentException("maxSeconds must be >= 0 (0 = no limit), got " + maxSeconds);
        }
    }

    /** Defaults for an environment (its reward scale included). */
    public static SyncConfig defaults(EnvironmentDefinition env) {
        LossConfig loss = LossConfig.defaults().withRewardScale(env.rewardScale());
        return new SyncConfig(env, 32, 32, 1, List.of(), ModelConfig.DEFAULT_ENCODER_SIZES, ModelConfig.DEFAULT_LSTM_SIZE,
                "rmsprop", 1e-3, loss, ForwardPath.FAST, 475.0, 0, 0, "cpu");
    }

    /** Defaults for a built-in environment. */
    public static SyncConfig defaults(String env) {
        return defaults(EnvironmentRegistry.builtIn().get(env));
    }

    /** The model these settings train. */
    public ModelConfig modelConfig() {
        return ModelConfig.of(env.observationSpace(), env.actionSpace(), convLayers, encoderSizes, lstmSize);
    }

    public SyncConfig withSeed(long s) {
        return new SyncConfig(env, numEnvs, unroll, s, convLayers, encoderSizes, lstmSize, optimizer, learningRate, loss,
                forwardPath, targetReturn, maxFrames, maxSeconds, device);
    }

    public SyncConfig withBudget(double target, long frames, double seconds) {
        return new SyncConfig(env, numEnvs, unroll, seed, convLayers, encoderSizes, lstmSize, optimizer, learningRate, loss,
                forwardPath, target, frames, seconds, device);
    }
}
