package dev.starling.ps;

import java.util.Objects;

import dev.starling.proto.v1.OptimizerState;
import dev.starling.proto.v1.Parameters;

/**
 * One immutable state of the {@link ParameterStore}: validated weights, the newest optimizer state
 * known at that point, and the learner's update count. Instances are shared between threads
 * freely (protobuf messages are immutable).
 *
 * @param parameters the weights; already validated (spec hash, blob size, finite values)
 * @param optimizerState the newest optimizer state received, or {@code null} if none ever was
 * @param optimizerStateVersion version of the parameters the optimizer state arrived with
 *     (0 when there is none)
 * @param learnerUpdates learner updates applied so far, as the newest publish reported
 * @param publishedAtNanos {@link System#nanoTime()} when this state was accepted (restored
 *     checkpoints use the restore time); used to time broadcasts
 */
public record ParameterSnapshot(
        Parameters parameters,
        OptimizerState optimizerState,
        long optimizerStateVersion,
        long learnerUpdates,
        long publishedAtNanos) {

    public ParameterSnapshot {
        Objects.requireNonNull(parameters, "parameters");
    }

    /** The weights version. */
    public long version() {
        return parameters.getVersion();
    }

    /** The model spec hash of the weights. */
    public long specHash() {
        return parameters.getSpec().getHash();
    }

    /** Whether an optimizer state is held. */
    public boolean hasOptimizerState() {
        return optimizerState != null;
    }
}
