package dev.starling.envs;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.BiFunction;

import dev.starling.env.Box;
import dev.starling.env.Discrete;

import org.junit.jupiter.api.Test;

class RepeatPreviousTest {

    private static final float SCALE = 1f / 48f;

    /** Outcome of one episode. */
    record Episode(List<Integer> suits, List<Float> rewards, double episodeReturn) {}

    /**
     * Plays one episode from {@code seed}. The policy sees the suits observed so far (decoded from
     * the one-hot observations, oldest first) and the 1-based index of the step it acts in.
     */
    static Episode play(RepeatPrevious env, long seed, BiFunction<List<Integer>, Integer, Integer> policy) {
        Driver d = new Driver(env);
        List<Integer> suits = new ArrayList<>();
        List<Float> rewards = new ArrayList<>();
        d.reset(seed);
        suits.add(decode(d.obs));
        double total = 0;
        int t = 0;
        while (!env.terminated()) {
            assertFalse(env.truncated(), "RepeatPrevious ends by termination only");
            t++;
            float r = d.step(policy.apply(suits, t));
            rewards.add(r);
            total += r;
            suits.add(decode(d.obs));
        }
        assertFalse(env.truncated(), "RepeatPrevious ends by termination only");
        return new Episode(suits, rewards, total);
    }

    static int decode(float[] obs) {
        int suit = -1;
        for (int s = 0; s < 4; s++) {
            assertTrue(obs[s] == 0f || obs[s] == 1f, "one-hot " + Arrays.toString(obs));
            if (obs[s] == 1f) {
                assertEquals(-1, suit, "one-hot " + Arrays.toString(obs));
                suit = s;
            }
        }
        assertTrue(suit >= 0, "one-hot " + Arrays.toString(obs));
        return suit;
    }

    /** Remembers the card k observations ago (the latest observation counts as the first). */
    static int perfect(List<Integer> seen, int k) {
        return seen.size() >= k ? seen.get(seen.size() - k) : 0;
    }

    @Test
    void sizesAndEasySetting() {
        RepeatPrevious env = new RepeatPrevious();
        assertEquals(Box.of(4), env.observationSpace());
        assertEquals(new Discrete(4), env.actionSpace());
        assertEquals(4, env.k());
        assertEquals(51, env.episodeLength());
    }

    @Test
    void perfectPolicyGetsTheMaximalReturn() {
        for (int seed = 0; seed < 20; seed++) {
            RepeatPrevious env = new RepeatPrevious();
            Episode ep = play(env, seed, (seen, t) -> perfect(seen, 4));
            assertEquals(51, ep.rewards().size());
            for (int t = 1; t <= 51; t++) {
                float expected = t < 4 ? 0f : SCALE;
                assertEquals(expected, ep.rewards().get(t - 1), "step " + t);
            }
            assertEquals(1.0, ep.episodeReturn(), 1e-5);
        }
    }

    @Test
    void alwaysWrongPolicyGetsMinusOne() {
        RepeatPrevious env = new RepeatPrevious();
        Episode ep = play(env, 3, (seen, t) -> (perfect(seen, 4) + 1) % 4);
        assertEquals(-1.0, ep.episodeReturn(), 1e-5);
        assertEquals(List.of(0f, 0f, 0f), ep.rewards().subList(0, 3), "first k-1 steps unscored");
    }

    @Test
    void episodeIs51StepsAndDealsTheWholeDeck() {
        RepeatPrevious env = new RepeatPrevious();
        for (int episode = 0; episode < 5; episode++) {
            Episode ep = play(env, 9 + episode, (seen, t) -> t % 4);
            assertEquals(51, ep.rewards().size());
            assertEquals(52, ep.suits().size(), "reset card plus one card per step");
            int[] counts = new int[4];
            ep.suits().forEach(s -> counts[s]++);
            assertArrayEquals(new int[] {13, 13, 13, 13}, counts, "13 cards of each suit");
        }
    }

    @Test
    void constantPolicyScoresTheFirst48CardsAndAveragesMinusHalf() {
        double sum = 0;
        int episodes = 2000;
        RepeatPrevious env = new RepeatPrevious();
        SplittableRandom seeds = new SplittableRandom(2024);
        for (int i = 0; i < episodes; i++) {
            int action = i % 4;
            Episode ep = play(env, seeds.nextLong(), (seen, t) -> action);
            long matches = ep.suits().subList(0, 48).stream().filter(s -> s == action).count();
            assertEquals((2.0 * matches - 48) / 48, ep.episodeReturn(), 1e-5);
            assertTrue(ep.episodeReturn() >= -0.625 - 1e-5 && ep.episodeReturn() <= -22.0 / 48 + 1e-5);
            sum += ep.episodeReturn();
        }
        assertEquals(-0.5, sum / episodes, 0.005);
    }

    @Test
    void randomPolicyAveragesMinusHalf() {
        SplittableRandom policyRng = new SplittableRandom(77);
        SplittableRandom seeds = new SplittableRandom(78);
        RepeatPrevious env = new RepeatPrevious();
        double sum = 0;
        int episodes = 2000;
        for (int i = 0; i < episodes; i++) {
            sum += play(env, seeds.nextLong(), (seen, t) -> policyRng.nextInt(4)).episodeReturn();
        }
        assertEquals(-0.5, sum / episodes, 0.015);
    }

    @Test
    void mediumSettingPerfectPolicy() {
        RepeatPrevious env = new RepeatPrevious(2, 32);
        assertEquals(103, env.episodeLength());
        Episode ep = play(env, 4, (seen, t) -> perfect(seen, 32));
        assertEquals(103, ep.rewards().size());
        assertEquals(1.0, ep.episodeReturn(), 1e-4);
        assertEquals(0f, ep.rewards().get(30));
        assertEquals(1f / 72f, ep.rewards().get(31));
    }

    @Test
    void stepAfterEndThrows() {
        RepeatPrevious env = new RepeatPrevious();
        Driver d = new Driver(env);
        assertThrows(IllegalStateException.class, () -> d.step(0));
        play(env, 4, (seen, t) -> 0);
        assertTrue(env.terminated());
        assertThrows(IllegalStateException.class, () -> d.step(0));
        d.reset(4);
        assertFalse(env.terminated());
        assertFalse(env.truncated());
    }

    @Test
    void sameSeedSameDeckDifferentSeedDifferent() {
        RepeatPrevious env = new RepeatPrevious();
        List<Integer> a = play(new RepeatPrevious(), 5, (s, t) -> 0).suits();
        List<Integer> b = play(new RepeatPrevious(), 5, (s, t) -> 0).suits();
        List<Integer> c = play(new RepeatPrevious(), 6, (s, t) -> 0).suits();
        assertEquals(a, b);
        assertNotEquals(a, c);
        // Each reset reshuffles from its own seed only, whatever the instance played before.
        play(env, 6, (s, t) -> 1);
        assertEquals(a, play(env, 5, (s, t) -> 0).suits());
    }

    @Test
    void rejectsBadSettings() {
        assertThrows(IllegalArgumentException.class, () -> new RepeatPrevious(0, 4));
        assertThrows(IllegalArgumentException.class, () -> new RepeatPrevious(1, 0));
        assertThrows(IllegalArgumentException.class, () -> new RepeatPrevious(1, 52));
    }
}
