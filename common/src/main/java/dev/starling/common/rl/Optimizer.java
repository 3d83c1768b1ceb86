package dev.starling.common.rl;

import java.util.List;

import dev.starling.proto.v1.OptimizerState;
import org.bytedeco.pytorch.Tensor;

/**
 * A first-order optimizer over a fixed list of parameter tensors, with state that can be
 * exported to and restored from checkpoints. Implementations follow libtorch's update rules
 * exactly (tests compare them with libtorch's own optimizers). Not thread-safe.
 */
public interface Optimizer extends AutoCloseable {

    /** Applies one update with the given gradients (same order and shapes as the parameters). */
    void step(List<Tensor> gradients);

    /** Updates taken so far. */
    long steps();

    /** "adam" or "rmsprop". */
    String algorithm();

    OptimizerState exportState(long specHash);

    /** Restores exported state; rejects state of another algorithm, spec or size unchanged. */
    void importState(OptimizerState state, long specHash);

    @Override
    void close();

    /** Builds an optimizer by name. */
    static Optimizer create(String algorithm, List<Tensor> parameters, double learningRate) {
        switch (algorithm) {
            case "adam":
                return new Adam(parameters, learningRate, 0.9, 0.999, 1e-8);
            case "rmsprop":
                return new RmsProp(parameters, learningRate, 0.99, 1e-5);
            default:
                throw new IllegalArgumentException("unknown optimizer '" + algorithm + "': expected adam or rmsprop");
        }
    }
}
