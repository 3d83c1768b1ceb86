package dev.starling.actor;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

import dev.starling.envs.VectorEnv;
import dev.starling.envs.VectorEnvironment;
import dev.starling.envs.remote.EnvironmentServerException;
import dev.starling.envs.remote.EnvironmentServers;
import dev.starling.envs.remote.RemoteVectorEnv;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;

/**
 * Opens an actor's K environments: in this process, or in the environment servers of
 * {@code --env-server}; as one lane, or as two halves for double-buffered play. For servers it
 * records {@code starling.env.server.step} (a stream's reply latency) and
 * {@code starling.env.server.streams.lost} (by reason), tagged with the actor and the server.
 */
final class ActorEnvironments {

    private ActorEnvironments() {
    }

    /**
     * The lanes, seeded from {@code seed}; with one in-process lane the environments get
     * {@code seed} itself (the same episodes as before lanes existed).
     */
    static List<VectorEnvironment> open(ActorConfig config, long seed, MeterRegistry registry) {
        int lanes = config.doubleBuffered() ? 2 : 1;
        SplittableRandom seeds = new SplittableRandom(seed);
        EnvironmentServers servers = config.envServers().isEmpty() ? null
                : EnvironmentServers.describe(config.envServers(), config.startupTimeout());
        if (servers != null && (!servers.definition().observationSpace().equals(config.env().observationSpace())
                || !servers.definition().actionSpace().equals(config.env().actionSpace()))) {
            // The model was built from an earlier description: a server that changed since cannot feed it.
            throw new EnvironmentServerException("environment servers " + config.envServers() + " now host "
                    + servers.definition().observationSpace() + " / " + servers.definition().actionSpace()
                    + " but this actor's model was built for " + config.env().observationSpace() + " / "
                    + config.env().actionSpace());
        }
        RemoteVectorEnv.Listener listener = servers == null ? null : new Meters(config.actorId(), registry);
        List<VectorEnvironment> out = new ArrayList<>(lanes);
        try {
            for (int i = 0; i < lanes; i++) {
                int k = config.numEnvs() / lanes + (i < config.numEnvs() % lanes ? 1 : 0);
                long laneSeed = lanes == 1 ? seed : seeds.nextLong();
                out.add(servers == null ? new VectorEnv(config.env(), k, laneSeed)
                        : servers.open(k, laneSeed, RemoteVectorEnv.Settings.PLAY.withListener(listener)));
            }
        } catch (RuntimeException e) {
            out.forEach(VectorEnvironment::close);
            throw e;
        }
        return out;
    }

    /** Environment-server metrics of one actor; timers and counters cached per server (the step path). */
    private static final class Meters implements RemoteVectorEnv.Listener {
        private final String actorId;
        private final MeterRegistry registry;
        private final Map<String, Timer> steps = new ConcurrentHashMap<>();

        Meters(String actorId, MeterRegistry registry) {
            this.actorId = actorId;
            this.registry = registry;
        }

        @Override
        public void replied(String server, long nanos) {
            steps.computeIfAbsent(server, s -> Timer.builder("starling.env.server.step")
                    .description("Time from sending a batch of actions to an environment server to its reply")
                    .tag("actor", actorId).tag("server", s).register(registry)).record(nanos, TimeUnit.NANOSECONDS);
        }

        @Override
        public void streamLost(String server, String reason, String detail) {
            Counter.builder("starling.env.server.streams.lost")
                    .description("Environment server streams lost and reopened (their episodes restart)")
                    .tag("actor", actorId).tag("server", server).tag("reason", reason).register(registry).increment();
        }
    }
}
