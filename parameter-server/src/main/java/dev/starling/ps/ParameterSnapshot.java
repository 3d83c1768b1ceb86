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
 * @param optimizerStateParameters the weights the optimizer state belongs to (it arrived with
 *     them), {@code null} when there is none; checkpoints and a restarting learner take this
 *     pair, never newer weights with older statistics
 * @param learnerUpdates learner updates applied so far, as the newest publish reported
 * @param publishedAtNanos {@link System#nanoTime()} when this state was accepted (restored
 *     checkpoints use the restore time); used to time broadcasts
 */
public record ParameterSnapshot(
        Parameters parameters,
        OptimizerState optimizerState,
        Parameters optimizerStateParameters,
        long learnerUpdates,
        long publishedAtNanos) {

    public ParameterSnapshot {
        Objects.requireNonNull(parameters, "parameters");
        if ((optimizerState == null) != (optimizerStateParameters == null)) {
            throw new IllegalArgumentException("an optimizer state goes with the weights it belongs to");
        }
    }

    /** A state without optimizer statistics. */
    public static ParameterSnapshot weightsOnly(Parameters parameters, long learnerUpdates, long publishedAtNanos) {
        return new ParameterSnapshot(parameters, null, null, learnerUpdates, publishedAtNanos);
    }

    /** Version of the weights the optimizer state belongs to; 0 when there is none. */
    public long optimizerStateVersion() {
        return optimizerStateParameters == null ? 0 : optimizerStateParameters.getVersion();
    }

    /** The parameter server's incarnation that holds these weights. */
    public long incarnation() {
        return parameters.getIncarnation();
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
