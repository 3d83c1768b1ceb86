package dev.starling.envs.remote;

import java.lang.System.Logger.Level;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.SplittableRandom;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

import dev.starling.env.ActionSpace;
import dev.starling.env.Box;
import dev.starling.env.Discrete;
import dev.starling.env.EnvironmentDefinition;
import dev.starling.env.ObservationSpace;
import dev.starling.envs.EpisodeSink;
import dev.starling.envs.EpisodeTally;
import dev.starling.envs.VectorEnvironment;
import dev.starling.envs.VectorStep;
import dev.starling.proto.v1.Act;
import dev.starling.proto.v1.EnvironmentGrpc;
import dev.starling.proto.v1.Open;
import dev.starling.proto.v1.PlayReply;
import dev.starling.proto.v1.PlayRequest;
import dev.starling.proto.v1.Tensor;
import dev.starling.transport.Backoff;
import dev.starling.transport.Channels;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;

/**
 * {@code K} environments hosted by environment servers, played like in-process ones: one Play
 * stream per slice of rows (a server's share split into streams of at most its
 * {@code max_envs}), one batched message per step and stream, all streams stepping in parallel.
 *
 * <p>What the servers send is checked whole before any of it is used ({@link PlayReplies}). A
 * stream that fails (the server died or restarted, sent a reply that breaks the contract, or did
 * not answer within the reply timeout) is dropped and reopened with backoff until it works; its
 * environments start new episodes. The step that lost them reports them as truncated with
 * reward 0 and their last good observation as the final one, so the actor resets their LSTM
 * state and never trains across the gap; the lost episodes are not counted as finished (with
 * {@link Settings#restartLost()} off, for measurements, a lost stream is an error instead). Only a
 * server that cannot be played at all (other spaces after a restart, refusing the Open) is an
 * {@link EnvironmentServerException}.
 *
 * <p>Threads: one thread plays; {@link #close()} may come from any thread and ends a wait in
 * {@link #finishStep} or {@link #reset} with a {@link CancellationException}.
 */
public final class RemoteVectorEnv implements VectorEnvironment {

    private static final System.Logger LOG = System.getLogger(RemoteVectorEnv.class.getName());

    /** How long one reply may take by default (the servers' environments step in it). */
    public static final Duration DEFAULT_REPLY_TIMEOUT = Duration.ofSeconds(30);
    /** Largest reply accepted (a batch of big observations). */
    static final int MAX_MESSAGE_BYTES = Channels.DEFAULT_MAX_MESSAGE_BYTES;
    /** Open's seeds stay below 2^62 so that seed + k is a positive int64 in every language. */
    private static final long SEED_MASK = (1L << 62) - 1;

    /**
     * How a stream is played.
     *
     * @param replyTimeout how long one reply may take (the servers' environments step in it)
     * @param restartLost reopen a lost stream (its episodes restart; an actor keeps playing), or
     *     fail with an {@link EnvironmentServerException} (a measurement must see whole episodes)
     * @param listener told of lost streams and reply latencies
     */
    public record Settings(Duration replyTimeout, boolean restartLost, Listener listener) {

        /** An actor's: 30 s per reply, lost streams reopened, no listener. */
        public static final Settings PLAY = new Settings(DEFAULT_REPLY_TIMEOUT, true, Listener.NONE);
        /** An evaluation's: 30 s per reply, a lost stream is an error. */
        public static final Settings MEASURE = new Settings(DEFAULT_REPLY_TIMEOUT, false, Listener.NONE);

        public Settings {
            if (replyTimeout == null || replyTimeout.isNegative() || replyTimeout.isZero()) {
                throw new IllegalArgumentException("the reply timeout must be positive, got " + replyTimeout);
            }
            Objects.requireNonNull(listener, "listener");
        }

        public Settings withListener(Listener l) {
            return new Settings(replyTimeout, restartLost, l);
        }

        public Settings withReplyTimeout(Duration timeout) {
            return new Settings(timeout, restartLost, listener);
        }
    }

    /** Told what happens to the streams: for metrics. Called on the playing thread. */
    public interface Listener {
        Listener NONE = new Listener() {
        };

        /**
         * A stream to {@code server} was lost; {@code reason} is one of unavailable, timeout,
         * bad_reply, error; {@code detail} says what happened (for a bad reply, the field).
         */
        default void streamLost(String server, String reason, String detail) {
        }

        /** A stream's reply arrived {@code nanos} after its request was sent. */
        default void replied(String server, long nanos) {
        }
    }

    private final EnvironmentServers servers;
    private final String name;
    private final ObservationSpace observationSpace;
    private final ActionSpace actionSpace;
    private final int numEnvs;
    private final int obsSize;
    private final int actionSize;
    private final long replyTimeoutNanos;
    private final boolean restartLost;
    private final Listener listener;
    private final Map<String, ManagedChannel> channels = new LinkedHashMap<>();
    private final Slice[] slices;
    private final EpisodeTally tally;
    private final CountDownLatch closed = new CountDownLatch(1);
    private VectorStep current;

    RemoteVectorEnv(EnvironmentServers servers, int numEnvs, long seed, Settings settings) {
        if (numEnvs < 1) {
            throw new IllegalArgumentException("numEnvs must be >= 1, got " + numEnvs);
        }
        this.servers = servers;
        EnvironmentDefinition d = servers.definition();
        this.name = d.name();
        this.observationSpace = d.observationSpace();
        this.actionSpace = d.actionSpace();
        this.numEnvs = numEnvs;
        this.obsSize = observationSpace.size();
        this.actionSize = actionSpace.size();
        this.replyTimeoutNanos = settings.replyTimeout().toNanos();
        this.restartLost = settings.restartLost();
        this.listener = settings.listener();
        this.tally = new EpisodeTally(numEnvs);
        this.slices = slices(servers.servers(), numEnvs, new SplittableRandom(seed));
        for (Slice s : slices) {
            channels.computeIfAbsent(s.server, RemoteVectorEnv::channel);
        }
    }

    /**
     * A plaintext channel to an environment server. No keepalive pings: servers in other languages
     * may refuse frequent ones, and the reply timeout already notices a silent server.
     */
    static ManagedChannel channel(String address) {
        return NettyChannelBuilder.forTarget(address).usePlaintext().maxInboundMessageSize(MAX_MESSAGE_BYTES)
                .directExecutor().build();
    }

    /** Spreads the rows evenly over the servers, then splits each share into streams of at most max_envs. */
    private static Slice[] slices(List<EnvironmentServers.Server> servers, int numEnvs, SplittableRandom seeds) {
        List<Slice> out = new ArrayList<>();
        int row = 0;
        for (int i = 0; i < servers.size(); i++) {
            EnvironmentServers.Server server = servers.get(i);
            int share = numEnvs / servers.size() + (i < numEnvs % servers.size() ? 1 : 0);
            int streams = (share + server.maxEnvs() - 1) / server.maxEnvs();
            for (int j = 0; j < streams; j++) {
                int n = share / streams + (j < share % streams ? 1 : 0);
                out.add(new Slice(server.address(), row, n, seeds.split()));
                row += n;
            }
        }
        return out.toArray(new Slice[0]);
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public int numEnvs() {
        return numEnvs;
    }

    @Override
    public ObservationSpace observationSpace() {
        return observationSpace;
    }

    @Override
    public ActionSpace actionSpace() {
        return actionSpace;
    }

    /** Streams in use (for tests and the benchmark). */
    public int streams() {
        return slices.length;
    }

    /**
     * Opens every stream (waiting, with backoff, for servers not up yet) and writes the first
     * observations. Streams already open are closed first: their episodes are abandoned.
     */
    @Override
    public void reset(VectorStep into) {
        Objects.requireNonNull(into, "step buffers").checkMadeFor(this);
        for (Slice s : slices) {
            s.endCall("reset");
            for (int k = s.from; k < s.from + s.n; k++) {
                tally.abandon(k);
            }
        }
        for (Slice s : slices) {
            openUntilDone(s, into, "starting");
        }
        Arrays.fill(into.terminated, false);
        Arrays.fill(into.truncated, false);
        into.truncations = 0;
        current = into;
    }

    /** Checks every action, then sends each stream its rows' actions. */
    @Override
    public void startStep(VectorStep s) {
        Objects.requireNonNull(s, "step buffers").checkMadeFor(this);
        if (s != current) {
            throw new IllegalStateException("remote environments '" + name + "': step needs the buffers of the last"
                    + " reset(), after a reset()");
        }
        s.checkActions(actionSpace);
        for (Slice slice : slices) {
            Act.Builder act = Act.newBuilder();
            if (actionSpace instanceof Discrete) {
                for (int k = slice.from; k < slice.from + slice.n; k++) {
                    act.addDiscrete(s.discreteActions[k]);
                }
            } else {
                Box box = (Box) actionSpace;
                for (int i = slice.from * actionSize; i < (slice.from + slice.n) * actionSize; i++) {
                    act.addContinuous(box.clip(i % actionSize, s.continuousActions[i]));
                }
            }
            slice.send(PlayRequest.newBuilder().setAct(act).build());
        }
    }

    /** Waits for every stream's reply; a lost stream is reopened here (see the class comment). */
    @Override
    public void finishStep(VectorStep s) {
        int truncations = 0;
        for (Slice slice : slices) {
            truncations += finish(slice, s);
        }
        s.truncations = truncations;
    }

    private int finish(Slice slice, VectorStep s) {
        String lost;
        String detail;
        try {
            PlayReply reply = slice.await(replyTimeoutNanos, closed);
            listener.replied(slice.server, System.nanoTime() - slice.sentAt);
            PlayReplies.checkStepped(reply, slice.n, observationSpace);
            return apply(slice, reply, s);
        } catch (PlayReplies.BadReplyException e) {
            lost = "bad_reply";
            detail = e.getMessage();
            LOG.log(Level.ERROR, "environment server {0} sent a bad reply ({1}); not using it: its {2} environments"
                    + " start new episodes", slice.server, e.getMessage(), slice.n);
        } catch (StreamLostException e) {
            lost = e.reason;
            detail = e.getMessage();
            LOG.log(Level.WARNING, "environment server {0}: stream lost ({1}); its {2} environments start new"
                    + " episodes when it is back", slice.server, e.getMessage(), slice.n);
        }
        slice.endCall(lost);
        listener.streamLost(slice.server, lost, detail);
        if (!restartLost) {
            throw new EnvironmentServerException("environment server " + slice.server + ": " + detail
                    + "; lost " + slice.n + " episodes in progress");
        }
        // The lost environments' last good observations become final ones; their rows get the new episodes.
        for (int k = slice.from; k < slice.from + slice.n; k++) {
            s.keepFinal(k);
            s.rewards[k] = 0f;
            s.terminated[k] = false;
            s.truncated[k] = true;
            tally.abandon(k);
        }
        openUntilDone(slice, s, "restarting");
        return slice.n;
    }

    /** Copies a checked reply into the slice's rows and counts episodes; returns its truncations. */
    private int apply(Slice slice, PlayReply reply, VectorStep s) {
        copyRows(reply.getObservations(), 0, s, false, slice.from, slice.n);
        int truncations = 0;
        for (int i = 0; i < slice.n; i++) {
            int k = slice.from + i;
            float reward = reply.getRewards(i);
            boolean terminated = reply.getTerminated(i);
            boolean truncated = reply.getTruncated(i);
            s.rewards[k] = reward;
            s.terminated[k] = terminated;
            s.truncated[k] = truncated;
            tally.add(k, reward);
            if (truncated) {
                copyRows(reply.getFinalObservations(), truncations, s, true, k, 1);
                truncations++;
            }
            if (terminated || truncated) {
                tally.end(k);
            }
        }
        return truncations;
    }

    /** Opens the slice's stream, retrying with backoff until it works, and writes its first observations. */
    private void openUntilDone(Slice slice, VectorStep into, String what) {
        Backoff backoff = Backoff.reconnect();
        ManagedChannel channel = channels.get(slice.server);
        while (true) {
            try {
                open(slice, channel, into);
                if (backoff.attempts() > 0) {
                    LOG.log(Level.INFO, "environment server {0}: {1} environments playing again after {2} attempt(s)",
                            slice.server, slice.n, backoff.attempts());
                }
                return;
            } catch (StreamLostException e) {
                slice.endCall(e.reason);
                if (!restartLost) {
                    throw new EnvironmentServerException("environment server " + slice.server + ": " + what + " "
                            + slice.n + " environments failed (" + e.getMessage() + ")", e);
                }
                long delay = backoff.nextDelayMillis();
                LOG.log(backoff.attempts() == 1 ? Level.WARNING : Level.DEBUG, "environment server {0}: {1} {2}"
                        + " environments failed ({3}); retrying in {4} ms", slice.server, what, slice.n, e.getMessage(),
                        delay);
                sleep(delay);
            } catch (PlayReplies.BadReplyException e) {
                slice.endCall("bad_reply");
                listener.streamLost(slice.server, "bad_reply", e.getMessage());
                if (!restartLost) {
                    throw new EnvironmentServerException("environment server " + slice.server + " answered Open with a"
                            + " bad reply: " + e.getMessage(), e);
                }
                long delay = backoff.nextDelayMillis();
                LOG.log(Level.ERROR, "environment server {0} answered Open with a bad reply ({1}); not using it,"
                        + " retrying in {2} ms", slice.server, e.getMessage(), delay);
                sleep(delay);
            }
        }
    }

    private void open(Slice slice, ManagedChannel channel, VectorStep into) {
        checkDescription(slice.server, channel);
        slice.startCall(channel);
        slice.send(PlayRequest.newBuilder().setOpen(Open.newBuilder().setNumEnvs(slice.n)
                .setSeed(slice.seeds.nextLong() & SEED_MASK)).build());
        PlayReply reply = slice.await(replyTimeoutNanos, closed);
        PlayReplies.checkOpened(reply, slice.n, observationSpace);
        copyRows(reply.getObservations(), 0, into, false, slice.from, slice.n);
    }

    /**
     * Copies rows {@code [from, from + n)} of a checked observation tensor to rows {@code [to, to + n)}
     * of the step's observations, or of its final observations: pixels as they came, floats decoded.
     */
    private void copyRows(Tensor t, int from, VectorStep s, boolean finals, int to, int n) {
        if (s.images()) {
            t.getData().copyTo(finals ? s.finalPixels : s.pixels, from * obsSize, to * obsSize, n * obsSize);
        } else {
            PlayReplies.floats(t).get(from * obsSize, finals ? s.finalObservations : s.observations, to * obsSize,
                    n * obsSize);
        }
    }

    /** A restarted server must still host what the model was built for. */
    private void checkDescription(String address, ManagedChannel channel) {
        EnvironmentDefinition now;
        try {
            now = EnvironmentServers.definition(address, EnvironmentServers.describe(channel, address));
        } catch (EnvironmentServerException e) {
            if (e.getCause() instanceof StatusRuntimeException sre && transientCode(sre.getStatus().getCode())) {
                throw new StreamLostException("unavailable", e.getMessage());
            }
            throw e;
        }
        EnvironmentServers.requireSame(servers.addresses().get(0), servers.definition(), address, now);
    }

    private static boolean transientCode(Status.Code code) {
        return code == Status.Code.UNAVAILABLE || code == Status.Code.DEADLINE_EXCEEDED
                || code == Status.Code.CANCELLED || code == Status.Code.ABORTED;
    }

    private void sleep(long millis) {
        try {
            if (closed.await(millis, TimeUnit.MILLISECONDS)) {
                throw new CancellationException("remote environments '" + name + "' closed");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new CancellationException("interrupted while waiting for environment servers");
        }
    }

    @Override
    public int drainEpisodes(EpisodeSink sink) {
        return tally.drain(sink);
    }

    /** Ends every stream (the servers close their environments) and the channels; wakes a waiting player. */
    @Override
    public void close() {
        if (closed.getCount() == 0) {
            return;
        }
        closed.countDown();
        for (Slice s : slices) {
            s.cancel();
        }
        for (ManagedChannel c : channels.values()) {
            c.shutdownNow();
        }
    }

    /** A stream that failed in a way a new stream may cure. */
    private static final class StreamLostException extends RuntimeException {
        final String reason;

        StreamLostException(String reason, String message) {
            super(message, null, false, false);
            this.reason = reason;
        }
    }

    /** One Play stream: rows {@code [from, from + n)} of the batch, on one server. */
    private static final class Slice {
        final String server;
        final int from;
        final int n;
        final SplittableRandom seeds;
        /** The current call; replaced on every (re)open, so a dead call's late events go to its own inbox. */
        private volatile Call call;
        long sentAt;

        Slice(String server, int from, int n, SplittableRandom seeds) {
            this.server = server;
            this.from = from;
            this.n = n;
            this.seeds = seeds;
        }

        void startCall(ManagedChannel channel) {
            Call c = new Call();
            call = c;
            EnvironmentGrpc.newStub(channel).play(c);
        }

        void send(PlayRequest request) {
            Call c = call;
            sentAt = System.nanoTime();
            try {
                c.requests.onNext(request);
            } catch (RuntimeException e) {
                // The call ended under us; await() reports why.
                c.inbox.add(e);
            }
        }

        PlayReply await(long timeoutNanos, CountDownLatch closed) {
            Call c = call;
            Object event;
            try {
                event = c.inbox.poll(timeoutNanos, TimeUnit.NANOSECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new CancellationException("interrupted while waiting for environment server " + server);
            }
            if (closed.getCount() == 0) {
                throw new CancellationException("remote environments closed");
            }
            if (event instanceof PlayReply reply) {
                return reply;
            }
            if (event == null) {
                throw new StreamLostException("timeout", "no reply within "
                        + TimeUnit.NANOSECONDS.toMillis(timeoutNanos) + " ms");
            }
            if (event == Call.COMPLETED) {
                throw new StreamLostException("error", "the server ended the stream");
            }
            Status status = Status.fromThrowable((Throwable) event);
            if (status.getCode() == Status.Code.INVALID_ARGUMENT || status.getCode() == Status.Code.RESOURCE_EXHAUSTED
                    || status.getCode() == Status.Code.UNIMPLEMENTED) {
                throw new EnvironmentServerException("environment server " + server + " refused " + n
                        + " environments: " + status.getCode() + ": " + status.getDescription());
            }
            String reason = transientCode(status.getCode()) ? "unavailable" : "error";
            throw new StreamLostException(reason, status.getCode() + (status.getDescription() == null ? ""
                    : ": " + status.getDescription()));
        }

        void endCall(String why) {
            Call c = call;
            if (c != null && c.requests != null) {
                c.requests.cancel(why, null);
            }
            call = null;
        }

        void cancel() {
            Call c = call;
            if (c != null && c.requests != null) {
                c.requests.cancel("remote environments closed", null);
            }
        }
    }

    /** Replies, errors and the end of one call, in order, for the playing thread. */
    private static final class Call implements ClientResponseObserver<PlayRequest, PlayReply> {
        static final Object COMPLETED = new Object();
        final LinkedBlockingQueue<Object> inbox = new LinkedBlockingQueue<>();
        volatile ClientCallStreamObserver<PlayRequest> requests;

        @Override
        public void beforeStart(ClientCallStreamObserver<PlayRequest> requestStream) {
            requests = requestStream;
        }

        @Override
        public void onNext(PlayReply reply) {
            inbox.add(reply);
        }

        @Override
        public void onError(Throwable t) {
            inbox.add(t);
        }

        @Override
        public void onCompleted() {
            inbox.add(COMPLETED);
        }
    }
}
