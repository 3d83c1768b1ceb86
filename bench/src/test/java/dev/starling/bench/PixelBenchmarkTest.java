package dev.starling.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;

import dev.starling.common.model.ModelConfig;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Section 8 on tiny settings (the pong model itself, which cannot shrink, on T=4, B=2 batches):
 * what it reports and how the figures relate. No wall-clock thresholds: the machines are shared
 * and noisy.
 */
class PixelBenchmarkTest {

    /** K=2 for 0.1 s; T=4, B=2, a few updates and conv calls; a 64^3 product; a chunk of K=3. */
    private static final PixelBenchmark.Settings TINY = new PixelBenchmark.Settings(new int[] {2}, 1, 100_000_000L, 4,
            2, 1, 3, 64, 3, 3);

    private static List<BenchLine> lines;
    private static String log;

    @BeforeAll
    static void runTiny() {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        lines = PixelBenchmark.run(TINY, new PrintStream(out, true, StandardCharsets.UTF_8));
        log = out.toString(StandardCharsets.UTF_8);
    }

    @Test
    void everyLineIsFinitePositiveLoggedAndInSectionEight() {
        // Actor 3 per K, learner 2, GFLOP/s 1 + 3 conv layers + 4, wire 4.
        assertEquals(3 + 2 + 8 + 4, lines.size(), PixelBenchmarkTest::names);
        Set<String> unique = new HashSet<>();
        for (BenchLine l : lines) {
            assertEquals("8 pixels", l.section(), l::toString);
            assertTrue(Double.isFinite(l.value()) && l.value() > 0, l::toString);
            assertTrue(Double.isNaN(l.msPerCall()) || l.msPerCall() > 0, l::toString);
            assertEquals("", l.target(), "section 8's only target is the cluster's");
            assertTrue(log.contains(l.format()), () -> "not logged: " + l);
            assertTrue(unique.add(l.name()), () -> "bench.json keys results by name; duplicate: " + l.name());
        }
    }

    @Test
    void actorFramesPerSecondAndSharesDescribeTheSameTime() {
        BenchLine collect = line("pong actor K=2: collect T=4");
        BenchLine model = line("pong actor K=2: model per step");
        BenchLine env = line("pong actor K=2: env per step");
        assertEquals("frames/s", collect.unit());
        assertEquals(2 / (collect.msPerCall() / 1000), collect.value(), 1e-6 * collect.value());
        assertEquals(collect.msPerCall(), model.msPerCall() + env.msPerCall(), 1e-9);
        assertEquals(100, model.value() + env.value(), 1e-9);
    }

    @Test
    void learnerRatesComeFromTheMedianUpdateTime() {
        BenchLine update = line("pong learner update fast T=4 B=2 (conv 16:3:2,32:3:2,32:3:2, encoder 64, LSTM 128;");
        assertEquals(4 * 2 / (update.msPerCall() / 1000), update.value(), 1e-6 * update.value());
        BenchLine perSecond = line("pong learner updates/s");
        assertEquals(1000 / update.msPerCall(), perSecond.value(), 1e-9 * perSecond.value());
        BenchLine gflops = line("pong learner T=4 B=2, analytic FLOPs");
        double flops = PixelBenchmark.updateFlops(PixelBenchmark.model(), 4, 2);
        assertEquals(flops / (update.msPerCall() / 1000) / 1e9, gflops.value(), 1e-9 * gflops.value());
        BenchLine mm = line("libtorch mm 64x64x64");
        assertEquals(gflops.value() / mm.value(), line("pong learner / libtorch mm 64^3").value(), 1e-9);
    }

    @Test
    void flopCountMatchesAHandCount() {
        // 32x32 -> 15x15 -> 7x7 -> 3x3 (x32 = 288 features), tanh 64, LSTM 128, head 3 + 1:
        // conv 2*1*9*16*225 = 64,800, 2*16*9*32*49 = 451,584, 2*32*9*32*9 = 165,888;
        // tanh 2*288*64 = 36,864; LSTM 2*4*128*(64+128) = 196,608; head 2*128*4 = 1,024.
        ModelConfig pong = PixelBenchmark.model();
        assertEquals(288, pong.encoderInputSize());
        assertEquals(916_768, PixelBenchmark.forwardFlopsPerFrame(pong), 1e-9);
        // T=32, B=64: 33 * 64 = 2,112 frames, times 3 for forward and backward.
        assertEquals(3.0 * 2_112 * 916_768, PixelBenchmark.updateFlops(pong, 32, 64), 1e-3);
    }

    @Test
    void convLayersMatchTheModelAndCountTheirBackward() {
        ModelConfig pong = PixelBenchmark.model();
        // The first layer's input (pixels) needs no gradient: forward + weight gradient.
        PixelBenchmark.ConvResult first = new PixelBenchmark.ConvResult(0, 1, 32, 32, pong.convLayers().get(0), 10, 2);
        assertEquals(64_800.0 * 10, first.forwardFlops(), 1e-9);
        assertEquals(2 * 64_800.0 * 10, first.flops(), 1e-9);
        assertEquals(2 * 64_800.0 * 10 / 0.002 / 1e9, first.gflops(), 1e-12);
        PixelBenchmark.ConvResult second = new PixelBenchmark.ConvResult(1, 16, 15, 15, pong.convLayers().get(1), 10, 2);
        assertEquals(3 * 451_584.0 * 10, second.flops(), 1e-9);
        // The measured layers have the model's shapes at the learner's batch, (T+1)*B = 10.
        assertTrue(line("libtorch conv1 1->16 k3 s2 on [10,1,32,32]").name().contains("weight gradient only"));
        line("libtorch conv2 16->32 k3 s2 on [10,16,15,15]");
        line("libtorch conv3 32->32 k3 s2 on [10,32,7,7]");
    }

    @Test
    void floatObservationsCostFourTimesThePixelBytes() {
        BenchLine chunk = line("pong chunk K=3 T=4 on the wire");
        BenchLine pixels = line("pong chunk K=3 T=4: of which observations");
        BenchLine floats = line("pong chunk K=3 T=4 with float32 observations");
        // T+1 frames of 1,024 pixels per environment, over T frames.
        assertEquals(5 * 1024 / 4.0, pixels.value(), 1e-9);
        assertTrue(chunk.value() > pixels.value(), chunk::toString);
        assertEquals(chunk.value() + 3 * pixels.value(), floats.value(), 1e-9);
        assertEquals(floats.value() / chunk.value(), line("float32 / uint8 observations").value(), 1e-12);
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
