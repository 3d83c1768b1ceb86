package dev.starling.ps;

import java.io.IOException;
import java.io.InputStream;
import java.util.Map;
import java.util.Properties;

import dev.starling.proto.v1.Provenance;

/** Builds the {@link Provenance} recorded in checkpoints. Stateless and thread-safe. */
final class Provenances {

    /** Environment variable with the git commit of the sources (set by the build or the image). */
    static final String GIT_REVISION_ENV = "STARLING_GIT_REVISION";
    static final String GIT_REVISION_KEY = "git_revision";
    static final String LIBTORCH_VERSION_KEY = "libtorch_version";
    static final String UNKNOWN = "unknown";

    private Provenances() {
    }

    /**
     * Versions of this software and its platform plus the run's configuration. {@code config}
     * entries {@code git_revision} and {@code libtorch_version} override the detected values.
     */
    static Provenance current(Map<String, String> config) {
        String git = config.get(GIT_REVISION_KEY);
        if (git == null) {
            git = System.getenv(GIT_REVISION_ENV);
        }
        String libtorch = config.get(LIBTORCH_VERSION_KEY);
        if (libtorch == null) {
            libtorch = libtorchVersion();
        }
        return Provenance.newBuilder()
                .setStarlingVersion(starlingVersion())
                .setLibtorchVersion(libtorch)
                .setJavaVersion(Runtime.version() + " (" + System.getProperty("java.vendor", UNKNOWN) + ")")
                .setOs(System.getProperty("os.name", UNKNOWN) + " " + System.getProperty("os.version", "")
                        + " (" + System.getProperty("os.arch", UNKNOWN) + ")")
                .setGitRevision(git == null ? "" : git)
                .putAllConfig(config)
                .build();
    }

    /**
     * libtorch's version from the bytedeco presets jar: its Implementation-Version is
     * {@code <libtorch>-<javacpp>}, e.g. {@code 2.10.0-1.5.13}. The class literal loads no native
     * code.
     */
    static String libtorchVersion() {
        Package p = org.bytedeco.pytorch.Tensor.class.getPackage();
        String v = p == null ? null : p.getImplementationVersion();
        if (v == null || v.isEmpty()) {
            return UNKNOWN;
        }
        int dash = v.indexOf('-');
        return dash > 0 ? v.substring(0, dash) : v;
    }

    /** The Maven version of this module: jar manifest, else the jar's pom.properties, else unknown. */
    static String starlingVersion() {
        Package p = Provenances.class.getPackage();
        if (p != null && p.getImplementationVersion() != null) {
            return p.getImplementationVersion();
        }
        try (InputStream in = Provenances.class.getResourceAsStream(
                "/META-INF/maven/dev.starling/starling-parameter-server/pom.properties")) {
            if (in != null) {
                Properties props = new Properties();
                props.load(in);
                return props.getProperty("version", UNKNOWN);
            }
        } catch (IOException e) {
            return UNKNOWN;
        }
        return UNKNOWN;
    }
}
