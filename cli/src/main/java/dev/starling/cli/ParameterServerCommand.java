package dev.starling.cli;

import java.nio.file.Path;
import java.util.concurrent.Callable;
import java.util.logging.Logger;

import dev.starling.transport.metrics.Metrics;
import dev.starling.transport.metrics.MetricsServer;
import dev.starling.ps.ParameterServer;
import dev.starling.ps.ParameterServerConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code starling parameter-server}: holds, broadcasts and checkpoints the weights. */
@Command(name = "parameter-server", mixinStandardHelpOptions = true,
        description = {"Run the parameter server: versioned weights, broadcast, checkpoints.",
            "%nOn start it resumes from the newest valid checkpoint in --checkpoint-dir; on SIGTERM it writes a final checkpoint and exits. With --mode a3c it also applies the gradients actors push, with one shared optimizer."})
final class ParameterServerCommand implements Callable<Integer> {

    private static final Logger LOG = Logger.getLogger(ParameterServerCommand.class.getName());

    @Mixin
    RoleOptions role;

    @Mixin
    SpaceOptions spaces;

    @Mixin
    ModelOptions model;

    @Option(names = "--mode", defaultValue = "impala",
            description = "impala and r2d2: weights come from the learner's publishes; a3c: actors push gradients and this server"
                    + " applies them with one shared optimizer (the model options then say which model it starts)."
                    + " Default: ${DEFAULT-VALUE}.")
    String mode;

    @Option(names = "--optimizer", defaultValue = "rmsprop", description = "a3c: rmsprop or adam. Default: ${DEFAULT-VALUE}.")
    String optimizer;

    @Option(names = "--learning-rate", defaultValue = "0.001", description = "a3c. Default: ${DEFAULT-VALUE}.")
    double learningRate;

    @Option(names = "--max-staleness", defaultValue = "10",
            description = "a3c: drop gradients computed on weights more than this many versions old. Default: ${DEFAULT-VALUE}.")
    long maxStaleness;

    @Option(names = "--port", defaultValue = "7070", description = "gRPC port (0 = any free port). Default: ${DEFAULT-VALUE}.")
    int port;

    @Option(names = "--checkpoint-dir", paramLabel = "DIR", description = "Where checkpoints go (none if unset).")
    Path checkpointDir;

    @Option(names = "--checkpoint-interval", defaultValue = "30",
            description = "Seconds between checkpoints. Default: ${DEFAULT-VALUE}.")
    long checkpointInterval;

    @Option(names = "--keep-checkpoints", defaultValue = "3", description = "Checkpoints kept. Default: ${DEFAULT-VALUE}.")
    int keepCheckpoints;

    @Override
    public Integer call() throws Exception {
        ParameterServerConfig config = config();
        role.watchParent();
        PrometheusMeterRegistry registry = Metrics.registry("parameter-server");
        ParameterServer server = ParameterServer.forPort(config, registry, role.security());
        MetricsServer metrics = role.startMetrics(registry);
        RoleOptions.closeOnShutdown("parameter-server", server, metrics);
        server.start();
        role.writePort(server.port());
        LOG.info("parameter server listening on port " + server.port());
        server.awaitTermination();
        return 0;
    }

    /** The server's settings from these options; throws {@link IllegalArgumentException} naming a bad one. */
    ParameterServerConfig config() {
        ParameterServerConfig config = ParameterServerConfig.defaults(port, checkpointDir)
                .withCheckpointIntervalSeconds(checkpointInterval)
                .withKeepCheckpoints(keepCheckpoints)
                .withMaxMessageBytes(role.maxMessageBytes)
                .withProvenance(Provenance.all());
        switch (mode) {
            case "impala", "r2d2" -> { }
            case "a3c" -> {
                config = config.withA3c(model.config(spaces.observation(), spaces.action()), model.seed).withA3cOptimizer(optimizer, learningRate).withMaxStaleness(maxStaleness);
            }
            default -> throw new IllegalArgumentException("unknown --mode '" + mode + "': expected impala, a3c or r2d2");
        }
        return config;
    }
}
