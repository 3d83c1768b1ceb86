package dev.starling.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The supervisor on small real processes ({@code sh}): restarts with doubling delays within the
 * budget, a separator per restart in the role's log, the run's end naming a role that used its
 * budget up, a sliding window, and no restart once stopped. The launcher's own roles under it are
 * in {@link SupervisedTrainTest}.
 */
class SupervisorTest {

    @TempDir
    Path dir;

    private Supervisor supervisor;

    @AfterEach
    void stop() {
        if (supervisor != null) {
            supervisor.stopAll(Duration.ofSeconds(5));
        }
    }

    @Test
    void delaysDoubleFromOneSecondToThirty() {
        Supervisor.Budget b = Supervisor.Budget.of(5);
        assertEquals(List.of(1L, 2L, 4L, 8L, 16L, 30L, 30L),
                List.of(1, 2, 3, 4, 5, 6, 7).stream().map(n -> b.delay(n).toSeconds()).toList());
        assertEquals(Duration.ofMinutes(10), b.window());
    }

    @Test
    void aRoleThatKeepsExitingIsRestartedWithBackoffThenEndsTheRunNamingIt() throws Exception {
        supervisor = new Supervisor(new Supervisor.Budget(3, Duration.ofMinutes(10), Duration.ofMillis(50),
                Duration.ofMillis(120)));
        Path log = dir.resolve("logs/crasher.log");
        supervisor.start("crasher", 1, sh("crasher", "echo crasher ran; exit 3", log));
        supervisor.start("steady", 0, sh("steady", "sleep 60", dir.resolve("logs/steady.log")));
        long steadyPid = supervisor.process("steady").pid();

        String failure = untilFailure(Duration.ofSeconds(30));
        assertTrue(failure.startsWith("crasher exited with code 3 and is not started again: its restart budget is used up"
                + " (3 restarts within 10 min, --max-restarts 3); last lines of its log:\n"), failure);
        assertTrue(failure.endsWith("crasher ran"), failure);
        assertEquals(List.of(new Supervisor.Restart("crasher", 3, 1, Duration.ofMillis(50)),
                new Supervisor.Restart("crasher", 3, 2, Duration.ofMillis(100)),
                new Supervisor.Restart("crasher", 3, 3, Duration.ofMillis(120))), supervisor.history());
        assertEquals(Map.of("crasher", 3, "steady", 0), supervisor.restarts());
        assertEquals(4, supervisor.generation("crasher"));
        assertEquals(1, supervisor.generation("steady"));
        assertEquals(steadyPid, supervisor.process("steady").pid(), "a live role is left alone");
        assertTrue(supervisor.process("steady").isAlive());

        // Every process's output is kept, each restart after a line saying which and why.
        List<String> lines = Files.readAllLines(log);
        assertEquals(4, lines.stream().filter(l -> l.equals("crasher ran")).count(), String.join("\n", lines));
        for (int n = 1; n <= 3; n++) {
            String restart = "restart " + n + " of crasher: the previous process";
            assertEquals(1, lines.stream().filter(l -> l.startsWith("---- ") && l.contains(restart)
                    && l.endsWith("exited with code 3 ----")).count(), String.join("\n", lines));
        }
        assertEquals("crasher ran", lines.get(0), "no separator before the first process");
    }

    @Test
    void restartsOlderThanTheWindowNoLongerCount() throws Exception {
        // One restart allowed per 200 ms; the role lives 400 ms each time, so it never runs out.
        supervisor = new Supervisor(new Supervisor.Budget(1, Duration.ofMillis(200), Duration.ofMillis(10),
                Duration.ofMillis(10)));
        supervisor.start("slow-crasher", 0, sh("slow-crasher", "sleep 0.4; exit 1", dir.resolve("slow.log")));
        long end = System.nanoTime() + Duration.ofSeconds(3).toNanos();
        while (System.nanoTime() < end) {
            assertEquals(Optional.empty(), supervisor.check());
            Thread.sleep(20);
        }
        assertTrue(supervisor.restarts().get("slow-crasher") >= 3, supervisor.restarts().toString());
    }

    @Test
    void withNoBudgetTheFirstExitEndsTheRun() throws Exception {
        supervisor = new Supervisor(Supervisor.Budget.of(0));
        supervisor.start("actor-0", 2, sh("actor-0", "echo bad option; exit 2", dir.resolve("actor-0.log")));
        String failure = untilFailure(Duration.ofSeconds(30));
        assertEquals("actor-0 exited with code 2 and is not started again: restarts are off (--max-restarts 0);"
                + " last lines of its log:\nbad option", failure);
        assertEquals(Map.of("actor-0", 0), supervisor.restarts());
    }

    @Test
    void afterStopAllNothingIsStartedAgain() throws Exception {
        supervisor = new Supervisor(new Supervisor.Budget(5, Duration.ofMinutes(10), Duration.ZERO, Duration.ZERO));
        ChildProcess a = supervisor.start("a", 2, sh("a", "sleep 60", dir.resolve("a.log")));
        ChildProcess b = supervisor.start("b", 0, sh("b", "sleep 60", dir.resolve("b.log")));
        assertEquals(Optional.empty(), supervisor.check());
        assertTrue(supervisor.settledSince(Duration.ZERO) <= System.nanoTime());
        supervisor.stopAll(Duration.ofSeconds(5));
        assertFalse(a.isAlive() || b.isAlive(), "stopAll stops every role");
        assertEquals(Optional.empty(), supervisor.check());
        assertEquals(Map.of("a", 0, "b", 0), supervisor.restarts(), "a role stopped by stopAll is not restarted");
        assertFalse(supervisor.process("a").isAlive());
        assertThrows(IllegalStateException.class, () -> supervisor.start("c", 0, sh("c", "true", dir.resolve("c.log"))));
    }

    /** Calls check() every 10 ms until it reports a failure. */
    private String untilFailure(Duration timeout) throws InterruptedException {
        long end = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < end) {
            Optional<String> f = supervisor.check();
            if (f.isPresent()) {
                return f.get();
            }
            Thread.sleep(10);
        }
        throw new AssertionError("no failure within " + timeout + "; restarts " + supervisor.restarts());
    }

    private static Supervisor.Launch sh(String name, String script, Path log) {
        return why -> ChildProcess.exec(name, List.of("sh", "-c", script), log, why);
    }
}
