package dev.starling.cli;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Properties;
import java.util.stream.Stream;

import dev.starling.common.model.Torch;

/** Versions and revision of this build, recorded in run folders and checkpoints. */
public final class Provenance {

    private Provenance() {
    }

    public static String starlingVersion() {
        String v = Provenance.class.getPackage().getImplementationVersion();
        return v == null ? "dev" : v;
    }

    /** The libtorch version of the bytedeco presets on the class path. */
    public static String libtorchVersion() {
        try (InputStream in = org.bytedeco.pytorch.Tensor.class
                .getResourceAsStream("/META-INF/maven/org.bytedeco/pytorch/pom.properties")) {
            if (in != null) {
                Properties p = new Properties();
                p.load(in);
                return p.getProperty("version", "unknown");
            }
        } catch (IOException e) {
            return "unknown";
        }
        return "unknown";
    }

    /** Git revision from STARLING_GIT_REVISION (set by the launcher script), else "unknown". */
    public static String gitRevision() {
        String v = System.getenv("STARLING_GIT_REVISION");
        return v == null || v.isBlank() ? "unknown" : v;
    }

    public static Map<String, String> all() {
        Map<String, String> m = new LinkedHashMap<>();
        m.put("starling", starlingVersion());
        m.put("libtorch", libtorchVersion());
        m.put("java", System.getProperty("java.version"));
        m.put("os", System.getProperty("os.name") + " " + System.getProperty("os.arch"));
        m.put("git_revision", gitRevision());
        m.put("cpu", cpuModel());
        m.put("allocator", Torch.allocatorConfigured(System.getenv()) ? "glibc, tuned for libtorch" : "glibc defaults");
        return m;
    }

    /** The CPU model from {@code /proc/cpuinfo} (Linux), else the architecture. */
    public static String cpuModel() {
        try (Stream<String> lines = Files.lines(Path.of("/proc/cpuinfo"))) {
            return lines.filter(l -> l.startsWith("model name")).map(l -> l.substring(l.indexOf(':') + 1).trim())
                    .findFirst().orElse(System.getProperty("os.arch"));
        } catch (IOException | UncheckedIOException e) {
            return System.getProperty("os.arch");
        }
    }
}
