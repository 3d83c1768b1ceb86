package dev.starling.examples.tmaze;

import dev.starling.env.Action;
import dev.starling.env.ActionSpace;
import dev.starling.env.Box;
import dev.starling.env.Discrete;
import dev.starling.env.Environment;
import dev.starling.env.Observation;
import dev.starling.env.ObservationSpace;

/**
 * A T-maze after Bakker, "Reinforcement Learning with Long Short-Term Memory" (Advances in NIPS 14,
 * 2002): a task that a policy without memory cannot solve. The layout follows Bakker; the rewards are
 * chosen here so that the returns below are exact.
 *
 * <pre>
 *                               | UP arm
 *   start  0   1   2  ...  N-1  N  junction
 *                               | DOWN arm
 * </pre>
 *
 * The agent starts at cell 0 of a corridor whose cell {@code N} is the junction. The first
 * observation shows a cue, up or down; no later observation does. At the junction the agent must
 * turn the way the cue said, {@code N} steps after it last saw it.
 *
 * <ul>
 *   <li><b>Observation</b>, 3 floats {@code [cueUp, cueDown, atJunction]}: {@code [1,0,0]} or
 *       {@code [0,1,0]} from {@link #reset}, then {@code [0,0,0]} in the corridor and {@code [0,0,1]}
 *       at the junction. After the turn it is {@code [0,0,0]} (a terminal observation is never valued).
 *   <li><b>Actions</b>, {@code Discrete(3)}: {@link #FORWARD}, {@link #UP}, {@link #DOWN}. Walls:
 *       {@code UP} or {@code DOWN} in the corridor and {@code FORWARD} at the junction leave the agent
 *       where it is; the step still costs. There is no way back, so even a random policy makes
 *       progress: it reaches the junction after {@code 3N} steps on average, which is what lets a
 *       learner find the reward in the first place (with a fourth action, back, a random walk in a
 *       30-cell corridor would rarely get there before the time limit).
 *   <li><b>Rewards</b>: {@code UP} or {@code DOWN} at the junction ends the episode
 *       ({@link #terminated()}) with {@code +1} if it matches the cue and {@code 0} if not; every
 *       other step gives {@code -0.01}.
 *   <li><b>Time limit</b>: after {@code timeLimit} steps (default {@code 4N}) without a turn the
 *       episode is {@link #truncated()}: cut off, not failed.
 * </ul>
 *
 * <h2>Returns</h2>
 *
 * The optimal policy walks forward {@code N} times and turns as cued: {@code 1 - 0.01 N} on every
 * episode ({@code 0.9} for {@code N = 10}, {@code 0.7} for {@code N = 30}). The best policy without
 * memory returns {@code 0.5 - 0.01 N} in expectation ({@code 0.4}, {@code 0.2}): it walks forward
 * and always takes the same turn, which is right on half the episodes ({@code 1 - 0.01 N}) and
 * wrong on the others ({@code -0.01 N}). Any average above {@code 0.5 - 0.01 N} needs memory.
 *
 * <p>Why no memoryless policy does better: after the first step it sees the same observations
 * whatever the cue, so when it turns at the junction it turns up with some probability {@code r}
 * that does not depend on the cue. Let {@code p_c} be the probability that it turns at all under
 * cue {@code c}. An episode that turns pays at least {@code N} step costs and one that is truncated
 * pays {@code L} (the time limit), so the expected return is at most
 * {@code (r p_up + (1 - r) p_down - 0.01 [N p_up + L (1 - p_up)] - 0.01 [N p_down + L (1 - p_down)]) / 2},
 * which grows with {@code p_up} and {@code p_down} (as {@code L > N}) and so is at most
 * {@code 0.5 - 0.01 N}. That is why a wrong turn gives 0 and not -1: with -1, running out the clock
 * can beat a wrong turn, and the one step that sees the cue could make reaching the junction in
 * time likelier under one cue than under the other, a memoryless trick that beats guessing in short
 * corridors.
 *
 * <p>Rewards are the floats {@code 1}, {@code 0} and {@code -0.01f}; the returns above are exact
 * arithmetic, matched to about {@code 1e-6} when the rewards are summed.
 *
 * <p>{@link #reset} and {@link #step} allocate nothing. Not thread-safe: Starling drives each
 * instance from one thread at a time. It holds no resources, so there is nothing to close.
 */
public final class TMaze implements Environment {

    /** Move one cell towards the junction; a wall at the junction. */
    public static final int FORWARD = 0;
    /** Turn up at the junction (ends the episode); a wall in the corridor. */
    public static final int UP = 1;
    /** Turn down at the junction (ends the episode); a wall in the corridor. */
    public static final int DOWN = 2;

    /** Reward for the turn the cue asked for. */
    public static final float CORRECT_TURN_REWARD = 1f;
    /** Reward for the other turn. */
    public static final float WRONG_TURN_REWARD = 0f;
    /** Reward of every step that is not a turn at the junction. */
    public static final float STEP_REWARD = -0.01f;

    /** Corridor length of the {@code tmaze} environment. */
    public static final int DEFAULT_CORRIDOR_LENGTH = 10;
    /** Time limit per corridor cell when none is given. */
    public static final int TIME_LIMIT_PER_CELL = 4;

    /** {@code [cueUp, cueDown, atJunction]}. */
    public static final ObservationSpace OBSERVATION_SPACE = Box.of(3);
    /** {@link #FORWARD}, {@link #UP}, {@link #DOWN}. */
    public static final ActionSpace ACTION_SPACE = new Discrete(3);

    private static final int CUE_UP = 0;
    private static final int CUE_DOWN = 1;
    private static final int AT_JUNCTION = 2;

    /** SplitMix64's increment, as {@link java.util.SplittableRandom} uses it. */
    private static final long GOLDEN_GAMMA = 0x9e3779b97f4a7c15L;

    private final int corridorLength;
    private final int timeLimit;

    /** SplitMix64 state: seeded by {@link #reset}, advanced by {@link #nextRandom()}. */
    private long random;
    private boolean cueUp;
    /** 0 at the start, {@link #corridorLength} at the junction. */
    private int position;
    private int steps;
    private boolean running;
    private boolean terminated;
    private boolean truncated;

    /** The {@code tmaze} environment: a corridor of {@value #DEFAULT_CORRIDOR_LENGTH} cells, 40 steps. */
    public TMaze() {
        this(DEFAULT_CORRIDOR_LENGTH);
    }

    /** A corridor of {@code corridorLength} cells and a time limit of {@code 4 * corridorLength} steps. */
    public TMaze(int corridorLength) {
        this(corridorLength, TIME_LIMIT_PER_CELL * corridorLength);
    }

    /**
     * @param corridorLength forward steps from the start to the junction, at least 1: how long the
     *     cue must be remembered
     * @param timeLimit steps after which an episode without a turn is truncated, at least
     *     {@code corridorLength + 1} (the optimal episode's length)
     */
    public TMaze(int corridorLength, int timeLimit) {
        if (corridorLength < 1 || corridorLength > 1_000_000) {
            throw new IllegalArgumentException("corridorLength must be in [1, 1000000], got " + corridorLength);
        }
        if (timeLimit <= corridorLength) {
            throw new IllegalArgumentException("timeLimit must be at least corridorLength + 1 = " + (corridorLength + 1)
                    + " (the optimal episode's length), got " + timeLimit);
        }
        this.corridorLength = corridorLength;
        this.timeLimit = timeLimit;
    }

    @Override
    public ObservationSpace observationSpace() {
        return OBSERVATION_SPACE;
    }

    @Override
    public ActionSpace actionSpace() {
        return ACTION_SPACE;
    }

    @Override
    public void reset(long seed, Observation observation) {
        random = seed;
        cueUp = nextRandom() < 0;
        position = 0;
        steps = 0;
        running = true;
        terminated = false;
        truncated = false;
        observation.set(CUE_UP, cueUp ? 1f : 0f);
        observation.set(CUE_DOWN, cueUp ? 0f : 1f);
        observation.set(AT_JUNCTION, 0f);
    }

    @Override
    public float step(Action action, Observation observation) {
        if (!running) {
            throw new IllegalStateException(terminated || truncated
                    ? "step() after the episode ended (" + (terminated ? "terminated" : "truncated")
                            + "); call reset() to start the next one"
                    : "step() before reset(): call reset() to start an episode");
        }
        int a = action.discrete();
        if (a < FORWARD || a > DOWN) {
            throw new IllegalArgumentException("action " + a + " is not one of 0..2 (FORWARD, UP, DOWN)");
        }
        steps++;
        float reward;
        boolean atJunction = position == corridorLength;
        if (atJunction && (a == UP || a == DOWN)) {
            reward = (a == UP) == cueUp ? CORRECT_TURN_REWARD : WRONG_TURN_REWARD;
            terminated = true;
            atJunction = false;
        } else {
            if (a == FORWARD && position < corridorLength) {
                position++;
            }
            // Otherwise the agent walked into a wall and stays.
            reward = STEP_REWARD;
            truncated = steps >= timeLimit;
            atJunction = position == corridorLength;
        }
        running = !(terminated || truncated);
        observation.set(CUE_UP, 0f);
        observation.set(CUE_DOWN, 0f);
        observation.set(AT_JUNCTION, atJunction ? 1f : 0f);
        return reward;
    }

    @Override
    public boolean terminated() {
        return terminated;
    }

    @Override
    public boolean truncated() {
        return truncated;
    }

    /** Forward steps from the start to the junction. */
    public int corridorLength() {
        return corridorLength;
    }

    /** Steps after which an episode without a turn is truncated. */
    public int timeLimit() {
        return timeLimit;
    }

    /**
     * The next value of a SplitMix64 generator (Steele, Lea and Flood, OOPSLA 2014) whose state is
     * one {@code long} field: the same numbers as {@code new SplittableRandom(seed).nextLong()},
     * without allocating a generator per episode. Draw as many as an episode needs.
     */
    private long nextRandom() {
        long z = random += GOLDEN_GAMMA;
        z = (z ^ (z >>> 30)) * 0xbf58476d1ce4e5b9L;
        z = (z ^ (z >>> 27)) * 0x94d049bb133111ebL;
        return z ^ (z >>> 31);
    }
}
