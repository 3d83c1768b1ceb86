package dev.starling.cli;

import java.util.concurrent.Callable;
import java.util.logging.Logger;

import dev.starling.transport.metrics.Metrics;
import dev.starling.transport.metrics.MetricsServer;
import dev.starling.learner.Learner;
import dev.starling.learner.LearnerConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code starling learner}: ingests chunks, trains with V-trace, publishes weights. */
@Command(name = "learner", mixinStandardHelpOptions = true,
        description = {"Run the IMPALA learner: train on actors' chunks, publish weights.",
            "%nAccepts trajectory chunks from actors, trains on batches of them (V-trace, fast LSTM path) and publishes the weights to the parameter server. On start it takes the weights and optimizer state the parameter server holds, so a restarted learner continues. On SIGTERM it publishes its last weights and exits."})
final class LearnerCommand implements Callable<Integer> {

    private static final Logger LOG = Logger.getLogger(LearnerCommand.class.getName());

    @Mixin
    RoleOptions role;

    @Mixin
    SpaceOptions spaces;

    @Mixin
    ModelOptions model;

    @Mixin
    UnrollOption t;

    @Mixin
    LossOptions lossOptions;

    @Mixin
    LearnerOptions learning;

    @Mixin
    R2d2Options r2d2;

    @Option(names = "--mode", defaultValue = "impala",
            description = "impala: V-trace on each batch of chunks; r2d2: a replay learner of sequences (the r2d2"
                    + " options apply; the model becomes a dueling Q-network). Default: ${DEFAULT-VALUE}.")
    String mode;

    @Option(names = "--port", defaultValue = "7071", description = "gRPC port (0 = any free port). Default: ${DEFAULT-VALUE}.")
    int port;

    @Option(names = "--parameter-server", defaultValue = "localhost:7070",
            description = "Parameter server address host:port. Default: ${DEFAULT-VALUE}.")
    String parameterServer;

    @Override
    public Integer call() throws Exception {
        LearnerConfig config = config();
        if (config.r2d2() != null) {
            r2d2.checkReplayFitsHeap();
        }
        role.watchParent();
        PrometheusMeterRegistry registry = Metrics.registry("learner");
        Learner learner = Learner.forPort(config, registry, role.security());
        MetricsServer metrics = role.startMetrics(registry);
        RoleOptions.closeOnShutdown("learner", learner, metrics);
        learner.start();
        role.writePort(learner.port());
        LOG.info("learner listening on port " + learner.port());
        learner.awaitTermination();
        if (learner.failure().isPresent()) {
            LOG.severe("learner failed: " + learner.failure().get());
            return 4;
        }
        return 0;
    }

    /** The learner's settings from these options; throws {@link IllegalArgumentException} naming a bad one. */
    LearnerConfig config() {
        LearnerConfig config = LearnerConfig.defaults(model.config(spaces.observation(), spaces.action()), parameterServer)
                .withPort(port)
                .withUnroll(t.unroll)
                .withSeed(model.seed)
                .withBatching(learning.batchChunks, learning.queueChunks)
                .withMaxPolicyLag(learning.maxPolicyLag)
                .withPublishing(learning.publishEvery, LearnerConfig.DEFAULT_OPTIMIZER_STATE_EVERY_SECONDS)
                .withOptimizer(learning.optimizer, learning.learningRate)
                .withLoss(lossOptions.loss(1.0))
                .withDevice(learning.device)
                .withMaxMessageBytes(role.maxMessageBytes);
        return switch (mode) {
            case "impala" -> config;
            case "r2d2" -> config.withR2d2(r2d2.config(config.loss()));
            default -> throw new IllegalArgumentException("unknown --mode '" + mode + "': expected impala or r2d2 (a3c"
                    + " has no learner)");
        };
    }
}
