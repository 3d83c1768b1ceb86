package dev.starling.cli;

import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

import dev.starling.common.model.EpsilonGreedy;
import dev.starling.common.rl.LossConfig;
import dev.starling.common.rl.R2d2Config;
import picocli.CommandLine.Option;

/**
 * The r2d2 mode's settings, for the roles that use them (learner, actor, train): the sequences
 * (all three; actors cut chunks of length - overlap), the replay learner's (learner, train) and
 * exploration (actor, train). The discount, gradient clip and reward scale are the loss options'.
 */
final class R2d2Options {

    @Option(names = "--sequence-length", defaultValue = "" + R2d2Config.DEFAULT_SEQUENCE_LENGTH, paramLabel = "M",
            description = "r2d2: steps per replayed sequence. Default: ${DEFAULT-VALUE}.")
    int sequenceLength;

    @Option(names = "--overlap", defaultValue = "" + R2d2Config.DEFAULT_OVERLAP,
            description = "r2d2: steps consecutive sequences share; actors send chunks of M - overlap steps (in r2d2"
                    + " mode this replaces --unroll) and M must be a multiple of that. Default: ${DEFAULT-VALUE}.")
    int overlap;

    @Option(names = "--burn-in", defaultValue = "" + R2d2Config.DEFAULT_BURN_IN,
            description = "r2d2: leading steps of a sequence replayed without gradient to warm the LSTM state."
                    + " Default: ${DEFAULT-VALUE}.")
    int burnIn;

    @Option(names = "--n-step", defaultValue = "" + R2d2Config.DEFAULT_N_STEP,
            description = "r2d2: rewards summed before the double-Q bootstrap. Default: ${DEFAULT-VALUE}.")
    int nStep;

    @Option(names = "--value-rescaling-eps", defaultValue = "0.001",
            description = "r2d2: eps of h(x) = sign(x)(sqrt(|x| + 1) - 1) + eps x. Default: ${DEFAULT-VALUE}.")
    double valueRescalingEps;

    @Option(names = "--priority-exponent", defaultValue = "" + R2d2Config.DEFAULT_PRIORITY_EXPONENT,
            description = "r2d2: sampling probability proportional to priority^this. Default: ${DEFAULT-VALUE}.")
    double priorityExponent;

    @Option(names = "--importance-exponent", defaultValue = "" + R2d2Config.DEFAULT_IMPORTANCE_EXPONENT,
            description = "r2d2: beta of the importance weights. Default: ${DEFAULT-VALUE}.")
    double importanceExponent;

    @Option(names = "--priority-eta", defaultValue = "" + R2d2Config.DEFAULT_PRIORITY_ETA,
            description = "r2d2: priority = eta max|TD| + (1 - eta) mean|TD| over a sequence. Default: ${DEFAULT-VALUE}.")
    double priorityEta;

    @Option(names = "--target-update-every", defaultValue = "" + R2d2Config.DEFAULT_TARGET_UPDATE_EVERY,
            description = "r2d2: updates between copies of the online network into the target network."
                    + " Default: ${DEFAULT-VALUE}.")
    int targetUpdateEvery;

    @Option(names = "--batch-sequences", defaultValue = "" + R2d2Config.DEFAULT_BATCH_SEQUENCES,
            description = "r2d2: sequences per update. Default: ${DEFAULT-VALUE}.")
    int batchSequences;

    @Option(names = "--replay-sequences", defaultValue = "" + R2d2Config.DEFAULT_REPLAY_SEQUENCES,
            description = "r2d2: replay bound in sequences; the oldest go first. Default: ${DEFAULT-VALUE}.")
    int replaySequences;

    @Option(names = "--replay-bytes", defaultValue = "0",
            description = "r2d2: replay bound in bytes of held steps; the oldest go first. 0 = half the learner's"
                    + " Java heap (train gives the r2d2 learner " + ClusterRun.Plan.REPLAY_LEARNER_HEAP + "; elsewhere"
                    + " STARLING_JAVA_OPTS=-Xmx... sets it). Default: ${DEFAULT-VALUE}.")
    long replayBytes;

    @Option(names = "--replay-dir", paramLabel = "DIR",
            description = "r2d2 learner: save the replay to DIR/replay.bin when the learner stops and load it when it"
                    + " starts (train --checkpoint-replay sets it to the run folder's replay/). Default: none (a"
                    + " restarted learner refills its replay from the actors).")
    Path replayDir;

    @Option(names = "--min-replay-sequences", defaultValue = "" + R2d2Config.DEFAULT_MIN_REPLAY_SEQUENCES,
            description = "r2d2: no update before the replay holds this many sequences. Default: ${DEFAULT-VALUE}.")
    int minReplaySequences;

    @Option(names = "--updates-per-chunk", defaultValue = "" + R2d2Config.DEFAULT_UPDATES_PER_CHUNK,
            description = "r2d2: updates the learner runs per chunk received (the replay ratio: each update trains"
                    + " batch x (M - burn-in) steps). Default: ${DEFAULT-VALUE}.")
    double updatesPerChunk;

    @Option(names = "--epsilon-base", defaultValue = "" + EpsilonGreedy.APE_X_BASE,
            description = "r2d2 actors: explorer i of N plays epsilon-greedy with eps_i = base^(1 + alpha i / (N - 1))"
                    + " (Ape-X); every environment is an explorer. Default: ${DEFAULT-VALUE}.")
    double epsilonBase;

    @Option(names = "--epsilon-alpha", defaultValue = "" + EpsilonGreedy.APE_X_ALPHA,
            description = "r2d2 actors: alpha of the epsilons above. Default: ${DEFAULT-VALUE}.")
    double epsilonAlpha;

    /** The learner's settings; the discount, clip and reward scale from {@code loss}; 0 bytes = half this JVM's heap. */
    R2d2Config config(LossConfig loss) {
        long heap = Runtime.getRuntime().maxMemory();
        if (replayBytes < 0) {
            throw new IllegalArgumentException("--replay-bytes must be >= 0 (0 = half the heap), got " + replayBytes);
        }
        return new R2d2Config(sequenceLength, overlap, burnIn, nStep, loss.vtrace().discount(), valueRescalingEps,
                priorityExponent, importanceExponent, priorityEta, targetUpdateEvery, batchSequences, replaySequences,
                replayBytes == 0 ? heap / 2 : replayBytes, minReplaySequences, updatesPerChunk, loss.maxGradNorm(),
                loss.rewardScale(), replayDir);
    }

    /**
     * The replay must fit the learner's own heap: a bound above 80% of it is refused. Called in the
     * learner's process (train validates the options in its own, smaller JVM).
     */
    void checkReplayFitsHeap() {
        long heap = Runtime.getRuntime().maxMemory();
        if (replayBytes > heap / 10 * 8) {
            throw new IllegalArgumentException("--replay-bytes " + replayBytes + " does not fit this learner's Java heap"
                    + " of " + heap + " bytes (at most 80% of it): lower it or raise the heap (STARLING_JAVA_OPTS=-Xmx...)");
        }
    }

    /** Steps per chunk: M - overlap, once M is a multiple of it. */
    int chunkSteps() {
        R2d2Config.checkSequences(sequenceLength, overlap);
        return sequenceLength - overlap;
    }

    /**
     * Exploration of {@code numEnvs} environments that are explorers {@code first} .. of {@code total}.
     */
    EpsilonGreedy exploration(int actions, int first, int numEnvs, int total) {
        if (!(epsilonBase >= 0 && epsilonBase <= 1)) {
            throw new IllegalArgumentException("--epsilon-base must be in [0, 1], got " + epsilonBase);
        }
        if (!(epsilonAlpha >= 0) || Double.isInfinite(epsilonAlpha)) {
            throw new IllegalArgumentException("--epsilon-alpha must be finite and >= 0, got " + epsilonAlpha);
        }
        return new EpsilonGreedy(actions, EpsilonGreedy.apeX(first, numEnvs, total, epsilonBase, epsilonAlpha));
    }

    /** The learner's options as arguments. */
    List<String> learnerArgs() {
        return List.of("--sequence-length", Integer.toString(sequenceLength), "--overlap", Integer.toString(overlap),
                "--burn-in", Integer.toString(burnIn), "--n-step", Integer.toString(nStep),
                "--value-rescaling-eps", Double.toString(valueRescalingEps),
                "--priority-exponent", Double.toString(priorityExponent),
                "--importance-exponent", Double.toString(importanceExponent),
                "--priority-eta", Double.toString(priorityEta),
                "--target-update-every", Integer.toString(targetUpdateEvery),
                "--batch-sequences", Integer.toString(batchSequences),
                "--replay-sequences", Integer.toString(replaySequences), "--replay-bytes", Long.toString(replayBytes),
                "--min-replay-sequences", Integer.toString(minReplaySequences),
                "--updates-per-chunk", Double.toString(updatesPerChunk));
    }

    /** An actor's options as arguments. */
    List<String> actorArgs() {
        return List.of("--sequence-length", Integer.toString(sequenceLength), "--overlap", Integer.toString(overlap),
                "--epsilon-base", Double.toString(epsilonBase), "--epsilon-alpha", Double.toString(epsilonAlpha));
    }

    @Override
    public String toString() {
        return String.format(Locale.ROOT, "sequences of %d (overlap %d, burn-in %d), %d-step, batch %d, replay %d"
                + " sequences / %d bytes from %d, target every %d, %.2f updates per chunk, epsilons %.2f^(1 + %.0f i/(N-1))",
                sequenceLength, overlap, burnIn, nStep, batchSequences, replaySequences, replayBytes, minReplaySequences,
                targetUpdateEvery, updatesPerChunk, epsilonBase, epsilonAlpha);
    }
}
