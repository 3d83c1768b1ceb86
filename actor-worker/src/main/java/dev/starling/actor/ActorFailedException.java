package dev.starling.actor;

/**
 * The actor stopped for a reason that retrying cannot fix: a configuration mismatch with the
 * learner or the parameter server, or no weights within the startup timeout. The message says
 * what is wrong and what to check; it is meant to be shown to the user as is.
 */
public final class ActorFailedException extends IllegalStateException {

    private static final long serialVersionUID = 1L;

    public ActorFailedException(String message) {
        super(message);
    }

    public ActorFailedException(String message, Throwable cause) {
        super(message, cause);
    }
}
