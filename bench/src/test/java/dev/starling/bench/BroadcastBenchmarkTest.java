package dev.starling.bench;

import dev.starling.common.model.TestConfigs;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.List;

import dev.starling.common.model.ActorCritic;
import dev.starling.common.model.ModelConfig;
import dev.starling.common.model.Torch;
import org.junit.jupiter.api.Test;

/** A tiny broadcast run: checks what was delivered and how it is reported, never how fast. */
class BroadcastBenchmarkTest {

    private static final ModelConfig TINY = TestConfigs.discrete(2, 2, 8, 8);

    @Test
    void everySubscriberGetsEveryVersionAndTheLatenciesAreConsistent() throws Exception {
        int subscribers = 4;
        int warmup = 2;
        int publishes = 10;
        BroadcastBenchmark.Result r = BroadcastBenchmark.measure(subscribers, warmup, publishes, TINY);

        assertEquals(warmup + publishes, r.finalVersion());
        // One publish at a time, each awaited by all: no subscriber skips a version.
        int[] everyVersion = new int[subscribers];
        Arrays.fill(everyVersion, warmup + publishes);
        assertArrayEquals(everyVersion, r.messagesPerSubscriber());
        assertEquals(subscribers, r.subscribersWithFinalState(), "subscribers holding the last published weights");
        // Encoder 2*8+8, LSTM 4*8*(8+8)+8*8, head 8*3+3: 627 floats.
        assertEquals(627 * Float.BYTES, r.weightBytes());

        assertEquals(publishes, r.latencyMs().length);
        assertEquals(publishes, r.publishMs().length);
        for (double ms : r.latencyMs()) {
            assertTrue(Double.isFinite(ms) && ms > 0, "latency " + ms);
        }
        for (double ms : r.publishMs()) {
            assertTrue(Double.isFinite(ms) && ms > 0, "publish time " + ms);
        }
        assertTrue(r.latencyP50() <= r.latencyP99() && r.latencyP99() <= r.latencyMax(),
                "p50 " + r.latencyP50() + ", p99 " + r.latencyP99() + ", max " + r.latencyMax());
    }

    @Test
    void linesAreNamedAndSectioned() throws Exception {
        BroadcastBenchmark.Result r = BroadcastBenchmark.measure(2, 1, 3, TINY);
        List<BenchLine> targeted = r.lines(10);
        assertEquals(4, targeted.size());
        for (BenchLine l : targeted) {
            assertEquals("4 weight broadcast", l.section());
            assertEquals("ms", l.unit());
            assertTrue(Double.isFinite(l.value()) && l.value() > 0, l.format());
        }
        String size = "0.0 MB"; // 2,508 bytes
        assertEquals("broadcast " + size + " to last of 2 subscribers p50", targeted.get(0).name());
        assertEquals("broadcast " + size + " to last of 2 subscribers p99", targeted.get(1).name());
        assertEquals("broadcast " + size + " to last of 2 subscribers max", targeted.get(2).name());
        assertEquals("PublishParameters RPC " + size + " p50", targeted.get(3).name());
        assertEquals(r.latencyP50(), targeted.get(0).value());
        assertEquals(r.latencyP99(), targeted.get(1).value());
        assertEquals(r.latencyMax(), targeted.get(2).value());
        assertEquals(r.publishP50(), targeted.get(3).value());
        // Met or missed: this checks the labelling, not the speed.
        assertTrue(targeted.get(1).target().matches("< 10\\.00: (met|missed)"), targeted.get(1).target());
        assertEquals("", targeted.get(0).target());

        assertTrue(r.lines(Double.NaN).stream().allMatch(l -> l.target().isEmpty()), "no target without a bound");
    }

    @Test
    void percentileIsNearestRank() {
        double[] hundred = new double[100];
        for (int i = 0; i < 100; i++) {
            hundred[i] = i + 1;
        }
        assertEquals(50, BroadcastBenchmark.percentile(hundred, 0.50));
        assertEquals(99, BroadcastBenchmark.percentile(hundred, 0.99));
        assertEquals(7, BroadcastBenchmark.percentile(new double[] {7}, 0.99));
    }

    @Test
    void theModelSizesAreTheIssues() {
        // 0.4 MB and about 10 MB of float32 weights.
        assertEquals(400_140L, bytes(BroadcastBenchmark.SMALL));
        long large = bytes(BroadcastBenchmark.LARGE);
        assertTrue(large > 9.5e6 && large < 11e6, "large model bytes " + large);
    }

    @Test
    void nonsenseSizesAreRefused() {
        assertThrows(IllegalArgumentException.class, () -> BroadcastBenchmark.measure(0, 0, 1, TINY));
        assertThrows(IllegalArgumentException.class, () -> BroadcastBenchmark.measure(1, 0, 0, TINY));
    }

    private static long bytes(ModelConfig c) {
        try (ActorCritic m = new ActorCritic(c, 1, Torch.device("cpu"))) {
            return m.parameterCount() * Float.BYTES;
        }
    }
}
