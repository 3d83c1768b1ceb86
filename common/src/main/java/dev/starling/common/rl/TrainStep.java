package dev.starling.common.rl;

import java.util.ArrayList;
import java.util.List;

import dev.starling.common.model.ActorCritic;
import dev.starling.common.model.PolicyDistribution;
import dev.starling.common.model.Torch;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.ScalarOptional;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;

/**
 * One learner update on a {@link Rollout}: the sequence forward pass, V-trace targets, the
 * actor-critic loss (the policy term PPO's clipped surrogate on V-trace advantages, or IMPALA's
 * plain policy gradient with {@code policyClip} 0), backward, global-norm clipping, the non-finite guard and the optimizer
 * step. Every native object of an update lives in one {@code PointerScope}. Not thread-safe.
 */
public final class TrainStep {

    private final ActorCritic model;
    private final Optimizer optimizer;
    private final LossConfig config;
    private final ForwardPath path;
    private final PolicyDistribution distribution;
    private final TensorVector parameterVector;
    private long skipped;
    // Java-side scratch, reused while the batch shape stays the same.
    private float[] targetLogProb = new float[0];
    private float[] values = new float[0];
    private float[] vs = new float[0];
    private float[] advantages = new float[0];

    public TrainStep(ActorCritic model, Optimizer optimizer, LossConfig config, ForwardPath path) {
        this.model = model;
        this.optimizer = optimizer;
        this.config = config;
        this.path = path;
        this.distribution = model.distribution();
        this.parameterVector = new TensorVector(model.parameters().toArray(new Tensor[0]));
    }

    /**
     * A step that only computes gradients ({@link #computeGradients}); A3C actors use it and
     * send the gradients to the parameter server, whose optimizer applies them.
     */
    public static TrainStep forGradients(ActorCritic model, LossConfig config, ForwardPath path) {
        return new TrainStep(model, null, config, path);
    }

    /** Updates skipped because the loss or gradient norm was not finite. */
    public long skippedUpdates() {
        return skipped;
    }

    public Optimizer optimizer() {
        return optimizer;
    }

    /** Computes the loss, back-propagates, clips and (if finite) applies the optimizer. */
    public UpdateStats update(Rollout batch) {
        if (optimizer == null) {
            throw new IllegalStateException("this step only computes gradients (forGradients): it has no optimizer");
        }
        try (PointerScope scope = new PointerScope()) {
            UpdateStats stats = backward(batch);
            if (stats.applied()) {
                List<Tensor> grads = new ArrayList<>(model.parameters().size());
                for (Tensor p : model.parameters()) {
                    grads.add(p.grad());
                }
                optimizer.step(grads);
            } else {
                skipped++;
            }
            model.zeroGrad();
            return stats;
        }
    }

    /**
     * Leaves the clipped gradients of the loss in the parameters' {@code grad()} (A3C actors
     * send these). Returns applied=false, with gradients zeroed, if anything was not finite.
     */
    public UpdateStats computeGradients(Rollout batch) {
        try (PointerScope scope = new PointerScope()) {
            model.zeroGrad();
            UpdateStats stats = backward(batch);
            if (!stats.applied()) {
                skipped++;
                model.zeroGrad();
            }
            return stats;
        }
    }

    private UpdateStats backward(Rollout r) {
        int t = r.unroll;
        int b = r.rows;
        int p = model.config().policyOutputs();
        int n = t * b;
        ensureScratch(n, b);
        Device device = model.device();
        Tensor obs = SequenceForward.observations(r, device);
        Tensor h0 = Torch.floats(r.initialH, device, b, r.lstmSize);
        Tensor c0 = Torch.floats(r.initialC, device, b, r.lstmSize);

        Tensor out = SequenceForward.run(model, obs, h0, c0, r.dones, t, b, path);
        Tensor policy = out.narrow(0, 0, t).narrow(2, 0, p);
        Tensor valueAll = out.narrow(2, p, 1).squeeze(2);
        Tensor actionLogp = distribution.logProb(model, policy, r);

        Torch.read(actionLogp.detach(), targetLogProb);
        Torch.read(valueAll.detach(), values);
        boolean clipped = config.policyClip() > 0;
        VTrace.compute(t, b, r.behaviourLogProbs, targetLogProb, r.rewards, config.rewardScale(), r.dones,
                r.truncated, r.bootstrapValues, values, config.vtrace(), vs, advantages, !clipped);
        if (config.normalizeAdvantages()) {
            rescale(advantages);
        }
        Tensor vsT = Torch.floats(vs, device, t, b);
        Tensor advT = Torch.floats(advantages, device, t, b);

        Tensor policyLoss = clipped ? clippedSurrogate(actionLogp, Torch.floats(r.behaviourLogProbs, device, t, b), advT)
                : advT.mul(actionLogp).mean().neg();
        Tensor baselineLoss = vsT.sub(valueAll.narrow(0, 0, t)).square().mean().mul(new Scalar(0.5));
        Tensor entropy = distribution.entropy(model, policy);
        Tensor loss = policyLoss
                .add(baselineLoss.mul(new Scalar(config.baselineCost())))
                .sub(entropy.mul(new Scalar(config.entropyCost())));
        double lossValue = loss.item_float();
        if (!Double.isFinite(lossValue)) {
            return new UpdateStats(false, lossValue, policyLoss.item_float(), baselineLoss.item_float(),
                    entropy.item_float(), Double.NaN);
        }
        loss.backward();
        double norm = torch.clip_grad_norm_(parameterVector, config.maxGradNorm());
        return new UpdateStats(Double.isFinite(norm), lossValue, policyLoss.item_float(),
                baselineLoss.item_float(), entropy.item_float(), norm);
    }

    /**
     * PPO's clipped surrogate on V-trace's advantages (Sample Factory's APPO): with
     * {@code ratio = pi(a|x) / mu(a|x)}, {@code -mean(min(ratio * A, clip(ratio, 1 - e, 1 + e) * A))}.
     * Its gradient weights each sample's {@code grad log pi} by the full ratio, not by V-trace's
     * ratio truncated at 1: under policy lag the truncated form is biased and, for a Gaussian
     * policy whose advantages are mostly of one sign, drives the mean away from the behaviour's
     * actions without bound (measured on Pendulum at a lag of 4 versions: no learning at all,
     * where this learns as fast as with no lag). The clip keeps one update from moving far.
     */
    private Tensor clippedSurrogate(Tensor logp, Tensor behaviourLogp, Tensor advantage) {
        double e = config.policyClip();
        Tensor ratio = logp.sub(behaviourLogp).exp();
        Tensor clippedRatio = ratio.clamp(new ScalarOptional(new Scalar(1 - e)), new ScalarOptional(new Scalar(1 + e)));
        return torch.min(ratio.mul(advantage), clippedRatio.mul(advantage)).mean().neg();
    }

    /**
     * In place: x / (std(x) + 1e-8), without centring. Subtracting the batch mean would add
     * {@code mean * grad log pi(a)} for every sampled action; on-policy that has zero
     * expectation, but with policy lag the actions come from the behaviour policy and the term
     * drags pi toward it (measured: training collapsed at a lag of 2 versions with centring).
     */
    static void rescale(float[] x) {
        double mean = 0;
        for (float v : x) {
            mean += v;
        }
        mean /= x.length;
        double var = 0;
        for (float v : x) {
            var += (v - mean) * (v - mean);
        }
        double scale = 1.0 / (Math.sqrt(var / x.length) + 1e-8);
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) (x[i] * scale);
        }
    }

    private void ensureScratch(int n, int rows) {
        if (targetLogProb.length != n) {
            targetLogProb = new float[n];
            vs = new float[n];
            advantages = new float[n];
            values = new float[n + rows];
        }
    }
}
