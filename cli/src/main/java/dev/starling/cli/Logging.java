package dev.starling.cli;

import java.time.LocalTime;
import java.time.format.DateTimeFormatter;
import java.util.logging.ConsoleHandler;
import java.util.logging.Formatter;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;

/** One-line java.util.logging output on stderr: {@code HH:mm:ss LEVEL logger: message}. */
final class Logging {

    private static volatile boolean configured;

    private Logging() {
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
