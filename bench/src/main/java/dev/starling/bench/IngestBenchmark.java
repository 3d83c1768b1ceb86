package dev.starling.bench;

import java.io.IOException;
import java.io.PrintStream;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadInfo;
import java.lang.management.ThreadMXBean;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.BooleanSupplier;
import java.util.function.LongSupplier;

import com.google.protobuf.CodedOutputStream;
import dev.starling.actor.AckedStream;
import dev.starling.actor.ActorConfig;
import dev.starling.transport.Channels;
import dev.starling.transport.metrics.Metrics;
import dev.starling.common.model.ActorCritic;
import dev.starling.common.model.ModelConfig;
import dev.starling.common.model.ModelSpecs;
import dev.starling.common.model.ParameterCodec;
import dev.starling.common.model.PolicyInference;
import dev.starling.common.model.Torch;
import dev.starling.common.rl.Rollout;
import dev.starling.common.rollout.EpisodeBuffer;
import dev.starling.common.rollout.RolloutCollector;
import dev.starling.envs.EnvironmentRegistry;
import dev.starling.envs.VectorEnv;
import dev.starling.transport.wire.ChunkCodec;
import dev.starling.learner.Learner;
import dev.starling.learner.LearnerConfig;
import dev.starling.proto.v1.ChunkAck;
import dev.starling.proto.v1.LearnerGrpc;
import dev.starling.proto.v1.TrajectoryChunk;
import dev.starling.ps.ParameterServer;
import dev.starling.ps.ParameterServerConfig;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.netty.channel.EventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.MultiThreadIoEventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.nio.NioIoHandler;
import io.grpc.netty.shaded.io.netty.channel.socket.nio.NioSocketChannel;
import io.grpc.netty.shaded.io.netty.util.concurrent.DefaultThreadFactory;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;

/**
 * Benchmark 3, learner ingest capacity: how many frames per second one learner accepts, and so
 * how many actors it can serve. A real {@link ParameterServer} and a real {@link Learner} (its
 * defaults for masked CartPole, training switched off with {@link LearnerConfig#withTraining})
 * listen on loopback Netty; N synthetic actors, each its own channel and PushTrajectories stream,
 * send valid chunks as fast as the learner acks them, each with at most the actor's default
 * number of unacked chunks in flight (the real actor's flow control). The chunks are real
 * rollouts (K = 32 environments x T = 32 steps, collected with the learner's version-0 weights)
 * encoded by {@link ChunkCodec} as the actor does, pre-encoded once and resent with fresh
 * sequence numbers; their policy version stays 0, which is always valid because nothing is
 * published with training off.
 *
 * <p>After a warm-up, one fixed window measures: frames accepted per second (the learner's own
 * count), chunks per second with the mean send-to-ack time, bytes per second on the wire, and CPU
 * per frame: the whole process (the senders run in the same JVM) and, from per-thread CPU
 * times, the learner's threads (gRPC call executor, trainer, server-side Netty) and the senders'
 * threads (their own Netty event loops and sending threads). Finally: accepted frames per second
 * divided by one actor's env steps per second (given, or measured here first at K = 32) = the
 * actors one learner can serve. Reports; asserts nothing, but fails if a stream fails or a chunk
 * is rejected, because then the figures mean nothing.
 *
 * <p>Not thread-safe; every run starts and closes its own servers, channels and threads.
 */
public final class IngestBenchmark {

    static final String SECTION = "3 learner ingest";
    /** The target from the issue: one learner accepts at least this many frames per second. */
    public static final double TARGET_FRAMES_PER_SECOND = 500_000;

    static final String ENV = "masked-cartpole";
    static final String SENDER_THREADS = "ingest-sender";
    /** A chunk unacked this long means the stream is stuck: the run fails. */
    static final Duration ACK_TIMEOUT = Duration.ofSeconds(30);
    /** Distinct pre-encoded chunks each sender cycles through. */
    static final int DISTINCT_CHUNKS = 8;

    private IngestBenchmark() {
    }

    /**
     * How one run is shaped.
     *
     * @param senders synthetic actors, one channel and one stream each
     * @param maxInFlight unacked chunks per stream, at most
     * @param warmup sending before the window opens
     * @param window the measured time
     * @param actorMeasure how long to measure one actor's env steps per second (unused when
     *     {@code actorStepsPerSecond} is given)
     * @param actorStepsPerSecond one actor's env steps per second, or NaN to measure it here
     */
    record Settings(int senders, int maxInFlight, Duration warmup, Duration window, Duration actorMeasure,
            double actorStepsPerSecond) {
        Settings {
            if (senders < 1 || maxInFlight < 1) {
                throw new IllegalArgumentException("senders and maxInFlight must be >= 1, got " + senders + ", "
                        + maxInFlight);
            }
            if (warmup.isNegative() || window.isNegative() || window.isZero() || actorMeasure.isNegative()
                    || actorMeasure.isZero()) {
                throw new IllegalArgumentException("warmup >= 0, window and actorMeasure > 0, got " + warmup + ", "
                        + window + ", " + actorMeasure);
            }
            if (!Double.isNaN(actorStepsPerSecond) && !(actorStepsPerSecond > 0 && Double.isFinite(actorStepsPerSecond))) {
                throw new IllegalArgumentException("actorStepsPerSecond must be NaN (measure) or finite and > 0, got "
                        + actorStepsPerSecond);
            }
        }

        /** 4 actors with the actor's default in-flight limit; quick: 2 s + 5 s, full: 5 s + 15 s. */
        static Settings of(boolean quick, double actorStepsPerSecond) {
            return new Settings(4, ActorConfig.DEFAULT_MAX_IN_FLIGHT, Duration.ofSeconds(quick ? 2 : 5),
                    Duration.ofSeconds(quick ? 5 : 15), Duration.ofSeconds(quick ? 2 : 5), actorStepsPerSecond);
        }
    }

    /**
     * What a run measured, with the totals the test checks.
     *
     * @param framesPerChunk T x K
     * @param learnerFrames frames the learner counted as accepted over the whole run
     * @param sentChunks chunks the senders sent over the whole run
     * @param acceptedChunks chunks acked with accepted=true over the whole run
     * @param notAcceptedChunks chunks acked with accepted=false (dropped as stale)
     * @param rejected the learner's rejected-chunk counter, all reasons
     * @param droppedStale the learner's dropped-stale counter
     * @param versionBefore the parameter server's version before sending
     * @param versionAfter the parameter server's version after the run
     * @param updates updates the learner applied
     * @param windowFrames frames the learner accepted inside the measured window
     */
    record Result(List<BenchLine> lines, int framesPerChunk, long learnerFrames, long sentChunks, long acceptedChunks,
            long notAcceptedChunks, double rejected, double droppedStale, long versionBefore, long versionAfter,
            long updates, long windowFrames) {
    }

    /** Runs benchmark 3, measuring one actor's env steps per second first. */
    public static List<BenchLine> run(boolean quick, PrintStream log) {
        return run(quick, log, Double.NaN);
    }

    /**
     * Runs benchmark 3 with one actor's env steps per second measured elsewhere (e.g. benchmark
     * 2 at K = 32); NaN measures it here.
     */
    public static List<BenchLine> run(boolean quick, PrintStream log, double actorStepsPerSecond) {
        return measure(Settings.of(quick, actorStepsPerSecond), log).lines();
    }

    static Result measure(Settings settings, PrintStream log) {
        LearnerConfig config = LearnerConfig.defaults(ENV, "localhost:0").withTraining(false);
        int envs = ActorConfig.DEFAULT_NUM_ENVS;
        Chunks chunks = chunks(config.modelConfig(), config.seed(), config.unroll(), envs);
        List<BenchLine> lines = new ArrayList<>();
        double actorRate = settings.actorStepsPerSecond();
        if (Double.isNaN(actorRate)) {
            actorRate = measureOneActor(config, envs, settings.actorMeasure());
            add(lines, log, BenchLine.of(SECTION, String.format(Locale.ROOT,
                    "ingest: one actor's env+inference+encoding K=%d LSTM %d (measured)", envs, config.modelConfig().lstmSize()),
                    Double.NaN, actorRate, "env steps/s"));
        }
        SimpleMeterRegistry psRegistry = new SimpleMeterRegistry();
        SimpleMeterRegistry learnerRegistry = new SimpleMeterRegistry();
        ParameterServer ps = null;
        Learner learner = null;
        EventLoopGroup loops = null;
        List<ManagedChannel> channels = new ArrayList<>();
        List<Sender> senders = new ArrayList<>();
        List<Thread> threads = new ArrayList<>();
        try {
            ps = ParameterServer.forPort(ParameterServerConfig.defaults(0, null), psRegistry).start();
            learner = Learner.forPort(config.withParameterServer("localhost:" + ps.port()).withPort(0),
                    learnerRegistry).start();
            if (learner.modelSpec().getHash() != chunks.specHash()) {
                throw new IllegalStateException("the chunks are for spec " + ModelSpecs.hex(chunks.specHash())
                        + " but the learner trains " + ModelSpecs.hex(learner.modelSpec().getHash()));
            }
            long versionBefore = ps.store().version().orElse(-1);
            // The senders get their own event loops and run callbacks on them (directExecutor), so
            // their CPU time is theirs: the default gRPC Netty threads serve the servers only.
            loops = new MultiThreadIoEventLoopGroup(settings.senders(),
                    new DefaultThreadFactory(SENDER_THREADS + "-netty", true), NioIoHandler.newFactory());
            long streamSeconds = settings.warmup().plus(settings.window()).plus(ACK_TIMEOUT).plus(ACK_TIMEOUT)
                    .toSeconds();
            for (int i = 0; i < settings.senders(); i++) {
                ManagedChannel channel = NettyChannelBuilder.forAddress("localhost", learner.port())
                        .usePlaintext()
                        .eventLoopGroup(loops)
                        .channelType(NioSocketChannel.class)
                        .directExecutor()
                        .maxInboundMessageSize(config.maxMessageBytes())
                        .build();
                channels.add(channel);
                Sender sender = new Sender("bench-actor-" + i, chunks.forActor("bench-actor-" + i),
                        settings.maxInFlight(), LearnerGrpc.newStub(channel)
                                .withDeadlineAfter(streamSeconds, TimeUnit.SECONDS));
                senders.add(sender);
                Thread t = new Thread(sender, SENDER_THREADS + "-" + i);
                t.setDaemon(true);
                threads.add(t);
            }
            threads.forEach(Thread::start);

            sleep(settings.warmup());
            requireHealthy(senders);
            Snapshot a = Snapshot.take(learner, senders);
            sleep(settings.window());
            Snapshot b = Snapshot.take(learner, senders);
            requireHealthy(senders);

            senders.forEach(Sender::stop);
            for (Thread t : threads) {
                t.join(ACK_TIMEOUT.multipliedBy(2).toMillis());
                if (t.isAlive()) {
                    throw new IllegalStateException(t.getName() + " did not finish");
                }
            }
            requireHealthy(senders);
            long sent = 0;
            long accepted = 0;
            long notAccepted = 0;
            for (Sender s : senders) {
                sent += s.sent();
                accepted += s.accepted();
                notAccepted += s.notAccepted();
            }
            long learnerFrames = learner.status().getFrames();
            long updates = learner.status().getUpdates();
            long versionAfter = ps.store().version().orElse(-1);
            double rejected = sum(learnerRegistry, Metrics.REJECTED);
            double stale = sum(learnerRegistry, Metrics.DROPPED_STALE);
            report(lines, log, settings, config, envs, a, b, actorRate, Double.isNaN(settings.actorStepsPerSecond()));
            return new Result(List.copyOf(lines), config.unroll() * envs, learnerFrames, sent, accepted, notAccepted,
                    rejected, stale, versionBefore, versionAfter, updates, b.learnerFrames - a.learnerFrames);
        } catch (IOException e) {
            throw new IllegalStateException("could not start the parameter server or the learner: " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        } finally {
            senders.forEach(Sender::stop);
            senders.forEach(s -> s.cancel("benchmark finished"));
            channels.forEach(Channels::close);
            if (loops != null) {
                loops.shutdownGracefully(0, 1, TimeUnit.SECONDS).awaitUninterruptibly(5, TimeUnit.SECONDS);
            }
            // Cancelled streams fail at once, so their threads end promptly.
            for (Thread t : threads) {
                joinQuietly(t);
            }
            if (learner != null) {
                learner.close();
            }
            if (ps != null) {
                ps.close();
            }
        }
    }

    private static void report(List<BenchLine> lines, PrintStream log, Settings settings, LearnerConfig config,
            int envs, Snapshot a, Snapshot b, double actorRate, boolean actorMeasured) {
        double seconds = (b.nanos - a.nanos) / 1e9;
        long frames = b.learnerFrames - a.learnerFrames;
        long chunks = b.accepted - a.accepted;
        double fps = frames / seconds;
        String shape = String.format(Locale.ROOT, "%d streams x <=%d in flight, T=%d K=%d", settings.senders(),
                settings.maxInFlight(), config.unroll(), envs);
        add(lines, log, BenchLine.of(SECTION, "ingest frames/s accepted (" + shape + ", training off)", Double.NaN,
                fps, "frames/s").atLeast(TARGET_FRAMES_PER_SECOND));
        double ackMs = chunks == 0 ? Double.NaN : (b.ackNanos - a.ackNanos) / 1e6 / chunks;
        add(lines, log, BenchLine.of(SECTION, "ingest chunks/s accepted (ms = mean send-to-ack)", ackMs,
                chunks / seconds, "chunks/s"));
        add(lines, log, BenchLine.of(SECTION, "ingest MB/s on the wire (chunk protobuf + gRPC frame)", Double.NaN,
                (b.bytes - a.bytes) / 1e6 / seconds, "MB/s"));
        double perFrame = frames == 0 ? Double.NaN : 1e-3 / frames;
        add(lines, log, BenchLine.of(SECTION, "ingest CPU per frame, whole process (senders in it too)", Double.NaN,
                (b.processCpu - a.processCpu) * perFrame, "µs/frame"));
        add(lines, log, BenchLine.of(SECTION, "ingest CPU per frame, learner threads (calls, trainer, Netty)",
                Double.NaN, b.threadCpu(a, Owner.LEARNER) * perFrame, "µs/frame"));
        add(lines, log, BenchLine.of(SECTION, "ingest CPU per frame, sender threads (synthetic actors)", Double.NaN,
                b.threadCpu(a, Owner.SENDERS) * perFrame, "µs/frame"));
        add(lines, log, BenchLine.of(SECTION, String.format(Locale.ROOT, "ingest process CPU busy (of %d cores)",
                Runtime.getRuntime().availableProcessors()), Double.NaN,
                (b.processCpu - a.processCpu) / 1e9 / seconds, "cores"));
        add(lines, log, BenchLine.of(SECTION, String.format(Locale.ROOT,
                "ingest: actors one learner can serve (÷ %s env steps/s%s)", BenchLine.number(actorRate),
                actorMeasured ? ", measured" : ""), Double.NaN, fps / actorRate, "actors"));
    }

    private static void add(List<BenchLine> lines, PrintStream log, BenchLine line) {
        lines.add(line);
        log.println(line.format());
    }

    private static void requireHealthy(List<Sender> senders) {
        for (Sender s : senders) {
            Status f = s.failure();
            if (f != null) {
                throw new IllegalStateException("stream of " + s.actorId + " failed: " + f.getCode()
                        + (f.getDescription() == null ? "" : ": " + f.getDescription()), f.getCause());
            }
        }
    }

    private static double sum(MeterRegistry registry, String name) {
        double total = 0;
        for (Counter c : registry.find(name).tags("role", "learner").counters()) {
            total += c.count();
        }
        return total;
    }

    private static void joinQuietly(Thread t) {
        try {
            t.join(TimeUnit.SECONDS.toMillis(5));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static void sleep(Duration d) throws InterruptedException {
        Thread.sleep(d.toMillis());
    }

    /** The pre-encoded chunks (policy version 0, sequence 0). */
    private record Chunks(List<TrajectoryChunk> encoded, long specHash) {

        /** The chunks as sent by {@code actorId}. */
        List<TrajectoryChunk> forActor(String actorId) {
            List<TrajectoryChunk> out = new ArrayList<>(encoded.size());
            for (TrajectoryChunk c : encoded) {
                out.add(c.toBuilder().setActorId(actorId).build());
            }
            return out;
        }
    }

    /**
     * Plays masked CartPole with the learner's fresh (version 0) model as an actor does and
     * encodes consecutive rollouts.
     */
    private static Chunks chunks(ModelConfig model, long seed, int unroll, int envs) {
        VectorEnv env = EnvironmentRegistry.builtIn().vector(ENV, envs, seed);
        try (ActorCritic net = new ActorCritic(model, seed, Torch.device("cpu"));
                PolicyInference policy = new PolicyInference(net, envs)) {
            long specHash = new ParameterCodec(net).specHash();
            RolloutCollector collector = new RolloutCollector(env, policy, net.distribution(), seed);
            Rollout rollout = new Rollout(unroll, envs, model);
            EpisodeBuffer finished = new EpisodeBuffer();
            List<TrajectoryChunk> encoded = new ArrayList<>();
            for (int i = 0; i < DISTINCT_CHUNKS; i++) {
                finished.clear();
                collector.collect(rollout, finished);
                encoded.add(ChunkCodec.encode(rollout, "bench-actor", 0, 0, specHash, finished));
            }
            return new Chunks(List.copyOf(encoded), specHash);
        }
    }

    /** One actor's whole loop alone (collect and encode), the same measurement as the roofline's. */
    private static double measureOneActor(LearnerConfig config, int envs, Duration time) {
        try {
            return ActorsAlone.stepsPerSecond(ENV, 1, envs, config.unroll(), config.modelConfig().encoderSize(),
                    config.modelConfig().lstmSize(),
                    time.toMillis() / 1000.0);
        } catch (Exception e) {
            throw new IllegalStateException("measuring one actor failed: " + e, e);
        }
    }

    /** Whose CPU a thread's time is, by thread name. */
    enum Owner {
        LEARNER, SENDERS, OTHER;

        static Owner of(String threadName) {
            if (threadName.startsWith(SENDER_THREADS)) {
                return SENDERS;
            }
            // The learner's call executor, trainer and publisher; and gRPC's default Netty event
            // loops (grpc-default-worker-ELG-*, grpc-nio-boss-ELG-*, ...), which only the servers
            // use here (the parameter server is idle with training off).
            if (threadName.startsWith("starling-learner-")
                    || (threadName.startsWith("grpc-") && threadName.contains("-ELG-"))) {
                return LEARNER;
            }
            return OTHER;
        }
    }

    /** Counters and CPU clocks at one instant. */
    private static final class Snapshot {
        long nanos;
        long learnerFrames;
        long accepted;
        long bytes;
        long ackNanos;
        long processCpu;
        final Map<Long, Long> threadCpu = new HashMap<>();
        final Map<Long, Owner> owners = new HashMap<>();

        static Snapshot take(Learner learner, List<Sender> senders) {
            Snapshot s = new Snapshot();
            s.learnerFrames = learner.status().getFrames();
            for (Sender sender : senders) {
                sender.addCounts(s);
            }
            s.processCpu = processCpuNanos();
            ThreadMXBean threads = ManagementFactory.getThreadMXBean();
            if (threads.isThreadCpuTimeSupported()) {
                if (!threads.isThreadCpuTimeEnabled()) {
                    threads.setThreadCpuTimeEnabled(true);
                }
                for (long id : threads.getAllThreadIds()) {
                    ThreadInfo info = threads.getThreadInfo(id);
                    long cpu = threads.getThreadCpuTime(id);
                    if (info != null && cpu >= 0) {
                        s.threadCpu.put(id, cpu);
                        s.owners.put(id, Owner.of(info.getThreadName()));
                    }
                }
            }
            s.nanos = System.nanoTime();
            return s;
        }

        /** CPU nanoseconds the owner's threads used since {@code before}; NaN if unsupported. */
        double threadCpu(Snapshot before, Owner owner) {
            if (threadCpu.isEmpty()) {
                return Double.NaN;
            }
            long total = 0;
            for (Map.Entry<Long, Long> e : threadCpu.entrySet()) {
                if (owners.get(e.getKey()) == owner) {
                    total += e.getValue() - before.threadCpu.getOrDefault(e.getKey(), 0L);
                }
            }
            return total;
        }

        private static long processCpuNanos() {
            if (ManagementFactory.getOperatingSystemMXBean() instanceof com.sun.management.OperatingSystemMXBean os) {
                return os.getProcessCpuTime();
            }
            return -1;
        }
    }

    /**
     * The bytes of chunk {@code base} (sequence 0, so the field is absent) resent with
     * {@code sequence}, plus the 5-byte gRPC message header: what the chunk costs on the wire.
     */
    static int wireBytes(TrajectoryChunk base, long sequence) {
        int sequenceField = sequence == 0 ? 0
                : CodedOutputStream.computeUInt64Size(TrajectoryChunk.SEQUENCE_FIELD_NUMBER, sequence);
        return base.getSerializedSize() + sequenceField + 5;
    }

    /**
     * One synthetic actor: its own thread sends, its stream's callbacks (acks, readiness, the
     * end) arrive on the sender's Netty event loop. The flow control is the real actor's
     * {@link AckedStream}: a chunk goes out only while fewer than {@code maxInFlight} are unacked
     * and the transport is ready, and only the sending thread touches the request side. The
     * counts below are guarded by {@code lock}, the stream's lock.
     */
    private static final class Sender implements Runnable {

        final String actorId;
        private final List<TrajectoryChunk> chunks;
        private final LearnerGrpc.LearnerStub stub;
        private final ReentrantLock lock = new ReentrantLock();
        private final Condition changed = lock.newCondition();
        private final AckedStream<TrajectoryChunk, ChunkAck> stream;
        private final BooleanSupplier stopped = this::stopping;
        /** Written by the sending thread only; read after it ended. */
        private long sent;

        // Guarded by lock.
        private boolean stopping;
        private long nextAck;
        private long accepted;
        private long notAccepted;
        private long acceptedBytes;
        private long ackNanos;

        Sender(String actorId, List<TrajectoryChunk> chunks, int maxInFlight, LearnerGrpc.LearnerStub stub) {
            this.actorId = actorId;
            this.chunks = chunks;
            this.stub = stub;
            this.stream = new AckedStream<>(lock, changed, maxInFlight, ACK_TIMEOUT, ChunkAck::getSequence,
                    this::acked);
        }

        @Override
        public void run() {
            try {
                stub.pushTrajectories(stream);
                long sequence = 0;
                while (true) {
                    TrajectoryChunk chunk = chunks.get((int) (sequence % chunks.size())).toBuilder()
                            .setSequence(sequence).build();
                    if (stream.awaitPermit(sequence, stopped) != AckedStream.Permit.SEND) {
                        break;
                    }
                    sent++;
                    stream.send(chunk);
                    sequence++;
                }
                if (awaitDrained()) {
                    stream.halfClose();
                    awaitEnd();
                }
            } catch (InterruptedException e) {
                stream.fail(Status.CANCELLED.withDescription("interrupted"));
            } catch (RuntimeException e) {
                stream.fail(Status.INTERNAL.withDescription("sending failed: " + e).withCause(e));
            }
        }

        /** Under lock (the stream reads it there). */
        private boolean stopping() {
            return stopping;
        }

        /** Under lock, on the event loop. */
        private void acked(ChunkAck ack, AckedStream.InFlight chunk) {
            if (chunk == null || ack.getSequence() != nextAck) {
                stream.fail(Status.INTERNAL.withDescription("ack for chunk " + ack.getSequence()
                        + " but the oldest unacked is " + nextAck + (chunk == null ? " (not in flight)" : "")));
                return;
            }
            nextAck++;
            if (ack.getAccepted()) {
                accepted++;
                acceptedBytes += wireBytes(chunks.get((int) (chunk.sequence() % chunks.size())), chunk.sequence());
                ackNanos += System.nanoTime() - chunk.sentNanos();
            } else {
                notAccepted++;
            }
        }

        /** Asks the sending thread to stop after the current chunk and drain. */
        void stop() {
            lock.lock();
            try {
                stopping = true;
                changed.signalAll();
            } finally {
                lock.unlock();
            }
        }

        /** Abandons the call unless it ended (cleanup). */
        void cancel(String why) {
            if (!stream.completed()) {
                stream.cancel(why);
            }
        }

        /** Why the stream failed (transport, timeout, or a wrong ack), or null. */
        Status failure() {
            return stream.failure();
        }

        long sent() {
            return sent;
        }

        long accepted() {
            return locked(() -> accepted);
        }

        long notAccepted() {
            return locked(() -> notAccepted);
        }

        void addCounts(Snapshot s) {
            lock.lock();
            try {
                s.accepted += accepted;
                s.bytes += acceptedBytes;
                s.ackNanos += ackNanos;
            } finally {
                lock.unlock();
            }
        }

        private long locked(LongSupplier f) {
            lock.lock();
            try {
                return f.getAsLong();
            } finally {
                lock.unlock();
            }
        }

        /** After the last chunk: waits for every ack; false if the stream failed or stayed unacked. */
        private boolean awaitDrained() throws InterruptedException {
            long end = System.nanoTime() + ACK_TIMEOUT.toNanos();
            lock.lock();
            try {
                while (stream.inFlight() > 0 && failure() == null) {
                    long left = end - System.nanoTime();
                    if (left <= 0) {
                        stream.fail(Status.DEADLINE_EXCEEDED.withDescription(stream.inFlight()
                                + " chunk(s) not acked within " + ACK_TIMEOUT.toSeconds() + " s after the window"));
                        return false;
                    }
                    changed.awaitNanos(left);
                }
                return failure() == null;
            } finally {
                lock.unlock();
            }
        }

        /** After the half-close: waits for the learner to end the stream. */
        private void awaitEnd() throws InterruptedException {
            long end = System.nanoTime() + ACK_TIMEOUT.toNanos();
            lock.lock();
            try {
                while (!stream.completed() && failure() == null) {
                    long left = end - System.nanoTime();
                    if (left <= 0) {
                        stream.fail(Status.DEADLINE_EXCEEDED.withDescription("the learner did not end the stream"));
                        return;
                    }
                    changed.awaitNanos(left);
                }
            } finally {
                lock.unlock();
            }
        }
    }
}
