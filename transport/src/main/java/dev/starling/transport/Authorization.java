package dev.starling.transport;

import java.util.Collections;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.function.Predicate;

import dev.starling.transport.metrics.Metrics;
import dev.starling.transport.wire.RequestParsing;
import dev.starling.proto.v1.GetParametersRequest;
import dev.starling.proto.v1.LearnerGrpc;
import dev.starling.proto.v1.ParameterServerGrpc;
import io.grpc.ForwardingServerCallListener.SimpleForwardingServerCallListener;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import io.grpc.health.v1.HealthGrpc;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;

/**
 * Which {@link Role} may call which gRPC method: Starling's one authorization policy, enforced on
 * every secured server ({@link Servers#netty(int, int, Security, MeterRegistry, String)} installs
 * it behind authentication).
 *
 * <table>
 *   <caption>The policy</caption>
 *   <tr><th>method</th><th>roles</th></tr>
 *   <tr><td>ParameterServer/PublishParameters</td><td>learner</td></tr>
 *   <tr><td>ParameterServer/GetParameters with include_optimizer_state</td><td>learner</td></tr>
 *   <tr><td>ParameterServer/GetParameters without it, WatchParameters</td><td>learner, actor</td></tr>
 *   <tr><td>ParameterServer/PushGradients, Learner/PushTrajectories</td><td>actor</td></tr>
 *   <tr><td>ParameterServer/GetStatus, Learner/GetStatus, grpc.health.v1.Health/*</td><td>any role</td></tr>
 *   <tr><td>anything else</td><td>none</td></tr>
 * </table>
 *
 * A forbidden call is closed with PERMISSION_DENIED naming the role and the method, counted in
 * {@code starling.rejected{reason=forbidden}}, and never reaches the service. A rule that
 * depends on the request (GetParameters) is checked on the request message before the service
 * sees it; a request that cannot be inspected counts as the one asking for more.
 */
public final class Authorization {

    /** Counter reason ({@code starling_rejected_total{reason}}) of a forbidden call. */
    public static final String FORBIDDEN = "forbidden";

    /**
     * Who may call a method: {@code roles}; and if {@code narrowed} is not null, only
     * {@code narrowed.roles()} when the request matches {@code narrowed.when()}.
     */
    public record Rule(Set<Role> roles, Narrowing narrowed) {

        public Rule {
            roles = Collections.unmodifiableSet(EnumSet.copyOf(roles));
        }

        static Rule of(Role first, Role... rest) {
            return new Rule(EnumSet.of(first, rest), null);
        }

        static Rule anyRole() {
            return new Rule(EnumSet.allOf(Role.class), null);
        }

        Rule narrowedTo(String condition, Predicate<Object> when, Role first, Role... rest) {
            return new Rule(roles, new Narrowing(condition, when, EnumSet.of(first, rest)));
        }

        /** Whether {@code role} may call the method at all (with the plainest request). */
        public boolean allows(Role role) {
            return roles.contains(role);
        }
    }

    /**
     * A narrower rule for requests matching {@code when} (given the parsed request message),
     * described by {@code condition}.
     */
    public record Narrowing(String condition, Predicate<Object> when, Set<Role> roles) {

        public Narrowing {
            roles = Collections.unmodifiableSet(EnumSet.copyOf(roles));
        }
    }

    private static final Map<String, Rule> POLICY = buildPolicy();

    private Authorization() {
    }

    private static Map<String, Rule> buildPolicy() {
        Map<String, Rule> p = new LinkedHashMap<>();
        p.put(name(ParameterServerGrpc.getGetParametersMethod()), Rule.of(Role.LEARNER, Role.ACTOR)
                .narrowedTo("include_optimizer_state = true", Authorization::asksForOptimizerState, Role.LEARNER));
        p.put(name(ParameterServerGrpc.getWatchParametersMethod()), Rule.of(Role.LEARNER, Role.ACTOR));
        p.put(name(ParameterServerGrpc.getPublishParametersMethod()), Rule.of(Role.LEARNER));
        p.put(name(ParameterServerGrpc.getPushGradientsMethod()), Rule.of(Role.ACTOR));
        p.put(name(ParameterServerGrpc.getGetStatusMethod()), Rule.anyRole());
        p.put(name(LearnerGrpc.getPushTrajectoriesMethod()), Rule.of(Role.ACTOR));
        p.put(name(LearnerGrpc.getGetStatusMethod()), Rule.anyRole());
        p.put(name(HealthGrpc.getCheckMethod()), Rule.anyRole());
        p.put(name(HealthGrpc.getWatchMethod()), Rule.anyRole());
        return Collections.unmodifiableMap(p);
    }

    /**
     * The policy: full method name ({@code starling.v1.ParameterServer/PublishParameters}) to its
     * rule, in a fixed order. A method that is not a key is denied to every role.
     */
    public static Map<String, Rule> policy() {
        return POLICY;
    }

    /**
     * Whether {@code role} may call {@code fullMethodName} with {@code request} (the parsed
     * request message; null for a streaming method's call as a whole).
     */
    public static boolean allows(Role role, String fullMethodName, Object request) {
        Rule rule = POLICY.get(fullMethodName);
        if (rule == null || !rule.allows(role)) {
            return false;
        }
        return rule.narrowed() == null || !rule.narrowed().when().test(request) || rule.narrowed().roles().contains(role);
    }

    /** GetParameters asking for the optimizer state; anything that is not a GetParametersRequest counts as asking. */
    private static boolean asksForOptimizerState(Object request) {
        return !(request instanceof GetParametersRequest r) || r.getIncludeOptimizerState();
    }

    private static String name(MethodDescriptor<?, ?> method) {
        return method.getFullMethodName();
    }

    /**
     * The interceptor enforcing the policy on the caller {@link Role#caller()} found by
     * authentication, counting refusals in {@code registry} under the serving {@code role}.
     */
    static ServerInterceptor interceptor(MeterRegistry registry, String role) {
        return new Enforcer(Metrics.rejected(registry, role, FORBIDDEN));
    }

    private static String denial(Role caller, String method, String condition, Set<Role> allowed) {
        return "role " + caller + " may not call " + method + (condition == null ? "" : " with " + condition)
                + (allowed.isEmpty() ? " (no role may)" : " (allowed: " + ids(allowed) + ")");
    }

    private static String ids(Set<Role> roles) {
        StringBuilder b = new StringBuilder();
        for (Role r : roles) {
            b.append(b.length() == 0 ? "" : ", ").append(r.id());
        }
        return b.toString();
    }

    /** Refuses forbidden calls before the service sees them. Thread-safe. */
    private static final class Enforcer implements ServerInterceptor {

        private static final System.Logger LOG = System.getLogger(Authorization.class.getName());

        private final Counter forbidden;
        private final Refusals refusals = new Refusals(LOG);

        Enforcer(Counter forbidden) {
            this.forbidden = forbidden;
        }

        @Override
        public <ReqT, RespT> ServerCall.Listener<ReqT> interceptCall(ServerCall<ReqT, RespT> call, Metadata headers,
                ServerCallHandler<ReqT, RespT> next) {
            String method = call.getMethodDescriptor().getFullMethodName();
            Role caller = Role.caller();
            if (caller == null) {
                // Authentication runs first and always names a role: fail closed if it did not.
                refusals.refuse(call, Status.UNAUTHENTICATED.withDescription("no authenticated role"), forbidden);
                return Refusals.ignoring();
            }
            Rule rule = POLICY.get(method);
            if (rule == null || !rule.allows(caller)) {
                refusals.refuse(call, Status.PERMISSION_DENIED.withDescription(
                        denial(caller, method, null, rule == null ? Set.of() : rule.roles())), forbidden);
                return Refusals.ignoring();
            }
            ServerCall.Listener<ReqT> listener = next.startCall(call, headers);
            if (rule.narrowed() == null || rule.narrowed().roles().contains(caller)) {
                return listener;
            }
            return new Inspecting<>(listener, call, caller, rule.narrowed());
        }

        /**
         * Checks each request message against a narrower rule before passing it on; on a
         * forbidden one it closes the call and passes nothing more on but the end of the call,
         * so the service method never runs (a unary method runs on half-close).
         */
        private final class Inspecting<ReqT> extends SimpleForwardingServerCallListener<ReqT> {

            private final ServerCall<ReqT, ?> call;
            private final Role caller;
            private final Narrowing narrowed;
            // Listener callbacks of one call are never concurrent.
            private boolean refused;

            Inspecting(ServerCall.Listener<ReqT> delegate, ServerCall<ReqT, ?> call, Role caller, Narrowing narrowed) {
                super(delegate);
                this.call = call;
                this.caller = caller;
                this.narrowed = narrowed;
            }

            @Override
            public void onMessage(ReqT message) {
                if (refused) {
                    return;
                }
                Object request = message;
                if (message instanceof RequestParsing.Parsed<?> parsed) {
                    if (!parsed.parsed()) {
                        // Not a request at all: the service answers INVALID_ARGUMENT and changes nothing.
                        super.onMessage(message);
                        return;
                    }
                    request = parsed.message();
                }
                if (narrowed.when().test(request)) {
                    refused = true;
                    refusals.refuse(call, Status.PERMISSION_DENIED.withDescription(denial(caller,
                            call.getMethodDescriptor().getFullMethodName(), narrowed.condition(), narrowed.roles())),
                            forbidden);
                    return;
                }
                super.onMessage(message);
            }

            @Override
            public void onHalfClose() {
                if (!refused) {
                    super.onHalfClose();
                }
            }

            @Override
            public void onReady() {
                if (!refused) {
                    super.onReady();
                }
            }
        }
    }
}
