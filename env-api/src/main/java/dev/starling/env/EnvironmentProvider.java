package dev.starling.env;

import java.util.List;

/**
 * The plug-in point: a jar names its environments through an implementation of this interface,
 * registered in {@code META-INF/services/dev.starling.env.EnvironmentProvider} (one class name
 * per line). Starling finds providers with {@link java.util.ServiceLoader} on its own classpath
 * (the built-in environments) and in every {@code --env-jar}. The implementation needs a public
 * no-argument constructor.
 */
public interface EnvironmentProvider {

    /** The environments this jar offers; names must be unique across every loaded jar. */
    List<EnvironmentDefinition> environments();
}
