package dev.starling.policy;

import java.io.IOException;
import java.lang.System.Logger.Level;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.SplittableRandom;

import dev.starling.common.model.ActorCritic;
import dev.starling.common.model.CheckpointFiles;
import dev.starling.common.model.ModelConfig;
import dev.starling.common.model.ModelSpecs;
import dev.starling.common.model.ParameterCodec;
import dev.starling.common.model.PolicyDistribution;
import dev.starling.common.model.PolicyInference;
import dev.starling.common.model.Torch;
import dev.starling.env.ActionSpace;
import dev.starling.env.Box;
import dev.starling.env.ObservationSpace;
import dev.starling.proto.v1.Checkpoint;

/**
 * A trained policy loaded from a checkpoint, for use in an application: give it observations,
 * get the actions the environment would receive.
 *
 * <pre>{@code
 * try (Policy policy = Policy.load(Path.of("runs/cartpole"))) {   // a run folder, folder or file
 *     policy.reset();                                            // a new episode
 *     int action = policy.act(observation);                      // discrete action spaces
 * }
 * }</pre>
 *
 * <p>The policy is recurrent (an LSTM): each call advances a memory of the episode so far. The
 * policy itself holds one such state (the <em>default session</em>, used by {@link #act},
 * {@link #actContinuous} and {@link #reset}); {@link #newSession()} gives more, one per episode
 * or user being served, and {@link #newBatch(int)} steps {@code K} of them in one inference call.
 * Inference is the actors' own path ({@link PolicyInference}: one LSTM cell step under inference
 * mode), which equals the learner's LSTM on the same inputs.
 *
 * <p>Actions: deterministic by default, the most likely action (argmax of the logits) or, for a
 * continuous policy, the Gaussian mean; {@link #loadSampling} samples from the policy instead, as
 * the actors do in training. Continuous actions are clipped to the action box's bounds, as
 * Starling clips them before the environment sees them.
 *
 * <p>Thread-safety: safe to use from several threads. The model is shared by every session, so
 * each inference, reset and close of this policy and of its sessions and batches runs under one
 * lock of this policy: calls from several threads are serialised (one CPU inference takes some
 * 100 us for a small model), never interleaved. Concurrent calls on one session are therefore
 * safe but their order is the threads' race; give each thread or user its own session.
 *
 * <p>Ownership: the policy owns the libtorch model and every session and batch it made;
 * {@link #close()} releases them all (a session can be closed earlier on its own; forgetting to
 * close a session keeps two small tensors until the policy is closed). Create policies and
 * sessions outside any JavaCPP {@code PointerScope}. Loading initialises libtorch for this
 * process ({@link Torch#init()}: one intra-op thread unless {@code -Dstarling.torch.threads=N}).
 */
public final class Policy implements AutoCloseable {

    private static final System.Logger LOG = System.getLogger(Policy.class.getName());

    /** Guards the model and every session's state: see the class comment. */
    final Object lock = new Object();

    private final Path file;
    private final long version;
    private final ModelConfig config;
    private final ActorCritic model;
    final PolicyDistribution distribution;
    /** The log standard deviations of a continuous policy (empty for a discrete one). */
    final float[] logStd;
    /** Splits a generator for each new session; null when the policy acts deterministically. */
    private final SplittableRandom seeds;
    /** Open sessions and batches, closed with the policy. Guarded by {@link #lock}. */
    private final Set<Stepper> open = Collections.newSetFromMap(new IdentityHashMap<>());
    private final Session defaultSession;
    private boolean closed;

    private Policy(Path file, Checkpoint checkpoint, Long samplingSeed) {
        this.file = file;
        this.version = checkpoint.getParameters().getVersion();
        try {
            this.config = ModelSpecs.config(checkpoint.getParameters().getSpec());
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(file + ": the checkpoint's model cannot be built here: " + e.getMessage(),
                    e);
        }
        ActorCritic m = new ActorCritic(config, 0, Torch.device("cpu"));
        try {
            new ParameterCodec(m).decode(checkpoint.getParameters());
        } catch (IllegalArgumentException e) {
            m.close();
            throw new IllegalArgumentException(file + ": the checkpoint's weights do not fit the model its spec"
                    + " describes (" + config.describe() + "): " + e.getMessage(), e);
        }
        this.model = m;
        this.distribution = m.distribution();
        this.logStd = new float[config.continuous() ? config.actionSize() : 0];
        this.seeds = samplingSeed == null ? null : new SplittableRandom(samplingSeed);
        try {
            if (logStd.length > 0) {
                try (PolicyInference reader = new PolicyInference(m, 1)) {
                    reader.readLogStd(logStd);
                }
            }
            this.defaultSession = newSession();
        } catch (RuntimeException e) {
            m.close();
            throw e;
        }
    }

    /**
     * Loads the policy of a checkpoint; it acts deterministically (argmax, or the mean).
     *
     * @param checkpoint a checkpoint file, or a folder (a training run's folder too) whose newest
     *     valid checkpoint is loaded; corrupt files there are skipped, never changed
     * @throws IllegalArgumentException naming the path if it does not exist, holds no valid
     *     checkpoint, or holds a model this build cannot run
     * @throws IOException if the file or folder cannot be read
     */
    public static Policy load(Path checkpoint) throws IOException {
        return load(checkpoint, null);
    }

    /**
     * Loads the policy of a checkpoint; it samples its actions from the policy's distribution,
     * as the actors do in training. The same seed, checkpoint and calls give the same actions:
     * the default session and each session or batch made later (in the order made) get their
     * own generator split from {@code seed}.
     *
     * @see #load(Path)
     */
    public static Policy loadSampling(Path checkpoint, long seed) throws IOException {
        return load(checkpoint, seed);
    }

    private static Policy load(Path checkpoint, Long seed) throws IOException {
        Objects.requireNonNull(checkpoint, "checkpoint");
        CheckpointFiles.Loaded loaded = CheckpointFiles.readNewestValid(checkpoint);
        Policy p = new Policy(loaded.file(), loaded.checkpoint(), seed);
        LOG.log(Level.INFO, "loaded policy version {0} from {1}: {2}", Long.toUnsignedString(p.version), p.file,
                p.config.describe());
        return p;
    }

    /**
     * What the policy observes: each observation has {@code observationSpace().size()} values,
     * row-major: floats for a box, bytes (pixels, {@link #act(byte[])}) for an image.
     */
    public ObservationSpace observationSpace() {
        return config.observationSpace();
    }

    /** What the policy acts in: a {@code Discrete} space ({@link #act}) or a {@code Box} ({@link #actContinuous}). */
    public ActionSpace actionSpace() {
        return config.actionSpace();
    }

    /** True if the actions are continuous (a {@code Box} action space). */
    public boolean continuous() {
        return config.continuous();
    }

    /** The weights version of the loaded checkpoint (the learner update that produced it). */
    public long version() {
        return version;
    }

    /** The checkpoint file that was loaded. */
    public Path checkpointFile() {
        return file;
    }

    /** True if actions are sampled ({@link #loadSampling}), false if deterministic. */
    public boolean sampling() {
        return seeds != null;
    }

    /**
     * The default session's next action for a discrete policy.
     *
     * @param observation {@code observationSpace().size()} finite floats
     * @return an action in {@code [0, n)}
     * @throws IllegalArgumentException if the observation has the wrong length or a NaN or infinity
     * @throws UnsupportedOperationException if the policy is continuous
     */
    public int act(float[] observation) {
        return defaultSession.act(observation);
    }

    /**
     * The default session's next action for a discrete policy that observes an image.
     *
     * @param pixels the frame, one byte (0..255) per pixel, row-major {@code [C, H, W]}
     * @throws IllegalArgumentException if the policy observes floats or the frame has the wrong length
     */
    public int act(byte[] pixels) {
        return defaultSession.act(pixels);
    }

    /**
     * The default session's next action for a continuous policy, clipped to the action box.
     *
     * @return a new array of {@code actionSpace().size()} values
     * @throws UnsupportedOperationException if the policy is discrete
     */
    public float[] actContinuous(float[] observation) {
        return defaultSession.actContinuous(observation);
    }

    /** {@link #actContinuous}, writing the action into {@code actionOut} ({@code actionSpace().size()} values). */
    public void act(float[] observation, float[] actionOut) {
        defaultSession.act(observation, actionOut);
    }

    /** Starts a new episode in the default session: its memory is zeroed. */
    public void reset() {
        defaultSession.reset();
    }

    /** A session with its own memory, starting a new episode; close it when its episode or user is done. */
    public Session newSession() {
        return new Session(register(1));
    }

    /**
     * {@code size} sessions stepped together: one inference call for all of them, far cheaper than
     * {@code size} calls when they advance in lockstep (evaluation, simulation, batched requests).
     */
    public Batch newBatch(int size) {
        if (size < 1) {
            throw new IllegalArgumentException("a batch needs at least one session, got " + size);
        }
        return new Batch(register(size));
    }

    private Stepper register(int size) {
        synchronized (lock) {
            if (closed) {
                throw new IllegalStateException("the policy is closed");
            }
            Stepper s = new Stepper(this, new PolicyInference(model, size), seeds == null ? null : seeds.split());
            open.add(s);
            return s;
        }
    }

    /** Called by a stepper that closed itself, under {@link #lock}. */
    void unregister(Stepper s) {
        open.remove(s);
    }

    /** Under {@link #lock}. */
    boolean isClosed() {
        return closed;
    }

    ModelConfig config() {
        return config;
    }

    /** The action box of a continuous policy. */
    Box actionBox() {
        return (Box) config.actionSpace();
    }

    /** Releases the model and every session and batch; idempotent. */
    @Override
    public void close() {
        synchronized (lock) {
            if (closed) {
                return;
            }
            closed = true;
            List<Stepper> all = new ArrayList<>(open);
            open.clear();
            for (Stepper s : all) {
                s.closeNative();
            }
            model.close();
        }
    }

    @Override
    public String toString() {
        return "Policy[version " + Long.toUnsignedString(version) + " from " + file + ": " + config.describe()
                + (sampling() ? ", sampling" : ", deterministic") + "]";
    }
}
