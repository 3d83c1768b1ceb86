package dev.starling.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import dev.starling.envs.remote.PythonEnvServer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A Gymnasium-style environment in Python trains on the cluster through the package, as the
 * package's README tells a user to do: {@code examples/cartpole.py} (CartPole-v1's dynamics in
 * pure Python) served by {@code starling_env.serve}, {@code starling train --env-server}, then
 * {@code starling eval --env-server}. The actor plays double-buffered (two lanes, two streams).
 * Mid-run the server is killed and started again on the same port: the actor reconnects (no role
 * restarts) and the run still solves. Budget: the target
 * 475 within 240 s; the run usually needs 15-30 s of training.
 */
class EnvServerTrainTest {

    @Test
    void aPythonCartPoleTrainsThroughItsServerWhichDiesAndComesBack(@TempDir Path dir) throws Exception {
        Path runDir = dir.resolve("run");
        PythonEnvServer server = PythonEnvServer.start("examples/cartpole.py", List.of("--port", "0", "--num-envs", "64"),
                Duration.ofSeconds(60));
        int port = server.port();
        PythonEnvServer restarted = null;
        try {
            StringWriter out = new StringWriter();
            CompletableFuture<Integer> training = CompletableFuture.supplyAsync(() -> Main.run(
                    new PrintWriter(out, true), new PrintWriter(new StringWriter(), true), "train", "--env-server",
                    server.address(), "--double-buffer", "on", "--max-seconds", "240", "--seed", "3", "--metrics",
                    "--run-dir",
                    runDir.toString()));
            int actorMetrics = awaitPort(runDir.resolve("ports/actor-0.metrics"));
            awaitFrames(runDir.resolve("metrics.csv"), 50_000);
            assertTrue(ClusterTrainTest.value(ClusterTrainTest.scrape(actorMetrics),
                    "starling_env_server_step_seconds_count") > 0, "the actor times its environment server's replies");

            server.kill();
            Thread.sleep(2000);
            restarted = PythonEnvServer.start("examples/cartpole.py", List.of("--port", Integer.toString(port),
                    "--num-envs", "64"), Duration.ofSeconds(60));

            int code = training.get(300, TimeUnit.SECONDS);
            String summary = Files.readString(runDir.resolve("summary.json"));
            String actorLog = Files.readString(runDir.resolve("logs/actor-0.log"));
            assertEquals(0, code, "not solved: " + out + "\n" + summary + "\nactor log:\n"
                    + ClusterTrainTest.tail(runDir.resolve("logs/actor-0.log")));
            assertTrue(summary.contains("\"env\": \"py-cartpole\""), summary);
            assertTrue(summary.contains("\"actor-0\": 0"), "the actor rode out the server's death: " + summary);
            assertTrue(actorLog.contains("environment server " + server.address() + ": stream lost"), actorLog);
            assertTrue(actorLog.contains("playing again after"), actorLog);

            StringWriter evalOut = new StringWriter();
            StringWriter evalErr = new StringWriter();
            int evalCode = Main.run(new PrintWriter(evalOut, true), new PrintWriter(evalErr, true), "eval",
                    "--checkpoint", runDir.toString(), "--env-server", restarted.address());
            assertEquals(0, evalCode, evalErr.toString());
            Matcher mean = Pattern.compile("mean return ([0-9.]+) \\(std [0-9.]+\\) over 100 episodes of py-cartpole")
                    .matcher(evalOut.toString());
            assertTrue(mean.find(), evalOut.toString());
            assertTrue(Double.parseDouble(mean.group(1)) >= 475, "eval of the solved run: " + evalOut);

            // A server that opens 4 environments per stream and plays at most 16 streams at once: 100
            // episodes at once would need 25 streams; eval plays them in 25 rounds of 4.
            try (PythonEnvServer small = PythonEnvServer.start("examples/cartpole.py", List.of("--port", "0",
                    "--num-envs", "4"), Duration.ofSeconds(60))) {
                StringWriter smallOut = new StringWriter();
                StringWriter smallErr = new StringWriter();
                assertEquals(0, Main.run(new PrintWriter(smallOut, true), new PrintWriter(smallErr, true), "eval",
                        "--checkpoint", runDir.toString(), "--env-server", small.address()), smallErr.toString());
                assertTrue(smallOut.toString().contains("over 100 episodes of py-cartpole"), smallOut.toString());
            }
        } finally {
            server.close();
            if (restarted != null) {
                restarted.close();
            }
        }
    }

    @Test
    void envsListsTheServedEnvironmentAndMistakesAreOneLineErrors(@TempDir Path dir) throws Exception {
        StringWriter err = new StringWriter();
        int code = Main.run(new PrintWriter(new StringWriter(), true), new PrintWriter(err, true), "eval",
                "--checkpoint", "nowhere", "--env-server", "localhost:1");
        assertEquals(2, code);
        assertTrue(err.toString().startsWith("starling eval: environment server localhost:1: nothing answers there"),
                err.toString());
        assertEquals(1, err.toString().strip().lines().count(), err.toString());

        try (PythonEnvServer server = PythonEnvServer.start("examples/cartpole.py", List.of("--port", "0"),
                Duration.ofSeconds(60))) {
            StringWriter listed = new StringWriter();
            assertEquals(0, Main.run(new PrintWriter(listed, true), new PrintWriter(new StringWriter(), true), "envs",
                    "--env-server", server.address()));
            assertTrue(listed.toString().lines().anyMatch(l -> l.startsWith("py-cartpole ")
                    && l.contains("discrete(2)") && l.contains(" 0.05 ") && l.contains(" 475 ")
                    && l.contains("served by " + server.address())), listed.toString());

            err = new StringWriter();
            code = Main.run(new PrintWriter(new StringWriter(), true), new PrintWriter(err, true), "train",
                    "--env-server", server.address(), "--env", "cartpole", "--run-dir", dir.resolve("run").toString());
            assertEquals(2, code);
            assertTrue(err.toString().contains("--env-server plays the environment the server hosts: give it without"
                    + " --env and --env-jar"), err.toString());

            err = new StringWriter();
            code = Main.run(new PrintWriter(new StringWriter(), true), new PrintWriter(err, true), "train",
                    "--env-server", server.address(), "--mode", "sync", "--run-dir", dir.resolve("run").toString());
            assertEquals(2, code);
            assertTrue(err.toString().contains("use --mode impala or a3c"), err.toString());
            assertTrue(!Files.exists(dir.resolve("run")), "a refused run leaves no folder");
        }
    }

    private static int awaitPort(Path file) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        while (!Files.exists(file)) {
            assertTrue(System.nanoTime() < deadline, file + " never appeared");
            Thread.sleep(200);
        }
        return Integer.parseInt(Files.readString(file).trim());
    }

    /** Waits until the run's metrics.csv reports at least {@code frames} frames. */
    private static void awaitFrames(Path csv, long frames) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        while (true) {
            if (Files.exists(csv)) {
                List<String> rows = Files.readAllLines(csv);
                String last = rows.get(rows.size() - 1);
                if (rows.size() > 1 && Long.parseLong(last.split(",")[1]) >= frames) {
                    return;
                }
            }
            assertTrue(System.nanoTime() < deadline, "the run did not reach " + frames + " frames");
            Thread.sleep(200);
        }
    }
}
