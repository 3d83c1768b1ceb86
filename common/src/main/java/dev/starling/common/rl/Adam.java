package dev.starling.common.rl;

import java.util.List;

import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;

/** Adam with libtorch's update rule (bias-corrected, no weight decay, no amsgrad). */
public final class Adam extends BufferedOptimizer {

    private final double learningRate;
    private final double beta1;
    private final double beta2;
    private final double eps;

    public Adam(List<Tensor> parameters, double learningRate, double beta1, double beta2, double eps) {
        super(parameters, 2);
        this.learningRate = learningRate;
        this.beta1 = beta1;
        this.beta2 = beta2;
        this.eps = eps;
    }

    @Override
    public String algorithm() {
        return "adam";
    }

    @Override
    protected void update(Tensor p, Tensor g, Tensor[] state) {
        Tensor expAvg = state[0];
        Tensor expAvgSq = state[1];
        double biasCorrection1 = 1 - Math.pow(beta1, steps);
        double biasCorrection2 = 1 - Math.pow(beta2, steps);
        expAvg.mul_(new Scalar(beta1)).add_(g, new Scalar(1 - beta1));
        expAvgSq.mul_(new Scalar(beta2)).addcmul_(g, g, new Scalar(1 - beta2));
        Tensor denom = expAvgSq.sqrt().div_(new Scalar(Math.sqrt(biasCorrection2))).add_(new Scalar(eps));
        p.addcdiv_(expAvg, denom, new Scalar(-learningRate / biasCorrection1));
    }
}
