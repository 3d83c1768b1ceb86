package dev.starling.learner;

import java.util.function.ToDoubleFunction;

import dev.starling.common.rl.UpdateStats;
import dev.starling.transport.metrics.Metrics;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;

/**
 * The meters every trainer reports, tagged {@code role=learner} (names in {@link Metrics}, the
 * contract with the dashboard): steps trained on, updates applied and skipped, update time,
 * policy lag, the last update's loss by term and gradient norm. Registered once per learner.
 */
final class TrainerMeters {

    final Counter samples;
    final Counter updates;
    final Counter skipped;
    final Timer updateTime;
    final DistributionSummary policyLag;
    private final LossGauges gauges = new LossGauges();

    /** Last loss terms and gradient norm, read by the gauges. */
    private static final class LossGauges {
        volatile double total = Double.NaN;
        volatile double policy = Double.NaN;
        volatile double baseline = Double.NaN;
        volatile double entropy = Double.NaN;
        volatile double gradNorm = Double.NaN;
    }

    /**
     * @param actorCriticTerms also the policy, baseline and entropy terms of the loss (impala); a
     *     Q-network's loss has only its total
     */
    TrainerMeters(MeterRegistry registry, boolean actorCriticTerms) {
        String role = LearnerService.ROLE;
        samples = Counter.builder(Metrics.LEARNER_SAMPLES).description("Environment steps trained on")
                .tag("role", role).register(registry);
        updates = Counter.builder(Metrics.LEARNER_UPDATES).description("Gradient updates applied")
                .tag("role", role).register(registry);
        skipped = Counter.builder(Metrics.LEARNER_SKIPPED)
                .description("Updates skipped because the loss or the gradient was not finite")
                .tag("role", role).register(registry);
        updateTime = Timer.builder(Metrics.LEARNER_UPDATE_TIME).description("Time of one training update")
                .tag("role", role).register(registry);
        policyLag = DistributionSummary.builder(Metrics.POLICY_LAG)
                .description("Versions between the trained weights and the weights that produced a chunk")
                .baseUnit("versions")
                .tag("role", role)
                .publishPercentileHistogram()
                .register(registry);
        lossGauge(registry, "total", g -> g.total);
        if (actorCriticTerms) {
            lossGauge(registry, "policy", g -> g.policy);
            lossGauge(registry, "baseline", g -> g.baseline);
            lossGauge(registry, "entropy", g -> g.entropy);
        }
        Gauge.builder(Metrics.LEARNER_GRAD_NORM, gauges, g -> g.gradNorm)
                .description("Global gradient norm of the last update, before clipping")
                .tag("role", role).strongReference(true).register(registry);
    }

    /** What the gauges show: the last update's loss terms and gradient norm. */
    void lastUpdate(UpdateStats result) {
        gauges.total = result.loss();
        gauges.policy = result.policyLoss();
        gauges.baseline = result.baselineLoss();
        gauges.entropy = result.entropy();
        gauges.gradNorm = result.gradNorm();
    }

    private void lossGauge(MeterRegistry registry, String term, ToDoubleFunction<LossGauges> f) {
        Gauge.builder(Metrics.LEARNER_LOSS, gauges, f)
                .description("Loss of the last update, by term")
                .tag("role", LearnerService.ROLE)
                .tag("term", term)
                .strongReference(true)
                .register(registry);
    }
}
