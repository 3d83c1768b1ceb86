package dev.starling.envs;

import dev.starling.env.EnvironmentDefinition;

/**
 * Where vector environments of one kind come from: this process ({@link #local}) or environment
 * servers ({@code dev.starling.envs.remote.EnvironmentServers}). What {@code eval} and the
 * launcher's evaluations play.
 */
public interface EnvironmentSource {

    /** The environment: name, spaces, reward scale and threshold. */
    EnvironmentDefinition definition();

    /**
     * {@code numEnvs} environments seeded from {@code seed}, for measuring (an evaluation): their
     * episodes are whole or the play fails (a lost environment server is an error, not a restart).
     * The caller closes them.
     */
    VectorEnvironment open(int numEnvs, long seed);

    /** The most environments {@link #open} should be asked for at once; unlimited in this process. */
    default int batchLimit() {
        return Integer.MAX_VALUE;
    }

    /** Instances of {@code definition} in this process. */
    static EnvironmentSource local(EnvironmentDefinition definition) {
        return new EnvironmentSource() {
            @Override
            public EnvironmentDefinition definition() {
                return definition;
            }

            @Override
            public VectorEnvironment open(int numEnvs, long seed) {
                return new VectorEnv(definition, numEnvs, seed);
            }
        };
    }
}
