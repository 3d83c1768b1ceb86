package dev.starling.envs.remote;

/**
 * An environment server that cannot be played, whatever the retries: its spaces are not the
 * model's, it refuses this actor's request, or it is not an environment server. Reconnecting
 * would not help; the message says what to change.
 */
public final class EnvironmentServerException extends RuntimeException {

    public EnvironmentServerException(String message) {
        super(message);
    }

    public EnvironmentServerException(String message, Throwable cause) {
        super(message, cause);
    }
}
