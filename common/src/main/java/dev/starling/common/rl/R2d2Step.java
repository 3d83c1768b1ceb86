package dev.starling.common.rl;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import dev.starling.common.model.ActorCritic;
import dev.starling.common.model.ModelConfig;
import dev.starling.common.model.Torch;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;

/**
 * One R2D2 update on a batch of replayed sequences of m steps: the online network reads the
 * first {@code burnIn} steps from each sequence's stored state under no-grad (its state is then a
 * constant: no gradient reaches the burn-in), then the rest with gradients; the target network
 * reads the whole sequence under no-grad; the n-step double-Q targets with value rescaling
 * ({@link NStepDoubleQ}) give the TD errors of the trained steps, whose importance-weighted
 * squared mean is the loss. Global-norm clipping and the non-finite guard as in
 * {@link TrainStep}. Returns the |TD| errors the sequences' new priorities are made of.
 *
 * <p>The sequences' LSTM paths are {@link SequenceForward}'s fast split-at-done path. Not
 * thread-safe; owns neither network nor the optimizer.
 */
public final class R2d2Step {

    /**
     * @param absTdErrors |TD error| of each sequence's trained steps, sequence-major [B, m - burnIn]
     *                    (what its new priority is made of); empty when not applied
     * @param meanQ       mean Q-value of the taken actions on the trained steps (rescaled space)
     */
    public record Result(boolean applied, double loss, double gradNorm, double meanQ, double[] absTdErrors) {
    }

    private final ActorCritic online;
    private final ActorCritic target;
    private final Optimizer optimizer;
    private final R2d2Config config;
    private final ValueRescaling rescaling;
    private final TensorVector parameterVector;
    private final int actions;

    /**
     * @param optimizer null for a step that only computes gradients ({@link #computeGradients})
     */
    public R2d2Step(ActorCritic online, ActorCritic target, Optimizer optimizer, R2d2Config config) {
        if (online.config().head() != ModelConfig.Head.DUELING_Q || !online.config().equals(target.config())) {
            throw new IllegalArgumentException("r2d2 trains a dueling Q-network and a target of the same config, got "
                    + online.config().describe() + " and " + target.config().describe());
        }
        this.online = online;
        this.target = target;
        this.optimizer = optimizer;
        this.config = config;
        this.rescaling = new ValueRescaling(config.valueRescalingEps());
        this.parameterVector = new TensorVector(online.parameters().toArray(new Tensor[0]));
        this.actions = online.config().policyOutputs();
    }

    /** Copies the online network's weights into the target network. */
    public void updateTarget() {
        try (PointerScope scope = new PointerScope(); NoGradGuard noGrad = new NoGradGuard()) {
            List<Tensor> from = online.parameters();
            List<Tensor> to = target.parameters();
            for (int i = 0; i < from.size(); i++) {
                to.get(i).copy_(from.get(i));
            }
        }
    }

    /** Loss, backward, clip and (if everything was finite) one optimizer step. */
    public Result update(Rollout batch, double[] importanceWeights) {
        if (optimizer == null) {
            throw new IllegalStateException("this step only computes gradients: it has no optimizer");
        }
        try (PointerScope scope = new PointerScope()) {
            online.zeroGrad();
            Result r = backward(batch, importanceWeights);
            if (r.applied()) {
                List<Tensor> grads = new ArrayList<>(online.parameters().size());
                for (Tensor p : online.parameters()) {
                    grads.add(p.grad());
                }
                optimizer.step(grads);
            }
            online.zeroGrad();
            return r;
        }
    }

    /** Leaves the clipped gradients in the online network's parameters (zeroed if not finite). */
    public Result computeGradients(Rollout batch, double[] importanceWeights) {
        try (PointerScope scope = new PointerScope()) {
            online.zeroGrad();
            Result r = backward(batch, importanceWeights);
            if (!r.applied()) {
                online.zeroGrad();
            }
            return r;
        }
    }

    private Result backward(Rollout r, double[] importanceWeights) {
        int m = r.unroll;
        int b = r.rows;
        int burnIn = config.burnIn();
        int trained = m - burnIn;
        if (m != config.sequenceLength()) {
            throw new IllegalArgumentException("a batch of " + m + "-step sequences; r2d2 trains "
                    + config.sequenceLength());
        }
        if (importanceWeights.length != b) {
            throw new IllegalArgumentException(importanceWeights.length + " importance weights for " + b + " sequences");
        }
        Device device = online.device();
        Tensor obs = SequenceForward.observations(r, device);
        Tensor h0 = Torch.floats(r.initialH, device, b, r.lstmSize);
        Tensor c0 = Torch.floats(r.initialC, device, b, r.lstmSize);
        float[] targetQ = new float[(trained + 1) * b * actions];
        SequenceForward.State start;
        try (NoGradGuard noGrad = new NoGradGuard()) {
            Tensor all = SequenceForward.run(target, obs, h0, c0, r.dones, m, b, ForwardPath.FAST);
            Torch.read(all.narrow(0, burnIn, trained + 1).narrow(2, 0, actions), targetQ);
            start = SequenceForward.advance(online, obs, h0, c0, r.dones, burnIn, b);
        }
        int from = burnIn * b;
        int to = m * b;
        boolean[] dones = Arrays.copyOfRange(r.dones, from, to);
        Tensor out = SequenceForward.run(online, obs.narrow(0, burnIn, trained + 1), start.h(), start.c(), dones,
                trained, b, ForwardPath.FAST);
        Tensor q = out.narrow(2, 0, actions);
        float[] onlineQ = new float[(trained + 1) * b * actions];
        Torch.read(q.detach(), onlineQ);
        float[] y = new float[trained * b];
        NStepDoubleQ.targets(trained, b, actions, config.nStep(), config.discount(), config.rewardScale(), rescaling,
                Arrays.copyOfRange(r.rewards, from, to), dones, Arrays.copyOfRange(r.truncated, from, to),
                Arrays.copyOfRange(r.bootstrapValues, from, to), onlineQ, targetQ, y);
        long[] taken = new long[trained * b];
        for (int i = 0; i < taken.length; i++) {
            taken[i] = r.actions[from + i];
        }
        Tensor chosen = q.narrow(0, 0, trained).gather(2, Torch.longs(taken, device, trained, b, 1), false).squeeze(2);
        Tensor td = chosen.sub(Torch.floats(y, device, trained, b));
        float[] weights = new float[b];
        for (int i = 0; i < b; i++) {
            weights[i] = (float) importanceWeights[i];
        }
        Tensor loss = td.square().mul(Torch.floats(weights, device, 1, b)).mean().mul(new Scalar(0.5));
        double lossValue = loss.item_float();
        double meanQ = chosen.detach().mean().item_float();
        float[] absTd = Torch.toArray(td.detach().abs());
        if (!Double.isFinite(lossValue)) {
            return new Result(false, lossValue, Double.NaN, meanQ, new double[0]);
        }
        loss.backward();
        double norm = torch.clip_grad_norm_(parameterVector, config.maxGradNorm());
        if (!Double.isFinite(norm)) {
            return new Result(false, lossValue, norm, meanQ, new double[0]);
        }
        double[] errors = new double[b * trained];
        for (int s = 0; s < b; s++) {
            for (int t = 0; t < trained; t++) {
                errors[s * trained + t] = absTd[t * b + s];
            }
        }
        return new Result(true, lossValue, norm, meanQ, errors);
    }
}
