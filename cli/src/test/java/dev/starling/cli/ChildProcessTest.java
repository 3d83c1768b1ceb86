package dev.starling.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A role's JVM as the launcher starts it: at the scheduling priority asked for (actors yield the
 * CPU to the learner) and with the small young generation that keeps its resident memory down.
 */
class ChildProcessTest {

    @Test
    void aRoleRunsAtTheNicenessAndYoungGenerationItWasStartedWith(@TempDir Path dir) throws Exception {
        Path portFile = dir.resolve("ps.port");
        ChildProcess ps = ChildProcess.start("parameter-server", "256m", ClusterRun.ACTOR_NICENESS,
                List.of("parameter-server", "--port", "0", "--port-file", portFile.toString()), dir.resolve("ps.log"),
                "test");
        try {
            assertTrue(ps.awaitPort(portFile, Duration.ofSeconds(60)) > 0, Files.readString(dir.resolve("ps.log")));
            String stat = Files.readString(Path.of("/proc/" + ps.pid() + "/stat"));
            // Field 19 is the nice value; count after the command name's closing parenthesis.
            String[] fields = stat.substring(stat.lastIndexOf(')') + 2).trim().split(" ");
            assertEquals(ClusterRun.ACTOR_NICENESS, Integer.parseInt(fields[16]), stat);
            String cmdline = Files.readString(Path.of("/proc/" + ps.pid() + "/cmdline")).replace('\0', ' ');
            assertTrue(cmdline.contains("-Xmn" + ChildProcess.YOUNG_GENERATION) && cmdline.contains("-XX:+UseSerialGC"),
                    cmdline);
        } finally {
            ps.stop(Duration.ofSeconds(10));
        }
    }
}
