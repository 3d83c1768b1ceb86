package dev.starling.envs.remote;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * An environment server of this repository's Python package ({@code python/starling-env}) in a
 * child process: for the tests and the benchmark, which need a real Python gRPC stack. Finds the
 * package from the working directory upwards (or {@code -Dstarling.python.dir}), generates the
 * gRPC stubs once per JVM into a temporary folder (they are never committed), starts a script
 * and waits for its "serving ... on port P" line.
 */
public final class PythonEnvServer implements AutoCloseable {

    /** Debian's interpreter, whose site packages hold python3-grpcio, -protobuf and -numpy. */
    private static final String DEBIAN_PYTHON = "/usr/bin/python3";
    private static final Pattern SERVING = Pattern.compile("starling-env: serving .* on port (\\d+)");
    private static final int KEPT_LINES = 40;
    private static Path stubs;

    private final Process process;
    private final int port;

    private PythonEnvServer(Process process, int port) {
        this.process = process;
        this.port = port;
    }

    /**
     * Runs {@code script} (a path relative to the package folder, such as
     * {@code examples/cartpole.py}, or absolute) with {@code args} and waits until it serves.
     *
     * @throws IOException if Python, the package or the stubs are missing, or the server exits or
     *     stays silent (the message carries its last lines of output)
     */
    public static PythonEnvServer start(String script, List<String> args, Duration startTimeout) throws IOException {
        Path pkg = packageDir();
        Path generated = stubs(pkg);
        List<String> command = new ArrayList<>(List.of(python(), "-u", pkg.resolve(script).toString()));
        command.addAll(args);
        ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true);
        builder.environment().put("PYTHONPATH", generated + java.io.File.pathSeparator + pkg);
        Process process = builder.start();
        Deque<String> output = new ArrayDeque<>();
        CompletableFuture<Integer> serving = new CompletableFuture<>();
        Thread reader = new Thread(() -> {
            try (BufferedReader in = new BufferedReader(new InputStreamReader(process.getInputStream(),
                    StandardCharsets.UTF_8))) {
                String line;
                while ((line = in.readLine()) != null) {
                    synchronized (output) {
                        output.addLast(line);
                        if (output.size() > KEPT_LINES) {
                            output.removeFirst();
                        }
                    }
                    Matcher m = SERVING.matcher(line);
                    if (m.find()) {
                        serving.complete(Integer.parseInt(m.group(1)));
                    }
                }
            } catch (IOException e) {
                // The process ended; the wait below reports it.
            }
            serving.completeExceptionally(new IOException("exited"));
        }, "python-env-server-output");
        reader.setDaemon(true);
        reader.start();
        try {
            int port = serving.get(startTimeout.toMillis(), TimeUnit.MILLISECONDS);
            return new PythonEnvServer(process, port);
        } catch (ExecutionException | TimeoutException e) {
            process.destroyForcibly();
            throw new IOException("the Python environment server " + command + " did not start serving within "
                    + startTimeout.toSeconds() + " s; its output:\n" + lines(output));
        } catch (InterruptedException e) {
            process.destroyForcibly();
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while starting " + command, e);
        }
    }

    /** {@code localhost:PORT}. */
    public String address() {
        return "localhost:" + port;
    }

    public int port() {
        return port;
    }

    /** Kills the server at once (SIGKILL), as a crash would, and waits for it to be gone. */
    public void kill() throws InterruptedException {
        process.destroyForcibly();
        process.waitFor(10, TimeUnit.SECONDS);
    }

    /** Stops the server (SIGTERM, then SIGKILL after 5 s). */
    @Override
    public void close() throws InterruptedException {
        process.destroy();
        if (!process.waitFor(5, TimeUnit.SECONDS)) {
            process.destroyForcibly();
            process.waitFor(5, TimeUnit.SECONDS);
        }
    }

    /** The package folder {@code python/starling-env}, from {@code -Dstarling.python.dir} or the working directory upwards. */
    public static Path packageDir() throws IOException {
        String configured = System.getProperty("starling.python.dir");
        if (configured != null) {
            return Path.of(configured).toAbsolutePath();
        }
        for (Path dir = Path.of("").toAbsolutePath(); dir != null; dir = dir.getParent()) {
            Path candidate = dir.resolve("python").resolve("starling-env");
            if (Files.isRegularFile(candidate.resolve("generate_stubs.py"))) {
                return candidate;
            }
        }
        throw new IOException("python/starling-env not found above " + Path.of("").toAbsolutePath()
                + ": run from the Starling repository or set -Dstarling.python.dir");
    }

    /** The interpreter: Debian's if present (it sees the Debian packages), else python3 on the PATH. */
    static String python() {
        return Files.isExecutable(Path.of(DEBIAN_PYTHON)) ? DEBIAN_PYTHON : "python3";
    }

    private static synchronized Path stubs(Path pkg) throws IOException {
        if (stubs != null) {
            return stubs;
        }
        Path out = Files.createTempDirectory("starling-python-stubs");
        Process p = new ProcessBuilder(python(), pkg.resolve("generate_stubs.py").toString(), "--out", out.toString())
                .redirectErrorStream(true).start();
        String text = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        try {
            if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
                throw new IOException("generating the Python gRPC stubs failed: " + text.strip());
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while generating the Python gRPC stubs", e);
        }
        stubs = out;
        Runtime.getRuntime().addShutdownHook(new Thread(() -> deleteTree(out), "python-stubs-cleanup"));
        return out;
    }

    private static void deleteTree(Path root) {
        try (java.util.stream.Stream<Path> paths = Files.walk(root)) {
            paths.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException e) {
            // A temporary folder left behind is harmless.
        }
    }

    private static String lines(Deque<String> output) {
        synchronized (output) {
            return String.join("\n", output);
        }
    }
}
