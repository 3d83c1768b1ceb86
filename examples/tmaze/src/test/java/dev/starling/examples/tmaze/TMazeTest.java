package dev.starling.examples.tmaze;

import static dev.starling.examples.tmaze.TMaze.DOWN;
import static dev.starling.examples.tmaze.TMaze.FORWARD;
import static dev.starling.examples.tmaze.TMaze.UP;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.lang.management.ManagementFactory;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

import dev.starling.env.Action;
import dev.starling.env.Box;
import dev.starling.env.Discrete;
import dev.starling.env.Observation;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class TMazeTest {

    private static final float[] CUE_UP = {1, 0, 0};
    private static final float[] CUE_DOWN = {0, 1, 0};
    private static final float[] CORRIDOR = {0, 0, 0};
    private static final float[] JUNCTION = {0, 0, 1};

    /** Chooses the action for step {@code t + 1} from the observation written before it. */
    interface Policy {
        int act(float[] observation, int t);
    }

    record Episode(double totalReward, List<Float> rewards, List<float[]> observations, boolean terminated,
            boolean truncated) {

        int steps() {
            return rewards.size();
        }
    }

    /** The optimal policy: remembers the cue from the first observation, walks, turns as cued. */
    static Policy remembering() {
        boolean[] cueUp = new boolean[1];
        return (obs, t) -> {
            if (t == 0) {
                cueUp[0] = obs[0] == 1f;
            }
            return obs[2] == 1f ? (cueUp[0] ? UP : DOWN) : FORWARD;
        };
    }

    /** The best memoryless policy: walks forward and always turns up. */
    static Policy alwaysUp() {
        return (obs, t) -> obs[2] == 1f ? UP : FORWARD;
    }

    static Episode play(TMaze env, long seed, Policy policy) {
        float[] buffer = new float[3];
        Observation observation = Observation.ofFloats(buffer, 3);
        int[] chosen = new int[1];
        Action action = Action.ofDiscrete(chosen);
        env.reset(seed, observation);
        List<float[]> observations = new ArrayList<>();
        observations.add(buffer.clone());
        List<Float> rewards = new ArrayList<>();
        double total = 0;
        while (!env.terminated() && !env.truncated()) {
            assertTrue(rewards.size() < env.timeLimit(), "the episode outlived its time limit");
            chosen[0] = policy.act(buffer, rewards.size());
            float r = env.step(action, observation);
            rewards.add(r);
            total += r;
            observations.add(buffer.clone());
        }
        return new Episode(total, rewards, observations, env.terminated(), env.truncated());
    }

    static long seedWithCue(boolean up) {
        TMaze env = new TMaze();
        float[] buffer = new float[3];
        for (long seed = 0; ; seed++) {
            env.reset(seed, Observation.ofFloats(buffer, 3));
            if ((buffer[0] == 1f) == up) {
                return seed;
            }
        }
    }

    @Test
    void spacesAndDefaults() {
        TMaze env = new TMaze();
        assertEquals(Box.of(3), env.observationSpace());
        assertEquals(new Discrete(3), env.actionSpace());
        assertEquals(10, env.corridorLength());
        assertEquals(40, env.timeLimit());
        assertEquals(120, new TMaze(30).timeLimit());
    }

    @Test
    void resetShowsTheCueOnly() {
        assertArrayEquals(CUE_UP, play(new TMaze(), seedWithCue(true), alwaysUp()).observations().get(0));
        assertArrayEquals(CUE_DOWN, play(new TMaze(), seedWithCue(false), alwaysUp()).observations().get(0));
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 2, 10, 30})
    void theRememberingPolicyReturnsTheOptimumForBothCues(int n) {
        for (boolean up : new boolean[] {true, false}) {
            Episode e = play(new TMaze(n), seedWithCue(up), remembering());
            assertEquals(1 - 0.01 * n, e.totalReward(), 1e-6, "cue up " + up);
            assertTrue(e.terminated());
            assertFalse(e.truncated());
            assertEquals(n + 1, e.steps());
            for (int t = 0; t < n; t++) {
                assertEquals(-0.01f, e.rewards().get(t), "step " + (t + 1));
                assertArrayEquals(t + 1 == n ? JUNCTION : CORRIDOR, e.observations().get(t + 1), "after step " + (t + 1));
            }
            assertEquals(1f, e.rewards().get(n));
            assertArrayEquals(CORRIDOR, e.observations().get(n + 1), "terminal observation");
        }
    }

    @Test
    void statedReturns() {
        // The numbers in the README, the Javadoc and the provider's descriptions.
        long up = seedWithCue(true);
        long down = seedWithCue(false);
        assertEquals(0.9, play(new TMaze(10), down, remembering()).totalReward(), 1e-6);
        assertEquals(0.7, play(new TMaze(30), up, remembering()).totalReward(), 1e-6);
        assertEquals(0.9, play(new TMaze(10), up, alwaysUp()).totalReward(), 1e-6);
        assertEquals(-0.1, play(new TMaze(10), down, alwaysUp()).totalReward(), 1e-6);
        assertEquals(0.7, play(new TMaze(30), up, alwaysUp()).totalReward(), 1e-6);
        assertEquals(-0.3, play(new TMaze(30), down, alwaysUp()).totalReward(), 1e-6);
    }

    @Test
    void alwaysUpWinsOnUpCuesOnlyAndAveragesTheMemorylessBound() {
        for (int n : new int[] {1, 10, 30}) {
            Episode upCue = play(new TMaze(n), seedWithCue(true), alwaysUp());
            Episode downCue = play(new TMaze(n), seedWithCue(false), alwaysUp());
            assertEquals(1f, upCue.rewards().get(n));
            assertEquals(0f, downCue.rewards().get(n));
            assertTrue(downCue.terminated() && !downCue.truncated());
            assertEquals(0.5 - 0.01 * n, (upCue.totalReward() + downCue.totalReward()) / 2, 1e-6);
        }
    }

    @Test
    void cuesAreBalancedOverSeeds() {
        TMaze env = new TMaze();
        double total = 0;
        int episodes = 10_000;
        for (long seed = 0; seed < episodes; seed++) {
            total += play(env, seed, alwaysUp()).totalReward();
        }
        // Up on half the seeds: the memoryless policy averages 0.4 (binomial sd 0.005).
        assertEquals(0.4, total / episodes, 0.02);
    }

    @Test
    void wallsKeepTheAgentInPlaceAndCostAStep() {
        TMaze env = new TMaze(5);
        float[] buffer = new float[3];
        Observation obs = Observation.ofFloats(buffer, 3);
        int[] chosen = new int[1];
        Action action = Action.ofDiscrete(chosen);
        long seed = seedWithCue(false);
        env.reset(seed, obs);
        int[] script = {
            UP, DOWN,                      // walls at the start
            FORWARD, FORWARD, UP, DOWN,    // walls in the corridor, at cell 2
            FORWARD, FORWARD, FORWARD,     // cells 3, 4, then the junction
            FORWARD, FORWARD,              // the wall ahead of the junction
        };
        float[][] expected = {
            CORRIDOR, CORRIDOR,
            CORRIDOR, CORRIDOR, CORRIDOR, CORRIDOR,
            CORRIDOR, CORRIDOR, JUNCTION,
            JUNCTION, JUNCTION,
        };
        for (int i = 0; i < script.length; i++) {
            chosen[0] = script[i];
            assertEquals(-0.01f, env.step(action, obs), "step " + (i + 1));
            assertArrayEquals(expected[i], buffer, "after step " + (i + 1));
            assertFalse(env.terminated() || env.truncated(), "step " + (i + 1));
        }
        chosen[0] = DOWN;
        assertEquals(1f, env.step(action, obs));
        assertTrue(env.terminated());
    }

    @Test
    void theTimeLimitTruncates() {
        TMaze env = new TMaze(10);
        Episode e = play(env, 7, (obs, t) -> UP); // walks into the corridor wall at the start
        assertEquals(40, e.steps());
        assertTrue(e.truncated());
        assertFalse(e.terminated());
        assertEquals(-0.4, e.totalReward(), 1e-6);
        IllegalStateException after = assertThrows(IllegalStateException.class,
                () -> env.step(Action.ofDiscrete(new int[] {FORWARD}), Observation.ofFloats(new float[3], 3)));
        assertTrue(after.getMessage().contains("truncated"), after.getMessage());
    }

    @Test
    void truncationShowsWhereTheAgentIs() {
        // Truncated episodes are bootstrapped from their last observation, so it must be the real one.
        Episode e = play(new TMaze(3, 4), 1, (obs, t) -> FORWARD);
        assertTrue(e.truncated());
        assertArrayEquals(JUNCTION, e.observations().get(4));
    }

    @Test
    void aTurnOnTheLastAllowedStepTerminatesAndIsNotTruncated() {
        for (boolean up : new boolean[] {true, false}) {
            Episode e = play(new TMaze(3, 4), seedWithCue(up), alwaysUp());
            assertEquals(4, e.steps());
            assertTrue(e.terminated());
            assertFalse(e.truncated());
        }
    }

    @Test
    void stepOutsideAnEpisodeFails() {
        TMaze env = new TMaze();
        Observation obs = Observation.ofFloats(new float[3], 3);
        Action forward = Action.ofDiscrete(new int[] {FORWARD});
        IllegalStateException before = assertThrows(IllegalStateException.class, () -> env.step(forward, obs));
        assertTrue(before.getMessage().contains("before reset()"), before.getMessage());

        play(env, 3, remembering());
        IllegalStateException after = assertThrows(IllegalStateException.class, () -> env.step(forward, obs));
        assertTrue(after.getMessage().contains("terminated"), after.getMessage());

        // reset() starts the next episode.
        assertEquals(0.9, play(env, 4, remembering()).totalReward(), 1e-6);
    }

    @Test
    void resetInTheMiddleOfAnEpisodeStartsOver() {
        TMaze env = new TMaze(4);
        float[] buffer = new float[3];
        Observation obs = Observation.ofFloats(buffer, 3);
        Action forward = Action.ofDiscrete(new int[] {FORWARD});
        env.reset(1, obs);
        env.step(forward, obs);
        env.step(forward, obs);
        env.reset(1, obs);
        for (int i = 1; i <= 4; i++) {
            env.step(forward, obs);
            assertArrayEquals(i == 4 ? JUNCTION : CORRIDOR, buffer, "after " + i + " steps");
        }
    }

    @Test
    void anActionOutOfRangeIsRejected() {
        TMaze env = new TMaze();
        Observation obs = Observation.ofFloats(new float[3], 3);
        env.reset(0, obs);
        assertThrows(IllegalArgumentException.class, () -> env.step(Action.ofDiscrete(new int[] {3}), obs));
        assertThrows(IllegalArgumentException.class, () -> env.step(Action.ofDiscrete(new int[] {-1}), obs));
    }

    @Test
    void constructorChecksItsArguments() {
        assertThrows(IllegalArgumentException.class, () -> new TMaze(0));
        assertThrows(IllegalArgumentException.class, () -> new TMaze(10, 10));
        assertEquals(11, new TMaze(10, 11).timeLimit());
    }

    @Test
    void theSameSeedGivesTheSameEpisode() {
        TMaze a = new TMaze();
        TMaze b = new TMaze();
        play(b, 99, alwaysUp()); // history must not matter
        boolean sawUp = false;
        boolean sawDown = false;
        for (long seed = -500; seed < 500; seed++) {
            Episode ea = play(a, seed, alwaysUp());
            Episode eb = play(b, seed, alwaysUp());
            assertArrayEquals(ea.observations().get(0), eb.observations().get(0), "seed " + seed);
            assertEquals(ea.rewards(), eb.rewards(), "seed " + seed);
            sawUp |= ea.observations().get(0)[0] == 1f;
            sawDown |= ea.observations().get(0)[1] == 1f;
        }
        assertTrue(sawUp && sawDown, "both cues occur");
    }

    @Test
    void theCueIsTheSignOfSplittableRandomsFirstLong() {
        TMaze env = new TMaze();
        float[] buffer = new float[3];
        long[] seeds = {0, 1, 2, 42, -1, Long.MIN_VALUE, Long.MAX_VALUE, 0x9e3779b97f4a7c15L};
        for (long seed : seeds) {
            env.reset(seed, Observation.ofFloats(buffer, 3));
            boolean up = new SplittableRandom(seed).nextLong() < 0;
            assertArrayEquals(up ? CUE_UP : CUE_DOWN, buffer, "seed " + seed);
        }
    }

    @Test
    void resetAndStepAllocateNothing() {
        assumeTrue(ManagementFactory.getThreadMXBean() instanceof com.sun.management.ThreadMXBean,
                "this JVM cannot count allocated bytes");
        com.sun.management.ThreadMXBean threads = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        assumeTrue(threads.isThreadAllocatedMemorySupported() && threads.isThreadAllocatedMemoryEnabled(),
                "this JVM cannot count allocated bytes");
        TMaze env = new TMaze();
        float[] buffer = new float[3 * 4];
        Observation obs = Observation.ofFloats(buffer, 3).moveTo(2);
        int[] chosen = new int[1];
        Action action = Action.ofDiscrete(chosen);
        runEpisodes(env, obs, chosen, action, 1_000); // warm up and load every class
        // The least of several windows: when the JIT recompiles, the JVM may resolve the message
        // strings of never-taken throw branches (Observation.floats, Action.discrete) on this
        // thread, a few hundred bytes once, in whichever window the compiler's timing puts them
        // (seen in CI as 320 bytes; JFR with -XX:-UseTLAB names those frames). An allocation per
        // reset or step would show in every window: 10,000 episodes make it 160 KB or more.
        List<Long> windows = new ArrayList<>();
        float sum = 0;
        while (windows.size() < 5 && !windows.contains(0L)) {
            long before = threads.getCurrentThreadAllocatedBytes();
            sum += runEpisodes(env, obs, chosen, action, 10_000);
            windows.add(threads.getCurrentThreadAllocatedBytes() - before);
        }
        assertTrue(windows.contains(0L), "bytes allocated by each window of 10,000 episodes: " + windows
                + " (sum " + sum + ")");
    }

    /** Plays episodes with the remembering policy, without allocating. */
    private static float runEpisodes(TMaze env, Observation obs, int[] chosen, Action action, int episodes) {
        float[] values = obs.floats();
        int at = obs.offset();
        float sum = 0;
        for (int i = 0; i < episodes; i++) {
            env.reset(i, obs);
            boolean up = values[at] == 1f;
            while (!env.terminated() && !env.truncated()) {
                chosen[0] = values[at + 2] == 1f ? (up ? UP : DOWN) : FORWARD;
                sum += env.step(action, obs);
            }
        }
        return sum;
    }
}
