package dev.starling.cli;

import java.time.LocalTime;
import java.time.format.DateTimeFormatter;
import java.util.logging.ConsoleHandler;
import java.util.logging.Formatter;
import java.util.logging.Level;
import java.util.logging.LogManager;
import java.util.logging.LogRecord;
import java.util.logging.Logger;

/** One-line java.util.logging output on stderr: {@code HH:mm:ss LEVEL logger: message}. */
final class Logging {

    private static volatile boolean configured;

    private Logging() {
    }

    /**
     * Makes {@link ShutdownSafeLogManager} the JVM's LogManager; effective only before anything
     * touched java.util.logging, so call it first in {@code main}.
     */
    static void installLogManager() {
        if (System.getProperty("java.util.logging.manager") == null) {
            System.setProperty("java.util.logging.manager", ShutdownSafeLogManager.class.getName());
        }
    }

    /**
     * A LogManager that ignores the reset its own shutdown hook ({@code LogManager$Cleaner}) makes.
     * That hook runs concurrently with the roles' shutdown hooks and removes every handler, so
     * whatever a role logs while closing on SIGTERM (its final checkpoint, its final publish,
     * "closed") was lost. The console handler flushes every record, so skipping the reset loses
     * nothing.
     */
    public static final class ShutdownSafeLogManager extends LogManager {
        @Override
        public void reset() {
            if (Thread.currentThread().getClass().getName().equals(LogManager.class.getName() + "$Cleaner")) {
                return;
            }
            super.reset();
        }
    }

    static void configure() {
        if (configured) {
            return;
        }
        configured = true;
        Logger root = Logger.getLogger("");
        for (var h : root.getHandlers()) {
            root.removeHandler(h);
        }
        ConsoleHandler handler = new ConsoleHandler();
        handler.setFormatter(new Formatter() {
            private final DateTimeFormatter time = DateTimeFormatter.ofPattern("HH:mm:ss");

            @Override
            public String format(LogRecord r) {
                String name = r.getLoggerName() == null ? "" : r.getLoggerName();
                String shortName = name.substring(name.lastIndexOf('.') + 1);
                String msg = formatMessage(r);
                String thrown = r.getThrown() == null ? "" : " (" + r.getThrown() + ")";
                return LocalTime.now().format(time) + " " + r.getLevel() + " " + shortName + ": " + msg + thrown + "\n";
            }
        });
        handler.setLevel(Level.ALL);
        root.addHandler(handler);
        root.setLevel(Level.INFO);
        // gRPC's netty logs every closed connection at INFO; keep those out of the console.
        Logger.getLogger("io.grpc.netty.shaded").setLevel(Level.WARNING);
    }
}
