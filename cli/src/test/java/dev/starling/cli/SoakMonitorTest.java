package dev.starling.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;

import org.junit.jupiter.api.Test;

class SoakMonitorTest {

    @Test
    void readsThisProcessFromProc() {
        long[] r = SoakMonitor.read(ProcessHandle.current().pid()).orElseThrow();
        assertTrue(r[0] > 10_000, "RSS KiB " + r[0]);
        assertTrue(r[1] > 1 && r[2] > 2, "threads " + r[1] + ", fds " + r[2]);
        assertTrue(SoakMonitor.read(Long.MAX_VALUE).isEmpty(), "a process that does not exist");
    }

    @Test
    void growthIsMeasuredFromTheFirstReadingAfterWarmUp() {
        SoakMonitor m = new SoakMonitor(10);
        m.record(new SoakMonitor.Sample(1, "learner", 100_000, 20, 30));        // warm-up: ignored
        m.record(new SoakMonitor.Sample(11, "learner", 400_000, 40, 50));       // baseline
        m.record(new SoakMonitor.Sample(20, "learner", 450_000, 42, 51));
        m.record(new SoakMonitor.Sample(30, "learner", 420_000, 41, 50));
        m.record(new SoakMonitor.Sample(11, "actor-0", 300_000, 30, 40));
        m.record(new SoakMonitor.Sample(30, "actor-0", 300_000 + 200 * 1024, 30, 40)); // +200 MiB
        List<SoakMonitor.Growth> g = m.growth();
        assertEquals(2, g.size());
        SoakMonitor.Growth learner = g.get(0);
        assertEquals(400_000, learner.baselineRssKiB());
        assertEquals(450_000, learner.maxRssKiB());
        assertEquals(48, learner.rssGrowthMiB());
        assertEquals(42, learner.maxThreads());
        assertTrue(learner.withinBounds(), SoakMonitor.describe(learner));
        assertFalse(g.get(1).withinBounds(), "200 MiB of growth is past the bound");
        assertTrue(SoakMonitor.describe(g.get(1)).endsWith("GREW"));
    }

    @Test
    void aThreadLeakIsCaught() {
        SoakMonitor m = new SoakMonitor(0);
        m.record(new SoakMonitor.Sample(0, "parameter-server", 200_000, 30, 40));
        m.record(new SoakMonitor.Sample(60, "parameter-server", 200_000, 30 + SoakMonitor.THREAD_GROWTH_BOUND + 1, 40));
        assertFalse(m.growth().get(0).withinBounds());
    }
}
