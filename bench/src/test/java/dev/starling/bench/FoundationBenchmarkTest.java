package dev.starling.bench;

import dev.starling.common.model.TestConfigs;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;

import dev.starling.common.model.ModelConfig;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The benchmark's behaviour on tiny settings: what it reports and how the figures relate. No
 * wall-clock thresholds: the machines are shared and noisy.
 */
class FoundationBenchmarkTest {

    /** T=4, B=4, LSTM 8, a few updates; a 64^3 product; K=2 for 0.2 s. */
    private static final FoundationBenchmark.Settings TINY = new FoundationBenchmark.Settings(4, new int[] {4},
            new int[] {8}, 1, 3, 2, 64, 3, new int[] {2}, 8, 4, 2, 200_000_000L);

    private static List<BenchLine> lines;
    private static String log;

    @BeforeAll
    static void runTiny() {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        lines = FoundationBenchmark.run(TINY, new PrintStream(out, true, StandardCharsets.UTF_8));
        log = out.toString(StandardCharsets.UTF_8);
    }

    @Test
    void everyLineIsFiniteAndPositiveAndLogged() {
        assertEquals(7 + 4 + 4, lines.size(), () -> names());
        for (BenchLine l : lines) {
            assertTrue(Double.isFinite(l.value()), l::toString);
            if (l.unit().equals("MiB") || l.unit().equals("faults")) {
                // Peak growth over the baseline reading, or page faults: zero when the updates fit in
                // pages already resident.
                assertTrue(l.value() >= 0, l::toString);
            } else {
                assertTrue(l.value() > 0, l::toString);
            }
            assertTrue(Double.isNaN(l.msPerCall()) || l.msPerCall() > 0, l::toString);
            assertTrue(log.contains(l.format()), () -> "not logged: " + l);
        }
        Set<String> unique = new HashSet<>();
        for (BenchLine l : lines) {
            assertTrue(unique.add(l.name()), () -> "bench.json keys results by name; duplicate: " + l.name());
        }
    }

    @Test
    void sectionsAreNamedRight() {
        for (BenchLine l : lines) {
            String expected = l.name().startsWith("actor ") ? FoundationBenchmark.ACTOR : FoundationBenchmark.LEARNER;
            assertEquals(expected, l.section(), l::toString);
        }
        assertEquals("1 learner update", FoundationBenchmark.LEARNER);
        assertEquals("2 actor inference", FoundationBenchmark.ACTOR);
        assertEquals(4, lines.stream().filter(l -> l.section().equals(FoundationBenchmark.ACTOR)).count(), () -> names());
    }

    @Test
    void speedUpIsLoopOverFast() {
        BenchLine fast = line("learner update fast T=4 B=4 LSTM 8");
        BenchLine loop = line("learner update loop T=4 B=4 LSTM 8");
        BenchLine ratio = line("fast/loop speed-up T=4 LSTM 8");
        assertEquals(loop.msPerCall() / fast.msPerCall(), ratio.value(), 1e-12);
        assertEquals("x", ratio.unit());
        assertEquals("", ratio.target(), "the design target belongs to T=32 B=64 LSTM 128 only");
        assertEquals(4 * 4 / (fast.msPerCall() / 1000), fast.value(), 1e-6 * fast.value());
        assertEquals("MiB", line("peak RSS growth, fast-only updates T=4 B=4 LSTM 8").unit());
        assertEquals("MiB", line("peak RSS growth, loop-only updates T=4 B=4 LSTM 8").unit());
    }

    @Test
    void actorSharesSumToOneHundred() {
        double sum = 0;
        for (String part : List.of("env stepping", "model inference", "chunk encoding")) {
            BenchLine share = line("actor K=2 share: " + part);
            assertEquals("%", share.unit());
            sum += share.value();
        }
        assertEquals(100, sum, 1);
        assertEquals("env steps/s", line("actor K=2 LSTM 8: collect T=4 + encode chunk").unit());
    }

    @Test
    void actorResultsAddUp() {
        FoundationBenchmark.ActorResult a = FoundationBenchmark.actorChunks(2, 8, 4, 1, 50_000_000L);
        assertEquals(100, a.envShare() + a.modelShare() + a.encodeShare(), 1e-9);
        assertTrue(a.envMs() > 0 && a.modelMs() > 0 && a.encodeMs() > 0, a::toString);
        assertTrue(a.chunkBytes() > 0, a::toString);
        // Steps per second and ms per chunk describe the same time.
        assertEquals(2 * 4 / (a.chunkMs() / 1000), a.stepsPerSecond(), 1e-6 * a.stepsPerSecond());
    }

    @Test
    void flopCountMatchesAHandCount() {
        // obs 2, A 2, E 3, H 4; T=4, B=4: (T+1)*B = 20 row-steps of
        // encoder 2*2*3 = 12, LSTM 2*(3+4)*4*4 = 224, head 2*4*(2+1) = 24: 260 each.
        // Forward 20 * 260 = 5,200; with backward (2x forward) 15,600.
        assertEquals(15_600, FoundationBenchmark.updateFlops(TestConfigs.discrete(2, 2, 3, 4), 4, 4), 1e-9);
        // The design configuration: 33 * 64 = 2,112 row-steps of 256 + 196,608 + 768 = 197,632.
        assertEquals(3.0 * 2_112 * 197_632, FoundationBenchmark.updateFlops(TestConfigs.discrete(2, 2, 64, 128), 32, 64),
                1e-3);
    }

    @Test
    void gflopLinesComeFromTheirInputs() {
        FoundationBenchmark.UpdateResult r = new FoundationBenchmark.UpdateResult(32, 64, 128, 70, 40, 100, 10, 20, 5, 7, 0);
        FoundationBenchmark.MatmulResult cube = new FoundationBenchmark.MatmulResult(2048, 2048, 2048, 100);
        FoundationBenchmark.MatmulResult lstm = new FoundationBenchmark.MatmulResult(64, 192, 512, 0.5);
        List<BenchLine> g = FoundationBenchmark.gflopLines(r, cube, lstm);
        double learner = 3.0 * 2_112 * 197_632 / 0.040 / 1e9;
        assertEquals(learner, g.get(0).value(), 1e-9);
        assertEquals("GFLOP/s", g.get(0).unit());
        assertEquals(2.0 * 2048 * 2048 * 2048 / 0.1 / 1e9, g.get(1).value(), 1e-9);
        assertEquals(2.0 * 64 * 192 * 512 / 0.0005 / 1e9, g.get(2).value(), 1e-9);
        assertEquals(learner / g.get(2).value(), g.get(3).value(), 1e-12);
        assertEquals("x", g.get(3).unit());
        assertTrue(g.get(3).target().startsWith("≥ " + BenchLine.number(FoundationBenchmark.MM_SHARE_TARGET) + ": "),
                g.get(3)::target);
        for (BenchLine l : g) {
            assertEquals(FoundationBenchmark.LEARNER, l.section());
        }
    }

    @Test
    void theEpisodeEndsCostIsTheRealBatchMinusTheSameBatchWithoutThem() {
        FoundationBenchmark.UpdateResult real = new FoundationBenchmark.UpdateResult(32, 64, 128, 70, 40, 100, 10, 20, 5,
                7, 0);
        FoundationBenchmark.MatmulResult mm = new FoundationBenchmark.MatmulResult(64, 192, 512, 0.0005);
        List<BenchLine> l = FoundationBenchmark.noEpisodeEndLines(real, 25, mm);
        assertEquals(25, l.get(0).msPerCall(), 1e-12);
        double flops = FoundationBenchmark.updateFlops(new dev.starling.common.model.ModelConfig(
                dev.starling.envs.EnvironmentRegistry.builtIn().get("masked-cartpole").observationSpace(),
                new dev.starling.env.Discrete(2), List.of(64), 128), 32, 64);
        assertEquals(flops / 0.025 / 1e9, l.get(0).value(), 1e-6);
        assertEquals(l.get(0).value() / mm.gflops(), l.get(1).value(), 1e-12);
        assertEquals(15, l.get(2).value(), 1e-12);
        assertTrue(l.get(2).name().contains("70 episode ends"), l.get(2)::name);
    }

    @Test
    void speedUpTargetOnlyOnTheDesignConfiguration() {
        BenchLine design = new FoundationBenchmark.UpdateResult(32, 64, 128, 70, 40, 100, 10, 20, 5, 7, 0).lines().get(2);
        assertEquals(2.5, design.value(), 1e-12);
        assertEquals("≥ " + BenchLine.number(FoundationBenchmark.SPEED_UP_TARGET) + ": met", design.target());
        BenchLine fast = new FoundationBenchmark.UpdateResult(32, 64, 128, 70, 40, 100, 10, 20, 5, 7, 0).lines().get(0);
        assertTrue(fast.name().startsWith(FoundationBenchmark.CLUSTER_SHAPED_UPDATE + " "), fast::name);
        assertEquals("samples/s", fast.unit());
        List<BenchLine> all = new FoundationBenchmark.UpdateResult(32, 64, 128, 70, 40, 100, 10, 20, 5, 7, 0).lines();
        assertEquals(5, all.get(5).value(), 1e-12);
        assertEquals(7, all.get(6).value(), 1e-12);
        assertEquals("faults", all.get(6).unit());
        BenchLine missed = new FoundationBenchmark.UpdateResult(32, 64, 128, 70, 40, 60, 10, 20, 5, 7, 0).lines().get(2);
        assertEquals("≥ " + BenchLine.number(FoundationBenchmark.SPEED_UP_TARGET) + ": missed", missed.target());
        for (FoundationBenchmark.UpdateResult other : List.of(
                new FoundationBenchmark.UpdateResult(80, 64, 128, 70, 40, 100, 10, 20, 5, 7, 0),
                new FoundationBenchmark.UpdateResult(32, 64, 256, 70, 40, 100, 10, 20, 5, 7, 0))) {
            for (BenchLine l : other.lines()) {
                assertEquals("", l.target(), l::toString);
            }
        }
    }

    @Test
    void minorFaultsCountsTheFirstTouchOfFreshPages() {
        long before = FoundationBenchmark.minorFaults();
        assertTrue(before >= 0, "/proc/self/stat is readable on Linux");
        // 32 MiB of fresh native memory, one write per 4 KiB page: each first touch is a minor fault.
        ByteBuffer fresh = ByteBuffer.allocateDirect(32 << 20);
        for (int i = 0; i < fresh.capacity(); i += 4096) {
            fresh.put(i, (byte) 1);
        }
        long after = FoundationBenchmark.minorFaults();
        // Transparent huge pages can serve the buffer with far fewer faults; one per 2 MiB at least.
        assertTrue(after - before >= 16, "minor faults grew by " + (after - before));
    }

    private static BenchLine line(String prefix) {
        List<BenchLine> found = lines.stream().filter(l -> l.name().startsWith(prefix)).toList();
        assertEquals(1, found.size(), () -> "lines starting with '" + prefix + "' in " + names());
        return found.get(0);
    }

    private static String names() {
        return lines.stream().map(BenchLine::name).collect(Collectors.joining("\n"));
    }
}
