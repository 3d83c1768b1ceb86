package dev.starling.common.rl;

import java.util.ArrayList;
import java.util.List;

import dev.starling.common.model.ActorCritic;
import dev.starling.common.model.Torch;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;

/**
 * One learner update on a {@link Rollout}: the sequence forward pass, V-trace targets, the
 * actor-critic loss, backward, global-norm clipping, the non-finite guard and the optimizer
 * step. Every native object of an update lives in one {@code PointerScope}. Not thread-safe.
 */
public final class TrainStep {

    private final ActorCritic model;
    private final Optimizer optimizer;
    private final LossConfig config;
    private final ForwardPath path;
    private final TensorVector parameterVector;
    private long skipped;
    // Java-side scratch, reused while the batch shape stays the same.
    private float[] targetLogProb = new float[0];
    private float[] behaviourLogProb = new float[0];
    private float[] values = new float[0];
    private float[] vs = new float[0];
    private float[] advantages = new float[0];

    public TrainStep(ActorCritic model, Optimizer optimizer, LossConfig config, ForwardPath path) {
        this.model = model;
        this.optimizer = optimizer;
        this.config = config;
        this.path = path;
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
        int a = r.numActions;
        int n = t * b;
        ensureScratch(n, b);
        Device device = model.device();
        Tensor obs = Torch.floats(r.observations, device, t + 1, b, r.observationSize);
        Tensor h0 = Torch.floats(r.initialH, device, b, r.lstmSize);
        Tensor c0 = Torch.floats(r.initialC, device, b, r.lstmSize);
        long[] actionIdx = new long[n];
        for (int i = 0; i < n; i++) {
            actionIdx[i] = r.actions[i];
        }
        Tensor actions = Torch.longs(actionIdx, device, t, b, 1);

        Tensor out = SequenceForward.run(model, obs, h0, c0, r.dones, t, b, path);
        Tensor logits = out.narrow(0, 0, t).narrow(2, 0, a);
        Tensor valueAll = out.narrow(2, a, 1).squeeze(2);
        Tensor logp = torch.log_softmax(logits, 2);
        Tensor actionLogp = logp.gather(2, actions).squeeze(2);

        Torch.read(actionLogp.detach(), targetLogProb);
        Torch.read(valueAll.detach(), values);
        behaviourLogProbs(r, behaviourLogProb);
        VTrace.compute(t, b, behaviourLogProb, targetLogProb, r.rewards, config.rewardScale(), r.dones, values,
                config.vtrace(), vs, advantages);
        if (config.normalizeAdvantages()) {
            rescale(advantages);
        }
        Tensor vsT = Torch.floats(vs, device, t, b);
        Tensor advT = Torch.floats(advantages, device, t, b);

        Tensor policyLoss = advT.mul(actionLogp).mean().neg();
        Tensor baselineLoss = vsT.sub(valueAll.narrow(0, 0, t)).square().mean().mul(new Scalar(0.5));
        Tensor entropy = logp.exp().mul(logp).sum(2).mean().neg();
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

    /** log mu(a_t|x_t) from the stored behaviour logits, in Java (log-sum-exp per step). */
    static void behaviourLogProbs(Rollout r, float[] out) {
        int a = r.numActions;
        for (int i = 0; i < r.unroll * r.rows; i++) {
            int base = i * a;
            double max = Double.NEGATIVE_INFINITY;
            for (int j = 0; j < a; j++) {
                max = Math.max(max, r.behaviourLogits[base + j]);
            }
            double sum = 0;
            for (int j = 0; j < a; j++) {
                sum += Math.exp(r.behaviourLogits[base + j] - max);
            }
            out[i] = (float) (r.behaviourLogits[base + r.actions[i]] - max - Math.log(sum));
        }
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
            behaviourLogProb = new float[n];
            vs = new float[n];
            advantages = new float[n];
            values = new float[n + rows];
        }
    }
}
