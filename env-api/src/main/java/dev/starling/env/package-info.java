/**
 * The environment API: everything an author needs to put a simulation on a Starling cluster,
 * and nothing else (plain Java 17, no libtorch, no gRPC).
 *
 * <h2>Writing an environment</h2>
 * <ol>
 *   <li>Implement {@link dev.starling.env.Environment}: say what it observes
 *       ({@link dev.starling.env.Box} of floats or {@link dev.starling.env.Image} of bytes) and
 *       what it accepts ({@link dev.starling.env.Discrete} or a bounded {@link dev.starling.env.Box}),
 *       then {@code reset(seed, observation)} and {@code step(action, observation)}. Write
 *       observations into the {@link dev.starling.env.Observation} you are handed; read actions
 *       from the {@link dev.starling.env.Action}. Report the end of an episode with
 *       {@code terminated()} (a terminal state: no future reward) or {@code truncated()} (a
 *       time limit or other cut-off: the future would have continued).
 *   <li>Name it: an {@link dev.starling.env.EnvironmentProvider} returns one
 *       {@link dev.starling.env.EnvironmentDefinition} per environment (name, description,
 *       spaces, a factory).
 *   <li>Register the provider: a file
 *       {@code META-INF/services/dev.starling.env.EnvironmentProvider} in your jar holding the
 *       provider's class name.
 *   <li>Train: {@code ./starling train --env-jar my-envs.jar --env my-env}.
 * </ol>
 *
 * <p>Threading: each environment instance is driven by one thread at a time; instances of the
 * same definition may run on different threads, so do not share mutable state between them.
 */
package dev.starling.env;
