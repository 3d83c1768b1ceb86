package dev.starling.cli;

import java.io.BufferedWriter;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Stream;

/**
 * Watches every role's process during a soak run ({@code train --soak-minutes}): resident
 * memory, threads and open file descriptors from {@code /proc}, and the learner's queue depth.
 * After the warm-up each process is measured against its own level at the end of the warm-up;
 * a process passes if it never grows past the bounds (memory that keeps growing, or a thread or
 * descriptor leak, does not fit in them however the run goes).
 */
final class SoakMonitor {

    /** Resident memory a process may gain after warm-up: GC heap sizing and allocator slack, not a leak. */
    static final long RSS_GROWTH_BOUND_MIB = 96;
    /** Threads a process may gain after warm-up (pools that start lazily). */
    static final int THREAD_GROWTH_BOUND = 4;
    /** File descriptors a process may gain after warm-up (a reconnect or a log roll). */
    static final int FD_GROWTH_BOUND = 8;

    /** One reading of one process. */
    record Sample(double seconds, String role, long rssKiB, int threads, int fds) {
    }

    /** A process's growth after warm-up. */
    record Growth(String role, long baselineRssKiB, long maxRssKiB, int baselineThreads, int maxThreads,
            int baselineFds, int maxFds) {

        long rssGrowthMiB() {
            return (maxRssKiB - baselineRssKiB) / 1024;
        }

        boolean withinBounds() {
            return rssGrowthMiB() <= RSS_GROWTH_BOUND_MIB && maxThreads - baselineThreads <= THREAD_GROWTH_BOUND
                    && maxFds - baselineFds <= FD_GROWTH_BOUND;
        }
    }

    private final double warmupSeconds;
    private final List<Sample> samples = new ArrayList<>();
    private int maxQueuedChunks;

    SoakMonitor(double warmupSeconds) {
        this.warmupSeconds = warmupSeconds;
    }

    /** Reads each live process (role name to pid) now; a process that just exited is skipped. */
    synchronized void sample(double seconds, Map<String, Long> pids, int queuedChunks) {
        maxQueuedChunks = Math.max(maxQueuedChunks, queuedChunks);
        pids.forEach((role, pid) -> read(pid).ifPresent(r -> record(
                new Sample(seconds, role, r[0], (int) r[1], (int) r[2]))));
    }

    synchronized void record(Sample s) {
        samples.add(s);
    }

    /** {rss KiB, threads, fds} of a process, or empty if it is gone. */
    static Optional<long[]> read(long pid) {
        Path proc = Path.of("/proc", Long.toString(pid));
        try {
            long rss = -1;
            long threads = -1;
            for (String line : Files.readAllLines(proc.resolve("status"), StandardCharsets.US_ASCII)) {
                if (line.startsWith("VmRSS:")) {
                    rss = Long.parseLong(line.replaceAll("[^0-9]", ""));
                } else if (line.startsWith("Threads:")) {
                    threads = Long.parseLong(line.replaceAll("[^0-9]", ""));
                }
            }
            long fds;
            try (Stream<Path> s = Files.list(proc.resolve("fd"))) {
                fds = s.count();
            }
            return rss < 0 || threads < 0 ? Optional.empty()
                    : Optional.of(new long[] {rss, threads, fds});
        } catch (IOException | RuntimeException e) {
            return Optional.empty();
        }
    }

    /**
     * Per role: the baseline is its first reading after the warm-up, the maximum every reading
     * after it. Roles with no reading after warm-up are left out.
     */
    synchronized List<Growth> growth() {
        Map<String, Growth> byRole = new LinkedHashMap<>();
        for (Sample s : samples) {
            if (s.seconds() < warmupSeconds) {
                continue;
            }
            Growth g = byRole.get(s.role());
            byRole.put(s.role(), g == null
                    ? new Growth(s.role(), s.rssKiB(), s.rssKiB(), s.threads(), s.threads(), s.fds(), s.fds())
                    : new Growth(s.role(), g.baselineRssKiB(), Math.max(g.maxRssKiB(), s.rssKiB()), g.baselineThreads(),
                            Math.max(g.maxThreads(), s.threads()), g.baselineFds(), Math.max(g.maxFds(), s.fds())));
        }
        return new ArrayList<>(byRole.values());
    }

    synchronized int maxQueuedChunks() {
        return maxQueuedChunks;
    }

    /** Every reading, one line each, for plotting. */
    synchronized void writeCsv(Path file) throws IOException {
        try (BufferedWriter w = Files.newBufferedWriter(file, StandardCharsets.UTF_8)) {
            w.write("seconds,role,rss_kib,threads,fds\n");
            for (Sample s : samples) {
                w.write(String.format(Locale.ROOT, "%.1f,%s,%d,%d,%d%n", s.seconds(), s.role(), s.rssKiB(), s.threads(),
                        s.fds()));
            }
        }
    }

    /** One line per role for the console and summary.json. */
    static String describe(Growth g) {
        return String.format(Locale.ROOT, "%s: RSS %d -> %d MiB (+%d, bound %d), threads %d -> %d, fds %d -> %d: %s",
                g.role(), g.baselineRssKiB() / 1024, g.maxRssKiB() / 1024, g.rssGrowthMiB(), RSS_GROWTH_BOUND_MIB,
                g.baselineThreads(), g.maxThreads(), g.baselineFds(), g.maxFds(), g.withinBounds() ? "flat" : "GREW");
    }
}
