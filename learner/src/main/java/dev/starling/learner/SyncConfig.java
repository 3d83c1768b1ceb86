package dev.starling.learner;

import dev.starling.common.env.Environments;
import dev.starling.common.model.ModelConfig;
import dev.starling.common.rl.ForwardPath;
import dev.starling.common.rl.LossConfig;

/**
 * Settings of the single-process synchronous trainer (and its defaults, which solve
 * masked-velocity CartPole on a 2-core CPU).
 *
 * @param numEnvs        K environments stepped together; also the batch size B in sequences
 * @param unroll         T steps per rollout (truncated-BPTT length)
 * @param targetReturn   stop once the average over the last 100 episodes reaches this
 * @param maxFrames      stop after this many environment steps (0 = no limit)
 * @param maxSeconds     stop after this much wall time (0 = no limit)
 */
public record SyncConfig(String env, int numEnvs, int unroll, long seed, int encoderSize, int lstmSize,
        String optimizer, double learningRate, LossConfig loss, ForwardPath forwardPath,
        double targetReturn, long maxFrames, double maxSeconds, String device) {

    public SyncConfig {
        try {
            Environments.info(env);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("env: " + e.getMessage(), e);
        }
        if (numEnvs < 1 || numEnvs > 4096) {
            throw new IllegalArgumentException("numEnvs must be in [1, 4096], got " + numEnvs);
        }
        if (unroll < 1 || unroll > 1024) {
            throw new IllegalArgumentException("unroll must be in [1, 1024], got " + unroll);
        }
        if (encoderSize < 1 || encoderSize > ModelConfig.MAX_WIDTH) {
            throw new IllegalArgumentException("encoderSize must be in [1, " + ModelConfig.MAX_WIDTH + "], got " + encoderSize);
        }
        if (lstmSize < 1 || lstmSize > ModelConfig.MAX_WIDTH) {
            throw new IllegalArgumentException("lstmSize must be in [1, " + ModelConfig.MAX_WIDTH + "], got " + lstmSize);
        }
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
    public static SyncConfig defaults(String env) {
        LossConfig loss = LossConfig.defaults().withRewardScale(Environments.info(env).rewardScale());
        return new SyncConfig(env, 32, 32, 1, 64, 128, "rmsprop", 1e-3, loss, ForwardPath.FAST, 475.0, 0, 0, "cpu");
    }

    public SyncConfig withSeed(long s) {
        return new SyncConfig(env, numEnvs, unroll, s, encoderSize, lstmSize, optimizer, learningRate, loss,
                forwardPath, targetReturn, maxFrames, maxSeconds, device);
    }

    public SyncConfig withBudget(double target, long frames, double seconds) {
        return new SyncConfig(env, numEnvs, unroll, seed, encoderSize, lstmSize, optimizer, learningRate, loss,
                forwardPath, target, frames, seconds, device);
    }
}
