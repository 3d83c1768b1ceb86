package dev.starling.ps;

import java.lang.System.Logger.Level;
import java.security.SecureRandom;
import java.util.List;
import java.util.OptionalLong;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;

import dev.starling.transport.metrics.Metrics;
import dev.starling.common.model.ModelSpecs;
import dev.starling.proto.v1.OptimizerState;
import dev.starling.proto.v1.Parameters;
import dev.starling.proto.v1.PublishParametersRequest;
import dev.starling.proto.v1.PublishParametersResponse;
import dev.starling.ps.Validation.Rejection;
import io.grpc.Status;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;

/**
 * The parameter server's state: the current weights with their strictly increasing version, the
 * newest optimizer state, and the learner's update count, held as one immutable
 * {@link ParameterSnapshot} that is replaced atomically.
 *
 * <p>Thread-safe. Every publish is validated completely before anything changes; a rejected
 * publish throws a {@link io.grpc.StatusRuntimeException} (INVALID_ARGUMENT for a malformed
 * message, FAILED_PRECONDITION for a stale version or another model), increments
 * {@code starling.rejected{role=parameter-server,reason=...}} and leaves the state untouched.
 * Listeners are called after each accepted publish, outside the store's lock, on the publishing
 * thread; they must not block.
 *
 * <p>In a3c mode the {@link GradientApplier} is the only writer: it advances the version through
 * {@link #advance}, and {@link #refusePublishes} makes every publish fail with
 * FAILED_PRECONDITION.
 *
 * <p>Registers the gauge {@code starling.parameters.version} (NaN while nothing is held) with
 * the registry given to the constructor; use one store per registry.
 */
public final class ParameterStore {

    private static final System.Logger LOG = System.getLogger(ParameterStore.class.getName());

    static final String ROLE = "parameter-server";

    private final MeterRegistry registry;
    private final long incarnation = newIncarnation();
    private final Object lock = new Object();
    private final List<Consumer<ParameterSnapshot>> listeners = new CopyOnWriteArrayList<>();
    /** Written under {@code lock}; read without it. */
    private volatile ParameterSnapshot current;
    /** Guarded by {@code lock}. */
    private boolean sealed;
    /** Non-null: every publish is refused with FAILED_PRECONDITION and this message (a3c mode). */
    private volatile String publishRefusal;

    public ParameterStore(MeterRegistry registry) {
        this.registry = registry;
        Gauge.builder(Metrics.PARAMETERS_VERSION, this, ParameterStore::versionOrNaN)
                .description("Version of the weights the parameter server holds")
                .tag("role", ROLE)
                .register(registry);
    }

    /**
     * Validates and applies one publish; see the class comment for the checks and errors.
     *
     * @return the version now held
     * @throws io.grpc.StatusRuntimeException INVALID_ARGUMENT, FAILED_PRECONDITION, or
     *     UNAVAILABLE once the server is shutting down
     */
    public PublishParametersResponse publish(PublishParametersRequest request) {
        String refusal = publishRefusal;
        if (refusal != null) {
            throw reject(Rejection.precondition("a3c_mode", refusal));
        }
        if (!request.hasParameters()) {
            throw reject(Rejection.invalid("missing_parameters", "publish carries no parameters"));
        }
        Parameters p = request.getParameters();
        Rejection problem = Validation.checkParameters(p);
        if (problem == null && request.hasOptimizerState()) {
            problem = Validation.checkOptimizerState(request.getOptimizerState(), p);
        }
        if (problem != null) {
            throw reject(problem);
        }
        ParameterSnapshot next;
        synchronized (lock) {
            if (sealed) {
                throw Status.UNAVAILABLE.withDescription("the parameter server is shutting down").asRuntimeException();
            }
            ParameterSnapshot held = current;
            problem = checkSuccessor(held, p);
            if (problem != null) {
                throw reject(problem);
            }
            Parameters stamped = stamp(p);
            next = request.hasOptimizerState()
                    ? new ParameterSnapshot(stamped, request.getOptimizerState(), stamped, request.getLearnerUpdates(),
                            System.nanoTime())
                    : successor(held, stamped, request.getLearnerUpdates());
            current = next;
        }
        notifyListeners(next);
        return PublishParametersResponse.newBuilder().setVersion(next.version()).setIncarnation(incarnation).build();
    }

    /**
     * Installs a state restored from a checkpoint, if nothing is held or it is newer than what
     * is held and for the same model. Validates it like a publish (without counting rejections).
     *
     * @return whether it was installed
     * @throws IllegalArgumentException if the snapshot is malformed
     */
    boolean restore(ParameterSnapshot snapshot) {
        Rejection problem = Validation.checkParameters(snapshot.parameters());
        if (problem == null && snapshot.optimizerState() != null) {
            problem = Validation.checkOptimizerState(snapshot.optimizerState(), snapshot.parameters());
        }
        if (problem != null) {
            throw new IllegalArgumentException(problem.message());
        }
        ParameterSnapshot restored = new ParameterSnapshot(stamp(snapshot.parameters()), snapshot.optimizerState(),
                snapshot.optimizerStateParameters() == null ? null : stamp(snapshot.optimizerStateParameters()),
                snapshot.learnerUpdates(), snapshot.publishedAtNanos());
        synchronized (lock) {
            if (sealed || checkSuccessor(current, restored.parameters()) != null) {
                return false;
            }
            current = restored;
        }
        notifyListeners(restored);
        return true;
    }

    /**
     * Server-internal update (a3c mode: the weights after an applied gradient, or the freshly
     * initialised version 0). Skips the checks a publish from a peer gets, since the caller built
     * {@code p} from its own model, but keeps the store's invariants: the same model spec as what
     * is held, a strictly increasing version, finite weights. Listeners are notified as after a
     * publish.
     *
     * @param optimizerState the optimizer state at this version, or {@code null} to keep the one
     *     held
     * @param learnerUpdates updates applied so far (recorded in checkpoints)
     * @return the new state
     * @throws io.grpc.StatusRuntimeException UNAVAILABLE once the server is shutting down
     * @throws IllegalStateException if {@code p} breaks an invariant (a bug in the caller)
     */
    ParameterSnapshot advance(Parameters p, OptimizerState optimizerState, long learnerUpdates) {
        int bad = Validation.firstNonFinite(p.getWeights());
        if (bad >= 0) {
            throw new IllegalStateException("internal update to version " + p.getVersion()
                    + " has a non-finite weight at float index " + bad);
        }
        ParameterSnapshot next;
        synchronized (lock) {
            if (sealed) {
                throw Status.UNAVAILABLE.withDescription("the parameter server is shutting down").asRuntimeException();
            }
            ParameterSnapshot held = current;
            Rejection problem = checkSuccessor(held, p);
            if (problem != null) {
                throw new IllegalStateException("internal update refused: " + problem.message());
            }
            Parameters stamped = stamp(p);
            next = optimizerState != null
                    ? new ParameterSnapshot(stamped, optimizerState, stamped, learnerUpdates, System.nanoTime())
                    : successor(held, stamped, learnerUpdates);
            current = next;
        }
        notifyListeners(next);
        return next;
    }

    /**
     * Replaces the optimizer state held with the weights of {@code version} without changing the
     * weights (a3c mode, so the final checkpoint carries the newest statistics). Listeners are
     * not called: subscribers see weights, which did not change.
     *
     * @return false if {@code version} is no longer the held one, or the store is sealed
     */
    boolean attachOptimizerState(long version, OptimizerState optimizerState) {
        synchronized (lock) {
            ParameterSnapshot held = current;
            if (sealed || held == null || held.version() != version) {
                return false;
            }
            current = new ParameterSnapshot(held.parameters(), optimizerState, held.parameters(), held.learnerUpdates(),
                    held.publishedAtNanos());
            return true;
        }
    }

    /**
     * From now on every publish is refused with FAILED_PRECONDITION and {@code message}, counted
     * as {@code reason=a3c_mode}: in a3c mode the weights change only through gradients, and a
     * learner publishing too would silently fight them.
     */
    void refusePublishes(String message) {
        publishRefusal = message;
    }

    /** The current state, or {@code null} before the first publish or restore. */
    public ParameterSnapshot current() {
        return current;
    }

    /** The version held, empty before the first publish or restore. */
    public OptionalLong version() {
        ParameterSnapshot s = current;
        return s == null ? OptionalLong.empty() : OptionalLong.of(s.version());
    }

    /** Calls {@code listener} after every accepted publish or restore. */
    public void addListener(Consumer<ParameterSnapshot> listener) {
        listeners.add(listener);
    }

    public void removeListener(Consumer<ParameterSnapshot> listener) {
        listeners.remove(listener);
    }

    /** Refuses every later publish with UNAVAILABLE, so a final checkpoint is really final. */
    void seal() {
        synchronized (lock) {
            sealed = true;
        }
    }

    /**
     * This server's incarnation: drawn at random (nonzero) when the store is made, so it differs
     * in every parameter server process. Everything stored carries it; versions are compared only
     * within one incarnation (see {@code Parameters.incarnation} in model.proto).
     */
    public long incarnation() {
        return incarnation;
    }

    /** New weights that keep the optimizer state (and the weights it belongs to) held so far. */
    private static ParameterSnapshot successor(ParameterSnapshot held, Parameters p, long learnerUpdates) {
        return held == null
                ? ParameterSnapshot.weightsOnly(p, learnerUpdates, System.nanoTime())
                : new ParameterSnapshot(p, held.optimizerState(), held.optimizerStateParameters(), learnerUpdates,
                        System.nanoTime());
    }

    /** {@code p} carrying this server's incarnation (shares the weight bytes). */
    private Parameters stamp(Parameters p) {
        return p.getIncarnation() == incarnation ? p : p.toBuilder().setIncarnation(incarnation).build();
    }

    /** Null if {@code p} (already validated) may replace {@code held}. */
    private static Rejection checkSuccessor(ParameterSnapshot held, Parameters p) {
        if (held == null) {
            return null;
        }
        if (held.specHash() != p.getSpec().getHash()) {
            return Rejection.precondition("foreign_spec", "parameters are for model spec "
                    + ModelSpecs.hex(p.getSpec().getHash()) + ", server holds " + ModelSpecs.hex(held.specHash()));
        }
        if (p.getVersion() <= held.version()) {
            return Rejection.precondition("stale_version", "parameters version " + p.getVersion()
                    + " is not newer than the held version " + held.version() + " (versions must strictly increase)");
        }
        return null;
    }

    private RuntimeException reject(Rejection r) {
        Metrics.rejected(registry, ROLE, r.reason()).increment();
        LOG.log(Level.WARNING, "rejected publish ({0}): {1}", r.reason(), r.message());
        return r.toException();
    }

    private void notifyListeners(ParameterSnapshot s) {
        for (Consumer<ParameterSnapshot> l : listeners) {
            try {
                l.accept(s);
            } catch (RuntimeException e) {
                LOG.log(Level.WARNING, "parameter listener failed", e);
            }
        }
    }

    private static long newIncarnation() {
        long n = 0;
        while (n == 0) {
            n = new SecureRandom().nextLong();
        }
        return n;
    }

    private double versionOrNaN() {
        ParameterSnapshot s = current;
        return s == null ? Double.NaN : s.version();
    }
}
