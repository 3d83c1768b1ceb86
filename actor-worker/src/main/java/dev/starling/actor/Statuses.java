package dev.starling.actor;

import java.util.Set;

import io.grpc.Status;

/** How the actor treats gRPC status codes from its peers. */
final class Statuses {

    /**
     * Codes that mean a misconfiguration or a bug (a malformed or foreign message, the wrong
     * service at that address, missing credentials): retrying would fail the same way forever,
     * so the actor stops instead. Every other code is retried with backoff.
     */
    private static final Set<Status.Code> FATAL = Set.of(Status.Code.INVALID_ARGUMENT,
            Status.Code.FAILED_PRECONDITION, Status.Code.UNIMPLEMENTED, Status.Code.UNAUTHENTICATED,
            Status.Code.PERMISSION_DENIED);

    private Statuses() {
    }

    static boolean isFatal(Status.Code code) {
        return FATAL.contains(code);
    }

    /** {@code CODE: description} (or just the code). */
    static String describe(Status status) {
        return status.getDescription() == null ? status.getCode().toString()
                : status.getCode() + ": " + status.getDescription();
    }
}
