package dev.starling.transport.wire;

import io.grpc.Status;

/**
 * A peer's message failed validation. Carries the gRPC status to answer with
 * (INVALID_ARGUMENT for malformed data, FAILED_PRECONDITION for another model), a short reason
 * for the {@code starling_rejected_total{reason}} counter, and a message saying what was wrong.
 */
public final class InvalidMessageException extends Exception {

    private static final long serialVersionUID = 1L;

    private final Status.Code code;
    private final String reason;

    public InvalidMessageException(Status.Code code, String reason, String message) {
        super(message, null, false, false);
        this.code = code;
        this.reason = reason;
    }

    public Status.Code code() {
        return code;
    }

    public String reason() {
        return reason;
    }

    /** The status to send back: code and message. */
    public Status status() {
        return Status.fromCode(code).withDescription(getMessage());
    }
}
