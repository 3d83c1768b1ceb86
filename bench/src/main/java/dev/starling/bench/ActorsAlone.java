package dev.starling.bench;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import dev.starling.common.model.ActorCritic;
import dev.starling.common.model.ModelConfig;
import dev.starling.common.model.ModelSpecs;
import dev.starling.common.model.PolicyInference;
import dev.starling.common.model.Torch;
import dev.starling.common.rl.Rollout;
import dev.starling.common.rollout.EpisodeBuffer;
import dev.starling.common.rollout.RolloutCollector;
import dev.starling.env.EnvironmentDefinition;
import dev.starling.envs.EnvironmentRegistry;
import dev.starling.envs.VectorEnv;
import dev.starling.transport.wire.ChunkCodec;

/**
 * The actors' ceiling for the roofline: {@code actors} threads, each doing an actor's whole
 * loop (collect T steps of K environments with batched LSTM-cell inference, encode the chunk to
 * bytes) with no learner and no network, all at once on this machine's cores.
 */
public final class ActorsAlone {

    private ActorsAlone() {
    }

    /** Environment steps per second of all threads together over {@code seconds}. */
    public static double stepsPerSecond(String env, int actors, int envsPerActor, int unroll, int encoder, int lstm,
            double seconds) throws Exception {
        Torch.init();
        EnvironmentDefinition def = EnvironmentRegistry.builtIn().get(env);
        ModelConfig config = new ModelConfig(def.observationSpace(), def.actionSpace(), List.of(encoder), lstm);
        ExecutorService pool = Executors.newFixedThreadPool(actors);
        try {
            List<Callable<long[]>> tasks = new ArrayList<>();
            for (int a = 0; a < actors; a++) {
                long seed = 1000 + a;
                tasks.add(() -> actorLoop(def, config, envsPerActor, unroll, seed, seconds));
            }
            long steps = 0;
            long nanos = 0;
            for (Future<long[]> f : pool.invokeAll(tasks)) {
                long[] r = f.get();
                steps += r[0];
                nanos = Math.max(nanos, r[1]);
            }
            return steps / (nanos / 1e9);
        } finally {
            pool.shutdownNow();
        }
    }

    /** {steps, nanoseconds} of one actor's measured window (after a short warm-up). */
    private static long[] actorLoop(EnvironmentDefinition env, ModelConfig config, int k, int unroll, long seed,
            double seconds) {
        VectorEnv envs = new VectorEnv(env, k, seed);
        try (ActorCritic model = new ActorCritic(config, seed, Torch.device("cpu"));
                PolicyInference policy = new PolicyInference(model, k)) {
            long specHash = ModelSpecs.hash(ModelSpecs.of(model));
            RolloutCollector collector = new RolloutCollector(envs, policy, model.distribution(), seed);
            Rollout rollout = new Rollout(unroll, k, config);
            EpisodeBuffer episodes = new EpisodeBuffer();
            long encodedBytes = 0;
            for (int i = 0; i < 20; i++) {
                episodes.clear();
                collector.collect(rollout, episodes);
            }
            long start = System.nanoTime();
            long end = start + (long) (seconds * 1e9);
            long steps = 0;
            long sequence = 0;
            while (System.nanoTime() < end) {
                episodes.clear();
                collector.collect(rollout, episodes);
                encodedBytes += ChunkCodec.encode(rollout, "bench", sequence++, 0, specHash, episodes).toByteArray().length;
                steps += rollout.frames();
            }
            if (encodedBytes == 0) {
                throw new IllegalStateException("no chunk was encoded");
            }
            return new long[] {steps, System.nanoTime() - start};
        }
    }
}
