package dev.starling.envs;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.management.ManagementFactory;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

import dev.starling.env.Action;
import dev.starling.env.ActionSpace;
import dev.starling.env.Box;
import dev.starling.env.Discrete;
import dev.starling.env.Environment;
import dev.starling.env.Image;
import dev.starling.env.Observation;
import dev.starling.env.ObservationSpace;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

class VectorEnvTest {

    record Finished(float episodeReturn, int length) {}

    static List<Finished> drain(VectorEnv venv) {
        List<Finished> out = new ArrayList<>();
        int n = venv.drainEpisodes((r, len) -> out.add(new Finished(r, len)));
        assertEquals(out.size(), n);
        return out;
    }

    static List<Environment> cartPoles(int n) {
        List<Environment> envs = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            envs.add(new CartPole());
        }
        return envs;
    }

    static List<Environment> scripted(int length, int n) {
        List<Environment> envs = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            envs.add(new ScriptedEnv(length));
        }
        return envs;
    }

    /**
     * Observes {@code [episodes started before this one, steps taken in it]}, rewards 1 per step,
     * and ends after {@code length} steps: truncated or terminated as configured.
     */
    static class Timer implements Environment {
        private final int length;
        private final boolean truncates;
        private int episode = -1;
        private int t;

        Timer(int length, boolean truncates) {
            this.length = length;
            this.truncates = truncates;
        }

        @Override
        public ObservationSpace observationSpace() {
            return Box.of(2);
        }

        @Override
        public ActionSpace actionSpace() {
            return new Discrete(2);
        }

        @Override
        public void reset(long seed, Observation observation) {
            episode++;
            t = 0;
            write(observation);
        }

        @Override
        public float step(Action action, Observation observation) {
            t++;
            write(observation);
            return 1f;
        }

        private void write(Observation observation) {
            observation.set(0, episode);
            observation.set(1, t);
        }

        @Override
        public boolean terminated() {
            return !truncates && t >= length;
        }

        @Override
        public boolean truncated() {
            return truncates && t >= length;
        }
    }

    /** Never ends; remembers the last action it was given and counts its steps (observed as one float). */
    static final class Recorder implements Environment {
        static final Box ACTIONS = new Box(new float[] {-1f, -2f}, new float[] {1f, 2f}, 2);
        final float[] seen = new float[2];
        int steps;

        @Override
        public ObservationSpace observationSpace() {
            return Box.of(1);
        }

        @Override
        public ActionSpace actionSpace() {
            return ACTIONS;
        }

        @Override
        public void reset(long seed, Observation observation) {
            observation.set(0, steps);
        }

        @Override
        public float step(Action action, Observation observation) {
            seen[0] = action.value(0);
            seen[1] = action.value(1);
            steps++;
            observation.set(0, steps);
            return 0f;
        }

        @Override
        public boolean terminated() {
            return false;
        }

        @Override
        public boolean truncated() {
            return false;
        }
    }

    @Test
    void accessors() {
        VectorEnv venv = new VectorEnv("cartpole", cartPoles(3), 1);
        assertEquals("cartpole", venv.name());
        assertEquals(3, venv.numEnvs());
        assertEquals(4, venv.observationSize());
        assertEquals(Box.of(4), venv.observationSpace());
        assertEquals(new Discrete(2), venv.actionSpace());
        assertEquals(0, venv.totalSteps());
        assertEquals(0, venv.totalEpisodes());
        VectorStep s = venv.newStep();
        assertEquals(12, s.observations.length);
        assertEquals(12, s.finalObservations.length);
        assertEquals(3, s.discreteActions.length);
        assertEquals(0, s.continuousActions.length);
        assertEquals(3, s.rewards.length);

        VectorStep c = new VectorEnv("recorder", List.of(new Recorder(), new Recorder()), 1).newStep();
        assertEquals(0, c.discreteActions.length);
        assertEquals(4, c.continuousActions.length);
    }

    @Test
    void autoResetWithScriptedEnvironments() {
        VectorEnv venv = new VectorEnv("scripted", scripted(3, 2), 0);
        VectorStep s = venv.newStep();
        venv.reset(s);
        assertArrayEquals(new float[] {0, 1, 0, 0, 1, 0}, s.observations);

        int[] optimalThenConstant = {0, 1, 0};
        for (int t = 0; t < 3; t++) {
            s.discreteActions[0] = optimalThenConstant[t];
            s.discreteActions[1] = 1;
            venv.step(s);
            assertEquals(1f, s.rewards[0]);
            assertEquals(t % 2 == 1 ? 1f : 0f, s.rewards[1]);
            boolean last = t == 2;
            assertEquals(last, s.terminated[0]);
            assertEquals(last, s.terminated[1]);
            assertFalse(s.truncated[0] || s.truncated[1]);
            assertEquals(0, s.truncations);
            if (!last) {
                float step = (float) (t + 1) / 3;
                assertArrayEquals(new float[] {step, 1, 0, step, 1, 0}, s.observations);
            }
        }
        // First observation of each second episode (parity 1), not the terminal [1, 1, 0].
        assertArrayEquals(new float[] {0, 1, 1, 0, 1, 1}, s.observations);
        assertArrayEquals(new float[6], s.finalObservations, "terminated episodes leave finalObservations alone");
        assertEquals(List.of(new Finished(3f, 3), new Finished(1f, 3)), drain(venv));
        assertEquals(6, venv.totalSteps());
        assertEquals(2, venv.totalEpisodes());
    }

    @Test
    void autoResetMatchesFreshFirstObservationOfTwinCartPoles() {
        int k = 3;
        long seed = 99;
        VectorEnv venv = new VectorEnv("cartpole", cartPoles(k), seed);
        // The twins are seeded as the VectorEnv documents: env i gets split i, each reset its next long.
        SplittableRandom root = new SplittableRandom(seed);
        SplittableRandom[] twinSeeds = new SplittableRandom[k];
        List<Driver> twins = new ArrayList<>();
        for (int i = 0; i < k; i++) {
            twinSeeds[i] = root.split();
            twins.add(new Driver(new CartPole()));
        }
        double[] twinReturn = new double[k];
        int[] twinLength = new int[k];
        List<Finished> expected = new ArrayList<>();
        VectorStep s = venv.newStep();
        venv.reset(s);
        for (int i = 0; i < k; i++) {
            twins.get(i).reset(twinSeeds[i].nextLong());
            assertArrayEquals(twins.get(i).obs, row(s.observations, i, 4));
        }

        int terminations = 0;
        int truncations = 0;
        for (int t = 0; t < 600; t++) {
            for (int i = 0; i < k; i++) {
                // Env 0 always pushes left (short episodes), env 1 balances until the time limit, env 2 wobbles.
                s.discreteActions[i] = i == 0 ? 0 : (i == 1 ? CartPoleTest.balancingAction(s.observations, 4 * i)
                        : t % 2);
            }
            venv.step(s);
            int truncatedNow = 0;
            for (int i = 0; i < k; i++) {
                Driver twin = twins.get(i);
                float r = twin.step(s.discreteActions[i]);
                assertEquals(r, s.rewards[i]);
                twinReturn[i] += r;
                twinLength[i]++;
                assertEquals(twin.env.terminated(), s.terminated[i], "step " + t + " env " + i);
                assertEquals(twin.env.truncated(), s.truncated[i], "step " + t + " env " + i);
                if (twin.env.truncated()) {
                    truncatedNow++;
                    assertArrayEquals(twin.obs, row(s.finalObservations, i, 4),
                            "the last observation of the truncated episode, before the reset");
                }
                if (twin.done()) {
                    terminations += twin.env.terminated() ? 1 : 0;
                    expected.add(new Finished((float) twinReturn[i], twinLength[i]));
                    twinReturn[i] = 0;
                    twinLength[i] = 0;
                    twin.reset(twinSeeds[i].nextLong());
                }
                assertArrayEquals(twin.obs, row(s.observations, i, 4), "step " + t + " env " + i);
            }
            assertEquals(truncatedNow, s.truncations, "step " + t);
            truncations += truncatedNow;
        }
        assertTrue(terminations >= 5, "the test must cover several auto-resets");
        assertEquals(1, truncations, "env 1 balances into the 500-step limit once");
        List<Finished> actual = drain(venv);
        // Episodes are recorded in step order, then env order: same order as the twins'.
        assertEquals(expected, actual);
        assertTrue(actual.contains(new Finished(500f, 500)));
        for (Finished f : actual) {
            assertEquals(f.length(), f.episodeReturn(), "CartPole reward is 1 per step");
        }
        assertEquals(600L * k, venv.totalSteps());
        assertEquals(expected.size(), venv.totalEpisodes());
    }

    @Test
    void finalObservationsHoldTheLastObservationOfTruncatedEpisodesOnly() {
        // Env 0 is truncated after 2 steps, env 1 terminated after 2, env 2 truncated after 3.
        VectorEnv venv = new VectorEnv("timers",
                List.of(new Timer(2, true), new Timer(2, false), new Timer(3, true)), 0);
        VectorStep s = venv.newStep();
        venv.reset(s);
        assertArrayEquals(new float[] {0, 0, 0, 0, 0, 0}, s.observations);
        Arrays.fill(s.finalObservations, -1f);

        venv.step(s);
        assertEquals(0, s.truncations);
        assertArrayEquals(new float[] {-1, -1, -1, -1, -1, -1}, s.finalObservations);

        venv.step(s); // step 2: env 0 truncated, env 1 terminated
        assertArrayEquals(new boolean[] {true, false, false}, s.truncated);
        assertArrayEquals(new boolean[] {false, true, false}, s.terminated);
        assertEquals(1, s.truncations);
        assertArrayEquals(new float[] {0, 2, -1, -1, -1, -1}, s.finalObservations,
                "env 0's last observation [episode 0, t 2]; the terminated env 1 is not copied");
        assertArrayEquals(new float[] {1, 0, 1, 0, 0, 2}, s.observations, "envs 0 and 1 restarted");

        venv.step(s); // step 3: env 2 truncated
        assertArrayEquals(new boolean[] {false, false, true}, s.truncated);
        assertEquals(1, s.truncations);
        assertArrayEquals(new float[] {0, 2, -1, -1, 0, 3}, s.finalObservations);
        assertArrayEquals(new float[] {1, 1, 1, 1, 1, 0}, s.observations);

        venv.step(s); // step 4: env 0 truncated, env 1 terminated
        assertEquals(1, s.truncations);
        assertArrayEquals(new float[] {1, 2, -1, -1, 0, 3}, s.finalObservations);

        venv.step(s);
        assertEquals(0, s.truncations);
        venv.step(s); // step 6: envs 0 and 2 truncated together, env 1 terminated
        assertArrayEquals(new boolean[] {true, false, true}, s.truncated);
        assertArrayEquals(new boolean[] {false, true, false}, s.terminated);
        assertEquals(2, s.truncations);
        assertArrayEquals(new float[] {2, 2, -1, -1, 1, 3}, s.finalObservations);
        assertEquals(8, venv.totalEpisodes());

        venv.reset(s);
        assertEquals(0, s.truncations, "reset clears the flags");
        assertArrayEquals(new boolean[3], s.truncated);
        assertArrayEquals(new boolean[3], s.terminated);
    }

    @Test
    void continuousActionsAreClippedForTheEnvironmentButKeptAsSampled() {
        Recorder r0 = new Recorder();
        Recorder r1 = new Recorder();
        VectorEnv venv = new VectorEnv("recorder", List.of(r0, r1), 0);
        assertEquals(Recorder.ACTIONS, venv.actionSpace());
        VectorStep s = venv.newStep();
        venv.reset(s);
        float[] sampled = {5f, -3f, 0.5f, -2.5f};
        System.arraycopy(sampled, 0, s.continuousActions, 0, 4);
        venv.step(s);
        assertArrayEquals(new float[] {1f, -2f}, r0.seen, "clipped per element to [-1, 1] and [-2, 2]");
        assertArrayEquals(new float[] {0.5f, -2f}, r1.seen);
        assertArrayEquals(sampled, s.continuousActions, "the sample stays as the policy drew it");

        float[] extreme = {Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, -1f, 2f};
        System.arraycopy(extreme, 0, s.continuousActions, 0, 4);
        venv.step(s);
        assertArrayEquals(new float[] {1f, -2f}, r0.seen);
        assertArrayEquals(new float[] {-1f, 2f}, r1.seen, "values on the bounds pass unchanged");
        assertArrayEquals(extreme, s.continuousActions);
    }

    @Test
    void nanContinuousActionIsRejectedWithNothingStepped() {
        List<Recorder> recorders = List.of(new Recorder(), new Recorder(), new Recorder());
        VectorEnv venv = new VectorEnv("recorder", recorders, 0);
        VectorStep s = venv.newStep();
        venv.reset(s);
        venv.step(s);
        float[] observations = s.observations.clone();
        float[] rewards = s.rewards.clone();
        s.continuousActions[3] = Float.NaN; // value 1 of environment 1
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> venv.step(s));
        assertTrue(e.getMessage().contains("action value 1 for environment 1 is NaN"), e.getMessage());
        for (Recorder r : recorders) {
            assertEquals(1, r.steps, "no environment was stepped, not even environment 0");
        }
        assertEquals(3, venv.totalSteps());
        assertArrayEquals(observations, s.observations);
        assertArrayEquals(rewards, s.rewards);

        s.continuousActions[3] = 0f;
        venv.step(s);
        assertEquals(6, venv.totalSteps());
    }

    @Test
    void invalidDiscreteActionChangesNothing() {
        VectorEnv a = new VectorEnv("cartpole", cartPoles(3), 5);
        VectorEnv b = new VectorEnv("cartpole", cartPoles(3), 5);
        VectorStep sa = a.newStep();
        VectorStep sb = b.newStep();
        a.reset(sa);
        b.reset(sb);
        for (int t = 0; t < 20; t++) {
            setActions(sa, 0, 1, 0);
            setActions(sb, 0, 1, 0);
            a.step(sa);
            b.step(sb);
        }
        float[] before = sa.observations.clone();
        setActions(sa, 1, 0, 7);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> a.step(sa));
        assertTrue(e.getMessage().contains("action 7 for environment 2 is out of range [0, 2)"), e.getMessage());
        setActions(sa, 1, -1, 0);
        e = assertThrows(IllegalArgumentException.class, () -> a.step(sa));
        assertTrue(e.getMessage().contains("action -1 for environment 1 is out of range [0, 2)"), e.getMessage());
        assertArrayEquals(before, sa.observations);
        assertEquals(b.totalSteps(), a.totalSteps());

        for (int t = 0; t < 200; t++) {
            setActions(sa, t % 2, (t / 2) % 2, 1);
            setActions(sb, t % 2, (t / 2) % 2, 1);
            a.step(sa);
            b.step(sb);
            assertArrayEquals(sb.observations, sa.observations, "step " + t);
            assertArrayEquals(sb.rewards, sa.rewards);
            assertArrayEquals(sb.terminated, sa.terminated);
            assertArrayEquals(sb.truncated, sa.truncated);
        }
        assertEquals(drain(b), drain(a));
        assertEquals(b.totalEpisodes(), a.totalEpisodes());
    }

    private static void setActions(VectorStep s, int... actions) {
        System.arraycopy(actions, 0, s.discreteActions, 0, actions.length);
    }

    @Test
    void buffersMadeForAnotherVectorEnvAreRejected() {
        VectorEnv venv = new VectorEnv("cartpole", cartPoles(3), 1);
        List<VectorStep> foreign = List.of(
                new VectorEnv("cartpole", cartPoles(2), 1).newStep(),
                new VectorEnv("masked", List.of(new MaskedCartPole(), new MaskedCartPole(), new MaskedCartPole()), 1)
                        .newStep(),
                new VectorEnv("recorder", List.of(new Recorder(), new Recorder(), new Recorder()), 1).newStep());
        for (VectorStep other : foreign) {
            assertMessage(() -> venv.reset(other), "another vector environment", "'cartpole'", "use newStep()");
        }
        VectorStep s = venv.newStep();
        venv.reset(s);
        for (VectorStep other : foreign) {
            assertMessage(() -> venv.step(other), "another vector environment", "use newStep()");
        }
        assertEquals(0, venv.totalSteps());
        venv.step(s);
        assertEquals(3, venv.totalSteps());
    }

    private static void assertMessage(Runnable call, String... fragments) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, call::run);
        for (String f : fragments) {
            assertTrue(e.getMessage().contains(f), e.getMessage());
        }
    }

    @Test
    void stepBeforeResetOrWithBuffersOfAnotherResetIsRejected() {
        VectorEnv venv = new VectorEnv("scripted", scripted(2, 2), 0);
        VectorStep a = venv.newStep();
        VectorStep b = venv.newStep();
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> venv.step(a));
        assertTrue(e.getMessage().contains("before reset()"), e.getMessage());

        venv.reset(a);
        e = assertThrows(IllegalStateException.class, () -> venv.step(b));
        assertTrue(e.getMessage().contains("needs the buffers of the last reset()"), e.getMessage());
        assertEquals(0, venv.totalSteps());
        assertArrayEquals(new float[6], b.observations, "the rejected buffers are untouched");
        venv.step(a);

        venv.reset(b);
        assertThrows(IllegalStateException.class, () -> venv.step(a));
        assertEquals(2, venv.totalSteps());
        venv.step(b);
        assertEquals(4, venv.totalSteps());
    }

    @Test
    void resetUsesTheNextSeedOfEachEnvironmentsSplit() {
        VectorEnv venv = new VectorEnv("cartpole", cartPoles(2), 7);
        SplittableRandom root = new SplittableRandom(7);
        SplittableRandom[] seeds = {root.split(), root.split()};
        VectorStep s = venv.newStep();
        for (int reset = 0; reset < 3; reset++) {
            venv.reset(s);
            for (int i = 0; i < 2; i++) {
                Driver twin = new Driver(new CartPole());
                twin.reset(seeds[i].nextLong());
                assertArrayEquals(twin.obs, row(s.observations, i, 4), "reset " + reset + " env " + i);
            }
        }
    }

    @Test
    void constructorRejectsMixedSpacesAndEmptyLists() {
        List<Environment> mixed = new ArrayList<>(cartPoles(2));
        mixed.add(new MaskedCartPole());
        IllegalArgumentException e =
                assertThrows(IllegalArgumentException.class, () -> new VectorEnv("mixed", mixed, 0));
        assertTrue(e.getMessage().contains("environment 2 of 'mixed'"), e.getMessage());
        List<Environment> mixedActions = List.of(new CartPole(), new RepeatPrevious());
        assertThrows(IllegalArgumentException.class, () -> new VectorEnv("mixed", mixedActions, 0));
        assertThrows(IllegalArgumentException.class, () -> new VectorEnv("none", List.of(), 0));
    }

    /** A Timer seen as a 1x2x2 image: pixel 0 the episode, pixel 1 the step (as unsigned bytes). */
    static final class PixelTimer extends Timer {
        private int episode = -1;
        private int t;

        PixelTimer(int length, boolean truncates) {
            super(length, truncates);
        }

        @Override
        public ObservationSpace observationSpace() {
            return new Image(1, 2, 2);
        }

        @Override
        public void reset(long seed, Observation observation) {
            episode++;
            t = 0;
            super.reset(seed, Observation.ofFloats(new float[2], 2).moveTo(0));
            draw(observation);
        }

        @Override
        public float step(Action action, Observation observation) {
            t++;
            super.step(action, Observation.ofFloats(new float[2], 2).moveTo(0));
            draw(observation);
            return 1f;
        }

        private void draw(Observation observation) {
            observation.setPixel(0, episode);
            observation.setPixel(1, t);
            observation.setPixel(2, 0);
            observation.setPixel(3, 255);
        }
    }

    @Test
    void imageObservationsArePixelsAndTruncatedFramesAreKept() {
        VectorEnv venv = new VectorEnv("pixel-timers", List.of(new PixelTimer(2, true), new PixelTimer(3, false)), 0);
        VectorStep s = venv.newStep();
        assertTrue(s.images());
        assertEquals(0, s.observations.length, "no float rows for an image");
        assertEquals(8, s.pixels.length);
        venv.reset(s);
        assertArrayEquals(new byte[] {0, 0, 0, -1, 0, 0, 0, -1}, s.pixels);
        venv.step(s);
        assertArrayEquals(new byte[] {0, 1, 0, -1, 0, 1, 0, -1}, s.pixels);
        venv.step(s);
        assertTrue(s.truncated[0]);
        assertFalse(s.done(1));
        assertArrayEquals(new byte[] {0, 2, 0, -1, 0, 0, 0, 0}, s.finalPixels, "env 0's last frame, before its reset");
        assertArrayEquals(new byte[] {1, 0, 0, -1, 0, 2, 0, -1}, s.pixels, "env 0 restarted");
        venv.step(s);
        assertTrue(s.terminated[1]);
        assertArrayEquals(new byte[] {0, 2, 0, -1, 0, 0, 0, 0}, s.finalPixels, "a termination keeps no frame");
        assertArrayEquals(new byte[] {1, 1, 0, -1, 1, 0, 0, -1}, s.pixels);
    }

    @Test
    void pongPlaysInAVectorEnvPixelForPixelAsAlone() {
        int k = 2;
        long seed = 5;
        VectorEnv venv = EnvironmentRegistry.builtIn().vector("pong", k, seed);
        SplittableRandom root = new SplittableRandom(seed);
        SplittableRandom[] twinSeeds = {root.split(), root.split()};
        Pong[] twins = {new Pong(), new Pong()};
        byte[] frame = new byte[Pong.SIZE * Pong.SIZE];
        Observation window = Observation.ofBytes(frame, frame.length);
        int[] chosen = new int[1];
        Action twinAction = Action.ofDiscrete(chosen);
        VectorStep s = venv.newStep();
        venv.reset(s);
        for (int i = 0; i < k; i++) {
            twins[i].reset(twinSeeds[i].nextLong(), window.moveTo(0));
            assertArrayEquals(frame, Arrays.copyOfRange(s.pixels, i * frame.length, (i + 1) * frame.length));
        }
        SplittableRandom actions = new SplittableRandom(11);
        int episodes = 0;
        for (int t = 0; t < 600; t++) {
            for (int i = 0; i < k; i++) {
                s.discreteActions[i] = actions.nextInt(3);
            }
            venv.step(s);
            for (int i = 0; i < k; i++) {
                chosen[0] = s.discreteActions[i];
                assertEquals(twins[i].step(twinAction, window.moveTo(0)), s.rewards[i], "step " + t + " env " + i);
                assertEquals(twins[i].terminated(), s.terminated[i]);
                if (twins[i].terminated()) {
                    episodes++;
                    twins[i].reset(twinSeeds[i].nextLong(), window.moveTo(0));
                }
                assertArrayEquals(frame, Arrays.copyOfRange(s.pixels, i * frame.length, (i + 1) * frame.length),
                        "step " + t + " env " + i);
            }
        }
        assertTrue(episodes >= 2, "random play loses games within 600 steps: the auto-reset is covered");
    }

    @Test
    void nonFiniteRewardIsRejected() {
        Environment broken = new Timer(5, false) {
            @Override
            public float step(Action action, Observation observation) {
                super.step(action, observation);
                return Float.NaN;
            }
        };
        VectorEnv venv = new VectorEnv("broken", List.of(broken), 0);
        VectorStep s = venv.newStep();
        venv.reset(s);
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> venv.step(s));
        assertTrue(e.getMessage().contains("environment 0 of 'broken' returned reward NaN"), e.getMessage());
    }

    @Test
    void drainReturnsEachFinishedEpisodeOnceAndGrowsPastItsInitialCapacity() {
        VectorEnv venv = new VectorEnv("scripted", scripted(2, 3), 0);
        VectorStep s = venv.newStep();
        venv.reset(s);
        for (int t = 0; t < 5; t++) {
            setActions(s, t % 2, 0, 1);
            venv.step(s);
        }
        // Episodes end after steps 2 and 4; env 0 plays optimally (return 2), env 1 and 2 get 1.
        List<Finished> expectedRound = List.of(
                new Finished(2f, 2), new Finished(1f, 2), new Finished(1f, 2));
        List<Finished> expected = new ArrayList<>(expectedRound);
        expected.addAll(expectedRound);
        assertEquals(expected, drain(venv));
        assertEquals(0, venv.drainEpisodes((x, y) -> {
            throw new AssertionError();
        }));
        assertEquals(15, venv.totalSteps());
        assertEquals(6, venv.totalEpisodes());

        VectorEnv many = new VectorEnv("scripted", scripted(1, 8), 0);
        VectorStep s8 = many.newStep();
        many.reset(s8);
        for (int t = 0; t < 10; t++) {
            Arrays.fill(s8.discreteActions, 0);
            s8.discreteActions[t % 8] = 1;
            many.step(s8);
        }
        List<Finished> got = drain(many);
        assertEquals(80, got.size());
        for (int i = 0; i < 80; i++) {
            int step = i / 8, env = i % 8;
            assertEquals(new Finished(env == step % 8 ? 0f : 1f, 1), got.get(i), "episode " + i);
        }
        assertEquals(80, many.totalEpisodes());
    }

    @Test
    void resetAbandonsRunningEpisodesWithoutRecordingThem() {
        VectorEnv venv = new VectorEnv("scripted", scripted(3, 1), 0);
        VectorStep s = venv.newStep();
        venv.reset(s);
        venv.step(s);
        venv.reset(s);
        for (int t = 0; t < 3; t++) {
            s.discreteActions[0] = t % 2;
            venv.step(s);
        }
        assertEquals(List.of(new Finished(3f, 3)), drain(venv));
        assertEquals(1, venv.totalEpisodes());
    }

    private static com.sun.management.ThreadMXBean allocationCounter() {
        java.lang.management.ThreadMXBean bean = ManagementFactory.getThreadMXBean();
        Assumptions.assumeTrue(bean instanceof com.sun.management.ThreadMXBean);
        com.sun.management.ThreadMXBean mx = (com.sun.management.ThreadMXBean) bean;
        Assumptions.assumeTrue(mx.isThreadAllocatedMemorySupported());
        mx.setThreadAllocatedMemoryEnabled(true);
        return mx;
    }

    @Test
    void steadyStateSteppingOfTheVectorEnvDoesNotAllocate() {
        com.sun.management.ThreadMXBean mx = allocationCounter();
        // Auto-resets, truncations copied to finalObservations, clipped continuous actions.
        List<VectorEnv> venvs = List.of(
                EnvironmentRegistry.builtIn().vector("scripted", 8, 3),
                new VectorEnv("timers", List.of(new Timer(3, true), new Timer(5, false), new Timer(7, true)), 3),
                new VectorEnv("recorder", List.of(new Recorder(), new Recorder(), new Recorder()), 3));
        for (VectorEnv venv : venvs) {
            long allocated = steadyStateAllocation(mx, venv, 0);
            assertTrue(allocated < 1024, venv.name() + " allocated " + allocated + " bytes");
        }
    }

    @Test
    void builtInEnvironmentsAllocateNothingPerStepAndOneSeededRandomPerReset() {
        com.sun.management.ThreadMXBean mx = allocationCounter();
        EnvironmentRegistry registry = EnvironmentRegistry.builtIn();
        for (String name : registry.names()) {
            // Each reset builds its new SplittableRandom(seed) (48 bytes on JDK 17, which escape
            // analysis does not remove); anything more per reset, or anything per step, is a regression.
            long allocated = steadyStateAllocation(mx, registry.vector(name, 8, 3), 64);
            assertTrue(allocated < 1024, name + " allocated " + allocated + " bytes beyond 64 per reset");
        }

        // The step path alone, outside any reset: nothing at all.
        for (String name : registry.names()) {
            Driver d = new Driver(registry.get(name).create());
            long seed = 0;
            long least = Long.MAX_VALUE;
            d.reset(seed++);
            for (int window = 0; window < 6 && least >= 1024; window++) {
                long stepAllocations = 0;
                for (int t = 0; t < 10_000; t++) {
                    long before = mx.getCurrentThreadAllocatedBytes();
                    if (d.env.actionSpace() instanceof Discrete n) {
                        d.step(t % n.n());
                    } else {
                        d.step((t % 5 - 2) * 0.9f);
                    }
                    stepAllocations += mx.getCurrentThreadAllocatedBytes() - before;
                    if (d.done()) {
                        d.reset(seed++);
                    }
                }
                if (window >= 2) { // the first two are warm-up
                    least = Math.min(least, stepAllocations);
                }
            }
            assertTrue(least < 1024, name + " step() allocated " + least + " bytes");
        }
    }

    /**
     * Bytes allocated over 20,000 steps once warm, less {@code perReset} for every episode that
     * ended: the least of up to four windows, so a one-off of the JIT warming up (a deoptimisation
     * rematerialising an object) does not count as steady state.
     */
    private static long steadyStateAllocation(com.sun.management.ThreadMXBean mx, VectorEnv venv, long perReset) {
        VectorStep s = venv.newStep();
        float[] sum = new float[1];
        EpisodeSink sink = (ret, len) -> sum[0] += ret;
        venv.reset(s);
        run(venv, s, sink, 20_000); // warm-up; lets the episode buffer grow
        long least = Long.MAX_VALUE;
        for (int window = 0; window < 4 && least >= 1024; window++) {
            long episodes = venv.totalEpisodes();
            long before = mx.getCurrentThreadAllocatedBytes();
            run(venv, s, sink, 20_000);
            long allocated = mx.getCurrentThreadAllocatedBytes() - before;
            least = Math.min(least, allocated - perReset * (venv.totalEpisodes() - episodes));
        }
        return least;
    }

    /** Steps with cycling discrete actions, or continuous ones that sweep past the bounds. */
    private static void run(VectorEnv venv, VectorStep s, EpisodeSink sink, int steps) {
        int n = venv.actionSpace() instanceof Discrete d ? d.n() : 0;
        for (int t = 0; t < steps; t++) {
            for (int i = 0; i < s.discreteActions.length; i++) {
                s.discreteActions[i] = (t + i) % n;
            }
            for (int i = 0; i < s.continuousActions.length; i++) {
                s.continuousActions[i] = ((t + i) % 7 - 3) * 1.1f;
            }
            venv.step(s);
            if (t % 100 == 0) {
                venv.drainEpisodes(sink);
            }
        }
    }

    static float[] row(float[] rows, int index, int size) {
        return Arrays.copyOfRange(rows, index * size, (index + 1) * size);
    }
}
