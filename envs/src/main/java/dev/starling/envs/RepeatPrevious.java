package dev.starling.envs;

import java.util.SplittableRandom;

import dev.starling.env.Action;
import dev.starling.env.ActionSpace;
import dev.starling.env.Box;
import dev.starling.env.Discrete;
import dev.starling.env.Environment;
import dev.starling.env.Observation;
import dev.starling.env.ObservationSpace;

/**
 * POPGym's {@code RepeatPrevious} (Morad et al., "POPGym: Benchmarking Partially Observable
 * Reinforcement Learning", ICLR 2023), ported from {@code popgym/envs/repeat_previous.py} and
 * {@code popgym/core/deck.py}. The registry uses the "easy" setting ({@code RepeatPreviousEasy}):
 * one deck of 52 cards and {@code k = 4}.
 *
 * <h2>Game</h2>
 *
 * A shuffled deck is dealt one card per observation: {@link #reset} deals the first card, every
 * {@link #step} deals the next one. Each card has one of 4 suits (13 cards of each suit per deck).
 * The agent must output the suit of the card it saw {@code k} observations ago, counting the most
 * recent observation as the first: when choosing the action of step {@code t} (1-based) the agent
 * has seen cards {@code c_0 .. c_{t-1}} ({@code c_0} from reset) and is scored against {@code
 * c_{t-k}}. With {@code k = 4}: the first scored action (step 4) must repeat the reset card.
 *
 * <ul>
 *   <li><b>Observation</b> (4 floats): the suit of the card just dealt, one-hot. POPGym's raw
 *       observation is the suit index as a {@code Discrete(4)} (which the POPGym baselines
 *       one-hot encode); the one-hot here carries exactly that information. Suit order is
 *       POPGym's: index = card id mod 4 (spades, diamonds, clubs, hearts).
 *   <li><b>Actions</b> (4): a suit index.
 *   <li><b>Reward</b>: steps {@code 1 .. k-1} give 0 (no card is old enough yet; POPGym scores only
 *       once the hand holds {@code k} cards). From step {@code k} on, {@code +1/(N-k)} for the
 *       right suit and {@code -1/(N-k)} for a wrong one, {@code N = 52 * numDecks}.
 *   <li><b>Episode length</b>: exactly {@code N - 1} steps (51 for one deck), so {@code N - k}
 *       steps (48) are scored. POPGym ends the episode on the step taken when one card is left in
 *       the deck (flagged as truncation in newer POPGym, termination in older). Here it is {@link
 *       #terminated()}: nothing follows the last card, so there is nothing to bootstrap.
 * </ul>
 *
 * <h2>Scores</h2>
 *
 * A perfect policy (remembering the last {@code k} observations) returns exactly {@code 1.0}
 * (float rounding aside). A uniformly random policy returns {@code -0.5} in expectation ({@code
 * (1/4 - 3/4)} per scored step). Any constant policy also returns {@code -0.5} in expectation: the
 * scored cards are the first 48 dealt, which contain {@code 13 - m} cards of the chosen suit where
 * {@code m} is how many of the 4 unscored last cards have it, so its return is {@code (2(13 - m) -
 * 48) / 48}, between {@code -0.625} and {@code -0.458}.
 *
 * <p>The deck is shuffled at every reset with {@code new SplittableRandom(seed)} (Fisher-Yates), starting from the ordered deck as POPGym does; cards are dealt from the end of
 * the shuffled order as POPGym's {@code Deck.deal} does. POPGym's {@code dealt_cards} counter only
 * feeds its privileged {@code get_state()} and is not part of the observation, so it is omitted.
 *
 * <p>Calling {@link #step} before {@link #reset} or after the episode ended throws {@link
 * IllegalStateException} (POPGym would raise {@code DeckEmptyError} once the deck is empty).
 */
public final class RepeatPrevious implements Environment {

    /** Cards per deck. */
    public static final int DECK_SIZE = 52;
    /** Number of suits; also the observation size and number of actions. */
    public static final int NUM_SUITS = 4;
    /** Decks in the "easy" setting. */
    public static final int EASY_NUM_DECKS = 1;
    /** Lag in the "easy" setting. */
    public static final int EASY_K = 4;

    static final ObservationSpace OBSERVATION_SPACE = Box.of(NUM_SUITS);
    static final ActionSpace ACTION_SPACE = new Discrete(NUM_SUITS);

    private final int k;
    private final int numCards;
    private final float rewardScale;
    /** Card ids in shuffled order; dealing takes from the end, as in POPGym. */
    private final int[] order;
    /** Suits of the dealt cards, oldest first (POPGym's player hand). */
    private final int[] handSuits;
    private int deckLen;
    private int handSize;
    private boolean ended;
    private boolean running;

    /** The "easy" setting: one deck, {@code k = 4}. */
    public RepeatPrevious() {
        this(EASY_NUM_DECKS, EASY_K);
    }

    /**
     * General setting; POPGym's medium is {@code (2, 32)} and hard {@code (3, 64)}.
     *
     * @param numDecks number of 52-card decks, which sets the episode length
     * @param k lag of the card to repeat, {@code 1 <= k < 52 * numDecks}
     */
    public RepeatPrevious(int numDecks, int k) {
        if (numDecks < 1) {
            throw new IllegalArgumentException("numDecks must be >= 1, got " + numDecks);
        }
        this.numCards = DECK_SIZE * numDecks;
        if (k < 1 || k >= numCards) {
            throw new IllegalArgumentException(
                    "k must be in [1, " + numCards + ") for " + numDecks + " deck(s), got " + k);
        }
        this.k = k;
        this.rewardScale = (float) (1.0 / (numCards - k));
        this.order = new int[numCards];
        this.handSuits = new int[numCards];
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
        SplittableRandom rng = new SplittableRandom(seed);
        for (int i = 0; i < numCards; i++) {
            order[i] = i;
        }
        for (int i = numCards - 1; i > 0; i--) {
            int j = rng.nextInt(i + 1);
            int tmp = order[i];
            order[i] = order[j];
            order[j] = tmp;
        }
        deckLen = numCards;
        handSize = 0;
        ended = false;
        running = true;
        deal(observation);
    }

    @Override
    public float step(Action chosen, Observation observation) {
        int action = chosen.discrete();
        if (!running) {
            throw new IllegalStateException(
                    ended ? "step() called after the episode ended; call reset() first"
                          : "step() called before reset()");
        }
        // POPGym checks for the last card before dealing: the step that deals it ends the episode.
        boolean last = deckLen == 1;
        float reward = 0f;
        if (handSize >= k) {
            reward = action == handSuits[handSize - k] ? rewardScale : -rewardScale;
        }
        deal(observation);
        ended = last;
        running = !last;
        return reward;
    }

    @Override
    public boolean terminated() {
        return ended;
    }

    @Override
    public boolean truncated() {
        return false;
    }

    /** Deals the next card into the hand and writes its suit one-hot. */
    private void deal(Observation observation) {
        float[] obs = observation.floats();
        int offset = observation.offset();
        int card = order[--deckLen];
        // POPGym's suits_idx tiles arange(4) over ranks and decks, i.e. suit = card id mod 4.
        int suit = card % NUM_SUITS;
        handSuits[handSize++] = suit;
        for (int s = 0; s < NUM_SUITS; s++) {
            obs[offset + s] = s == suit ? 1f : 0f;
        }
    }

    /** Lag of the card to repeat. */
    public int k() {
        return k;
    }

    /** Steps per episode, {@code 52 * numDecks - 1}. */
    public int episodeLength() {
        return numCards - 1;
    }
}
