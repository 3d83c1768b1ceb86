package dev.starling.envs.remote;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.TimeUnit;

import dev.starling.common.model.ModelSpecs;
import dev.starling.env.ActionSpace;
import dev.starling.env.EnvironmentDefinition;
import dev.starling.env.ObservationSpace;
import dev.starling.envs.EnvironmentSource;
import dev.starling.envs.VectorEnvironment;
import dev.starling.proto.v1.DescribeRequest;
import dev.starling.proto.v1.EnvironmentGrpc;
import dev.starling.proto.v1.EnvironmentInfo;
import dev.starling.transport.Backoff;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;

/**
 * The environment servers an actor plays ({@code --env-server HOST:PORT}, repeatable): what they
 * host, checked to be one environment, and the way to open {@code K} of their environments as
 * one {@link VectorEnvironment}. Immutable.
 */
public final class EnvironmentServers implements EnvironmentSource {

    private static final System.Logger LOG = System.getLogger(EnvironmentServers.class.getName());

    /** Deadline of a Describe call. */
    public static final Duration DESCRIBE_DEADLINE = Duration.ofSeconds(10);

    /** One server's Describe reply. */
    record Server(String address, int maxEnvs) {
    }

    private final EnvironmentDefinition definition;
    private final List<Server> servers;

    private EnvironmentServers(EnvironmentDefinition definition, List<Server> servers) {
        this.definition = definition;
        this.servers = List.copyOf(servers);
    }

    /**
     * Asks every server what it hosts.
     *
     * @throws EnvironmentServerException naming the server, if one is unreachable, is not an
     *     environment server, describes an invalid environment, or hosts another environment than
     *     the first one
     */
    public static EnvironmentServers describe(List<String> addresses) {
        return describe(addresses, Duration.ZERO);
    }

    /**
     * As {@link #describe(List)}, waiting up to {@code wait} (with backoff) for servers that are not
     * up yet: for actors that may start before their servers (Compose, Kubernetes).
     */
    public static EnvironmentServers describe(List<String> addresses, Duration wait) {
        long deadline = System.nanoTime() + wait.toNanos();
        Backoff backoff = Backoff.reconnect();
        while (true) {
            try {
                return describeOnce(addresses);
            } catch (EnvironmentServerException e) {
                boolean down = e.getCause() instanceof StatusRuntimeException sre
                        && sre.getStatus().getCode() == Status.Code.UNAVAILABLE;
                long delay = backoff.nextDelayMillis();
                if (!down || System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(delay) > deadline) {
                    throw e;
                }
                LOG.log(System.Logger.Level.INFO, "{0}; retrying in {1} ms", e.getMessage(), delay);
                try {
                    Thread.sleep(delay);
                } catch (InterruptedException ie) {
                    Thread.currentThread().interrupt();
                    throw e;
                }
            }
        }
    }

    private static EnvironmentServers describeOnce(List<String> addresses) {
        if (addresses == null || addresses.isEmpty()) {
            throw new IllegalArgumentException("at least one environment server address (HOST:PORT) is needed");
        }
        EnvironmentDefinition first = null;
        String firstAddress = null;
        List<Server> servers = new ArrayList<>();
        for (String address : addresses) {
            checkAddress(address);
            ManagedChannel channel = RemoteVectorEnv.channel(address);
            try {
                EnvironmentInfo info = describe(channel, address);
                EnvironmentDefinition d = definition(address, info);
                if (first == null) {
                    first = d;
                    firstAddress = address;
                } else {
                    requireSame(firstAddress, first, address, d);
                }
                servers.add(new Server(address, info.getMaxEnvs()));
            } finally {
                channel.shutdownNow();
            }
        }
        return new EnvironmentServers(first, servers);
    }

    /**
     * The environment: its name, spaces, reward scale and threshold as the servers state them.
     * Its factory refuses to make an instance: these environments run in the servers.
     */
    @Override
    public EnvironmentDefinition definition() {
        return definition;
    }

    /** The servers' addresses, as given. */
    public List<String> addresses() {
        return servers.stream().map(Server::address).toList();
    }

    /** The most environments one stream of each server may open, in address order. */
    public List<Integer> maxEnvs() {
        return servers.stream().map(Server::maxEnvs).toList();
    }

    /**
     * {@code numEnvs} environments spread evenly over the servers (a server's share split into
     * streams of at most its {@code max_envs}), seeded from {@code seed}; the first
     * {@link VectorEnvironment#reset} connects them. Waits, with backoff, for servers that are not
     * up (unless {@code settings} say a lost stream is an error); {@link VectorEnvironment#close()}
     * stops the wait.
     */
    public RemoteVectorEnv open(int numEnvs, long seed, RemoteVectorEnv.Settings settings) {
        return new RemoteVectorEnv(this, numEnvs, seed, settings);
    }

    /**
     * For measurements ({@code eval}, the launcher's evaluations): a lost server ends the play with
     * an {@link EnvironmentServerException} instead of restarting episodes, so every episode
     * measured is whole.
     */
    @Override
    public RemoteVectorEnv open(int numEnvs, long seed) {
        return open(numEnvs, seed, RemoteVectorEnv.Settings.MEASURE);
    }

    /**
     * One stream's worth of environments per server: a server also plays its actors' streams and
     * may cap how many it serves at once, so a measurement does not open more than that.
     */
    @Override
    public int batchLimit() {
        return servers.stream().mapToInt(Server::maxEnvs).sum();
    }

    List<Server> servers() {
        return servers;
    }

    /** One Describe call; maps the failures to messages that say what to check. */
    static EnvironmentInfo describe(ManagedChannel channel, String address) {
        try {
            return EnvironmentGrpc.newBlockingStub(channel)
                    .withDeadlineAfter(DESCRIBE_DEADLINE.toMillis(), TimeUnit.MILLISECONDS)
                    .describe(DescribeRequest.getDefaultInstance());
        } catch (StatusRuntimeException e) {
            Status.Code code = e.getStatus().getCode();
            String why = switch (code) {
                case UNAVAILABLE -> "nothing answers there; is the server running (python3 examples/cartpole.py"
                        + " --port PORT, or your own starling_env.serve(...))?";
                case UNIMPLEMENTED -> "it is not a Starling environment server (no starling.v1.Environment service)";
                case DEADLINE_EXCEEDED -> "no answer within " + DESCRIBE_DEADLINE.toSeconds() + " s";
                default -> code + ": " + e.getStatus().getDescription();
            };
            throw new EnvironmentServerException("environment server " + address + ": " + why, e);
        }
    }

    /** The definition a Describe reply states; {@link EnvironmentServerException} naming the field if invalid. */
    static EnvironmentDefinition definition(String address, EnvironmentInfo info) {
        ObservationSpace observation;
        ActionSpace action;
        try {
            observation = ModelSpecs.observationSpace(info.getObservationSpace());
            action = ModelSpecs.actionSpace(info.getActionSpace());
        } catch (IllegalArgumentException e) {
            throw new EnvironmentServerException("environment server " + address + " describes an invalid environment: "
                    + e.getMessage(), e);
        }
        if (info.getMaxEnvs() < 1) {
            throw new EnvironmentServerException("environment server " + address + " describes max_envs "
                    + info.getMaxEnvs() + ": it must host at least one environment per stream");
        }
        double scale = info.getRewardScale() == 0 ? 1.0 : info.getRewardScale();
        double threshold = info.hasRewardThreshold() ? info.getRewardThreshold() : Double.NaN;
        String name = info.getName();
        try {
            return new EnvironmentDefinition(name, "served by " + address
                    + (info.getDescription().isBlank() ? "" : ": " + info.getDescription()), observation, action, scale,
                    () -> {
                        throw new UnsupportedOperationException("environment '" + name + "' runs in the environment"
                                + " server at " + address + ": play it through --env-server " + address);
                    }, threshold);
        } catch (IllegalArgumentException e) {
            throw new EnvironmentServerException("environment server " + address + " describes an invalid environment: "
                    + e.getMessage(), e);
        }
    }

    /** Every server must host the same environment: the actor's model has one pair of spaces. */
    static void requireSame(String firstAddress, EnvironmentDefinition first, String address, EnvironmentDefinition d) {
        if (!first.observationSpace().equals(d.observationSpace()) || !first.actionSpace().equals(d.actionSpace())
                || !first.name().equals(d.name())) {
            throw new EnvironmentServerException("environment servers disagree: " + firstAddress + " hosts '"
                    + first.name() + "' (" + first.observationSpace() + ", " + first.actionSpace() + ") but " + address
                    + " hosts '" + d.name() + "' (" + d.observationSpace() + ", " + d.actionSpace()
                    + "); one actor plays one environment");
        }
    }

    private static void checkAddress(String address) {
        Objects.requireNonNull(address, "address");
        int colon = address.lastIndexOf(':');
        boolean ok = colon > 0 && colon < address.length() - 1;
        if (ok) {
            try {
                int port = Integer.parseInt(address.substring(colon + 1));
                ok = port > 0 && port < 65536;
            } catch (NumberFormatException e) {
                ok = false;
            }
        }
        if (!ok) {
            throw new IllegalArgumentException("--env-server '" + address + "': expected HOST:PORT, such as"
                    + " localhost:50051");
        }
    }
}
