package dev.starling.common.model;

import java.util.SplittableRandom;

import dev.starling.common.rl.Rollout;
import org.bytedeco.pytorch.Tensor;

/**
 * The policy's action distribution for one action space, in both places it is needed: on the
 * actor in Java (sample an action from the head's outputs and report its log-probability, which
 * travels to the learner) and on the learner in libtorch (log-probabilities of the taken actions
 * and the entropy, with gradients). One implementation per action space: {@link Categorical},
 * {@link DiagonalGaussian}; a Q-network acts by {@link EpsilonGreedy}.
 */
public sealed interface PolicyDistribution permits Categorical, DiagonalGaussian, EpsilonGreedy {

    /** The distribution of the model's action space (a Q-network's: greedy). */
    static PolicyDistribution of(ModelConfig config) {
        if (config.head() == ModelConfig.Head.DUELING_Q) {
            return EpsilonGreedy.greedy(config.policyOutputs());
        }
        return config.continuous() ? new DiagonalGaussian(config.actionSize()) : new Categorical(config.policyOutputs());
    }

    /**
     * Samples an action of environment {@code k} from the head's outputs
     * {@code params[offset .. offset + P)} and writes it to {@code discreteOut[k]} or
     * {@code continuousOut[k * D ..]}.
     *
     * @param logStd the model's log standard deviations (Gaussian only; ignored otherwise)
     * @return log-probability (density) of the sampled action
     */
    float sample(float[] params, int offset, float[] logStd, SplittableRandom rng, int[] discreteOut,
            float[] continuousOut, int k);

    /** The most likely action (argmax, or the mean), for evaluation; same outputs as {@link #sample}. */
    void mode(float[] params, int offset, int[] discreteOut, float[] continuousOut, int k);

    /**
     * log pi(a_t | x_t) of the rollout's actions, {@code [T, B]}, from the head's policy outputs
     * {@code [T, B, P]}. Call inside a {@code PointerScope}.
     */
    Tensor logProb(ActorCritic model, Tensor policyOutputs, Rollout rollout);

    /** Mean entropy over the steps of {@code policyOutputs [T, B, P]}, a scalar. */
    Tensor entropy(ActorCritic model, Tensor policyOutputs);
}
