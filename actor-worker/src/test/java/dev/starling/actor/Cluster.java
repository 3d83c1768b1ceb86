package dev.starling.actor;

import dev.starling.transport.GrpcCleanupExtension;
import java.io.IOException;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

import dev.starling.proto.v1.ParameterServerGrpc;
import dev.starling.proto.v1.Parameters;
import dev.starling.proto.v1.PublishParametersRequest;
import dev.starling.ps.ParameterServer;
import dev.starling.ps.ParameterServerConfig;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;

/**
 * An in-process mini cluster for one test: a real {@link ParameterServer}, a
 * {@link RecordingLearner} on its own in-process server, and client channels to both. Everything
 * is registered with the test's cleanup extension.
 */
final class Cluster {

    final GrpcCleanupExtension grpc;
    final String learnerName = InProcessServerBuilder.generateName();
    final String psName = InProcessServerBuilder.generateName();
    final ParameterServer ps;
    final ManagedChannel psChannel;
    final ManagedChannel learnerChannel;
    private volatile RecordingLearner learner;
    private volatile Server learnerServer;

    private Cluster(GrpcCleanupExtension grpc) throws IOException {
        this.grpc = grpc;
        ps = grpc.register(new ParameterServer(InProcessServerBuilder.forName(psName),
                ParameterServerConfig.defaults(0, null), new SimpleMeterRegistry())).start();
        startLearner();
        psChannel = grpc.register(InProcessChannelBuilder.forName(psName).build());
        learnerChannel = grpc.register(InProcessChannelBuilder.forName(learnerName).build());
    }

    static Cluster start(GrpcCleanupExtension grpc) throws IOException {
        return new Cluster(grpc);
    }

    RecordingLearner learner() {
        return learner;
    }

    /** Publishes weights to the parameter server (unary call, 10 s deadline). */
    void publish(Parameters p) {
        ParameterServerGrpc.newBlockingStub(psChannel).withDeadlineAfter(10, TimeUnit.SECONDS)
                .publishParameters(PublishParametersRequest.newBuilder().setParameters(p).build());
    }

    /** Takes the learner's server away (calls fail with UNAVAILABLE) and waits until it is gone. */
    void stopLearner() throws InterruptedException {
        learnerServer.shutdownNow();
        learnerServer.awaitTermination(5, TimeUnit.SECONDS);
    }

    /** A new learner server, with a fresh recorder, under the same name. */
    RecordingLearner startLearner() throws IOException {
        RecordingLearner fresh = new RecordingLearner();
        learnerServer = grpc.register(InProcessServerBuilder.forName(learnerName).addService(fresh).build().start());
        learner = fresh;
        return fresh;
    }

    /** An actor config for this cluster's in-process targets (names, not host:port). */
    ActorConfig config(String env, int numEnvs, int unroll) {
        return ActorConfig.defaults("actor-7", learnerName, psName, env, 7)
                .withNumEnvs(numEnvs).withUnroll(unroll)
                .withModelSizes(java.util.List.of(TestModels.ENCODER), TestModels.LSTM)
                .withStartupTimeout(Duration.ofSeconds(20));
    }

    /** Polls {@code condition} every 10 ms until it holds; fails the test after {@code timeout}. */
    static void await(BooleanSupplier condition, Duration timeout, String what) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out after " + timeout.toMillis() + " ms waiting for " + what);
            }
            Thread.sleep(10);
        }
    }
}
