package dev.starling.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import dev.starling.common.model.Torch;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code starling train} must leave no child JVM behind: on Ctrl-C (SIGINT) it stops them in
 * order (and the parameter server writes its final checkpoint); if the launcher itself is
 * killed with SIGKILL, the children notice their parent is gone and exit by themselves.
 */
class LauncherShutdownTest {

    @Test
    void ctrlCStopsEveryChildAndTheParameterServerCheckpoints(@TempDir Path dir) throws Exception {
        Path runDir = dir.resolve("run");
        Process launcher = startTrain(runDir, dir.resolve("launcher.log"));
        List<ProcessHandle> children = awaitCluster(launcher, runDir);
        // The launcher was started without the allocator settings: it must give them to every role.
        for (ProcessHandle c : children) {
            String environ = Files.readString(Path.of("/proc", Long.toString(c.pid()), "environ")).replace('\0', '\n');
            Torch.ALLOCATOR_ENVIRONMENT.forEach((name, value) -> assertTrue(
                    environ.lines().anyMatch(l -> l.equals(name + "=" + value)), "child " + c.pid() + " lacks " + name));
        }
        new ProcessBuilder("kill", "-INT", Long.toString(launcher.pid())).inheritIO().start().waitFor();
        // Normally a few seconds; the bound is the launcher's own worst case (three stop stages
        // of 15 s grace + 5 s after SIGKILL) plus slack for a loaded machine.
        assertTrue(launcher.waitFor(90, TimeUnit.SECONDS),
                "launcher did not exit after SIGINT:\n" + Files.readString(dir.resolve("launcher.log")));
        for (ProcessHandle c : children) {
            assertTrue(c.onExit().get(10, TimeUnit.SECONDS) != null && !c.isAlive(), "child " + c.pid() + " survived");
        }
        try (var files = Files.list(runDir.resolve("checkpoints"))) {
            assertTrue(files.anyMatch(p -> p.getFileName().toString().endsWith(".ckpt")),
                    "the parameter server wrote no checkpoint on shutdown");
        }
    }

    @Test
    void killingTheLauncherWithSigkillLeavesNoOrphans(@TempDir Path dir) throws Exception {
        Path runDir = dir.resolve("run");
        Process launcher = startTrain(runDir, dir.resolve("launcher.log"));
        List<ProcessHandle> children = awaitCluster(launcher, runDir);
        launcher.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
        for (ProcessHandle c : children) {
            // The parent watchdog polls every second; the role then closes cleanly.
            c.onExit().get(30, TimeUnit.SECONDS);
            assertTrue(!c.isAlive(), "child " + c.pid() + " outlived a killed launcher");
        }
    }

    /**
     * Starts {@code starling train} as a terminal would: with SIGINT at its default. A JVM that
     * inherits SIGINT ignored (as a background job of a non-interactive shell does, which is how
     * CI and nohup may start Maven) keeps ignoring it, so {@code env --default-signal} resets it.
     */
    private static Process startTrain(Path runDir, Path log) throws IOException {
        List<String> cmd = new ArrayList<>(List.of("env", "--default-signal=INT",
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx512m", "-cp", System.getProperty("java.class.path"), Main.class.getName(), "train",
                "--actors", "2", "--max-seconds", "300", "--run-dir", runDir.toString()));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile());
        pb.environment().put("OMP_NUM_THREADS", "1");
        // As `java -jar starling.jar train` from a shell: no allocator settings of its own.
        pb.environment().keySet().removeAll(Torch.ALLOCATOR_ENVIRONMENT.keySet());
        return pb.start();
    }

    /** Waits until the learner serves and both actors have started; returns the launcher's children. */
    private static List<ProcessHandle> awaitCluster(Process launcher, Path runDir) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        while (System.nanoTime() < deadline) {
            assertTrue(launcher.isAlive(), "launcher exited early");
            if (Files.exists(runDir.resolve("ports/learner.port")) && Files.exists(runDir.resolve("logs/actor-1.log"))
                    && launcher.children().count() == 4) {
                List<ProcessHandle> children = launcher.children().toList();
                assertEquals(4, children.size(), "parameter server, learner and two actors");
                return children;
            }
            Thread.sleep(200);
        }
        launcher.destroyForcibly();
        throw new AssertionError("cluster did not come up within 120 s");
    }
}
