package dev.starling.common.rl;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.Consumer;

import dev.starling.common.model.ActorCritic;
import dev.starling.common.model.ModelConfig;
import dev.starling.common.model.ParameterCodec;
import dev.starling.common.model.TestConfigs;
import dev.starling.common.model.Torch;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.junit.jupiter.api.Test;

/**
 * One R2D2 update against references, not against itself:
 * <ul>
 * <li>a reference loss written here from the paper (one LSTM step at a time, the state detached
 * after the burn-in, n-step double-Q targets with value rescaling from their definition) gives
 * the same loss, |TD| errors and gradients; the same reference without the detach gives other
 * LSTM gradients, so the comparison would catch a burn-in that leaks gradient;</li>
 * <li>the burn-in contributes no gradient: training on the 8 steps after a 4-step burn-in equals
 * training on those 8 steps alone, started from the state the burn-in computed;</li>
 * <li>what the burn-in's rewards and actions are does not matter, its observations do (through the
 * state only), a trained step's reward does;</li>
 * <li>repeated updates on one batch lower the loss; a non-finite batch changes nothing.</li>
 * </ul>
 */
class R2d2StepTest {

    private static final int OBS = 3;
    private static final int ACTIONS = 3;
    private static final int LSTM = 8;
    private static final ModelConfig CONFIG = TestConfigs.discrete(OBS, ACTIONS, 16, LSTM)
            .withHead(ModelConfig.Head.DUELING_Q);
    private static final int M = 12;
    private static final int BURN_IN = 4;
    private static final int B = 2;
    private static final int N_STEP = 3;
    private static final double DISCOUNT = 0.9;
    private static final double REWARD_SCALE = 0.5;
    private static final double EPS = 1e-3;
    private static final double[] WEIGHTS = {0.7, 1.3};

    /** m 12, overlap 6, burn-in 4, n 3; no clipping in effect (the comparisons are of raw gradients). */
    private static final R2d2Config CONFIG_12 = config(s -> {
    });
    /** The same, on the 8 trained steps alone: m 8, overlap 4, no burn-in. */
    private static final R2d2Config CONFIG_8 = config(s -> {
        s.sequenceLength = 8;
        s.overlap = 4;
        s.burnIn = 0;
    });

    private static R2d2Config config(Consumer<R2d2ConfigTest.Settings> change) {
        return R2d2ConfigTest.Settings.with(s -> {
            s.sequenceLength = M;
            s.overlap = 6;
            s.burnIn = BURN_IN;
            s.nStep = N_STEP;
            s.discount = DISCOUNT;
            s.valueRescalingEps = EPS;
            s.batchSequences = 2;
            s.replaySequences = 10;
            s.minReplaySequences = 2;
            s.maxGradNorm = 1e6;
            s.rewardScale = REWARD_SCALE;
            change.accept(s);
        });
    }

    /**
     * A batch of two 12-step sequences. Row 0: terminated at 1, truncated at 3 (the last burn-in
     * step), truncated at 6 (trained). Row 1: terminated at 0, terminated at 9, truncated at 10.
     */
    private static Rollout batch(long seed) {
        SplittableRandom rng = new SplittableRandom(seed);
        Rollout r = new Rollout(M, B, CONFIG);
        for (int i = 0; i < r.observations.length; i++) {
            r.observations[i] = (float) rng.nextGaussian();
        }
        for (int i = 0; i < M * B; i++) {
            r.actions[i] = rng.nextInt(ACTIONS);
            r.rewards[i] = (float) (2 * rng.nextGaussian());
            r.behaviourLogProbs[i] = -1;
        }
        for (int i = 0; i < r.initialH.length; i++) {
            r.initialH[i] = (float) (0.5 * rng.nextGaussian());
            r.initialC[i] = (float) (0.5 * rng.nextGaussian());
        }
        end(r, 1, 0, false, 0);
        end(r, 3, 0, true, 0.3f);
        end(r, 6, 0, true, 0.8f);
        end(r, 0, 1, false, 0);
        end(r, 9, 1, false, 0);
        end(r, 10, 1, true, -0.5f);
        return r;
    }

    private static void end(Rollout r, int t, int b, boolean truncated, float bootstrap) {
        r.dones[t * B + b] = true;
        r.truncated[t * B + b] = truncated;
        r.bootstrapValues[t * B + b] = bootstrap;
    }

    /** The two networks, the target a copy of the online one. */
    private record Nets(ActorCritic online, ActorCritic target) implements AutoCloseable {
        static Nets create() {
            Nets n = new Nets(new ActorCritic(CONFIG, 1, Torch.device("cpu")),
                    new ActorCritic(CONFIG, 2, Torch.device("cpu")));
            new R2d2Step(n.online, n.target, null, CONFIG_12).updateTarget();
            return n;
        }

        @Override
        public void close() {
            online.close();
            target.close();
        }
    }

    /** A loss's value, its |TD| errors [B, trained], the mean chosen Q, and every parameter's gradient. */
    private record Grads(double loss, double[] absTd, double meanQ, List<float[]> grads) {
    }

    private static Grads computed(ActorCritic online, ActorCritic target, R2d2Config config, Rollout batch) {
        R2d2Step step = new R2d2Step(online, target, null, config);
        R2d2Step.Result r = step.computeGradients(batch, WEIGHTS);
        assertTrue(r.applied());
        Grads g = new Grads(r.loss(), r.absTdErrors(), r.meanQ(), grads(online));
        double sq = 0;
        for (float[] a : g.grads) {
            for (float v : a) {
                sq += (double) v * v;
            }
        }
        assertEquals(Math.sqrt(sq), r.gradNorm(), 1e-5 * Math.sqrt(sq), "the reported norm is the gradient's");
        online.zeroGrad();
        return g;
    }

    private static List<float[]> grads(ActorCritic model) {
        List<float[]> out = new ArrayList<>();
        for (Tensor p : model.parameters()) {
            out.add(Torch.toArray(p.grad()));
        }
        return out;
    }

    private static double h(double x) {
        return Math.signum(x) * (Math.sqrt(Math.abs(x) + 1) - 1) + EPS * x;
    }

    private static double hInverse(double x) {
        double root = (Math.sqrt(1 + 4 * EPS * (Math.abs(x) + 1 + EPS)) - 1) / (2 * EPS);
        return Math.signum(x) * (root * root - 1);
    }

    /**
     * The reference loss: the online network one step at a time from the stored state, the rows
     * of done_t zeroed after x_t, and (if {@code detachBurnIn}) the state detached before
     * x_burnIn; the target network the same way over the whole sequence, under no-grad. For each
     * trained step s (absolute) with k = min(n, m - s) steps ahead: G = sum_j discount^j scale r_{s+j}
     * up to the first episode end (a truncation adds discount^(j+1) h^-1(bootstrap)), else plus
     * discount^k h^-1(Q_target(x_{s+k}, argmax_a Q_online(x_{s+k}, a))); y = h(G); the loss is
     * half the mean over steps and sequences of w_b (Q(x_s, a_s) - y)^2.
     */
    private static Grads reference(ActorCritic online, ActorCritic target, Rollout r, boolean detachBurnIn) {
        Device cpu = online.device();
        int trained = M - BURN_IN;
        try (PointerScope scope = new PointerScope()) {
            online.zeroGrad();
            Tensor obs = Torch.floats(r.observations, cpu, M + 1, B, OBS);
            float[] targetQ;
            try (NoGradGuard noGrad = new NoGradGuard()) {
                targetQ = Torch.toArray(stepByStep(target, obs, r, 0, M + 1, false).contiguous());
            }
            Tensor q = stepByStep(online, obs, r, BURN_IN, M + 1, detachBurnIn);
            float[] onlineQ = Torch.toArray(q.detach().contiguous());
            int out = ACTIONS + 1;
            float[] y = new float[trained * B];
            long[] taken = new long[trained * B];
            for (int t = 0; t < trained; t++) {
                for (int b = 0; b < B; b++) {
                    int s = BURN_IN + t;
                    int k = Math.min(N_STEP, M - s);
                    double g = 0;
                    double scale = 1;
                    boolean ended = false;
                    for (int j = 0; j < k && !ended; j++) {
                        int i = (s + j) * B + b;
                        g += scale * REWARD_SCALE * r.rewards[i];
                        scale *= DISCOUNT;
                        if (r.dones[i]) {
                            ended = true;
                            if (r.truncated[i]) {
                                g += scale * hInverse(r.bootstrapValues[i]);
                            }
                        }
                    }
                    if (!ended) {
                        int at = ((s + k - BURN_IN) * B + b) * out;
                        int best = 0;
                        for (int a = 1; a < ACTIONS; a++) {
                            if (onlineQ[at + a] > onlineQ[at + best]) {
                                best = a;
                            }
                        }
                        g += scale * hInverse(targetQ[((s + k) * B + b) * out + best]);
                    }
                    y[t * B + b] = (float) h(g);
                    taken[t * B + b] = r.actions[s * B + b];
                }
            }
            Tensor chosen = q.narrow(0, 0, trained).narrow(2, 0, ACTIONS)
                    .gather(2, Torch.longs(taken, cpu, trained, B, 1), false).squeeze(2);
            Tensor td = chosen.sub(Torch.floats(y, cpu, trained, B));
            float[] w = {(float) WEIGHTS[0], (float) WEIGHTS[1]};
            Tensor loss = td.square().mul(Torch.floats(w, cpu, 1, B)).sum().mul(new Scalar(0.5 / (trained * B)));
            loss.backward();
            float[] tdValues = Torch.toArray(td.detach().contiguous());
            double[] absTd = new double[B * trained];
            for (int b = 0; b < B; b++) {
                for (int t = 0; t < trained; t++) {
                    absTd[b * trained + t] = Math.abs(tdValues[t * B + b]);
                }
            }
            Grads g = new Grads(loss.item_float(), absTd, chosen.detach().mean().item_float(), grads(online));
            online.zeroGrad();
            return g;
        }
    }

    /** Head outputs [to - from, B, A + 1] of x_from .. x_{to-1}, one LSTM step at a time from the stored state. */
    private static Tensor stepByStep(ActorCritic model, Tensor obs, Rollout r, int from, int to, boolean detachAtFrom) {
        Device cpu = model.device();
        Tensor enc = model.encode(obs);
        Tensor h = Torch.floats(r.initialH, cpu, 1, B, LSTM);
        Tensor c = Torch.floats(r.initialC, cpu, 1, B, LSTM);
        List<Tensor> outs = new ArrayList<>();
        for (int t = 0; t < to; t++) {
            if (t > 0) {
                float[] keep = new float[B];
                for (int b = 0; b < B; b++) {
                    keep[b] = r.dones[(t - 1) * B + b] ? 0f : 1f;
                }
                Tensor mask = Torch.floats(keep, cpu, 1, B, 1);
                h = h.mul(mask);
                c = c.mul(mask);
            }
            if (t == from && detachAtFrom) {
                h = h.detach();
                c = c.detach();
            }
            ActorCritic.LstmOutput o = model.lstmForward(enc.narrow(0, t, 1), h, c);
            h = o.h();
            c = o.c();
            if (t >= from) {
                outs.add(o.output());
            }
        }
        return model.head(org.bytedeco.pytorch.global.torch.cat(
                new org.bytedeco.pytorch.TensorVector(outs.toArray(new Tensor[0])), 0));
    }

    /** Largest |gradient| of each parameter, for relative tolerances. */
    private static void assertGradsClose(String what, Grads expected, Grads actual, double relTol, ActorCritic model) {
        assertEquals(expected.grads.size(), actual.grads.size());
        for (int i = 0; i < expected.grads.size(); i++) {
            float[] e = expected.grads.get(i);
            float[] a = actual.grads.get(i);
            double scale = 0;
            for (float v : e) {
                scale = Math.max(scale, Math.abs(v));
            }
            assertTrue(scale > 1e-6, what + ": " + model.parameterNames().get(i) + " got no gradient");
            SequenceForwardTest.assertClose(what + ": gradient of " + model.parameterNames().get(i), e, a,
                    relTol * scale);
        }
    }

    /** Largest gradient difference relative to the gradient's scale, over the LSTM's and encoder's parameters. */
    private static double recurrentDifference(Grads x, Grads y, ActorCritic model) {
        double worst = 0;
        for (int i = 0; i < x.grads.size(); i++) {
            String name = model.parameterNames().get(i);
            if (name.startsWith("head")) {
                continue;
            }
            float[] a = x.grads.get(i);
            float[] b = y.grads.get(i);
            double scale = 0;
            double diff = 0;
            for (int j = 0; j < a.length; j++) {
                scale = Math.max(scale, Math.abs(a[j]));
                diff = Math.max(diff, Math.abs(a[j] - b[j]));
            }
            worst = Math.max(worst, diff / scale);
        }
        return worst;
    }

    @Test
    void theUpdateEqualsTheReferenceLossWithTheStateDetachedAfterTheBurnIn() {
        try (Nets nets = Nets.create()) {
            Rollout r = batch(7);
            Grads computed = computed(nets.online, nets.target, CONFIG_12, r);
            Grads detached = reference(nets.online, nets.target, r, true);
            assertEquals(detached.loss, computed.loss, 1e-5 * detached.loss, "loss");
            assertEquals(detached.meanQ, computed.meanQ, 1e-5, "mean Q of the taken actions");
            assertEquals(B * (M - BURN_IN), computed.absTd.length);
            for (int i = 0; i < computed.absTd.length; i++) {
                assertEquals(detached.absTd[i], computed.absTd[i], 1e-5, "|TD| of sequence " + i / (M - BURN_IN)
                        + ", trained step " + i % (M - BURN_IN));
            }
            assertGradsClose("r2d2 vs reference", detached, computed, 1e-5, nets.online);
            // Control: letting the gradient run back through the burn-in changes the recurrent
            // gradients well beyond the tolerance, so the comparison above would catch a leak.
            Grads leaking = reference(nets.online, nets.target, r, false);
            assertEquals(detached.loss, leaking.loss, 1e-6 * detached.loss, "the same loss either way");
            double diff = recurrentDifference(detached, leaking, nets.online);
            assertTrue(diff > 1e-3, "a leaking burn-in should change the LSTM's gradients, changed by " + diff);
        }
    }

    @Test
    void theBurnInContributesNoGradient() {
        try (Nets nets = Nets.create()) {
            Rollout r = batch(7);
            Grads withBurnIn = computed(nets.online, nets.target, CONFIG_12, r);
            // The 8 trained steps alone, started from the state the online network has after
            // reading the first 4 (under no-grad: a constant). The target is the online network,
            // so its state after its own burn-in is the same and the targets are the same.
            Rollout tail = new Rollout(M - BURN_IN, B, CONFIG);
            System.arraycopy(r.observations, BURN_IN * B * OBS, tail.observations, 0, tail.observations.length);
            int from = BURN_IN * B;
            int steps = (M - BURN_IN) * B;
            System.arraycopy(r.actions, from, tail.actions, 0, steps);
            System.arraycopy(r.rewards, from, tail.rewards, 0, steps);
            System.arraycopy(r.dones, from, tail.dones, 0, steps);
            System.arraycopy(r.truncated, from, tail.truncated, 0, steps);
            System.arraycopy(r.bootstrapValues, from, tail.bootstrapValues, 0, steps);
            System.arraycopy(r.behaviourLogProbs, from, tail.behaviourLogProbs, 0, steps);
            try (PointerScope scope = new PointerScope(); NoGradGuard noGrad = new NoGradGuard()) {
                Device cpu = nets.online.device();
                SequenceForward.State s = SequenceForward.advance(nets.online,
                        Torch.floats(r.observations, cpu, M + 1, B, OBS), Torch.floats(r.initialH, cpu, B, LSTM),
                        Torch.floats(r.initialC, cpu, B, LSTM), r.dones, BURN_IN, B);
                Torch.read(s.h(), tail.initialH);
                Torch.read(s.c(), tail.initialC);
            }
            // Row 0 ended an episode at the last burn-in step: it starts the trained part from zero.
            for (int j = 0; j < LSTM; j++) {
                assertEquals(0.0, tail.initialH[j], 0.0);
                assertEquals(0.0, tail.initialC[j], 0.0);
            }
            Grads alone = computed(nets.online, nets.target, CONFIG_8, tail);
            assertEquals(withBurnIn.loss, alone.loss, 1e-5 * withBurnIn.loss, "loss");
            assertArrayEquals(withBurnIn.absTd, alone.absTd, 1e-5, "|TD| errors");
            assertGradsClose("burn-in vs no burn-in from the burnt-in state", withBurnIn, alone, 1e-5, nets.online);
        }
    }

    @Test
    void theBurnInsRewardsAndActionsDoNotMatterItsObservationsDoThroughTheState() {
        try (Nets nets = Nets.create()) {
            Rollout r = batch(9);
            Grads base = computed(nets.online, nets.target, CONFIG_12, r);

            Rollout otherRewards = batch(9);
            for (int i = 0; i < BURN_IN * B; i++) {
                otherRewards.rewards[i] += 5;
                otherRewards.actions[i] = (otherRewards.actions[i] + 1) % ACTIONS;
                otherRewards.bootstrapValues[i] -= 3;
            }
            Grads g = computed(nets.online, nets.target, CONFIG_12, otherRewards);
            assertEquals(base.loss, g.loss, 0.0, "the burn-in's rewards and actions changed the loss");
            assertGradsClose("other burn-in rewards and actions", base, g, 0, nets.online);

            // Row 0's observations up to its episode end at step 3: the state is reset after them.
            Rollout beforeReset = batch(9);
            for (int t = 0; t <= 3; t++) {
                for (int j = 0; j < OBS; j++) {
                    beforeReset.observations[(t * B) * OBS + j] += 1;
                }
            }
            g = computed(nets.online, nets.target, CONFIG_12, beforeReset);
            assertEquals(base.loss, g.loss, 1e-7 * base.loss, "observations before a reset changed the loss");
            assertGradsClose("observations before a reset", base, g, 1e-6, nets.online);

            // Row 1's burn-in observation x_2 (after its episode end at step 0) reaches the trained
            // steps through the state.
            Rollout read = batch(9);
            for (int j = 0; j < OBS; j++) {
                read.observations[(2 * B + 1) * OBS + j] += 1;
            }
            g = computed(nets.online, nets.target, CONFIG_12, read);
            assertNotEquals(base.loss, g.loss, "the burn-in's observations must warm the state");
            assertTrue(recurrentDifference(base, g, nets.online) > 1e-4, "the burn-in's observations must warm the state");

            // A trained step's reward is learnt from.
            Rollout trainedReward = batch(9);
            trainedReward.rewards[7 * B + 1] += 1;
            g = computed(nets.online, nets.target, CONFIG_12, trainedReward);
            assertNotEquals(base.loss, g.loss, "a trained step's reward must change the loss");
            assertTrue(recurrentDifference(base, g, nets.online) > 1e-4, "a trained step's reward must change the gradient");
        }
    }

    @Test
    void repeatedUpdatesOnOneBatchLowerTheLoss() {
        try (Nets nets = Nets.create();
                Optimizer adam = Optimizer.create("adam", nets.online.parameters(), 1e-3)) {
            R2d2Step step = new R2d2Step(nets.online, nets.target, adam, CONFIG_12);
            Rollout r = batch(11);
            double first = step.update(r, WEIGHTS).loss();
            double last = first;
            for (int i = 0; i < 200; i++) {
                R2d2Step.Result result = step.update(r, WEIGHTS);
                assertTrue(result.applied());
                last = result.loss();
            }
            assertEquals(201, adam.steps());
            assertTrue(last < first / 2, "loss went from " + first + " to " + last);
        }
    }

    @Test
    void aNonFiniteBatchChangesNothing() {
        try (Nets nets = Nets.create();
                Optimizer adam = Optimizer.create("adam", nets.online.parameters(), 1e-2)) {
            R2d2Step step = new R2d2Step(nets.online, nets.target, adam, CONFIG_12);
            Rollout r = batch(13);
            assertTrue(step.update(r, WEIGHTS).applied());
            ParameterCodec codec = new ParameterCodec(nets.online);
            var before = codec.encode();
            for (float bad : new float[] {Float.NaN, Float.POSITIVE_INFINITY}) {
                Rollout poisoned = batch(13);
                poisoned.rewards[(BURN_IN + 2) * B + 1] = bad;
                R2d2Step.Result result = step.update(poisoned, WEIGHTS);
                assertFalse(result.applied(), "reward " + bad);
                assertEquals(0, result.absTdErrors().length);
                assertEquals(1, adam.steps(), "the optimizer must not have stepped");
                assertEquals(before, codec.encode(), "weights changed on a non-finite batch");
                assertFalse(new R2d2Step(nets.online, nets.target, null, CONFIG_12).computeGradients(poisoned, WEIGHTS)
                        .applied());
                for (float[] g : grads(nets.online)) {
                    for (float v : g) {
                        assertEquals(0.0, v, 0.0, "a skipped batch leaves no gradient");
                    }
                }
            }
            // A non-finite reward in the burn-in is never read.
            Rollout burnIn = batch(13);
            burnIn.rewards[1] = Float.NaN;
            assertTrue(step.update(burnIn, WEIGHTS).applied());
            assertNotEquals(before, codec.encode());
        }
    }

    @Test
    void theTargetIsACopyOfTheOnlineNetworkWhenUpdated() {
        try (ActorCritic online = new ActorCritic(CONFIG, 1, Torch.device("cpu"));
                ActorCritic target = new ActorCritic(CONFIG, 2, Torch.device("cpu"));
                Optimizer adam = Optimizer.create("adam", online.parameters(), 1e-2)) {
            ParameterCodec onlineCodec = new ParameterCodec(online);
            ParameterCodec targetCodec = new ParameterCodec(target);
            assertNotEquals(onlineCodec.encode(), targetCodec.encode(), "different seeds");
            R2d2Step step = new R2d2Step(online, target, adam, CONFIG_12);
            step.updateTarget();
            assertEquals(onlineCodec.encode(), targetCodec.encode());
            var copied = targetCodec.encode();
            step.update(batch(3), WEIGHTS);
            assertNotEquals(onlineCodec.encode(), targetCodec.encode(), "training moves the online network only");
            assertEquals(copied, targetCodec.encode(), "the target stays until the next copy");
            step.updateTarget();
            assertEquals(onlineCodec.encode(), targetCodec.encode());
        }
    }

    @Test
    void misuseIsRefused() {
        ModelConfig actorCritic = CONFIG.withHead(ModelConfig.Head.ACTOR_CRITIC);
        try (Nets nets = Nets.create();
                ActorCritic ac = new ActorCritic(actorCritic, 1, Torch.device("cpu"));
                ActorCritic wider = new ActorCritic(CONFIG.withArchitecture(List.of(16), 16), 1, Torch.device("cpu"))) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> new R2d2Step(ac, ac, null, CONFIG_12));
            assertTrue(e.getMessage().contains("dueling Q-network"), e.getMessage());
            assertThrows(IllegalArgumentException.class, () -> new R2d2Step(nets.online, wider, null, CONFIG_12));
            assertThrows(IllegalArgumentException.class, () -> new R2d2Step(nets.online, ac, null, CONFIG_12));
            R2d2Step gradientsOnly = new R2d2Step(nets.online, nets.target, null, CONFIG_12);
            assertThrows(IllegalStateException.class, () -> gradientsOnly.update(batch(1), WEIGHTS));
            e = assertThrows(IllegalArgumentException.class,
                    () -> gradientsOnly.computeGradients(new Rollout(8, B, CONFIG), WEIGHTS));
            assertTrue(e.getMessage().contains("r2d2 trains 12"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class,
                    () -> gradientsOnly.computeGradients(batch(1), new double[] {1}));
            assertTrue(e.getMessage().contains("1 importance weights for 2 sequences"), e.getMessage());
        }
    }

    @Test
    void importanceWeightsScaleEachSequencesShare() {
        // With weight 0 a sequence adds nothing: the loss is the other's alone, and doubling
        // every weight doubles the loss and the gradient.
        try (Nets nets = Nets.create()) {
            Rollout r = batch(5);
            R2d2Step step = new R2d2Step(nets.online, nets.target, null, CONFIG_12);
            double both = step.computeGradients(r, new double[] {1, 1}).loss();
            double first = step.computeGradients(r, new double[] {1, 0}).loss();
            double second = step.computeGradients(r, new double[] {0, 1}).loss();
            assertEquals(both, first + second, 1e-6 * both);
            R2d2Step.Result doubled = step.computeGradients(r, new double[] {2, 2});
            assertEquals(2 * both, doubled.loss(), 1e-6 * both);
            double[] td = doubled.absTdErrors();
            int trained = M - BURN_IN;
            double sq0 = 0;
            for (int t = 0; t < trained; t++) {
                sq0 += td[t] * td[t];
            }
            // loss = 0.5 * mean over the T x B grid of w_b td^2.
            assertEquals(0.5 * sq0 / (trained * B), first, 1e-5 * first);
            nets.online.zeroGrad();
        }
    }
}
