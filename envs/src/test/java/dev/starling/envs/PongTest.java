package dev.starling.envs;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.SplittableRandom;

import dev.starling.env.Action;
import dev.starling.env.Image;
import dev.starling.env.Observation;
import org.junit.jupiter.api.Test;

/** Pong's physics, scoring, opponent, limits and renderer, each against numbers worked out by hand. */
class PongTest {

    private static final int FRAME = Pong.SIZE * Pong.SIZE;

    private final byte[] pixels = new byte[FRAME];
    private final Observation obs = Observation.ofBytes(pixels, FRAME);
    private final int[] actionBuffer = new int[1];
    private final Action action = Action.ofDiscrete(actionBuffer);

    private Pong started(long seed) {
        Pong pong = new Pong();
        pong.reset(seed, obs.moveTo(0));
        return pong;
    }

    /** The ball alone in mid-field, paddles parked where it cannot reach them. */
    private static void place(Pong pong, double x, double y, double vx, double vy) {
        pong.ballX = x;
        pong.ballY = y;
        pong.ballVx = vx;
        pong.ballVy = vy;
    }

    @Test
    void spacesAreOneGrayFrameAndThreeActions() {
        Pong pong = new Pong();
        assertEquals(new Image(1, 32, 32), pong.observationSpace());
        assertEquals(3, ((dev.starling.env.Discrete) pong.actionSpace()).n());
    }

    @Test
    void theBallBouncesOffTheTopAndBottomWalls() {
        Pong pong = started(1);
        place(pong, 15, 0.5, 1, -1);
        assertEquals(0f, pong.tick(Pong.STAY));
        assertEquals(16, pong.ballX, 1e-12);
        assertEquals(0.5, pong.ballY, 1e-12, "-0.5 reflected to 0.5");
        assertEquals(1, pong.ballVy, 1e-12);
        place(pong, 15, Pong.SIZE - Pong.BALL_SIZE - 0.25, 1, 0.75);
        pong.tick(Pong.STAY);
        assertEquals(Pong.SIZE - Pong.BALL_SIZE - 0.5, pong.ballY, 1e-12, "30.5 reflected to 29.5");
        assertEquals(-0.75, pong.ballVy, 1e-12);
    }

    @Test
    void aPaddleSendsTheBallBackSteeperTheFartherFromItsCentre() {
        Pong pong = started(1);
        pong.agentY = 13; // rows 13-18, centre 16
        place(pong, 2.5, 15, -1, 0); // centre 16 after the move: a straight return
        assertEquals(0f, pong.tick(Pong.STAY));
        assertEquals(2, pong.ballX, 1e-12, "put back on the paddle's face");
        assertEquals(1, pong.ballVx, 1e-12);
        assertEquals(0, pong.ballVy, 1e-12);

        pong.agentY = 13;
        place(pong, 2.5, 18, -1, 0); // centre 19: 3 below the paddle's, of a half-reach (6 + 2) / 2 = 4
        pong.tick(Pong.STAY);
        assertEquals(0.75, pong.ballVy, 1e-12);

        pong.opponentY = 13;
        place(pong, 27.5, 11, 1, 0); // right edge 30.5 meets the face at 30
        pong.tick(Pong.STAY);
        // The opponent first moved half a pixel up towards the ball (to 12.5, centre 15.5); the
        // ball's centre, 12, is 3.5 above it: -3.5 / 4.
        assertEquals(12.5, pong.opponentY, 1e-12);
        assertEquals(Pong.OPPONENT_X - Pong.BALL_SIZE, pong.ballX, 1e-12);
        assertEquals(-1, pong.ballVx, 1e-12);
        assertEquals(-0.875, pong.ballVy, 1e-12);

    }

    @Test
    void aMissedBallScoresForTheOtherSideAndIsServedAgainFromTheCentre() {
        Pong pong = started(1);
        pong.agentY = 0; // rows 0-5; the ball passes at rows 20-21
        place(pong, 0.5, 20, -1, 0);
        assertEquals(0f, pong.tick(Pong.STAY)); // x -0.5, still partly on the field
        assertEquals(0f, pong.tick(Pong.STAY)); // x -1.5
        assertEquals(-1f, pong.tick(Pong.STAY)); // x -2.5: wholly past the left edge
        assertEquals(1, pong.opponentPoints);
        assertEquals(15, pong.ballX, 1e-12);
        assertEquals(15, pong.ballY, 1e-12);
        assertEquals(-1, pong.ballVx, 1e-12, "served towards the side that lost the point");
        assertTrue(Math.abs(pong.ballVy) <= 0.75);

        pong.opponentY = 0;
        place(pong, 31.5, 20, 1, 0);
        assertEquals(1f, pong.tick(Pong.STAY));
        assertEquals(1, pong.agentPoints);
        assertEquals(1, pong.ballVx, 1e-12);
    }

    @Test
    void paddlesStayInsideTheFieldAndTheOpponentIsSlow() {
        Pong pong = started(1);
        pong.agentY = 0.5;
        pong.tick(Pong.UP);
        assertEquals(0, pong.agentY, 1e-12);
        pong.agentY = Pong.SIZE - Pong.PADDLE_HEIGHT - 1;
        pong.tick(Pong.DOWN);
        assertEquals(Pong.SIZE - Pong.PADDLE_HEIGHT, pong.agentY, 1e-12);
        pong.agentY = 10;
        pong.tick(Pong.DOWN);
        assertEquals(10 + Pong.PADDLE_SPEED, pong.agentY, 1e-12);

        pong.opponentY = 0;
        place(pong, 15, 28, 1, 0); // far below the opponent: it moves its most, 0.5 per tick
        pong.tick(Pong.STAY);
        assertEquals(0.5, pong.opponentY, 1e-12);
        pong.opponentY = 22;
        place(pong, 15, 26, 1, 0); // target 26 + 1 - 3 = 24, 2 away: still 0.5
        pong.tick(Pong.STAY);
        assertEquals(22.5, pong.opponentY, 1e-12);
    }

    @Test
    void theRendererDrawsThePaddlesAndTheBallAtTheirRoundedPositions() {
        Pong pong = started(1);
        pong.agentY = 12.6; // rounds to 13
        pong.opponentY = 0;
        place(pong, 14.5, 20.4, 1, 0); // rounds to (15, 20); Math.round(14.5) = 15
        pong.render(obs.moveTo(0));
        byte[] expected = new byte[FRAME];
        for (int row = 13; row < 19; row++) {
            expected[row * 32 + 1] = (byte) 255;
        }
        for (int row = 0; row < 6; row++) {
            expected[row * 32 + 30] = (byte) 255;
        }
        for (int row = 20; row < 22; row++) {
            expected[row * 32 + 15] = (byte) 255;
            expected[row * 32 + 16] = (byte) 255;
        }
        assertArrayEquals(expected, pixels);

        place(pong, -1.2, 31, -1, 0); // half off the left edge and at the bottom: clipped
        pong.render(obs.moveTo(0));
        assertEquals((byte) 255, pixels[31 * 32], "the ball's one pixel on the field: row 31, column 0");
        assertEquals(6 + 6 + 1, count(pixels));
    }

    @Test
    void aGameEndsAtFivePointsAndIsDeterministicUnderItsSeed() {
        byte[][] frames = play(7, 3000);
        byte[][] again = play(7, 3000);
        byte[][] other = play(8, 3000);
        for (int i = 0; i < frames.length; i++) {
            assertArrayEquals(frames[i], again[i], "step " + i);
        }
        assertFalse(Arrays.deepEquals(frames, other), "another seed serves other angles");
    }

    /** Plays one game with actions from a seeded generator; the frames of every step. */
    private byte[][] play(long seed, int maxSteps) {
        Pong pong = started(seed);
        SplittableRandom random = new SplittableRandom(seed);
        byte[][] frames = new byte[maxSteps][];
        float total = 0;
        int steps = 0;
        while (!pong.terminated() && !pong.truncated()) {
            actionBuffer[0] = random.nextInt(3);
            total += pong.step(action.moveTo(0), obs.moveTo(0));
            frames[steps++] = pixels.clone();
        }
        assertTrue(pong.terminated(), "a random player's game ends by points within " + Pong.MAX_EPISODE_STEPS);
        assertEquals(Pong.POINTS_TO_WIN, Math.max(pong.agentPoints, pong.opponentPoints));
        assertEquals(pong.agentPoints - pong.opponentPoints, total, 0f, "the return is the score difference");
        assertThrows(IllegalStateException.class, () -> pong.step(action.moveTo(0), obs.moveTo(0)));
        return Arrays.copyOf(frames, steps);
    }

    @Test
    void aGameStillRunningAtTheStepLimitIsTruncated() {
        Pong pong = started(3);
        pong.elapsedSteps = Pong.MAX_EPISODE_STEPS - 1;
        place(pong, 15, 15, 1, 0);
        assertEquals(0f, pong.step(action.moveTo(0), obs.moveTo(0)));
        assertTrue(pong.truncated());
        assertFalse(pong.terminated());
    }

    @Test
    void stepsOfSkippedFramesStopAtAPoint() {
        Pong pong = started(1);
        pong.agentY = 0;
        place(pong, -1.5, 20, -1, 0); // scores on the first tick of the step
        assertEquals(-1f, pong.step(action.moveTo(0), obs.moveTo(0)));
        assertEquals(15, pong.ballX, 1e-12, "the second tick did not move the new serve");
        assertNotEquals(0, count(pixels));
    }

    private static int count(byte[] frame) {
        int n = 0;
        for (byte b : frame) {
            n += b == (byte) 255 ? 1 : 0;
        }
        return n;
    }
}
