/**
 * A trained Starling policy in your own JVM application: {@link dev.starling.policy.Policy#load}
 * a checkpoint file or run folder, then {@code act(observation)} per step, with one
 * {@link dev.starling.policy.Session} per episode or user being served, or a
 * {@link dev.starling.policy.Batch} to step many in one call. Needs libtorch (the bytedeco
 * presets) but no server, network or metrics library.
 */
package dev.starling.policy;
