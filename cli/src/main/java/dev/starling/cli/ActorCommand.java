package dev.starling.cli;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.logging.Logger;

import dev.starling.actor.ActorConfig;
import dev.starling.actor.ActorWorker;
import dev.starling.transport.metrics.Metrics;
import dev.starling.transport.metrics.MetricsServer;
import dev.starling.env.Discrete;
import dev.starling.env.EnvironmentDefinition;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code starling actor}: plays K environments and streams trajectory chunks to the learner. */
@Command(name = "actor", mixinStandardHelpOptions = true,
        description = {"Run an actor: play K environments, stream chunks or gradients.",
            "%nK environments are stepped together with batched LSTM inference; chunks of T steps go to the learner (or, with --mode a3c, their loss gradients go to the parameter server); weights come from the parameter server's watch stream. Reconnects with backoff when a server is down; SIGTERM stops it cleanly."})
final class ActorCommand implements Callable<Integer> {

    private static final Logger LOG = Logger.getLogger(ActorCommand.class.getName());

    @Mixin
    RoleOptions role;

    @Mixin
    EnvironmentOptions environment;

    @Mixin
    ModelOptions model;

    @Mixin
    UnrollOption t;

    @Mixin
    LossOptions lossOptions;

    @Mixin
    DoubleBufferOption doubleBuffer;

    @Mixin
    R2d2Options r2d2;

    @Option(names = "--mode", defaultValue = "impala",
            description = "impala: send chunks to the learner; a3c: compute each chunk's loss gradient here and push it"
                    + " to the parameter server (the loss options apply); r2d2: play a Q-network epsilon-greedily and send"
                    + " chunks of --sequence-length - --overlap steps to the replay learner. Default: ${DEFAULT-VALUE}.")
    String mode;

    @Option(names = "--actor-index", defaultValue = "0", paramLabel = "I",
            description = "r2d2: this actor's place among --actor-count actors: its K environments are explorers"
                    + " I*K .. I*K+K-1 of the epsilon spread (alone, it spans the whole spread). Default: ${DEFAULT-VALUE}.")
    int actorIndex;

    @Option(names = "--actor-count", defaultValue = "1", paramLabel = "N",
            description = "r2d2: actors sharing the epsilon spread (see --actor-index). Default: ${DEFAULT-VALUE}.")
    int actorCount;

    @Option(names = "--actor-id",
            description = "Stable name of this actor (the `actor` metrics tag). Default: the host name, so replicas"
                    + " (compose --scale, Kubernetes pods) differ; the seed is then mixed with it too.")
    String actorId;

    @Option(names = "--learner", defaultValue = "localhost:7071", description = "Learner address. Default: ${DEFAULT-VALUE}.")
    String learner;

    @Option(names = "--parameter-server", defaultValue = "localhost:7070",
            description = "Parameter server address. Default: ${DEFAULT-VALUE}.")
    String parameterServer;

    @Option(names = "--num-envs", defaultValue = "32", description = "Environments (K). Default: ${DEFAULT-VALUE}.")
    int numEnvs;

    @Option(names = "--max-in-flight", defaultValue = "2", description = "Chunks sent and not yet acked. Default: ${DEFAULT-VALUE}.")
    int maxInFlight;

    @Override
    public Integer call() throws Exception {
        ActorConfig config = config();
        role.watchParent();
        LOG.info("effective configuration: " + config);
        PrometheusMeterRegistry registry = Metrics.registry("actor", "actor", config.actorId());
        ActorWorker worker = ActorWorker.connect(config, registry, role.security());
        MetricsServer metrics = role.startMetrics(registry);
        RoleOptions.closeOnShutdown("actor", worker, metrics);
        try {
            worker.start().get();
            return 0;
        } catch (ExecutionException e) {
            // The worker has already logged why, at SEVERE.
            return 4;
        }
    }

    /** The actor's settings from these options; throws {@link IllegalArgumentException} naming a bad one. */
    ActorConfig config() {
        String id = actorId;
        long seed = model.seed;
        if (id == null || id.isBlank()) {
            id = hostName();
            seed = new SplittableRandom(model.seed ^ id.hashCode()).nextLong();
        }
        // Compose and Kubernetes may start an actor before its environment servers.
        environment.serverWait = ActorConfig.DEFAULT_STARTUP_TIMEOUT;
        EnvironmentDefinition env = environment.definition();
        ActorConfig config = ActorConfig.defaults(id, learner, parameterServer, env, seed)
                .withEnvServers(env, environment.envServers, doubleBuffer.resolve())
                .withNumEnvs(numEnvs)
                .withUnroll(t.unroll)
                .withModel(model.convLayers(), model.encoderSizes, model.lstmSize)
                .withMaxInFlight(maxInFlight)
                .withMaxMessageBytes(role.maxMessageBytes);
        switch (mode) {
            case "impala" -> { }
            case "a3c" -> config = config.withA3c(lossOptions.loss(env.rewardScale()));
            case "r2d2" -> {
                if (actorCount < 1 || actorIndex < 0 || actorIndex >= actorCount) {
                    throw new IllegalArgumentException("--actor-index must be in [0, --actor-count - 1] and --actor-count"
                            + " >= 1, got " + actorIndex + " of " + actorCount);
                }
                if (!(env.actionSpace() instanceof Discrete d)) {
                    throw new IllegalArgumentException("--mode r2d2 needs a discrete action space; " + env.name()
                            + " has " + env.actionSpace().describe() + " (use impala or a3c)");
                }
                config = config.withUnroll(r2d2.chunkSteps())
                        .withR2d2(r2d2.exploration(d.n(), actorIndex * numEnvs, numEnvs, actorCount * numEnvs));
            }
            default -> throw new IllegalArgumentException("unknown --mode '" + mode + "': expected impala, a3c or r2d2");
        }
        return config;
    }

    /** The container's or pod's name in Docker and Kubernetes (HOSTNAME), else the machine's. */
    private static String hostName() {
        String env = System.getenv("HOSTNAME");
        if (env != null && !env.isBlank()) {
            return env;
        }
        try {
            return InetAddress.getLocalHost().getHostName();
        } catch (UnknownHostException e) {
            return "actor-" + ProcessHandle.current().pid();
        }
    }
}
