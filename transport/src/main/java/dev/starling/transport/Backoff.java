package dev.starling.transport;

import java.time.Duration;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Exponential backoff with full jitter (AWS architecture blog's "full jitter"): the n-th wait is
 * uniform in [0, min(max, initial * 2^n)]. {@link #reset()} after a success. Not thread-safe.
 */
public final class Backoff {

    private final long initialMillis;
    private final long maxMillis;
    private int attempt;

    public Backoff(Duration initial, Duration max) {
        if (initial.isNegative() || initial.isZero() || max.compareTo(initial) < 0) {
            throw new IllegalArgumentException("backoff needs 0 < initial <= max");
        }
        this.initialMillis = initial.toMillis();
        this.maxMillis = max.toMillis();
    }

    /** 100 ms doubling to 5 s: for reconnecting to a server that restarts in seconds. */
    public static Backoff reconnect() {
        return new Backoff(Duration.ofMillis(100), Duration.ofSeconds(5));
    }

    /** The next wait in milliseconds. */
    public long nextDelayMillis() {
        long cap = Math.min(maxMillis, initialMillis << Math.min(attempt, 20));
        attempt++;
        return ThreadLocalRandom.current().nextLong(cap + 1);
    }

    public int attempts() {
        return attempt;
    }

    public void reset() {
        attempt = 0;
    }
}
