package dev.starling.transport.metrics;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.binder.jvm.ClassLoaderMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmGcMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;

/**
 * Metric names (the contract with the Grafana dashboard; Micrometer names, rendered in
 * Prometheus form as in DESIGN.md) and the per-process registry.
 */
public final class Metrics {

    public static final String ENV_FRAMES = "starling.env.frames";
    public static final String EPISODES = "starling.episodes";
    public static final String EPISODE_RETURN = "starling.episode.return";
    public static final String EPISODE_LENGTH = "starling.episode.length";
    public static final String LEARNER_SAMPLES = "starling.learner.samples";
    public static final String LEARNER_UPDATES = "starling.learner.updates";
    public static final String LEARNER_UPDATE_TIME = "starling.learner.update";
    public static final String LEARNER_LOSS = "starling.learner.loss";
    public static final String LEARNER_GRAD_NORM = "starling.learner.grad.norm";
    public static final String LEARNER_SKIPPED = "starling.learner.skipped.updates";
    public static final String POLICY_LAG = "starling.policy.lag.versions";
    public static final String LEARNER_QUEUE = "starling.learner.queue.chunks";
    public static final String REJECTED = "starling.rejected";
    public static final String DROPPED_STALE = "starling.learner.dropped.stale";
    public static final String PARAMETERS_VERSION = "starling.parameters.version";
    /**
     * Parameter server incarnations an actor has played weights of (1, plus one per restart of
     * the server it followed): versions are comparable only while this stays the same.
     */
    public static final String PARAMETERS_INCARNATIONS = "starling.parameters.incarnations";
    public static final String WEIGHTS_BROADCAST = "starling.weights.broadcast";
    public static final String PARAMETERS_WATCHERS = "starling.parameters.watchers";
    /** A3C: gradients applied by the parameter server, dropped as too stale, and their frames. */
    public static final String GRADIENTS_APPLIED = "starling.ps.gradients.applied";
    public static final String GRADIENTS_STALE = "starling.ps.gradients.stale";
    public static final String GRADIENT_FRAMES = "starling.ps.gradient.frames";
    /** R2D2: sequences and bytes held by the learner's replay. */
    public static final String REPLAY_SEQUENCES = "starling.replay.sequences";
    public static final String REPLAY_BYTES = "starling.replay.bytes";
    /** R2D2: priorities of the sequences each update samples. */
    public static final String REPLAY_SAMPLED_PRIORITY = "starling.replay.sampled.priority";
    /** R2D2: steps trained on (after burn-in) per environment step received. */
    public static final String REPLAY_RATIO = "starling.replay.ratio";
    /** R2D2: copies of the online network into the target network. */
    public static final String TARGET_UPDATES = "starling.learner.target.updates";
    /** R2D2: each actor's exploration rates (tag stat=min|max over its environments). */
    public static final String ACTOR_EPSILON = "starling.actor.epsilon";

    private Metrics() {
    }

    /**
     * The {@link #REJECTED} counter of {@code role} for {@code reason}: one registration, so every
     * role describes it the same way.
     */
    public static Counter rejected(MeterRegistry registry, String role, String reason) {
        return Counter.builder(REJECTED)
                .description("Messages refused: malformed, unparseable, stale, for another model or unauthenticated")
                .tag("role", role)
                .tag("reason", reason)
                .register(registry);
    }

    /**
     * A Prometheus registry whose every meter carries {@code role} (and the extra tags), with the
     * JVM's memory, GC, thread, class-loading and CPU meters bound (they live as long as the
     * process).
     */
    @SuppressWarnings("resource")
    public static PrometheusMeterRegistry registry(String role, String... extraTags) {
        PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        registry.config().commonTags(Tags.of("role", role).and(extraTags));
        new JvmMemoryMetrics().bindTo(registry);
        new JvmGcMetrics().bindTo(registry);
        new JvmThreadMetrics().bindTo(registry);
        new ClassLoaderMetrics().bindTo(registry);
        new ProcessorMetrics().bindTo(registry);
        return registry;
    }
}
