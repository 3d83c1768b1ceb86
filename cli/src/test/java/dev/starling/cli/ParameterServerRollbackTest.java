package dev.starling.cli;

import static dev.starling.cli.MiniCluster.await;
import static dev.starling.cli.MiniCluster.counter;
import static dev.starling.cli.MiniCluster.errors;
import static dev.starling.cli.MiniCluster.kill9;
import static dev.starling.cli.MiniCluster.log;
import static dev.starling.cli.MiniCluster.logSince;
import static dev.starling.cli.MiniCluster.metric;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import dev.starling.cli.MiniCluster.Role;
import dev.starling.ps.CheckpointStore;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A parameter server that comes back older: killed with SIGKILL, restarted on the same port and
 * folder, it restores its last checkpoint and so holds an older version than its peers have
 * seen. It is a new incarnation; every role follows it instead of refusing its "future" or
 * "past" versions. Real processes ({@link MiniCluster}); the checkpoint interval is short so a
 * checkpoint older than the kill exists, the kill comes well after it, and newer checkpoints are
 * removed before the restart so the rollback is certain.
 */
class ParameterServerRollbackTest {

    private static final List<String> ACTORS = List.of("actor-0", "actor-1");
    private static final int CHECKPOINT_INTERVAL = 2;
    private static final Duration TRAINING = Duration.ofSeconds(180);

    @TempDir
    Path dir;

    private MiniCluster cluster;

    @AfterEach
    void stopEveryChild() {
        if (cluster != null) {
            cluster.close();
            assertEquals(List.of(), cluster.alive(), "child JVMs outlived the test");
        }
    }

    /**
     * A3C: the server applies the gradients. Before incarnations the actors stopped for good
     * ("base_version 1275 is newer than the server's version 651; not retrying"). Now their
     * in-flight gradients of the old incarnation are dropped as stale, they take the restored
     * weights, and the restarted server goes on applying their gradients.
     */
    @Test
    void a3cActorsFollowARestartedParameterServerAndTrainingContinues() throws Exception {
        cluster = new MiniCluster(dir, List.of("--mode", "a3c", "--checkpoint-interval",
                Integer.toString(CHECKPOINT_INTERVAL)), List.of("--mode", "a3c"));
        cluster.startWatch();
        Role ps = cluster.startParameterServer();
        List<Role> actors = new ArrayList<>();
        for (String id : ACTORS) {
            actors.add(cluster.startActor(id));
        }
        await("gradients applied and two checkpoints written", TRAINING,
                () -> counter(ps, "starling_ps_gradients_applied_total") >= 100 && checkpoints() >= 2, ps);
        long newest = newestCheckpoint();
        // Versions move on past that checkpoint before the kill, so the restart is a rollback.
        await("versions past the newest checkpoint", TRAINING,
                () -> metric(ps, "starling_parameters_version") >= newest + 20, ps);
        kill9(ps);
        long atKill = maxVersion(actors);
        keepCheckpointsUpTo(newest);
        Thread.sleep(2000);

        Role ps2 = cluster.startParameterServer();
        long restored = restoredVersion(ps2);
        assertTrue(restored < atKill, "restored " + restored + ", actors had seen " + atKill + ": no rollback to test");
        await("the restarted server to apply gradients", TRAINING,
                () -> counter(ps2, "starling_ps_gradients_applied_total") >= 50, ps2, actors.get(0), actors.get(1));
        assertEveryActorFollowedAndKeptRunning(actors, ps2);
        assertTrue(metric(ps2, "starling_parameters_version") > restored, "the restarted server did not advance");
    }

    /**
     * IMPALA: the parameter server and the learner killed together. The restarted server restores
     * its checkpoint (weights, and the optimizer state with the weights it belongs to), the new
     * learner resumes from it; the actors follow the new incarnation, their chunks of the old one
     * are dropped, and the learner trains on their new chunks.
     */
    @Test
    void impalaActorsFollowARestartedParameterServerAndLearnerAndTrainingContinues() throws Exception {
        cluster = new MiniCluster(dir, List.of("--checkpoint-interval", Integer.toString(CHECKPOINT_INTERVAL)));
        cluster.startWatch();
        List<Role> roles = cluster.startAll(ACTORS);
        Role ps = roles.get(0);
        Role learner = roles.get(1);
        List<Role> actors = roles.subList(2, roles.size());
        await("the learner to train and two checkpoints to be written", TRAINING,
                () -> counter(learner, "starling_learner_updates_total") >= 30 && checkpoints() >= 2, learner, ps);
        long newest = newestCheckpoint();
        await("versions past the newest checkpoint", TRAINING,
                () -> metric(ps, "starling_parameters_version") >= newest + 10, ps, learner);
        kill9(ps);
        kill9(learner);
        long atKill = maxVersion(actors);
        keepCheckpointsUpTo(newest);
        Thread.sleep(2000);

        Role ps2 = cluster.startParameterServer();
        long restored = restoredVersion(ps2);
        assertTrue(restored < atKill, "restored " + restored + ", actors had seen " + atKill + ": no rollback to test");
        Role learner2 = cluster.startLearner(true);
        await("the restarted learner to train", TRAINING,
                () -> counter(learner2, "starling_learner_updates_total") >= 30, learner2, ps2, actors.get(0));
        assertEveryActorFollowedAndKeptRunning(actors, ps2);
        assertTrue(metric(ps2, "starling_parameters_version") > restored, "the restarted server did not advance");
        Matcher resumed = Pattern.compile("continuing from the weights of version (\\d+)").matcher(log(learner2).replace(",", ""));
        assertTrue(resumed.find(), "the restarted learner did not resume from the checkpoint:\n" + log(learner2));
    }

    /**
     * Every actor comes to play the restarted server's weights, and is the one first started,
     * alive, without an error, having followed exactly one new incarnation with its versions
     * ordered within each.
     */
    private void assertEveryActorFollowedAndKeptRunning(List<Role> actors, Role restarted) throws Exception {
        for (Role a : actors) {
            // Through the version watch, so its record (checked below) has the new incarnation too.
            await(a.label() + " to play the restarted server's weights", Duration.ofSeconds(60),
                    () -> cluster.versionsByIncarnation(a.name()).containsKey(2L), a, restarted);
        }
        cluster.stopWatch();
        for (Role a : actors) {
            assertTrue(a.process().isAlive(), a.label() + " stopped:\n" + a.process().tail(30));
            assertEquals(1, a.generation(), "the actor was restarted");
            assertEquals(List.of(), errors(logSince(a, 0)), a.label() + " log");
            Map<Long, List<Long>> byIncarnation = cluster.versionsByIncarnation(a.name());
            assertEquals(List.of(1L, 2L), List.copyOf(byIncarnation.keySet()), a.label() + " incarnations");
            byIncarnation.forEach((n, versions) -> {
                for (int i = 1; i < versions.size(); i++) {
                    assertTrue(versions.get(i) >= versions.get(i - 1), a.label() + " went from version "
                            + versions.get(i - 1) + " to " + versions.get(i) + " within incarnation " + n);
                }
            });
        }
    }

    private long restoredVersion(Role ps) throws Exception {
        Matcher m = Pattern.compile("restored version (\\d+)").matcher(log(ps).replace(",", ""));
        assertTrue(m.find(), "the restarted parameter server restored no checkpoint:\n" + log(ps));
        return Long.parseLong(m.group(1));
    }

    private static long maxVersion(List<Role> actors) {
        long max = -1;
        for (Role a : actors) {
            max = Math.max(max, (long) metric(a, "starling_parameters_version"));
        }
        return max;
    }

    private long checkpoints() {
        try {
            return cluster.checkpointVersions().size();
        } catch (IOException e) {
            return 0;
        }
    }

    /**
     * Removes the checkpoints newer than {@code version}, as if the crash had come right after
     * that one was written: the restart then surely restores a version older than the actors saw
     * (a periodic checkpoint could otherwise land just before the kill).
     */
    private void keepCheckpointsUpTo(long version) throws IOException {
        for (long v : cluster.checkpointVersions()) {
            if (v > version) {
                Files.delete(cluster.checkpointDir().resolve(CheckpointStore.fileName(v)));
            }
        }
    }

        private long newestCheckpoint() throws Exception {
        return cluster.checkpointVersions().get(0);
    }
}
