package dev.starling.cli;

import java.io.PrintWriter;
import java.util.Locale;

/**
 * The live progress line. On a terminal it rewrites one line; otherwise (CI, pipes) it prints
 * a line at most every 5 seconds.
 */
final class Progress {

    private final PrintWriter out;
    private final boolean terminal = System.console() != null;
    private long lastPrint;

    Progress(PrintWriter out) {
        this.out = out;
    }

    void show(double seconds, long frames, double fps, long episodes, double avgReturn, long version, double lag) {
        show(seconds, frames, fps, episodes, avgReturn, version, lag, 0);
    }

    /** As above; {@code restarts} (role processes started again so far) is shown once it is not 0. */
    void show(double seconds, long frames, double fps, long episodes, double avgReturn, long version, double lag,
            int restarts) {
        long now = System.nanoTime();
        long every = terminal ? 250_000_000L : 5_000_000_000L;
        if (now - lastPrint < every) {
            return;
        }
        lastPrint = now;
        String line = String.format(Locale.ROOT,
                "%6.1fs  frames %,d  fps %,.0f  episodes %,d  avg return %.1f  version %d  lag %.1f",
                seconds, frames, fps, episodes, avgReturn, version, lag) + (restarts > 0 ? "  restarts " + restarts : "");
        if (terminal) {
            out.print("\r" + line + "   ");
        } else {
            out.println(line);
        }
        out.flush();
    }

    void done() {
        if (terminal) {
            out.println();
        }
    }
}
