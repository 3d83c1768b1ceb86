package dev.starling.cli;

import dev.starling.proto.v1.LearnerStatus;

/**
 * Seconds, frames, episodes and updates of a whole run, from the status answered by whoever
 * reports progress (the learner, or the parameter server in a3c mode). That process counts from 0
 * each time it starts: when the supervisor has started it again, the last counts its previous
 * process answered are carried forward, and a resumed run starts from its folder's last
 * {@code metrics.csv} row. Frames counted by a process after its last answered poll (at most one
 * poll interval's worth) are lost with it. The weights version is the parameter server's and
 * continues by itself; the average return stays the reporter's own window of 100 episodes.
 *
 * <p>Not thread-safe: one polling thread.
 */
final class RunTotals {

    private final double secondsBefore;
    private long frames;
    private long episodes;
    private long updates;
    private int generation;
    private LearnerStatus lastRaw = LearnerStatus.getDefaultInstance();

    /** A run that starts from these counts (all 0 for a new run). */
    RunTotals(double seconds, long frames, long episodes, long updates) {
        this.secondsBefore = seconds;
        this.frames = frames;
        this.episodes = episodes;
        this.updates = updates;
    }

    /** A new run. */
    static RunTotals fresh() {
        return new RunTotals(0, 0, 0, 0);
    }

    /** Continues after {@code last}, the last row a previous session of the run wrote. */
    static RunTotals after(RunFolder.Row last) {
        return new RunTotals(last.seconds(), last.frames(), last.episodes(), last.updates());
    }

    /** The run's seconds after {@code sessionSeconds} of this session. */
    double seconds(double sessionSeconds) {
        return secondsBefore + sessionSeconds;
    }

    /** Seconds the run had before this session. */
    double secondsBefore() {
        return secondsBefore;
    }

    /**
     * The run's totals given {@code raw}, answered by process number {@code generation} of the
     * reporter (1 for its first, +1 per restart).
     */
    LearnerStatus add(int generation, LearnerStatus raw) {
        if (generation != this.generation) {
            frames += lastRaw.getFrames();
            episodes += lastRaw.getEpisodes();
            updates += lastRaw.getUpdates();
            this.generation = generation;
        }
        lastRaw = raw;
        return raw.toBuilder().setFrames(frames + raw.getFrames()).setEpisodes(episodes + raw.getEpisodes())
                .setUpdates(updates + raw.getUpdates()).build();
    }
}
