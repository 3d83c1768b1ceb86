package dev.starling.bench;

import java.io.IOException;
import java.io.PrintStream;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.stream.Collectors;

import dev.starling.common.model.ActorCritic;
import dev.starling.common.model.ModelConfig;
import dev.starling.common.model.PolicyInference;
import dev.starling.common.model.Torch;
import dev.starling.common.rl.Rollout;
import dev.starling.common.rollout.EpisodeBuffer;
import dev.starling.common.rollout.RolloutCollector;
import dev.starling.env.Discrete;
import dev.starling.envs.VectorStep;
import dev.starling.envs.remote.EnvironmentServerException;
import dev.starling.envs.remote.EnvironmentServers;
import dev.starling.envs.remote.PythonEnvServer;
import dev.starling.envs.remote.RemoteVectorEnv;

/**
 * Section 7, remote environments, on this repository's Python CartPole server
 * ({@code python/starling-env/examples/cartpole.py}, one child process per server): the round
 * trip of one batched remote step, and double-buffered play against the plain loop when one
 * environment step costs as much as one inference step (issue 15). The cluster runs of section 7
 * are {@code starling bench}'s own (they run {@code train}). Reports; asserts nothing.
 *
 * <p>Runs on the calling thread, one libtorch thread; every server, stream and native object it
 * makes is closed before the method that made it returns.
 */
public final class RemoteEnvBenchmark {

    public static final String SECTION = "7 remote environments";

    /** What the Python server needs, as Debian packages (python/starling-env/README.md). */
    public static final String DEBIAN_PACKAGES =
            "python3-grpcio python3-protobuf python3-numpy protobuf-compiler protobuf-compiler-grpc";

    /** Issue 15: double-buffered play at least this many times the plain loop's env steps/s. */
    static final double DOUBLE_BUFFER_TARGET = 1.3;
    /** The K values of the step latency; each one stream (the server allows {@link #MAX_ENVS_PER_STREAM}). */
    static final int[] LATENCY_ENVS = {32, 128};
    static final int MAX_ENVS_PER_STREAM = 256;
    /**
     * K of the plain-vs-double comparison: the actor's default (one lane of 64 against two of 32),
     * and a larger batch, over which the server's fixed cost per message weighs less.
     */
    static final int[] PLAY_ENVS = {64, 256};
    static final int UNROLL = 32;

    private static final String CARTPOLE = "examples/cartpole.py";
    private static final Duration START_TIMEOUT = Duration.ofSeconds(60);

    /**
     * How long each measurement runs.
     *
     * @param warmupSteps untimed remote steps before the timed ones, per K
     * @param timedSteps timed remote steps, per K
     * @param warmupRollouts untimed rollouts of each way of playing before the timed ones
     * @param calibrationNanos time budget of the policy-step measurement
     * @param playNanos time budget of each plain-vs-double comparison (both ways together)
     */
    record Settings(int warmupSteps, int timedSteps, int warmupRollouts, long calibrationNanos, long playNanos) {

        static final Settings QUICK = new Settings(1_000, 2_000, 5, 2_000_000_000L, 4_000_000_000L);
        static final Settings FULL = new Settings(3_000, 10_000, 20, 5_000_000_000L, 12_000_000_000L);
    }

    private RemoteEnvBenchmark() {
    }

    /**
     * The Python CartPole server on a free port: {@code maxEnvs} environments per stream, each
     * environment step busy-waiting {@code stepCostMicros} (a costlier simulator).
     *
     * @throws EnvironmentServerException naming the Debian packages, if it does not start
     */
    public static PythonEnvServer startCartPole(int maxEnvs, double stepCostMicros) {
        try {
            return PythonEnvServer.start(CARTPOLE, List.of("--port", "0", "--num-envs", Integer.toString(maxEnvs),
                    "--step-cost-us", String.format(Locale.ROOT, "%.3f", stepCostMicros)), START_TIMEOUT);
        } catch (IOException e) {
            throw new EnvironmentServerException("section 7 (remote environments) needs /usr/bin/python3 with grpcio,"
                    + " protobuf and numpy, and protoc with the gRPC Python plugin; on Debian: sudo apt-get install "
                    + DEBIAN_PACKAGES + ". The Python CartPole server did not start: " + e.getMessage(), e);
        }
    }

    /** Starts and stops the Python CartPole server: fails before a long benchmark if it cannot run here. */
    public static void requirePython() throws InterruptedException {
        startCartPole(MAX_ENVS_PER_STREAM, 0).close();
    }

    /** Runs parts 1 (step latency) and 2 (double-buffering); {@code quick} shortens each measurement. */
    public static List<BenchLine> run(boolean quick, PrintStream log) throws InterruptedException {
        return run(quick ? Settings.QUICK : Settings.FULL, log);
    }

    static List<BenchLine> run(Settings s, PrintStream log) throws InterruptedException {
        Torch.init();
        List<BenchLine> lines = new ArrayList<>();
        try (PythonEnvServer noCost = startCartPole(MAX_ENVS_PER_STREAM, 0)) {
            EnvironmentServers servers = EnvironmentServers.describe(List.of(noCost.address()));
            for (int k : LATENCY_ENVS) {
                emit(lines, stepLatency(servers, k, s), log);
            }
            ModelConfig actorModel = ModelConfig.defaults(servers.definition().observationSpace(),
                    servers.definition().actionSpace());
            try (ActorCritic model = new ActorCritic(actorModel, 1, Torch.device("cpu"))) {
                for (int k : PLAY_ENVS) {
                    double policyMicros = policyStepMicros(servers, model, k, s);
                    emit(lines, List.of(BenchLine.of(SECTION, String.format(Locale.ROOT, "policy step of %d envs"
                            + " (encoder %s, LSTM %d): model time per step, plain loop", k, actorModel.encoderSizes()
                            .stream().map(String::valueOf).collect(Collectors.joining(",")), actorModel.lstmSize()),
                            Double.NaN, policyMicros, "µs")), log);
                    emit(lines, plainVsDoubleBuffered(servers, model, k, 0, s), log);
                    // Issue 15's case: stepping the K environments costs as much as running the policy on
                    // them, a cost per environment step (as a simulator's), so each lane's half costs half.
                    double stepCost = policyMicros / k;
                    try (PythonEnvServer costly = startCartPole(MAX_ENVS_PER_STREAM, stepCost)) {
                        emit(lines, plainVsDoubleBuffered(EnvironmentServers.describe(List.of(costly.address())),
                                model, k, stepCost, s), log);
                    }
                }
            }
        }
        return lines;
    }

    private static void emit(List<BenchLine> lines, List<BenchLine> add, PrintStream log) {
        for (BenchLine l : add) {
            lines.add(l);
            log.println(l.format());
        }
    }

    /**
     * Part 1: {@code envs} environments in one stream, stepped with uniformly random actions; the
     * round trip of each timed step ({@code startStep} + {@code finishStep}: encode, send, the
     * server steps them all, reply, check, copy), its mean, p50 and p99, and env steps/s at the mean.
     */
    static List<BenchLine> stepLatency(EnvironmentServers servers, int envs, Settings s) {
        int actions = ((Discrete) servers.definition().actionSpace()).n();
        try (RemoteVectorEnv env = servers.open(envs, 1, RemoteVectorEnv.Settings.MEASURE)) {
            VectorStep step = env.newStep();
            env.reset(step);
            SplittableRandom random = new SplittableRandom(1);
            long[] nanos = new long[s.timedSteps()];
            for (int i = -s.warmupSteps(); i < s.timedSteps(); i++) {
                for (int k = 0; k < envs; k++) {
                    step.discreteActions[k] = random.nextInt(actions);
                }
                long start = System.nanoTime();
                env.startStep(step);
                env.finishStep(step);
                if (i >= 0) {
                    nanos[i] = System.nanoTime() - start;
                }
            }
            Arrays.sort(nanos);
            double meanMs = Arrays.stream(nanos).average().orElseThrow() / 1e6;
            String what = String.format(Locale.ROOT, "remote step K=%d (%d stream(s), no step cost)", envs,
                    env.streams());
            return List.of(
                    BenchLine.of(SECTION, what + ": mean round trip", meanMs, envs / (meanMs / 1000), "env steps/s"),
                    BenchLine.of(SECTION, what + ": p50 round trip", Double.NaN, percentile(nanos, 0.50) / 1e6, "ms"),
                    BenchLine.of(SECTION, what + ": p99 round trip", Double.NaN, percentile(nanos, 0.99) / 1e6, "ms"));
        }
    }

    /** The nearest-rank percentile {@code p} (0 to 1] of {@code sorted}. */
    private static long percentile(long[] sorted, double p) {
        return sorted[(int) Math.ceil(p * sorted.length) - 1];
    }

    /**
     * The policy step of one lane as section 2 measures it: the collector's model time (inference,
     * sampling, storing) per step, playing {@code envs} remote environments in the plain loop
     * (the time waiting for the server is charged to the environments, not counted here).
     */
    static double policyStepMicros(EnvironmentServers servers, ActorCritic model, int envs, Settings s) {
        try (Play play = new Play(servers, model, envs, 1)) {
            play.collector.enableTiming();
            for (int i = 0; i < s.warmupRollouts(); i++) {
                play.collect();
            }
            play.collector.resetClock();
            play.resetCounts();
            long end = System.nanoTime() + s.calibrationNanos();
            while (play.rollouts == 0 || System.nanoTime() < end) {
                play.collect();
            }
            return play.collector.modelNanos() / 1e3 / ((double) play.rollouts * UNROLL);
        }
    }

    /**
     * Part 2: {@code envs} environments on {@code servers}, played by one model in one lane
     * (the plain loop: infer, step, infer, step) and in two lanes of half as many, each with its
     * own inference state and stream (double-buffered: one lane's environments step while the
     * policy runs on the other's). The two alternate rollout by rollout, so machine noise hits
     * both alike; env steps/s of each over their own rollouts, and the ratio.
     */
    static List<BenchLine> plainVsDoubleBuffered(EnvironmentServers servers, ActorCritic model, int envs,
            double stepCostMicros, Settings s) {
        try (Play plain = new Play(servers, model, envs, 1);
                Play doubled = new Play(servers, model, envs, 2)) {
            for (int i = 0; i < s.warmupRollouts(); i++) {
                plain.collect();
                doubled.collect();
            }
            plain.resetCounts();
            doubled.resetCounts();
            long end = System.nanoTime() + s.playNanos();
            while (plain.rollouts == 0 || System.nanoTime() < end) {
                plain.collect();
                doubled.collect();
            }
            String cost = stepCostMicros == 0 ? "no step cost" : String.format(Locale.ROOT,
                    "step cost %.2f µs per env step (%d env steps cost one policy step)", stepCostMicros, envs);
            BenchLine ratio = BenchLine.of(SECTION, "double-buffered / plain loop env steps/s, K=" + envs + ", " + cost,
                    Double.NaN, doubled.stepsPerSecond() / plain.stepsPerSecond(), "x");
            return List.of(
                    BenchLine.of(SECTION, String.format(Locale.ROOT, "plain loop, 1 lane x %d envs, T=%d, %s"
                            + " (ms/rollout)", envs, UNROLL, cost), plain.msPerRollout(), plain.stepsPerSecond(),
                            "env steps/s"),
                    BenchLine.of(SECTION, String.format(Locale.ROOT, "double-buffered, 2 lanes x %d envs, T=%d, %s"
                            + " (ms/rollout)", envs / 2, UNROLL, cost), doubled.msPerRollout(),
                            doubled.stepsPerSecond(), "env steps/s"),
                    stepCostMicros == 0 ? ratio : ratio.atLeast(DOUBLE_BUFFER_TARGET));
        }
    }

    /**
     * {@code numEnvs} remote environments played by {@code model} as an actor plays them, in
     * {@code lanes} lanes (each its own stream and inference state), with a clock over whole
     * rollouts. Owns and closes the streams and the inference states, not the model.
     */
    private static final class Play implements AutoCloseable {
        private final List<RemoteVectorEnv> laneEnvs = new ArrayList<>();
        private final List<PolicyInference> lanePolicies = new ArrayList<>();
        private final Rollout rollout;
        private final EpisodeBuffer episodes = new EpisodeBuffer();
        final RolloutCollector collector;
        long rollouts;
        private long nanos;

        Play(EnvironmentServers servers, ActorCritic model, int numEnvs, int lanes) {
            SplittableRandom seeds = new SplittableRandom(1);
            try {
                for (int i = 0; i < lanes; i++) {
                    // A lost stream fails the measurement rather than restarting episodes inside it.
                    laneEnvs.add(servers.open(numEnvs / lanes, seeds.nextLong(), RemoteVectorEnv.Settings.MEASURE));
                    lanePolicies.add(new PolicyInference(model, numEnvs / lanes));
                }
                collector = new RolloutCollector(laneEnvs, lanePolicies, model.distribution(), seeds.nextLong());
            } catch (RuntimeException e) {
                close();
                throw e;
            }
            rollout = new Rollout(UNROLL, numEnvs, model.config());
        }

        void collect() {
            episodes.clear();
            long start = System.nanoTime();
            collector.collect(rollout, episodes);
            nanos += System.nanoTime() - start;
            rollouts++;
        }

        void resetCounts() {
            rollouts = 0;
            nanos = 0;
        }

        double stepsPerSecond() {
            return (double) rollouts * rollout.frames() / (nanos / 1e9);
        }

        double msPerRollout() {
            return nanos / 1e6 / rollouts;
        }

        @Override
        public void close() {
            laneEnvs.forEach(RemoteVectorEnv::close);
            lanePolicies.forEach(PolicyInference::close);
        }
    }
}
