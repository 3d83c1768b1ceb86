package dev.starling.common.rl;

import java.util.List;

import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;

/**
 * RMSProp with libtorch's update rule (no momentum, not centered):
 * {@code v = alpha v + (1 - alpha) g^2; p -= lr g / (sqrt(v) + eps)}. One instance shared by
 * all gradient sources is the "shared statistics" RMSProp of the A3C paper.
 */
public final class RmsProp extends BufferedOptimizer {

    private final double learningRate;
    private final double alpha;
    private final double eps;

    public RmsProp(List<Tensor> parameters, double learningRate, double alpha, double eps) {
        super(parameters, 1);
        this.learningRate = learningRate;
        this.alpha = alpha;
        this.eps = eps;
    }

    @Override
    public String algorithm() {
        return "rmsprop";
    }

    @Override
    protected void update(Tensor p, Tensor g, Tensor[] state) {
        Tensor squareAvg = state[0];
        squareAvg.mul_(new Scalar(alpha)).addcmul_(g, g, new Scalar(1 - alpha));
        Tensor denom = squareAvg.sqrt().add_(new Scalar(eps));
        p.addcdiv_(g, denom, new Scalar(-learningRate));
    }
}
