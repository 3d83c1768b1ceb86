package dev.starling.learner.bench;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

import dev.starling.common.env.Environments;
import dev.starling.common.env.VectorEnv;
import dev.starling.common.model.ActorCritic;
import dev.starling.common.model.ModelConfig;
import dev.starling.common.model.PolicyInference;
import dev.starling.common.model.Torch;
import dev.starling.common.rl.ForwardPath;
import dev.starling.common.rl.LossConfig;
import dev.starling.common.rl.Optimizer;
import dev.starling.common.rl.Rollout;
import dev.starling.common.rl.TrainStep;
import dev.starling.common.rollout.ReturnTracker;
import dev.starling.common.rollout.RolloutCollector;

/**
 * Learner update cost (fast split-at-done path vs the reference step loop) and actor
 * collection speed, measured side by side in one process on one libtorch thread. Batches are
 * real masked-CartPole rollouts from an untrained policy (short episodes: many dones, the hard
 * case for the split path). Reports, asserts nothing.
 */
public final class FoundationBenchmark {

    /** One measured line. */
    public record Line(String name, double msPerCall, double perSecond, String unit) {
    }

    private FoundationBenchmark() {
    }

    /** Runs everything; {@code quick} shortens each measurement. */
    public static List<Line> run(boolean quick, PrintStream log) {
        List<Line> lines = new ArrayList<>();
        int hidden = 128;
        for (int unroll : new int[] {32, 80}) {
            Line[] pair = learnerUpdates(unroll, 64, hidden, quick);
            lines.add(pair[0]);
            lines.add(pair[1]);
            lines.add(new Line(String.format(Locale.ROOT, "fast/loop speed-up T=%d", unroll),
                    Double.NaN, pair[1].msPerCall() / pair[0].msPerCall(), "x"));
            for (int i = lines.size() - 3; i < lines.size(); i++) {
                log.println(format(lines.get(i)));
            }
        }
        for (int k : new int[] {1, 16, 64}) {
            Line l = actorSteps(k, hidden, quick);
            lines.add(l);
            log.println(format(l));
        }
        return lines;
    }

    public static String format(Line l) {
        if (Double.isNaN(l.msPerCall())) {
            return String.format(Locale.ROOT, "%-52s %12s %14.2f %s", l.name(), "", l.perSecond(), l.unit());
        }
        return String.format(Locale.ROOT, "%-52s %9.3f ms %14.0f %s", l.name(), l.msPerCall(), l.perSecond(), l.unit());
    }

    /**
     * Median update time of the fast path and of the loop, measured alternately update by
     * update on the same batch so that machine noise hits both alike.
     */
    static Line[] learnerUpdates(int unroll, int rows, int hidden, boolean quick) {
        ModelConfig config = new ModelConfig(2, 2, 64, hidden);
        VectorEnv env = Environments.create("masked-cartpole", rows, 1);
        try (ActorCritic fastModel = new ActorCritic(config, 1, Torch.device("cpu"));
                ActorCritic loopModel = new ActorCritic(config, 1, Torch.device("cpu"));
                Optimizer fastAdam = Optimizer.create("adam", fastModel.parameters(), 1e-4);
                Optimizer loopAdam = Optimizer.create("adam", loopModel.parameters(), 1e-4);
                PolicyInference policy = new PolicyInference(fastModel, rows)) {
            Rollout batch = new Rollout(unroll, rows, config);
            new RolloutCollector(env, policy, 1).collect(batch, new ReturnTracker());
            LossConfig loss = LossConfig.defaults().withRewardScale(0.05);
            TrainStep fast = new TrainStep(fastModel, fastAdam, loss, ForwardPath.FAST);
            TrainStep loop = new TrainStep(loopModel, loopAdam, loss, ForwardPath.LOOP);
            int warmup = quick ? 5 : 10;
            int iterations = quick ? 15 : 40;
            double[] fastMs = new double[iterations];
            double[] loopMs = new double[iterations];
            for (int i = 0; i < warmup + iterations; i++) {
                long a = System.nanoTime();
                fast.update(batch);
                long b = System.nanoTime();
                loop.update(batch);
                long c = System.nanoTime();
                if (i >= warmup) {
                    fastMs[i - warmup] = (b - a) / 1e6;
                    loopMs[i - warmup] = (c - b) / 1e6;
                }
            }
            int dones = 0;
            for (boolean d : batch.dones) {
                dones += d ? 1 : 0;
            }
            return new Line[] {updateLine("fast", unroll, rows, hidden, dones, median(fastMs)),
                    updateLine("loop", unroll, rows, hidden, dones, median(loopMs))};
        }
    }

    private static Line updateLine(String path, int unroll, int rows, int hidden, int dones, double ms) {
        String name = String.format(Locale.ROOT, "learner update %s T=%d B=%d LSTM %d (%d dones)", path, unroll, rows,
                hidden, dones);
        return new Line(name, ms, unroll * rows / (ms / 1000), "samples/s");
    }

    private static double median(double[] x) {
        double[] s = x.clone();
        java.util.Arrays.sort(s);
        return s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
    }

    static Line actorSteps(int envs, int hidden, boolean quick) {
        ModelConfig config = new ModelConfig(2, 2, 64, hidden);
        VectorEnv env = Environments.create("masked-cartpole", envs, 1);
        try (ActorCritic model = new ActorCritic(config, 1, Torch.device("cpu"));
                PolicyInference policy = new PolicyInference(model, envs)) {
            RolloutCollector collector = new RolloutCollector(env, policy, 1);
            Rollout rollout = new Rollout(32, envs, config);
            ReturnTracker returns = new ReturnTracker();
            int warmup = quick ? 20 : 50;
            for (int i = 0; i < warmup; i++) {
                collector.collect(rollout, returns);
            }
            long targetNanos = (quick ? 2 : 5) * 1_000_000_000L;
            long start = System.nanoTime();
            long steps = 0;
            int calls = 0;
            while (System.nanoTime() - start < targetNanos) {
                collector.collect(rollout, returns);
                steps += rollout.frames();
                calls += rollout.unroll;
            }
            double seconds = (System.nanoTime() - start) / 1e9;
            String name = String.format(Locale.ROOT, "actor env+inference K=%d LSTM %d", envs, hidden);
            return new Line(name, seconds * 1000 / calls, steps / seconds, "env steps/s");
        }
    }
}
