package dev.starling.ps;

/**
 * Progress of the A3C gradient path of a running parameter server (see
 * {@link ParameterServer#a3cStatus()}). Immutable; each field is read at one moment, the fields
 * together are not one atomic snapshot.
 *
 * @param applied gradients applied since this server started
 * @param stale gradients dropped as more than {@code maxStaleness} versions stale
 * @param rejected gradients refused as malformed or for another model (their streams ended)
 * @param frames environment steps behind the applied gradients
 * @param version weights version held
 * @param optimizerSteps steps of the shared optimizer, including those restored from a
 *     checkpoint
 */
public record A3cStatus(long applied, long stale, long rejected, long frames, long version, long optimizerSteps) {
}
