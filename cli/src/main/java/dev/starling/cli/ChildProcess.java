package dev.starling.cli;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.SeekableByteChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import dev.starling.common.model.Torch;

/**
 * One Starling role running in its own JVM, started from this JVM's java and class path, with
 * its output appended to a log file (a process started again on the same log, by a restart or a
 * resumed run, follows a separator line, so the previous process's output is kept).
 * {@link #stop} sends SIGTERM, waits, then kills.
 */
final class ChildProcess {

    private final String name;
    private final Process process;
    private final Path log;

    private static final Path NICE = Path.of("/usr/bin/nice");
    static final String YOUNG_GENERATION = "32m";

    private ChildProcess(String name, Process process, Path log) {
        this.name = name;
        this.process = process;
        this.log = log;
    }

    /** Starts {@code starling <role args>} in a new JVM with the given heap. */
    static ChildProcess start(String name, String heap, List<String> roleArgs, Path log) throws IOException {
        return start(name, heap, roleArgs, log, "starting " + name + " again");
    }

    /**
     * As {@link #start(String, String, List, Path)}; if {@code log} already holds output, first
     * appends a separator line saying {@code why} this process starts (e.g. which restart).
     */
    static ChildProcess start(String name, String heap, List<String> roleArgs, Path log, String why)
            throws IOException {
        return start(name, heap, 0, roleArgs, log, why);
    }

    /**
     * As above, at scheduling priority {@code niceness} (0 = the launcher's; higher = yields the
     * CPU to others) where {@code nice} exists, else at the launcher's.
     */
    static ChildProcess start(String name, String heap, int niceness, List<String> roleArgs, Path log, String why)
            throws IOException {
        List<String> cmd = new ArrayList<>();
        if (niceness != 0 && Files.isExecutable(NICE)) {
            cmd.addAll(List.of(NICE.toString(), "-n", Integer.toString(niceness)));
        }
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.add("-Xmx" + heap);
        // Two cores shared by several JVMs: a single-threaded collector keeps GC off the other core.
        cmd.add("-XX:+UseSerialGC");
        // A small young generation: its default (a third of the heap) is touched in full between
        // collections and stays resident; 32 MiB cut ~200 MiB from a cluster's resident memory
        // (parameter server 226 -> 142 MiB, actor 380 -> 298, learner 712 -> 668) at the same
        // frames/s (BENCHMARKS.md).
        cmd.add("-Xmn" + YOUNG_GENERATION);
        cmd.add("-Djava.awt.headless=true");
        cmd.add("-cp");
        cmd.add(System.getProperty("java.class.path"));
        cmd.add(Main.class.getName());
        cmd.addAll(roleArgs);
        cmd.add("--parent-pid");
        cmd.add(Long.toString(ProcessHandle.current().pid()));
        return exec(name, cmd, log, why);
    }

    /** Starts {@code command} as it is, its output appended to {@code log} after a separator as above. */
    static ChildProcess exec(String name, List<String> command, Path log, String why) throws IOException {
        Files.createDirectories(log.toAbsolutePath().getParent());
        if (Files.exists(log) && Files.size(log) > 0) {
            // A killed process may have left half a line: the separator starts on a line of its own.
            String separator = (endsWithNewline(log) ? "" : "\n") + "---- " + Instant.now() + " " + why + " ----\n";
            Files.writeString(log, separator, StandardCharsets.UTF_8, StandardOpenOption.APPEND);
        }
        ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()));
        roleEnvironment(pb.environment());
        return new ChildProcess(name, pb.start(), log);
    }

    private static boolean endsWithNewline(Path file) throws IOException {
        try (SeekableByteChannel ch = Files.newByteChannel(file)) {
            ByteBuffer last = ByteBuffer.allocate(1);
            ch.position(ch.size() - 1).read(last);
            return last.get(0) == '\n';
        }
    }

    /**
     * What every role process needs in its environment, added to {@code env}: one OpenMP thread,
     * and the allocator settings libtorch needs unless the caller set its own (glibc reads them
     * only at process start, so a launcher started without them still gives them to its roles).
     */
    static void roleEnvironment(Map<String, String> env) {
        env.put("OMP_NUM_THREADS", "1");
        Torch.ALLOCATOR_ENVIRONMENT.forEach(env::putIfAbsent);
    }

    String name() {
        return name;
    }

    boolean isAlive() {
        return process.isAlive();
    }

    int exitCode() {
        return process.exitValue();
    }

    long pid() {
        return process.pid();
    }

    /** SIGTERM, wait up to {@code grace}, then SIGKILL. Returns the exit code. */
    int stop(Duration grace) {
        if (process.isAlive()) {
            process.destroy();
            try {
                if (!process.waitFor(grace.toMillis(), TimeUnit.MILLISECONDS)) {
                    process.destroyForcibly();
                    process.waitFor(5, TimeUnit.SECONDS);
                }
            } catch (InterruptedException e) {
                process.destroyForcibly();
                Thread.currentThread().interrupt();
            }
        }
        return process.isAlive() ? -1 : process.exitValue();
    }

    /** Reads the port the child wrote to {@code portFile}, waiting up to {@code timeout}. */
    int awaitPort(Path portFile, Duration timeout) throws IOException, InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < deadline) {
            if (!process.isAlive()) {
                throw new IOException(name + " exited with code " + process.exitValue() + " before serving:\n" + tail(40));
            }
            if (Files.exists(portFile)) {
                return Integer.parseInt(Files.readString(portFile, StandardCharsets.US_ASCII).trim());
            }
            Thread.sleep(50);
        }
        throw new IOException(name + " did not start serving within " + timeout.toSeconds() + " s:\n" + tail(40));
    }

    /** The last lines of the child's log. */
    String tail(int lines) {
        try {
            List<String> all = Files.readAllLines(log, StandardCharsets.UTF_8);
            return String.join("\n", all.subList(Math.max(0, all.size() - lines), all.size()));
        } catch (IOException e) {
            return "(no log: " + e.getMessage() + ")";
        }
    }
}
