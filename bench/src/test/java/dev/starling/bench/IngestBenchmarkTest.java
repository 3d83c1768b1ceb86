package dev.starling.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;

import com.google.protobuf.ByteString;
import dev.starling.proto.v1.TrajectoryChunk;
import org.junit.jupiter.api.Test;

/** A very short ingest run: what it counts must add up; how fast it is is not tested. */
class IngestBenchmarkTest {

    @Test
    void everyAckedChunkIsCountedNothingIsRejectedAndTheWeightsStayPut() {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        IngestBenchmark.Settings settings = new IngestBenchmark.Settings(1, 2, Duration.ofMillis(300),
                Duration.ofSeconds(1), Duration.ofMillis(300), Double.NaN);
        IngestBenchmark.Result r = IngestBenchmark.measure(settings, new PrintStream(out, true, StandardCharsets.UTF_8));

        assertEquals(32 * 32, r.framesPerChunk(), "the learner's T by the actor's K");
        assertTrue(r.windowFrames() > 0, "frames accepted inside the window");
        assertTrue(r.learnerFrames() > 0);
        assertEquals(r.sentChunks(), r.acceptedChunks() + r.notAcceptedChunks(), "every chunk sent was acked");
        assertEquals(0, r.notAcceptedChunks(), "no chunk dropped as stale");
        assertEquals(r.acceptedChunks() * r.framesPerChunk(), r.learnerFrames(),
                "the learner counted exactly the frames of the chunks it acked");
        assertEquals(0, r.rejected(), "no chunk failed validation");
        assertEquals(0, r.droppedStale());
        assertEquals(0, r.updates(), "training off: no update");
        assertEquals(0, r.versionBefore());
        assertEquals(r.versionBefore(), r.versionAfter(), "training off: nothing published");

        assertFalse(r.lines().isEmpty());
        for (BenchLine l : r.lines()) {
            assertEquals(IngestBenchmark.SECTION, l.section());
            assertTrue(Double.isFinite(l.value()), l.format());
            assertTrue(Double.isNaN(l.msPerCall()) || Double.isFinite(l.msPerCall()), l.format());
        }
        BenchLine fps = r.lines().stream().filter(l -> l.unit().equals("frames/s")).findFirst().orElseThrow();
        assertTrue(fps.target().startsWith("≥ 500,000: "), fps.target());
        assertTrue(r.lines().stream().anyMatch(l -> l.unit().equals("actors")));
        String log = out.toString(StandardCharsets.UTF_8);
        assertEquals(r.lines().size(), log.lines().count(), "each line is printed as it is measured:\n" + log);
    }

    @Test
    void wireBytesAreTheResentChunksSerializedSizePlusTheGrpcHeader() {
        TrajectoryChunk base = TrajectoryChunk.newBuilder().setActorId("bench-actor-0").setPolicyVersion(0)
                .setObservations(ByteString.copyFrom(new byte[300])).build();
        for (long sequence : new long[] {0, 1, 127, 128, 16_383, 16_384, 1L << 40, -1L}) {
            int expected = base.toBuilder().setSequence(sequence).build().getSerializedSize() + 5;
            assertEquals(expected, IngestBenchmark.wireBytes(base, sequence), "sequence " + sequence);
        }
    }
}
