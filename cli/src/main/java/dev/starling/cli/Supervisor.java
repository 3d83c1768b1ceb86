package dev.starling.cli;

import java.io.IOException;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.logging.Logger;

/**
 * Keeps the role processes of one training run alive (DESIGN.md, "Supervision"): a role whose
 * process exits while the run goes on, whatever its exit code, is started again the same way
 * (same arguments, same ports, same log file) after a backoff, as long as it stays within its
 * restart budget. Only a role that dies with its budget used up ends the run.
 *
 * <p>Backoff and budget ({@link Budget}): the n-th restart of a role within the budget window
 * waits {@code firstDelay x 2^(n-1)}, at most {@code maxDelay} (by default 1, 2, 4, 8, 16 s, then
 * 30 s); a role may be restarted at most {@code maxRestarts} times within a sliding window of
 * {@code window} (10 minutes). Every restart is logged (role, exit code, attempt, delay) and
 * counted ({@link #restarts()}).
 *
 * <p>Nothing here blocks on a process: {@link #check()} is called periodically by the thread that
 * polls the run's progress; it notices exits, schedules restarts and performs the ones that are
 * due. Thread-safe: every method is synchronized, so {@link #stopAll} (also called from the
 * launcher's shutdown hook) never races a restart, and after it nothing is started again. The
 * supervisor owns the processes it starts and stops them in {@link #stopAll}.
 */
final class Supervisor {

    private static final Logger LOG = Logger.getLogger(Supervisor.class.getName());
    /** Lines of a dead role's log quoted when it ends the run. */
    static final int TAIL_LINES = 30;

    /**
     * How often a role may be restarted, and how long to wait before each restart.
     *
     * @param maxRestarts restarts allowed per role within {@code window}; 0 = a role that exits
     *     ends the run at once
     * @param window the sliding window the budget counts restarts in
     * @param firstDelay the wait before the first restart in the window; each further one doubles it
     * @param maxDelay the longest wait
     */
    record Budget(int maxRestarts, Duration window, Duration firstDelay, Duration maxDelay) {

        static final Duration WINDOW = Duration.ofMinutes(10);
        static final Duration FIRST_DELAY = Duration.ofSeconds(1);
        static final Duration MAX_DELAY = Duration.ofSeconds(30);

        Budget {
            if (maxRestarts < 0) {
                throw new IllegalArgumentException("maxRestarts must be >= 0, got " + maxRestarts);
            }
            if (window.isNegative() || firstDelay.isNegative() || maxDelay.compareTo(firstDelay) < 0) {
                throw new IllegalArgumentException("need 0 <= firstDelay <= maxDelay and a window >= 0, got "
                        + firstDelay + ", " + maxDelay + ", " + window);
            }
        }

        /** The launcher's budget: {@code maxRestarts} within 10 minutes, 1 s doubling to 30 s. */
        static Budget of(int maxRestarts) {
            return new Budget(maxRestarts, WINDOW, FIRST_DELAY, MAX_DELAY);
        }

        /** The wait before the {@code nth} restart (1-based) within the window. */
        Duration delay(int nth) {
            Duration d = firstDelay;
            for (int i = 1; i < nth && d.compareTo(maxDelay) < 0; i++) {
                d = d.multipliedBy(2);
            }
            return d.compareTo(maxDelay) > 0 ? maxDelay : d;
        }
    }

    /** Starts one process of a role; {@code why} says why, for the separator line in its log. */
    @FunctionalInterface
    interface Launch {
        ChildProcess start(String why) throws IOException;
    }

    /** One restart, as logged: for tests and the run's record. */
    record Restart(String role, int exitCode, int attempt, Duration delay) {
    }

    /** A supervised role: its current process and its restart history. */
    private static final class Role {
        final String name;
        final int tier;
        final Launch launch;
        ChildProcess process;
        /** 1 for the first process, +1 per restart. */
        int generation = 1;
        int restarts;
        /** When each restart within the window was scheduled (nanoTime). */
        final Deque<Long> recent = new ArrayDeque<>();
        /** When the pending restart is due (nanoTime); only meaningful while {@code pending}. */
        long restartAt;
        boolean pending;
        int lastExitCode;
        long startedAt;

        Role(String name, int tier, Launch launch) {
            this.name = name;
            this.tier = tier;
            this.launch = launch;
        }
    }

    private final Budget budget;
    private final Map<String, Role> roles = new LinkedHashMap<>();
    private final List<Restart> history = new ArrayList<>();
    private boolean stopped;

    Supervisor(Budget budget) {
        this.budget = budget;
    }

    /**
     * Starts a role's first process and supervises it from the next {@link #check()} on.
     * {@link #stopAll} stops higher tiers first (actors before the learner before the parameter
     * server), the roles of one tier in parallel.
     */
    synchronized ChildProcess start(String name, int tier, Launch launch) throws IOException {
        if (stopped) {
            throw new IllegalStateException("the supervisor was stopped");
        }
        if (roles.containsKey(name)) {
            throw new IllegalArgumentException("role " + name + " is already supervised");
        }
        Role r = new Role(name, tier, launch);
        r.process = launch.start("starting " + name);
        r.startedAt = System.nanoTime();
        roles.put(name, r);
        return r.process;
    }

    /**
     * Notices roles that exited, schedules their restarts within the budget, and starts those
     * that are due. Returns why the run must end if a role died with its budget used up (or could
     * not be started again): its name, exit code and last log lines. Does nothing once stopped.
     */
    synchronized Optional<String> check() {
        if (stopped) {
            return Optional.empty();
        }
        long now = System.nanoTime();
        for (Role r : roles.values()) {
            if (!r.pending) {
                if (r.process.isAlive()) {
                    continue;
                }
                r.lastExitCode = r.process.exitCode();
                while (!r.recent.isEmpty() && now - r.recent.peekFirst() >= budget.window().toNanos()) {
                    r.recent.removeFirst();
                }
                if (r.recent.size() >= budget.maxRestarts()) {
                    return Optional.of(exhausted(r));
                }
                r.recent.addLast(now);
                r.restarts++;
                Duration delay = budget.delay(r.recent.size());
                r.pending = true;
                r.restartAt = now + delay.toNanos();
                history.add(new Restart(r.name, r.lastExitCode, r.restarts, delay));
                LOG.warning(String.format(Locale.ROOT, "%s (pid %d) exited with code %d; restarting it in %.1f s"
                        + " (restart %d, %d of %d allowed within %s)", r.name, r.process.pid(), r.lastExitCode,
                        delay.toMillis() / 1000.0, r.restarts, r.recent.size(), budget.maxRestarts(),
                        text(budget.window())));
            }
            if (now - r.restartAt >= 0) {
                Optional<String> failed = restart(r);
                if (failed.isPresent()) {
                    return failed;
                }
            }
        }
        return Optional.empty();
    }

    private Optional<String> restart(Role r) {
        String why = String.format(Locale.ROOT, "restart %d of %s: the previous process (pid %d) exited with code %d",
                r.restarts, r.name, r.process.pid(), r.lastExitCode);
        try {
            r.process = r.launch.start(why);
        } catch (IOException e) {
            return Optional.of("could not start " + r.name + " again: " + e.getMessage());
        }
        r.pending = false;
        r.generation++;
        r.startedAt = System.nanoTime();
        LOG.info(r.name + " started again (restart " + r.restarts + ", pid " + r.process.pid() + ")");
        return Optional.empty();
    }

    private String exhausted(Role r) {
        String budgetText = budget.maxRestarts() == 0
                ? "restarts are off (--max-restarts 0)"
                : String.format(Locale.ROOT, "its restart budget is used up (%d restart%s within %s, --max-restarts %d)",
                        r.recent.size(), r.recent.size() == 1 ? "" : "s", text(budget.window()),
                        budget.maxRestarts());
        return r.name + " exited with code " + r.lastExitCode + " and is not started again: " + budgetText
                + "; last lines of its log:\n" + r.process.tail(TAIL_LINES);
    }

    /** "10 min", or "0.2 s" for a window shorter than a minute (tests). */
    static String text(Duration d) {
        return d.toMinutes() >= 1 && d.toSecondsPart() == 0 && d.toMillisPart() == 0 ? d.toMinutes() + " min"
                : String.format(Locale.ROOT, "%.1f s", d.toMillis() / 1000.0);
    }

    /** Restarts so far per role, every role included (0 if none), in start order. */
    synchronized Map<String, Integer> restarts() {
        Map<String, Integer> m = new LinkedHashMap<>();
        roles.values().forEach(r -> m.put(r.name, r.restarts));
        return m;
    }

    /** Every restart so far, in order. */
    synchronized List<Restart> history() {
        return List.copyOf(history);
    }

    /** Which process of the role runs now: 1 for the first, +1 per restart. */
    synchronized int generation(String name) {
        return role(name).generation;
    }

    /** The role's current process (dead while a restart is pending). */
    synchronized ChildProcess process(String name) {
        return role(name).process;
    }

    /** Each running role's pid by name. */
    synchronized Map<String, Long> pids() {
        Map<String, Long> pids = new LinkedHashMap<>();
        for (Role r : roles.values()) {
            if (r.process.isAlive()) {
                pids.put(r.name, r.process.pid());
            }
        }
        return pids;
    }

    /**
     * Since when (nanoTime) every role has been up for at least {@code startup}: the latest
     * process start plus {@code startup}, or now while a restart is pending. Until then a role may
     * still be loading or reconnecting, so silence from it is not yet a fault.
     */
    synchronized long settledSince(Duration startup) {
        long now = System.nanoTime();
        long settled = Long.MIN_VALUE;
        for (Role r : roles.values()) {
            if (r.pending || !r.process.isAlive()) {
                return now;
            }
            settled = Math.max(settled, r.startedAt + startup.toNanos());
        }
        return settled;
    }

    private Role role(String name) {
        Role r = roles.get(name);
        if (r == null) {
            throw new IllegalArgumentException("no role " + name);
        }
        return r;
    }

    /**
     * Stops every role, the highest tier first, the roles of a tier in parallel (SIGTERM, up to
     * {@code grace}, then SIGKILL); cancels pending restarts. Idempotent; nothing is started after.
     */
    synchronized void stopAll(Duration grace) {
        if (stopped) {
            return;
        }
        stopped = true;
        Map<Integer, List<Role>> tiers = new TreeMap<>(Comparator.reverseOrder());
        for (Role r : roles.values()) {
            r.pending = false;
            tiers.computeIfAbsent(r.tier, t -> new ArrayList<>()).add(r);
        }
        for (List<Role> tier : tiers.values()) {
            tier.parallelStream().forEach(r -> r.process.stop(grace));
        }
    }
}
