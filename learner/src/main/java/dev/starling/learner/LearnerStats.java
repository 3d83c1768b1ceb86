package dev.starling.learner;

import java.util.ArrayDeque;

import dev.starling.common.rl.UpdateStats;
import dev.starling.common.rollout.ReturnTracker;
import dev.starling.proto.v1.LearnerStatus;
import dev.starling.proto.v1.TrajectoryChunk;

/**
 * Progress numbers behind {@code GetStatus}: frames and episodes of accepted chunks (with the
 * mean return of the last 100 episodes), updates applied, the mean policy lag of the chunks
 * trained in the last {@value #LAG_WINDOW_UPDATES} updates, and the mean loss terms of the last
 * {@value #LOSS_WINDOW_UPDATES} applied updates. A window of updates rather than "since the
 * previous status call", so two callers (the launcher, a test) do not split it between them;
 * status() sums at most {@value #LOSS_WINDOW_UPDATES} entries.
 *
 * <p>Thread-safe: streams record accepted chunks, the trainer records updates, any thread reads.
 */
final class LearnerStats {

    /** Updates whose chunks make up {@code mean_policy_lag}. */
    static final int LAG_WINDOW_UPDATES = 10;
    /** Applied updates whose loss terms make up {@code policy_loss}, ... {@code grad_norm}. */
    static final int LOSS_WINDOW_UPDATES = 10;

    private final ReturnTracker returns = new ReturnTracker();
    private final ArrayDeque<double[]> lagWindow = new ArrayDeque<>(LAG_WINDOW_UPDATES + 1);
    private final ArrayDeque<UpdateStats> lossWindow = new ArrayDeque<>(LOSS_WINDOW_UPDATES + 1);
    private long frames;
    private long updates;
    private double lagSum;
    private long lagCount;

    /** A chunk was queued for training. */
    synchronized void accepted(TrajectoryChunk chunk, int chunkFrames) {
        frames += chunkFrames;
        for (int i = 0; i < chunk.getEpisodeReturnsCount(); i++) {
            returns.accept(chunk.getEpisodeReturns(i), chunk.getEpisodeLengths(i));
        }
    }

    /**
     * An update ran on chunks with these policy lags (applied, or skipped as non-finite: then its
     * loss terms are left out of the means).
     */
    synchronized void updated(UpdateStats result, long[] lags) {
        if (result.applied()) {
            updates++;
            lossWindow.addLast(result);
            if (lossWindow.size() > LOSS_WINDOW_UPDATES) {
                lossWindow.removeFirst();
            }
        }
        double sum = 0;
        for (long l : lags) {
            sum += l;
        }
        lagWindow.addLast(new double[] {sum, lags.length});
        lagSum += sum;
        lagCount += lags.length;
        if (lagWindow.size() > LAG_WINDOW_UPDATES) {
            double[] old = lagWindow.removeFirst();
            lagSum -= old[0];
            lagCount -= (long) old[1];
        }
    }

    synchronized long updates() {
        return updates;
    }

    /** The status message, with the version and queue length supplied by the caller. */
    synchronized LearnerStatus status(long policyVersion, int queued) {
        LearnerStatus.Builder status = LearnerStatus.newBuilder()
                .setFrames(frames)
                .setEpisodes(returns.episodes())
                .setAverageReturn(returns.average())
                .setUpdates(updates)
                .setPolicyVersion(policyVersion)
                .setMeanPolicyLag(lagCount == 0 ? 0.0 : lagSum / lagCount)
                .setQueuedChunks(queued);
        if (!lossWindow.isEmpty()) {
            double policy = 0;
            double baseline = 0;
            double entropy = 0;
            double gradNorm = 0;
            for (UpdateStats u : lossWindow) {
                policy += u.policyLoss();
                baseline += u.baselineLoss();
                entropy += u.entropy();
                gradNorm += u.gradNorm();
            }
            int n = lossWindow.size();
            status.setPolicyLoss(policy / n)
                    .setBaselineLoss(baseline / n)
                    .setEntropy(entropy / n)
                    .setGradNorm(gradNorm / n);
        }
        return status.build();
    }
}
