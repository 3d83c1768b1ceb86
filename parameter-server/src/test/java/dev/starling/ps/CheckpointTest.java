package dev.starling.ps;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.starling.transport.GrpcCleanupExtension;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.zip.CRC32;

import dev.starling.proto.v1.Checkpoint;
import dev.starling.proto.v1.GetParametersRequest;
import dev.starling.proto.v1.GetParametersResponse;
import dev.starling.proto.v1.OptimizerState;
import dev.starling.proto.v1.Parameters;
import dev.starling.proto.v1.Provenance;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class CheckpointTest {

    @RegisterExtension
    final GrpcCleanupExtension grpc = new GrpcCleanupExtension();

    @TempDir
    Path dir;

    private ParameterServerConfig config() {
        return ParameterServerConfig.defaults(0, dir)
                .withProvenance(Map.of("env", "masked-cartpole", "git_revision", "abc123"));
    }

    @Test
    void closeWritesACheckpointThatARestartedServerRestores() throws Exception {
        Harness first = Harness.start(grpc, config());
        Parameters p7 = TestModels.params(7, 3);
        OptimizerState opt = TestModels.adam(p7, 0.125f, 70);
        first.blocking().publishParameters(TestModels.publish(p7).toBuilder().setOptimizerState(opt).build());
        Parameters p8 = TestModels.params(8, 4);
        first.blocking().publishParameters(TestModels.publish(p8));
        first.server.close();

        Path file = dir.resolve("checkpoint-000000000008.ckpt");
        assertTrue(Files.isRegularFile(file), "final checkpoint written on close");
        Checkpoint c = CheckpointStore.read(file);
        assertEquals(p8, TestModels.plain(c.getParameters()));
        assertEquals(opt, c.getOptimizerState());
        assertEquals(7, c.getOptimizerStateVersion());
        // The optimizer state is kept with the weights it belongs to, not paired with newer ones.
        assertEquals(p7, TestModels.plain(c.getOptimizerStateParameters()));
        assertEquals(80, c.getLearnerUpdates());
        assertTrue(c.getCreatedAt().getSeconds() > 1_700_000_000L, "creation time recorded");
        Provenance prov = c.getProvenance();
        assertEquals("2.10.0", prov.getLibtorchVersion());
        assertEquals("abc123", prov.getGitRevision());
        assertEquals("masked-cartpole", prov.getConfigMap().get("env"));
        assertTrue(prov.getJavaVersion().startsWith(Integer.toString(Runtime.version().feature())), prov.getJavaVersion());
        assertTrue(prov.getOs().startsWith(System.getProperty("os.name")), prov.getOs());
        assertFalse(prov.getStarlingVersion().isEmpty());

        Harness second = Harness.start(grpc, config());
        ParameterSnapshot s = second.server.store().current();
        assertEquals(8, s.version());
        assertArrayEquals(p8.getWeights().toByteArray(), s.parameters().getWeights().toByteArray());
        assertEquals(opt, s.optimizerState());
        assertEquals(80, s.learnerUpdates());
        GetParametersResponse got = second.blocking().getParameters(
                GetParametersRequest.newBuilder().setIncludeOptimizerState(true).build());
        assertEquals(p7, TestModels.plain(got.getParameters()), "a learner resumes from the state's own weights");
        assertEquals(opt, got.getOptimizerState());
        assertNotEquals(first.server.store().incarnation(), second.server.store().incarnation(),
                "a restarted server is a new incarnation");
        assertEquals(second.server.store().incarnation(), s.parameters().getIncarnation());

        assertEquals(Optional.empty(), second.server.checkpointNow(), "the restored version is not rewritten");
        // The version never goes backwards across the restart.
        StatusRuntimeException e = assertThrows(StatusRuntimeException.class,
                () -> second.blocking().publishParameters(TestModels.publish(TestModels.params(8))));
        assertEquals(Status.Code.FAILED_PRECONDITION, e.getStatus().getCode());
        assertEquals(9, second.blocking().publishParameters(TestModels.publish(TestModels.params(9))).getVersion());
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"truncated", "flipped byte", "bad magic", "empty", "trailing garbage"})
    void aDamagedNewestCheckpointIsSkippedAndTheOlderOneLoaded(String damage) throws Exception {
        CheckpointStore store = new CheckpointStore(dir, 3);
        store.write(checkpoint(TestModels.params(1)));
        Path newest = store.write(checkpoint(TestModels.params(2, 2)));
        byte[] bytes = Files.readAllBytes(newest);
        switch (damage) {
            case "truncated":
                Files.write(newest, Arrays.copyOf(bytes, bytes.length / 2));
                break;
            case "flipped byte":
                bytes[bytes.length / 2] ^= 0x10;
                Files.write(newest, bytes);
                break;
            case "bad magic":
                bytes[0] = 'X';
                Files.write(newest, bytes);
                break;
            case "empty":
                Files.write(newest, new byte[0]);
                break;
            default:
                Files.write(newest, ByteBuffer.allocate(bytes.length + 3).put(bytes).array());
                break;
        }
        CorruptCheckpointException e = assertThrows(CorruptCheckpointException.class, () -> CheckpointStore.read(newest));
        assertTrue(e.getMessage().contains(newest.toString()), e.getMessage());

        Harness h = Harness.start(grpc, config());
        assertEquals(1, h.server.store().current().version(), "fell back to the older valid checkpoint");
        assertEquals(TestModels.params(1), TestModels.plain(h.server.store().current().parameters()));
        assertFalse(Files.exists(newest), "the damaged file is moved aside");
        assertTrue(Files.exists(newest.resolveSibling(newest.getFileName() + CheckpointStore.CORRUPT_SUFFIX)));
    }

    @Test
    void corruptionIsReportedPrecisely() throws Exception {
        CheckpointStore store = new CheckpointStore(dir, 3);
        Path file = store.write(checkpoint(TestModels.params(3)));
        byte[] bytes = Files.readAllBytes(file);

        bytes[20] ^= 1;
        Files.write(file, bytes);
        assertTrue(assertThrows(CorruptCheckpointException.class, () -> CheckpointStore.read(file))
                .getMessage().contains("CRC mismatch"));

        bytes[20] ^= 1;
        Files.write(file, Arrays.copyOf(bytes, bytes.length - 1));
        assertTrue(assertThrows(CorruptCheckpointException.class, () -> CheckpointStore.read(file))
                .getMessage().contains("truncated"));

        bytes[0] = 'Z';
        Files.write(file, bytes);
        assertTrue(assertThrows(CorruptCheckpointException.class, () -> CheckpointStore.read(file))
                .getMessage().contains("bad magic"));
    }

    @Test
    void aValidFrameWithInvalidWeightsIsNeverLoaded() throws Exception {
        CheckpointStore store = new CheckpointStore(dir, 3);
        store.write(checkpoint(TestModels.params(1)));
        // Framed correctly (good CRC) but holding a NaN: the content check refuses it.
        Path bad = store.write(checkpoint(TestModels.withWeight(TestModels.params(2), 3, Float.NaN)));
        assertTrue(assertThrows(CorruptCheckpointException.class, () -> CheckpointStore.read(bad))
                .getMessage().contains("non-finite"));
        assertEquals(1, store.loadNewestValid().orElseThrow().checkpoint().getParameters().getVersion());
    }

    @Test
    void keepsOnlyTheNewestFiles() throws Exception {
        CheckpointStore store = new CheckpointStore(dir, 2);
        for (long v = 1; v <= 5; v++) {
            store.write(checkpoint(TestModels.params(v)));
        }
        List<String> names;
        try (var files = Files.list(dir)) {
            names = files.map(p -> p.getFileName().toString()).sorted().collect(Collectors.toList());
        }
        assertEquals(List.of("checkpoint-000000000004.ckpt", "checkpoint-000000000005.ckpt"), names);
        assertEquals(dir.resolve("checkpoint-000000000005.ckpt"), store.list().get(0));
    }

    @Test
    void writesOnlyWhenTheVersionChanged() throws Exception {
        Harness h = Harness.start(grpc, config());
        assertEquals(Optional.empty(), h.server.checkpointNow(), "nothing held, nothing written");
        h.blocking().publishParameters(TestModels.publish(TestModels.params(1)));
        assertEquals(Optional.of(dir.resolve("checkpoint-000000000001.ckpt")), h.server.checkpointNow());
        assertEquals(Optional.empty(), h.server.checkpointNow(), "same version, no new file");
        h.blocking().publishParameters(TestModels.publish(TestModels.params(2)));
        assertEquals(Optional.of(dir.resolve("checkpoint-000000000002.ckpt")), h.server.checkpointNow());
    }

    @Test
    void checkpointsPeriodically() throws Exception {
        Harness h = Harness.start(grpc, config().withCheckpointIntervalSeconds(1));
        h.blocking().publishParameters(TestModels.publish(TestModels.params(4)));
        Path expected = dir.resolve("checkpoint-000000000004.ckpt");
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!Files.exists(expected)) {
            assertTrue(System.nanoTime() < deadline, "no periodic checkpoint within 10 s");
            Thread.sleep(50);
        }
        assertEquals(4, CheckpointStore.read(expected).getParameters().getVersion());
    }

    @Test
    void unfinishedTemporaryFilesAreIgnoredAndDeleted() throws Exception {
        CheckpointStore store = new CheckpointStore(dir, 3);
        store.write(checkpoint(TestModels.params(1)));
        Path temp = dir.resolve(".checkpoint-9-123-1.tmp");
        Files.write(temp, new byte[] {1, 2, 3});
        Harness h = Harness.start(grpc, config());
        assertEquals(1, h.server.store().current().version());
        assertFalse(Files.exists(temp));
    }

    @Test
    void withoutADirectoryNothingIsWritten() throws Exception {
        Harness h = Harness.start(grpc, ParameterServerConfig.defaults(0, null));
        h.blocking().publishParameters(TestModels.publish(TestModels.params(1)));
        assertEquals(Optional.empty(), h.server.checkpointNow());
        h.server.close();
        try (var files = Files.list(dir)) {
            assertEquals(0, files.count());
        }
    }

    @Test
    void fileFormatIsMagicVersionLengthMessageCrc() throws IOException {
        CheckpointStore store = new CheckpointStore(dir, 3);
        Checkpoint c = checkpoint(TestModels.params(6));
        byte[] bytes = Files.readAllBytes(store.write(c));
        ByteBuffer b = ByteBuffer.wrap(bytes);
        byte[] magic = new byte[8];
        b.get(magic);
        assertEquals("STARCKPT", new String(magic, StandardCharsets.US_ASCII));
        assertEquals(1, b.getInt());
        int length = b.getInt();
        assertEquals(c.getSerializedSize(), length);
        assertEquals(16 + length + 4, bytes.length);
        CRC32 crc = new CRC32();
        crc.update(bytes, 16, length);
        assertEquals((int) crc.getValue(), ByteBuffer.wrap(bytes, 16 + length, 4).getInt());
        assertEquals(c, Checkpoint.parseFrom(ByteBuffer.wrap(bytes, 16, length)));
    }

    private static Checkpoint checkpoint(Parameters p) {
        ParameterSnapshot s = ParameterSnapshot.weightsOnly(p, p.getVersion(), System.nanoTime());
        return ParameterServer.toCheckpoint(s, Provenances.current(Map.of()));
    }
}
