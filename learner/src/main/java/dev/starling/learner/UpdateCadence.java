package dev.starling.learner;

import java.util.concurrent.TimeUnit;

/**
 * What a trainer does after each applied update, in one place for both: every
 * {@link LearnerConfig#publishEvery()} updates it hands the publisher a snapshot (with the
 * optimizer state once {@link LearnerConfig#optimizerStateEverySeconds()} passed since the server
 * last acknowledged one), and every {@value #GC_EVERY_UPDATES} it collects the small Java-side
 * wrappers of native objects (see FACTS.md). Used by the trainer thread only.
 */
final class UpdateCadence {

    static final long GC_EVERY_UPDATES = 500;

    private final LearnerConfig config;
    private final Publisher publisher;
    private int sincePublish;

    UpdateCadence(LearnerConfig config, Publisher publisher) {
        this.config = config;
        this.publisher = publisher;
    }

    /** After update number {@code applied} (this learner's count): publish and collect when due. */
    void applied(long applied, Trainer trainer) {
        if (++sincePublish >= config.publishEvery()) {
            sincePublish = 0;
            boolean withOptimizer = publisher.nanosSinceOptimizerStateAck()
                    >= TimeUnit.SECONDS.toNanos(config.optimizerStateEverySeconds());
            publisher.offer(trainer.snapshot(withOptimizer));
        }
        if (applied % GC_EVERY_UPDATES == 0) {
            System.gc();
        }
    }
}
