package dev.starling.envs.remote;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import dev.starling.env.Box;
import dev.starling.env.Discrete;
import dev.starling.env.Image;
import dev.starling.envs.VectorStep;
import org.junit.jupiter.api.Test;

/**
 * The client against real Python environment servers in child processes: the package's example
 * CartPole (Gymnasium's dynamics) and a server that breaks the contract on purpose
 * ({@code misbehaving_env_server.py}). Needs Debian's python3-grpcio, -protobuf and -numpy and
 * protoc with grpc_python_plugin (installed by .ci/run).
 */
class RemoteVectorEnvTest {

    private static final Duration START = Duration.ofSeconds(60);
    private static final RemoteVectorEnv.Settings PLAY = RemoteVectorEnv.Settings.PLAY;

    /** Records what the client reports about its streams. */
    static final class Recorder implements RemoteVectorEnv.Listener {
        final List<String> lost = Collections.synchronizedList(new ArrayList<>());
        volatile int replies;

        @Override
        public void streamLost(String server, String reason, String detail) {
            lost.add(reason + ": " + detail);
        }

        @Override
        public void replied(String server, long nanos) {
            replies++;
        }
    }

    private static PythonEnvServer cartPole(int port, int maxEnvs) throws Exception {
        return PythonEnvServer.start("examples/cartpole.py", List.of("--port", Integer.toString(port), "--num-envs",
                Integer.toString(maxEnvs)), START);
    }

    private static PythonEnvServer broken(String fault) throws Exception {
        Path script = Path.of("src/test/resources/misbehaving_env_server.py").toAbsolutePath();
        return PythonEnvServer.start(script.toString(), List.of("--fault", fault), START);
    }

    @Test
    void describesTheServedEnvironment() throws Exception {
        try (PythonEnvServer server = cartPole(0, 16)) {
            EnvironmentServers servers = EnvironmentServers.describe(List.of(server.address()));
            assertEquals("py-cartpole", servers.definition().name());
            assertEquals(new Discrete(2), servers.definition().actionSpace());
            Box obs = (Box) servers.definition().observationSpace();
            assertArrayEquals(new int[] {4}, obs.shape());
            assertEquals(475.0, servers.definition().rewardThreshold());
            assertEquals(0.05, servers.definition().rewardScale(), 1e-9);
            assertEquals(List.of(16), servers.maxEnvs());
            UnsupportedOperationException local = assertThrows(UnsupportedOperationException.class,
                    () -> servers.definition().create());
            assertTrue(local.getMessage().contains("--env-server " + server.address()), local.getMessage());
        }
    }

    @Test
    void playsCartPoleEpisodesSpreadOverStreamsAndIsReproducible() throws Exception {
        try (PythonEnvServer server = cartPole(0, 4)) {
            EnvironmentServers servers = EnvironmentServers.describe(List.of(server.address()));
            Recorder recorder = new Recorder();
            float[] firstRun;
            List<Float> returns = new ArrayList<>();
            List<Integer> lengths = new ArrayList<>();
            // 10 environments from a server that opens at most 4 per stream: streams of 4, 3 and 3.
            try (RemoteVectorEnv env = servers.open(10, 42, PLAY.withListener(recorder))) {
                assertEquals(3, env.streams());
                firstRun = play(env, 300, returns, lengths);
            }
            assertTrue(returns.size() >= 10, "always pushing right ends every episode within 300 steps: " + returns);
            for (int i = 0; i < returns.size(); i++) {
                // +1 per step, and the episode is short: the pole falls (terminated), no time limit.
                assertEquals(lengths.get(i), returns.get(i), 1e-4);
                assertTrue(lengths.get(i) >= 5 && lengths.get(i) < 100, "length " + lengths.get(i));
            }
            assertEquals(List.of(), recorder.lost);
            assertEquals(300 * 3, recorder.replies);

            try (RemoteVectorEnv again = servers.open(10, 42, PLAY);
                    RemoteVectorEnv other = servers.open(10, 43, PLAY)) {
                assertArrayEquals(firstRun, play(again, 300, new ArrayList<>(), new ArrayList<>()),
                        "the same seed plays the same episodes");
                assertFalse(Arrays.equals(firstRun, play(other, 300, new ArrayList<>(), new ArrayList<>())),
                        "another seed plays other episodes");
            }
        }
    }

    @Test
    void imagesArriveAsPixelsWithTheirTruncatedFrames() throws Exception {
        Path script = Path.of("src/test/resources/pixel_env_server.py").toAbsolutePath();
        try (PythonEnvServer server = PythonEnvServer.start(script.toString(), List.of("--length", "2"), START)) {
            EnvironmentServers servers = EnvironmentServers.describe(List.of(server.address()));
            assertEquals(new Image(1, 2, 3), servers.definition().observationSpace());
            try (RemoteVectorEnv env = servers.open(3, 7, PLAY)) {
                VectorStep s = env.newStep();
                assertTrue(s.images());
                env.reset(s);
                for (int k = 0; k < 3; k++) {
                    assertEquals(0, s.pixels[k * 6], "step 0");
                    assertEquals((byte) 255, s.pixels[k * 6 + 3]);
                }
                byte[] seeds = {s.pixels[2], s.pixels[8], s.pixels[14]};
                s.discreteActions[0] = 0;
                s.discreteActions[1] = 1;
                s.discreteActions[2] = 2;
                env.step(s);
                assertArrayEquals(new byte[] {1, 0, seeds[0], -1, 0, 0, 1, 100, seeds[1], -1, 0, 0,
                        1, (byte) 200, seeds[2], -1, 0, 0}, s.pixels, "one byte per pixel, as the server drew them");
                Arrays.fill(s.discreteActions, 2);
                env.step(s);
                for (int k = 0; k < 3; k++) {
                    assertTrue(s.truncated[k], "the 2-step time limit");
                    assertArrayEquals(new byte[] {2, (byte) 200, seeds[k], -1, 0, 0},
                            Arrays.copyOfRange(s.finalPixels, k * 6, k * 6 + 6), "the last frame of env " + k);
                    assertEquals(0, s.pixels[k * 6], "a new episode starts at step 0");
                }
                assertEquals(3, s.truncations);
            }
        }
    }

    /** Pushes right for {@code steps}; returns the observations of every step, in order. */
    private static float[] play(RemoteVectorEnv env, int steps, List<Float> returns, List<Integer> lengths) {
        VectorStep s = env.newStep();
        env.reset(s);
        float[] seen = new float[steps * s.observations.length];
        for (int t = 0; t < steps; t++) {
            Arrays.fill(s.discreteActions, 1);
            env.step(s);
            for (int k = 0; k < env.numEnvs(); k++) {
                assertFalse(s.truncated[k], "no time limit within 300 steps");
            }
            System.arraycopy(s.observations, 0, seen, t * s.observations.length, s.observations.length);
        }
        env.drainEpisodes((r, length) -> {
            returns.add(r);
            lengths.add(length);
        });
        return seen;
    }

    @Test
    void aServerThatDiesAndComesBackRestartsItsEpisodesWithoutUsingTheGap() throws Exception {
        PythonEnvServer server = cartPole(0, 8);
        int port = server.port();
        EnvironmentServers servers = EnvironmentServers.describe(List.of(server.address()));
        Recorder recorder = new Recorder();
        try (RemoteVectorEnv env = servers.open(8, 7, PLAY.withListener(recorder))) {
            VectorStep s = env.newStep();
            env.reset(s);
            for (int t = 0; t < 3; t++) {
                Arrays.fill(s.discreteActions, t % 2);
                env.step(s);
            }
            float[] beforeDeath = s.observations.clone();
            server.kill();
            // Back on the same port a second later, while the step below waits for it.
            CompletableFuture<PythonEnvServer> restarted = CompletableFuture.supplyAsync(() -> {
                try {
                    Thread.sleep(1000);
                    return cartPole(port, 8);
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            });
            Arrays.fill(s.discreteActions, 0);
            env.step(s);
            try (PythonEnvServer back = restarted.get(60, TimeUnit.SECONDS)) {
                for (int k = 0; k < 8; k++) {
                    assertTrue(s.truncated[k], "environment " + k + " lost its episode: truncated");
                    assertFalse(s.terminated[k]);
                    assertEquals(0f, s.rewards[k]);
                }
                assertEquals(8, s.truncations);
                assertArrayEquals(beforeDeath, s.finalObservations, "the last good observations are the final ones");
                assertNotEquals(Arrays.toString(beforeDeath), Arrays.toString(s.observations),
                        "the rows hold the new episodes' first observations");
                for (float v : s.observations) {
                    assertTrue(Math.abs(v) <= 0.05f, "a fresh CartPole state is within +-0.05, got " + v);
                }
                assertEquals(1, recorder.lost.size(), recorder.lost.toString());
                // The lost episodes (3 steps in) are not finished episodes.
                assertEquals(0, env.drainEpisodes((r, l) -> { }));
                for (int t = 0; t < 50; t++) {
                    Arrays.fill(s.discreteActions, 1);
                    env.step(s);
                }
                List<Integer> lengths = new ArrayList<>();
                env.drainEpisodes((r, l) -> lengths.add(l));
                assertTrue(lengths.size() >= 8, "the restarted server plays on: " + lengths);
                assertEquals(1, recorder.lost.size(), "no stream lost after the restart: " + recorder.lost);
            }
        }
    }

    @Test
    void aServerBackWithOtherSpacesIsAnErrorNamingThem() throws Exception {
        PythonEnvServer server = cartPole(0, 8);
        int port = server.port();
        try (RemoteVectorEnv env = EnvironmentServers.describe(List.of(server.address())).open(2, 1, PLAY)) {
            VectorStep s = env.newStep();
            env.reset(s);
            env.step(s);
            server.kill();
            try (PythonEnvServer other = PythonEnvServer.start(
                    Path.of("src/test/resources/misbehaving_env_server.py").toAbsolutePath().toString(),
                    List.of("--port", Integer.toString(port), "--fault", "three-observations"), START)) {
                EnvironmentServerException e = assertThrows(EnvironmentServerException.class, () -> env.step(s));
                assertTrue(e.getMessage().contains("hosts 'py-cartpole'") && e.getMessage().contains("hosts 'broken'")
                        && e.getMessage().contains("box(3)"), e.getMessage());
            }
        } finally {
            server.close();
        }
    }

    @Test
    void aWrongShapeIsNeverUsedAndNamesTheField() throws Exception {
        try (PythonEnvServer server = broken("wrong-shape")) {
            EnvironmentServers servers = EnvironmentServers.describe(List.of(server.address()));
            Recorder recorder = new Recorder();
            try (RemoteVectorEnv env = servers.open(4, 1, PLAY.withListener(recorder))) {
                VectorStep s = env.newStep();
                env.reset(s);
                Arrays.fill(s.discreteActions, 1);
                env.step(s);
                assertEquals(1, recorder.lost.size());
                assertEquals("bad_reply: observations has shape [4, 3]; expected [4, 4] (4 x box(4))",
                        recorder.lost.get(0));
                // Nothing of the bad reply arrived: the reopened stream's first observations (zeros)
                // and the environments restarted, not the bad reply's 0.5s.
                assertArrayEquals(new float[16], s.observations);
                assertEquals(4, s.truncations);
                for (int k = 0; k < 4; k++) {
                    assertTrue(s.truncated[k]);
                    assertEquals(0f, s.rewards[k]);
                }
                env.step(s);
                assertEquals(2, recorder.lost.size(), "every bad reply is refused");
                assertEquals(0, env.drainEpisodes((r, l) -> { }));
            }
        }
    }

    @Test
    void aMeasurementNeverCountsACutEpisode() throws Exception {
        try (PythonEnvServer server = broken("wrong-shape")) {
            try (RemoteVectorEnv env = EnvironmentServers.describe(List.of(server.address())).open(2, 1)) {
                VectorStep s = env.newStep();
                env.reset(s);
                EnvironmentServerException e = assertThrows(EnvironmentServerException.class, () -> env.step(s));
                assertEquals("environment server " + server.address() + ": observations has shape [2, 3]; expected"
                        + " [2, 4] (2 x box(4)); lost 2 episodes in progress", e.getMessage());
            }
        }
    }

    @Test
    void aNonFiniteRewardIsRefused() throws Exception {
        try (PythonEnvServer server = broken("nan-reward")) {
            Recorder recorder = new Recorder();
            try (RemoteVectorEnv env = EnvironmentServers.describe(List.of(server.address()))
                    .open(3, 1, PLAY.withListener(recorder))) {
                VectorStep s = env.newStep();
                env.reset(s);
                env.step(s);
                assertEquals(List.of("bad_reply: rewards[2] is NaN; rewards must be finite"), recorder.lost);
                assertEquals(0f, s.rewards[2]);
            }
        }
    }

    @Test
    void aSilentServerTimesOutAndCloseEndsTheWait() throws Exception {
        try (PythonEnvServer server = broken("hang")) {
            Recorder recorder = new Recorder();
            RemoteVectorEnv env = EnvironmentServers.describe(List.of(server.address()))
                    .open(2, 1, PLAY.withReplyTimeout(Duration.ofMillis(500)).withListener(recorder));
            VectorStep s = env.newStep();
            env.reset(s);
            CompletableFuture<Void> playing = CompletableFuture.runAsync(() -> env.step(s));
            // The reply times out, the stream is reopened, and the next step hangs again.
            while (recorder.lost.isEmpty()) {
                Thread.sleep(50);
            }
            assertTrue(recorder.lost.get(0).startsWith("timeout: no reply within 500 ms"), recorder.lost.toString());
            CompletableFuture<Void> second = playing.thenRunAsync(() -> env.step(s));
            Thread.sleep(200);
            env.close();
            Exception e = assertThrows(Exception.class, () -> second.get(10, TimeUnit.SECONDS));
            assertTrue(e.getCause() instanceof CancellationException, e.toString());
        }
    }

    @Test
    void serversOfDifferentEnvironmentsAreRefusedNamingBoth() throws Exception {
        try (PythonEnvServer four = broken("nan-reward"); PythonEnvServer three = broken("three-observations")) {
            EnvironmentServerException e = assertThrows(EnvironmentServerException.class,
                    () -> EnvironmentServers.describe(List.of(four.address(), three.address())));
            assertTrue(e.getMessage().contains(four.address()) && e.getMessage().contains(three.address())
                    && e.getMessage().contains("box(3)"), e.getMessage());
        }
    }

    @Test
    void nothingListeningIsAClearError() {
        EnvironmentServerException e = assertThrows(EnvironmentServerException.class,
                () -> EnvironmentServers.describe(List.of("localhost:1")));
        assertTrue(e.getMessage().startsWith("environment server localhost:1: nothing answers there"), e.getMessage());
        IllegalArgumentException bad = assertThrows(IllegalArgumentException.class,
                () -> EnvironmentServers.describe(List.of("localhost")));
        assertTrue(bad.getMessage().contains("expected HOST:PORT"), bad.getMessage());
    }
}
