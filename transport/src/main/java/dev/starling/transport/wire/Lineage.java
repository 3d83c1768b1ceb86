package dev.starling.transport.wire;

import dev.starling.proto.v1.Parameters;

/**
 * The order of weight versions across parameter server restarts. A parameter server process has
 * an incarnation (see {@code Parameters.incarnation}); its versions strictly increase, but a
 * restarted one may start below what its peers saw. So weights supersede the ones held when they
 * are of another incarnation (follow the server's current lineage) or of a higher version.
 */
public final class Lineage {

    private Lineage() {
    }

    /** Whether {@code next} should replace {@code held} (null: nothing held yet). */
    public static boolean supersedes(Parameters next, Parameters held) {
        return held == null || next.getIncarnation() != held.getIncarnation() || next.getVersion() > held.getVersion();
    }
}
