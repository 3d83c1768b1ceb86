package dev.starling.cli;

import java.nio.file.Path;
import java.util.concurrent.Callable;
import java.util.logging.Logger;

import dev.starling.common.grpc.Channels;
import dev.starling.common.metrics.Metrics;
import dev.starling.common.metrics.MetricsServer;
import dev.starling.ps.ParameterServer;
import dev.starling.ps.ParameterServerConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code starling parameter-server}: holds, broadcasts and checkpoints the weights. */
@Command(name = "parameter-server", mixinStandardHelpOptions = true,
        description = {"Run the parameter server: versioned weights, WatchParameters broadcast, checkpoints.",
            "On start it resumes from the newest valid checkpoint in --checkpoint-dir; on SIGTERM it",
            "writes a final checkpoint and exits."})
final class ParameterServerCommand implements Callable<Integer> {

    private static final Logger LOG = Logger.getLogger(ParameterServerCommand.class.getName());

    @Mixin
    RoleOptions role;

    @Option(names = "--port", defaultValue = "7070", description = "gRPC port (0 = any free port). Default: ${DEFAULT-VALUE}.")
    int port;

    @Option(names = "--checkpoint-dir", paramLabel = "DIR", description = "Where checkpoints go (none if unset).")
    Path checkpointDir;

    @Option(names = "--checkpoint-interval", defaultValue = "30",
            description = "Seconds between checkpoints. Default: ${DEFAULT-VALUE}.")
    long checkpointInterval;

    @Option(names = "--keep-checkpoints", defaultValue = "3", description = "Checkpoints kept. Default: ${DEFAULT-VALUE}.")
    int keepCheckpoints;

    @Option(names = "--max-message-bytes", defaultValue = "" + Channels.DEFAULT_MAX_MESSAGE_BYTES,
            description = "Largest accepted message. Default: ${DEFAULT-VALUE}.")
    int maxMessageBytes;

    @Override
    public Integer call() throws Exception {
        role.watchParent();
        ParameterServerConfig config = ParameterServerConfig.defaults(port, checkpointDir)
                .withCheckpointIntervalSeconds(checkpointInterval)
                .withKeepCheckpoints(keepCheckpoints)
                .withMaxMessageBytes(maxMessageBytes)
                .withProvenance(Provenance.all());
        PrometheusMeterRegistry registry = Metrics.registry("parameter-server");
        ParameterServer server = ParameterServer.forPort(config, registry);
        MetricsServer metrics = role.startMetrics(registry);
        RoleOptions.closeOnShutdown("parameter-server", server, metrics);
        server.start();
        role.writePort(server.port());
        LOG.info("parameter server listening on port " + server.port());
        server.awaitTermination();
        return 0;
    }
}
