package dev.starling.learner;

import java.util.function.Supplier;

import dev.starling.proto.v1.Checkpoint;

/**
 * Decides when a training run is solved. The training average (the last 100 episodes, played by
 * several weights versions while they learnt) only nominates: a judge may then evaluate the
 * current weights, which it gets from {@code weights} (possibly costly: encoding them, or a call
 * to the parameter server; may return null when they cannot be had now).
 */
public interface SolveJudge {

    /**
     * Called after each progress report.
     *
     * @param windowFull      the training average covers a full window of 100 episodes
     * @param trainingAverage the mean return of those episodes
     */
    boolean solved(double seconds, long frames, boolean windowFull, double trainingAverage,
            Supplier<Checkpoint> weights);

    /** Solved when a full window's training average reaches {@code target}; never evaluates. */
    static SolveJudge trainingAverage(double target) {
        return (seconds, frames, windowFull, average, weights) -> windowFull && average >= target;
    }
}
