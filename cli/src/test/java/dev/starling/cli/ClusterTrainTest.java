package dev.starling.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import dev.starling.common.model.ModelConfig;
import dev.starling.common.model.ModelSpecs;
import dev.starling.proto.v1.Checkpoint;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The product end to end: {@code starling train} starts a parameter server, a learner and two
 * actors as separate JVMs on loopback, they learn masked CartPole over real gRPC, every child
 * is shut down, and the run folder holds the final checkpoint, which {@code eval} can play.
 * Budget: target 150 (a random policy scores ~22) within 3M frames / 300 s; the cluster usually
 * gets there in under 0.5M frames.
 */
class ClusterTrainTest {

    @Test
    void clusterOfSeparateJvmsLearnsMaskedCartPoleAndLeavesNoChildren(@TempDir Path dir) throws Exception {
        Path runDir = dir.resolve("run");
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        long before = ProcessHandle.current().children().count();
        CompletableFuture<Integer> training = CompletableFuture.supplyAsync(() -> Main.run(new PrintWriter(out, true),
                new PrintWriter(err, true), "train", "--mode", "impala", "--actors", "2", "--target-return", "150",
                "--max-frames", "3000000", "--max-seconds", "300", "--seed", "7", "--metrics", "--run-dir",
                runDir.toString()));
        scrapeEveryRoleWhileItTrains(runDir.resolve("ports"));
        int code = training.get(400, TimeUnit.SECONDS);
        String summary = Files.readString(runDir.resolve("summary.json"));
        assertEquals(0, code, "not solved: " + out + "\n" + summary + "\nlearner log:\n"
                + tail(runDir.resolve("logs/learner.log")));
        assertTrue(summary.contains("\"solved\": true"), summary);
        assertTrue(summary.contains("\"mode\": \"impala\""), summary);
        Matcher avg = Pattern.compile("\"final_avg_return\": ([0-9.e+]+)").matcher(summary);
        assertTrue(avg.find() && Double.parseDouble(avg.group(1)) >= 150, summary);

        assertEquals(before, ProcessHandle.current().children().count(), "child processes outlived the run");
        for (String log : List.of("parameter-server", "learner", "actor-0", "actor-1")) {
            assertTrue(Files.size(runDir.resolve("logs/" + log + ".log")) > 0, log + " wrote no log");
        }
        assertTrue(Files.readAllLines(runDir.resolve("metrics.csv")).size() > 2);
        assertTrue(Files.exists(runDir.resolve("training-curve.png")));

        // The parameter server wrote a final checkpoint on SIGTERM, as new as the last published version.
        Matcher version = Pattern.compile("\"policy_version\": (\\d+)").matcher(summary);
        assertTrue(version.find());
        Checkpoint ckpt = EvalCommand.load(runDir.resolve("checkpoints"));
        assertTrue(ckpt.getParameters().getVersion() >= Long.parseLong(version.group(1)),
                "checkpoint version " + ckpt.getParameters().getVersion() + " older than " + version.group(1));
        assertTrue(ckpt.hasOptimizerState(), "the learner's optimizer state is checkpointed");
        try (Stream<Path> files = Files.list(runDir.resolve("checkpoints"))) {
            assertFalse(files.anyMatch(p -> p.toString().endsWith(".tmp")), "no temporary files left");
        }

        // Solved means what eval sees: eval of the run folder plays the best weights (what the run
        // evaluated at or above the target before stopping) and reports what the run recorded.
        Checkpoint best = EvalCommand.load(runDir);
        assertTrue(Files.isDirectory(runDir.resolve("best")), "the run kept its best weights");
        StringWriter evalOut = new StringWriter();
        int evalCode = Main.run(new PrintWriter(evalOut, true), new PrintWriter(new StringWriter(), true), "eval",
                "--checkpoint", runDir.toString(), "--episodes", "100");
        assertEquals(0, evalCode);
        Matcher mean = Pattern.compile("mean return ([0-9.]+) \\(std [0-9.]+\\) over 100 episodes").matcher(evalOut.toString());
        assertTrue(mean.find(), evalOut.toString());
        assertTrue(Double.parseDouble(mean.group(1)) >= 150, "eval of the solved run: " + evalOut);
        assertTrue(evalOut.toString().contains("policy version " + best.getParameters().getVersion()), evalOut.toString());
        Matcher recorded = Pattern.compile("\"best_eval_return\": ([0-9.e+]+)").matcher(summary);
        assertTrue(recorded.find(), summary);
        assertEquals(Double.parseDouble(recorded.group(1)), Double.parseDouble(mean.group(1)), 0.006,
                "eval reports what the run measured");
    }

    /**
     * Pixels through the cluster: Pong's uint8 frames go from the actors' environments over the
     * wire to the learner, with conv layers given on the command line reaching every role (a
     * role with other layers would have another spec hash, and its chunks or weights would be
     * refused). Learning Pong takes minutes (BENCHMARKS.md, bench section 8); this checks the
     * pipeline on a short budget: every chunk accepted and trained on, and eval plays the run.
     */
    @Test
    void pongFramesTrainTheConvolutionalModelOnTheCluster(@TempDir Path dir) throws Exception {
        Path runDir = dir.resolve("run");
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int code = Main.run(new PrintWriter(out, true), new PrintWriter(err, true), "train", "--env", "pong",
                "--conv-layers", "8:4:4", "--num-envs", "16", "--unroll", "16", "--max-frames", "40000",
                "--max-seconds", "120", "--eval-episodes", "0", "--run-dir", runDir.toString());
        String summary = Files.readString(runDir.resolve("summary.json"));
        assertEquals(1, code, "the budget ends the run unsolved: " + out + err + "\n" + summary);
        assertTrue(summary.contains("\"failure\": null"), summary);
        Matcher frames = Pattern.compile("\"frames\": (\\d+)").matcher(summary);
        assertTrue(frames.find() && Long.parseLong(frames.group(1)) >= 40_000, summary);
        Matcher updates = Pattern.compile("\"updates\": (\\d+)").matcher(summary);
        assertTrue(updates.find() && Long.parseLong(updates.group(1)) >= 100, "the learner trained on the frames: " + summary);
        String learnerLog = Files.readString(runDir.resolve("logs/learner.log"));
        assertFalse(learnerLog.contains("rejected"), tail(runDir.resolve("logs/learner.log")));

        Checkpoint ckpt = EvalCommand.load(runDir.resolve("checkpoints"));
        assertEquals(List.of(new ModelConfig.ConvLayer(8, 4, 4)),
                ModelSpecs.config(ckpt.getParameters().getSpec()).convLayers(), "the checkpoint's model has the given layers");
        StringWriter evalOut = new StringWriter();
        assertEquals(0, Main.run(new PrintWriter(evalOut, true), new PrintWriter(new StringWriter(), true), "eval",
                "--checkpoint", runDir.toString(), "--episodes", "4"));
        assertTrue(evalOut.toString().contains("over 4 episodes of pong"), evalOut.toString());
    }

    @Test
    void a3cModeLearnsWithActorsPushingGradientsToTheParameterServer(@TempDir Path dir) throws Exception {
        Path runDir = dir.resolve("run");
        StringWriter out = new StringWriter();
        int code = Main.run(new PrintWriter(out, true), new PrintWriter(new StringWriter(), true), "train", "--mode", "a3c",
                "--actors", "2", "--target-return", "150", "--max-frames", "3000000", "--max-seconds", "300",
                "--seed", "7", "--run-dir", runDir.toString());
        String summary = Files.readString(runDir.resolve("summary.json"));
        assertEquals(0, code, "not solved: " + out + "\n" + summary + "\nparameter server log:\n"
                + tail(runDir.resolve("logs/parameter-server.log")));
        assertTrue(summary.contains("\"mode\": \"a3c\""), summary);
        assertFalse(Files.exists(runDir.resolve("logs/learner.log")), "a3c runs no learner");
        Checkpoint ckpt = EvalCommand.load(runDir.resolve("checkpoints"));
        assertTrue(ckpt.hasOptimizerState() && ckpt.getOptimizerState().getAlgorithm().equals("rmsprop"),
                "the parameter server's shared optimizer state is checkpointed");
    }

    /**
     * r2d2 through the cluster on a short budget: the r2d2 options reach the learner and the
     * actor (a chunk of another length would be rejected), the replay fills and the learner
     * trains a dueling Q-network, its metrics are exported, the checkpoint's spec names the
     * Q-network head, and eval plays it. 16 environments and chunks of 20 steps: the replay holds
     * the minimum of 64 sequences after the 5th chunk, and each chunk after that earns an update.
     */
    @Test
    void r2d2ModeTrainsADuelingQNetworkOnTheCluster(@TempDir Path dir) throws Exception {
        Path runDir = dir.resolve("run");
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int targetUpdateEvery = 5;
        CompletableFuture<Integer> training = CompletableFuture.supplyAsync(() -> Main.run(new PrintWriter(out, true),
                new PrintWriter(err, true), "train", "--mode", "r2d2", "--env", "masked-cartpole", "--num-envs", "16",
                "--sequence-length", "40", "--overlap", "20", "--burn-in", "10", "--batch-sequences", "16",
                "--min-replay-sequences", "64", "--target-update-every", Integer.toString(targetUpdateEvery),
                "--max-seconds", "15", "--eval-episodes", "0", "--seed", "7", "--metrics", "--checkpoint-replay",
                "--run-dir", runDir.toString()));
        // While it trains: the learner's replay and target metrics, under their Prometheus names.
        Path portFile = runDir.resolve("ports/learner.metrics");
        Path actorPortFile = runDir.resolve("ports/actor-0.metrics");
        String scraped = null;
        String actorScraped = null;
        while (!training.isDone()) {
            if (Files.exists(portFile) && Files.exists(actorPortFile)) {
                String s = scrape(Integer.parseInt(Files.readString(portFile).trim()));
                if (value(s, "starling_learner_updates_total") >= 1) {
                    scraped = s;
                    actorScraped = scrape(Integer.parseInt(Files.readString(actorPortFile).trim()));
                    break;
                }
            }
            Thread.sleep(500);
        }
        int code = training.get(90, TimeUnit.SECONDS);
        String summary = Files.readString(runDir.resolve("summary.json"));
        String learnerLog = Files.readString(runDir.resolve("logs/learner.log"));
        assertEquals(1, code, "the budget ends the run unsolved: " + out + err + "\n" + summary);
        assertTrue(summary.contains("\"failure\": null"), summary);
        assertTrue(summary.contains("\"mode\": \"r2d2\""), summary);
        Matcher updates = Pattern.compile("\"updates\": (\\d+)").matcher(summary);
        assertTrue(updates.find() && Long.parseLong(updates.group(1)) > 0,
                "the learner trained: " + summary + "\nlearner log:\n" + tail(runDir.resolve("logs/learner.log")));
        assertTrue(learnerLog.contains("r2d2 trainer started: sequences of 40 steps from chunks of 20, burn-in 10"),
                tail(runDir.resolve("logs/learner.log")));
        assertFalse(learnerLog.contains("rejected"), "the actors' chunks fit the learner: "
                + tail(runDir.resolve("logs/learner.log")));

        assertTrue(scraped != null, "no learner update was scraped before the run ended");
        double sequences = value(scraped, "starling_replay_sequences");
        assertTrue(sequences >= 64, "training started only with the minimum in the replay: " + sequences);
        assertTrue(value(scraped, "starling_replay_bytes") > 0, scraped);
        assertTrue(value(scraped, "starling_replay_ratio") > 0, scraped);
        double scrapedUpdates = value(scraped, "starling_learner_updates_total");
        double targetUpdates = value(scraped, "starling_learner_target_updates_total");
        assertTrue(targetUpdates >= 0 && targetUpdates <= Math.floor(scrapedUpdates / targetUpdateEvery),
                targetUpdates + " target updates after " + scrapedUpdates + " updates");
        assertEquals(0, value(scraped, "starling_learner_skipped_updates_total"), scraped);
        // The lone actor's 16 environments span Ape-X's spread: 0.4 down to 0.4^8.
        assertEquals(0.4, value(actorScraped, "starling_actor_epsilon{actor=\"actor-0\",role=\"actor\",stat=\"max\"}"),
                1e-6, actorScraped);
        assertEquals(Math.pow(0.4, 8),
                value(actorScraped, "starling_actor_epsilon{actor=\"actor-0\",role=\"actor\",stat=\"min\"}"), 1e-6,
                actorScraped);
        // --checkpoint-replay: the learner saved its replay when it stopped.
        Path replayFile = runDir.resolve("replay/replay.bin");
        assertTrue(Files.size(replayFile) > 0, "no replay saved");
        assertTrue(learnerLog.contains("replay sequences to " + runDir.resolve("replay").toAbsolutePath()),
                tail(runDir.resolve("logs/learner.log")));

        Checkpoint ckpt = EvalCommand.load(runDir.resolve("checkpoints"));
        assertEquals(ModelConfig.Head.DUELING_Q, ModelSpecs.config(ckpt.getParameters().getSpec()).head(),
                "the checkpoint holds the Q-network");
        assertTrue(ckpt.hasOptimizerState(), "the learner's optimizer state is checkpointed");
        StringWriter evalOut = new StringWriter();
        StringWriter evalErr = new StringWriter();
        assertEquals(0, Main.run(new PrintWriter(evalOut, true), new PrintWriter(evalErr, true), "eval",
                "--checkpoint", runDir.toString(), "--episodes", "2"), evalOut + "" + evalErr);
        assertTrue(evalOut.toString().contains("over 2 episodes of masked-cartpole"), evalOut.toString());
    }

    /**
     * Every role serves Prometheus metrics with the names of DESIGN.md (plus JVM and gRPC
     * meters), and they move: frames, samples and gRPC message counters grow, the version gauges
     * advance.
     */
    private static void scrapeEveryRoleWhileItTrains(Path ports) throws Exception {
        Map<String, Integer> port = new HashMap<>();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        for (String role : List.of("parameter-server", "learner", "actor-0", "actor-1")) {
            Path file = ports.resolve(role + ".metrics");
            while (!Files.exists(file)) {
                assertTrue(System.nanoTime() < deadline, role + " did not start serving metrics");
                Thread.sleep(200);
            }
            port.put(role, Integer.parseInt(Files.readString(file).trim()));
        }
        // Wait until training is under way (the learner has updated), then take two samples.
        while (value(scrape(port.get("learner")), "starling_learner_updates_total") < 3) {
            assertTrue(System.nanoTime() < deadline, "the learner made no updates");
            Thread.sleep(500);
        }
        Map<String, String> first = new HashMap<>();
        port.forEach((role, p) -> first.put(role, scrape(p)));
        Thread.sleep(4000);
        Map<String, String> second = new HashMap<>();
        port.forEach((role, p) -> second.put(role, scrape(p)));

        Map<String, List<String>> names = Map.of(
                "parameter-server", List.of("starling_parameters_version", "starling_weights_broadcast_seconds_count"),
                "learner", List.of("starling_learner_samples_total", "starling_learner_updates_total",
                        "starling_learner_update_seconds_count", "starling_learner_loss", "starling_learner_grad_norm",
                        "starling_policy_lag_versions_count", "starling_learner_queue_chunks"),
                "actor-0", List.of("starling_env_frames_total", "starling_episodes_total", "starling_episode_return_count",
                        "starling_episode_length_count", "starling_parameters_version"));
        names.forEach((role, list) -> {
            for (String name : list) {
                assertTrue(!Double.isNaN(value(second.get(role), name)), role + " does not export " + name);
            }
            assertTrue(second.get(role).contains("role=\"" + role.replaceFirst("-\\d+$", "") + "\""), role + " lacks its role tag");
            assertTrue(!Double.isNaN(value(second.get(role), "jvm_memory_used_bytes")), role + " lacks JVM metrics");
        });
        assertTrue(second.get("actor-1").contains("actor=\"actor-1\""), "actor metrics carry the actor tag");
        assertMoved(first, second, "actor-0", "starling_env_frames_total");
        assertMoved(first, second, "actor-1", "starling_env_frames_total");
        assertMoved(first, second, "learner", "starling_learner_samples_total");
        assertMoved(first, second, "parameter-server", "starling_parameters_version");
        assertMoved(first, second, "actor-0", "starling_parameters_version");
        // gRPC meters on both ends: chunks into the learner, publishes into the parameter server.
        assertMoved(first, second, "learner", "grpc_server_requests_received_messages_total");
        assertMoved(first, second, "parameter-server", "grpc_server_requests_received_messages_total");
        assertMoved(first, second, "actor-0", "grpc_client_requests_sent_messages_total");
        assertMoved(first, second, "learner", "grpc_client_requests_sent_messages_total");
    }

    private static void assertMoved(Map<String, String> first, Map<String, String> second, String role, String name) {
        double a = value(first.get(role), name);
        double b = value(second.get(role), name);
        assertTrue(b > a, role + " " + name + " did not advance: " + a + " -> " + b);
    }

    static String scrape(int port) {
        try {
            HttpResponse<String> r = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
                    URI.create("http://localhost:" + port + "/metrics")).timeout(Duration.ofSeconds(5)).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertEquals(200, r.statusCode());
            return r.body();
        } catch (Exception e) {
            throw new AssertionError("scraping port " + port + " failed", e);
        }
    }

    /** Sum of the samples of {@code name} (any labels); NaN if there is none. */
    static double value(String scrape, String name) {
        double sum = 0;
        boolean found = false;
        for (String line : scrape.split("\n")) {
            if (line.startsWith(name + "{") || line.startsWith(name + " ")) {
                sum += Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
                found = true;
            }
        }
        return found ? sum : Double.NaN;
    }

    static String tail(Path log) {
        try {
            List<String> lines = Files.readAllLines(log);
            return String.join("\n", lines.subList(Math.max(0, lines.size() - 30), lines.size()));
        } catch (Exception e) {
            return "(no log)";
        }
    }
}
