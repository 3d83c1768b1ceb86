package dev.starling.ps;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.starling.transport.GrpcCleanupExtension;
import java.util.concurrent.TimeUnit;

import dev.starling.proto.v1.GetParametersRequest;
import dev.starling.proto.v1.ParameterServerGrpc;
import dev.starling.proto.v1.Parameters;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.health.v1.HealthGrpc;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** The production transport: Netty on an ephemeral loopback port. */
class NettyTransportTest {

    @RegisterExtension
    final GrpcCleanupExtension grpc = new GrpcCleanupExtension();

    @Test
    void servesOnAnEphemeralPort() throws Exception {
        ParameterServer server = grpc.register(
                ParameterServer.forPort(ParameterServerConfig.defaults(0, null), new SimpleMeterRegistry())).start();
        assertTrue(server.port() > 0, "bound port " + server.port());
        ManagedChannel channel = grpc.register(Grpc.newChannelBuilderForAddress(
                "localhost", server.port(), InsecureChannelCredentials.create()).maxInboundMessageSize(64 << 20).build());

        assertEquals(ServingStatus.SERVING, HealthGrpc.newBlockingStub(channel).withDeadlineAfter(10, TimeUnit.SECONDS)
                .check(HealthCheckRequest.getDefaultInstance()).getStatus());
        Parameters p = TestModels.params(3);
        ParameterServerGrpc.newBlockingStub(channel).withDeadlineAfter(10, TimeUnit.SECONDS)
                .publishParameters(TestModels.publish(p));
        assertEquals(p, TestModels.plain(ParameterServerGrpc.newBlockingStub(channel).withDeadlineAfter(10, TimeUnit.SECONDS)
                .getParameters(GetParametersRequest.getDefaultInstance()).getParameters()));
    }
}
