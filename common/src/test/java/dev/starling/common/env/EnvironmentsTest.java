package dev.starling.common.env;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class EnvironmentsTest {

    @Test
    void namesAndInfoMatchTheCreatedEnvironments() {
        assertEquals(List.of("cartpole", "masked-cartpole", "repeat-previous", "scripted"),
                Environments.names());
        int[][] sizes = {{4, 2}, {2, 2}, {4, 4}, {3, 2}};
        for (int i = 0; i < sizes.length; i++) {
            String name = Environments.names().get(i);
            EnvInfo info = Environments.info(name);
            assertEquals(name, info.name());
            assertEquals(sizes[i][0], info.observationSize(), name);
            assertEquals(sizes[i][1], info.numActions(), name);
            assertFalse(info.description().isBlank());
            VectorEnv venv = Environments.create(name, 2, 0);
            assertEquals(name, venv.name());
            assertEquals(2, venv.numEnvs());
            assertEquals(info.observationSize(), venv.observationSize());
            assertEquals(info.numActions(), venv.numActions());
        }
    }

    @Test
    void unknownNameListsTheValidNames() {
        for (Runnable call : List.<Runnable>of(
                () -> Environments.create("pong", 1, 0), () -> Environments.info("CartPole"))) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, call::run);
            for (String name : Environments.names()) {
                assertTrue(e.getMessage().contains(name), e.getMessage());
            }
        }
    }

    @Test
    void numEnvsMustBePositive() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Environments.create("cartpole", 0, 0));
        assertTrue(e.getMessage().contains("numEnvs"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> Environments.create("scripted", -1, 0));
    }

    @Test
    void eachEnvironmentGetsItsOwnSplitOfTheRootRandom() {
        VectorEnv venv = Environments.create("cartpole", 3, 42);
        SplittableRandom root = new SplittableRandom(42);
        float[] expected = new float[12];
        for (int i = 0; i < 3; i++) {
            new CartPole(root.split()).reset(expected, 4 * i);
        }
        float[] obs = new float[12];
        venv.reset(obs);
        assertArrayEquals(expected, obs);
        assertFalse(Arrays.equals(Arrays.copyOfRange(obs, 0, 4), Arrays.copyOfRange(obs, 4, 8)),
                "environments of one VectorEnv differ");
    }

    @Test
    void sameSeedSameTrajectoriesDifferentSeedDifferent() {
        for (String name : Environments.names()) {
            List<float[]> a = rollout(name, 17);
            List<float[]> b = rollout(name, 17);
            for (int i = 0; i < a.size(); i++) {
                assertArrayEquals(a.get(i), b.get(i), name + " record " + i);
            }
            if (!name.equals("scripted")) {
                List<float[]> c = rollout(name, 18);
                boolean differs = false;
                for (int i = 0; i < a.size() && !differs; i++) {
                    differs = !Arrays.equals(a.get(i), c.get(i));
                }
                assertTrue(differs, name);
            }
        }
    }

    /** Observations and rewards of 300 steps with a fixed action sequence. */
    private static List<float[]> rollout(String name, long seed) {
        VectorEnv venv = Environments.create(name, 4, seed);
        float[] obs = new float[4 * venv.observationSize()];
        float[] r = new float[4];
        boolean[] d = new boolean[4];
        int[] actions = new int[4];
        SplittableRandom policy = new SplittableRandom(1);
        List<float[]> out = new ArrayList<>();
        venv.reset(obs);
        out.add(obs.clone());
        for (int t = 0; t < 300; t++) {
            for (int i = 0; i < 4; i++) {
                actions[i] = policy.nextInt(venv.numActions());
            }
            venv.step(actions, obs, r, d);
            out.add(obs.clone());
            out.add(r.clone());
        }
        return out;
    }
}
