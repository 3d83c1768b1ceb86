package dev.starling.envs;

import java.util.SplittableRandom;

import dev.starling.env.Action;
import dev.starling.env.ActionSpace;
import dev.starling.env.Discrete;
import dev.starling.env.Environment;
import dev.starling.env.Image;
import dev.starling.env.Observation;
import dev.starling.env.ObservationSpace;

/**
 * A two-paddle ball game seen as a small grayscale frame: the agent's paddle on the left, a
 * scripted opponent's on the right, first to {@value #POINTS_TO_WIN} points wins.
 *
 * <p><b>Frame</b>: one channel of {@value #SIZE} x {@value #SIZE} pixels, 0 everywhere except the
 * two paddles and the ball, which are 255. 32 x 32 keeps a convolutional encoder cheap on two
 * cores (1 KiB per observation, three small conv layers) while the ball, 2 x 2 pixels, and the
 * paddles, {@value #PADDLE_HEIGHT} pixels tall, stay whole. One frame per observation, no frame
 * stacking: the ball's velocity has to come from the policy's memory.
 *
 * <p><b>Physics</b> (in pixels, one tick at a time; a step is {@value #FRAME_SKIP} ticks of the
 * same action, the frame shows the last): the ball moves {@value #BALL_SPEED_X} pixel per tick
 * horizontally and up to {@value #MAX_BALL_SPEED_Y} vertically, bounces off the top and bottom
 * walls, and off a paddle it touches, leaving at an angle that grows with the distance between
 * the ball's and the paddle's centres (so a player aims by where it meets the ball). The agent's
 * paddle moves {@value #PADDLE_SPEED} pixels per tick (actions: 0 stay, 1 up, 2 down); the
 * opponent follows the ball at {@value #OPPONENT_SPEED} pixels per tick at most, slower than a
 * steep ball, so angled shots beat it. Paddles stay inside the field.
 *
 * <p><b>Rewards</b>: +1 when the ball passes the opponent, -1 when it passes the agent; then the
 * ball restarts from the centre towards the side that lost the point, at a random angle. The game
 * ends ({@link #terminated()}) when a side has {@value #POINTS_TO_WIN} points, so the return lies
 * in [-5, 5]; a game still running after {@value #MAX_EPISODE_STEPS} steps is {@link #truncated()}.
 *
 * <p>Deterministic under the reset seed: the serve angles come from {@code new
 * SplittableRandom(seed)}. {@code step} allocates nothing.
 */
public final class Pong implements Environment {

    public static final int SIZE = 32;
    public static final int FRAME_SKIP = 2;
    public static final int POINTS_TO_WIN = 5;
    public static final int MAX_EPISODE_STEPS = 2000;
    static final int BALL_SIZE = 2;
    static final int PADDLE_HEIGHT = 6;
    /** Left edge of the agent's paddle column; the opponent's is mirrored. */
    static final int AGENT_X = 1;
    static final int OPPONENT_X = SIZE - 2;
    static final double BALL_SPEED_X = 1.0;
    static final double MAX_BALL_SPEED_Y = 1.0;
    static final double PADDLE_SPEED = 1.5;
    static final double OPPONENT_SPEED = 0.5;
    static final int STAY = 0;
    static final int UP = 1;
    static final int DOWN = 2;
    static final byte ON = (byte) 255;

    static final ObservationSpace OBSERVATION_SPACE = new Image(1, SIZE, SIZE);
    static final ActionSpace ACTION_SPACE = new Discrete(3);

    // Top-left corners, in pixels; y grows downwards.
    double ballX;
    double ballY;
    double ballVx;
    double ballVy;
    double agentY;
    double opponentY;
    int agentPoints;
    int opponentPoints;
    int elapsedSteps;
    private boolean terminated;
    private boolean truncated;
    private boolean running;
    private SplittableRandom random;

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
        random = new SplittableRandom(seed);
        agentY = (SIZE - PADDLE_HEIGHT) / 2.0;
        opponentY = agentY;
        agentPoints = 0;
        opponentPoints = 0;
        elapsedSteps = 0;
        terminated = false;
        truncated = false;
        running = true;
        serve(random.nextBoolean() ? 1 : -1);
        render(observation);
    }

    @Override
    public float step(Action action, Observation observation) {
        if (!running) {
            throw new IllegalStateException("step() before reset() or after the game ended");
        }
        int a = action.discrete();
        float reward = 0f;
        for (int tick = 0; tick < FRAME_SKIP && reward == 0f; tick++) {
            reward = tick(a);
        }
        elapsedSteps++;
        terminated = agentPoints == POINTS_TO_WIN || opponentPoints == POINTS_TO_WIN;
        truncated = !terminated && elapsedSteps >= MAX_EPISODE_STEPS;
        running = !terminated && !truncated;
        render(observation);
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

    /** One tick: move the paddles, then the ball; returns the point scored in it (+1, -1 or 0). */
    float tick(int action) {
        double move = action == UP ? -PADDLE_SPEED : action == DOWN ? PADDLE_SPEED : 0;
        agentY = clampPaddle(agentY + move);
        double target = ballY + BALL_SIZE / 2.0 - PADDLE_HEIGHT / 2.0;
        opponentY = clampPaddle(opponentY + Math.max(-OPPONENT_SPEED, Math.min(OPPONENT_SPEED, target - opponentY)));

        ballX += ballVx;
        ballY += ballVy;
        if (ballY < 0) {
            ballY = -ballY;
            ballVy = -ballVy;
        } else if (ballY > SIZE - BALL_SIZE) {
            ballY = 2 * (SIZE - BALL_SIZE) - ballY;
            ballVy = -ballVy;
        }
        if (ballVx < 0 && ballX <= AGENT_X + 1 && ballX > AGENT_X + 1 - BALL_SPEED_X && touches(agentY)) {
            bounce(agentY, AGENT_X + 1);
        } else if (ballVx > 0 && ballX + BALL_SIZE >= OPPONENT_X && ballX + BALL_SIZE < OPPONENT_X + BALL_SPEED_X
                && touches(opponentY)) {
            bounce(opponentY, OPPONENT_X - BALL_SIZE);
        }
        if (ballX + BALL_SIZE <= 0) {
            opponentPoints++;
            serve(-1);
            return -1f;
        }
        if (ballX >= SIZE) {
            agentPoints++;
            serve(1);
            return 1f;
        }
        return 0f;
    }

    /** True if the ball overlaps the rows of a paddle whose top is at {@code paddleY}. */
    private boolean touches(double paddleY) {
        return ballY + BALL_SIZE > paddleY && ballY < paddleY + PADDLE_HEIGHT;
    }

    /** Sends the ball back from the paddle face at {@code x}; the farther from its centre, the steeper. */
    private void bounce(double paddleY, double x) {
        ballX = x;
        ballVx = -ballVx;
        double offset = (ballY + BALL_SIZE / 2.0 - (paddleY + PADDLE_HEIGHT / 2.0)) / ((PADDLE_HEIGHT + BALL_SIZE) / 2.0);
        ballVy = Math.max(-MAX_BALL_SPEED_Y, Math.min(MAX_BALL_SPEED_Y, offset * MAX_BALL_SPEED_Y));
    }

    /** The ball from the centre towards the agent ({@code -1}) or the opponent ({@code +1}), at a random angle. */
    private void serve(int direction) {
        ballX = (SIZE - BALL_SIZE) / 2.0;
        ballY = (SIZE - BALL_SIZE) / 2.0;
        ballVx = direction * BALL_SPEED_X;
        ballVy = (random.nextDouble() * 2 - 1) * MAX_BALL_SPEED_Y * 0.75;
    }

    private static double clampPaddle(double y) {
        return Math.max(0, Math.min(SIZE - PADDLE_HEIGHT, y));
    }

    /** Draws the frame: black, the paddles and the ball white (positions rounded to whole pixels). */
    void render(Observation observation) {
        byte[] pixels = observation.bytes();
        int base = observation.offset();
        java.util.Arrays.fill(pixels, base, base + SIZE * SIZE, (byte) 0);
        fill(pixels, base, AGENT_X, (int) Math.round(agentY), 1, PADDLE_HEIGHT);
        fill(pixels, base, OPPONENT_X, (int) Math.round(opponentY), 1, PADDLE_HEIGHT);
        fill(pixels, base, (int) Math.round(ballX), (int) Math.round(ballY), BALL_SIZE, BALL_SIZE);
    }

    /** Sets the pixels of a rectangle, clipped to the frame. */
    private static void fill(byte[] pixels, int base, int x, int y, int width, int height) {
        for (int row = Math.max(0, y); row < Math.min(SIZE, y + height); row++) {
            for (int col = Math.max(0, x); col < Math.min(SIZE, x + width); col++) {
                pixels[base + row * SIZE + col] = ON;
            }
        }
    }
}
