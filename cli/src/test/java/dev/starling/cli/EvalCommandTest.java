package dev.starling.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

import dev.starling.common.model.ActorCritic;
import dev.starling.common.model.ModelConfig;
import dev.starling.common.model.ParameterCodec;
import dev.starling.common.model.Torch;
import dev.starling.env.Box;
import dev.starling.env.Discrete;
import dev.starling.env.EnvironmentDefinition;
import dev.starling.envs.EnvironmentRegistry;
import dev.starling.envs.VectorEnv;
import dev.starling.envs.VectorStep;
import dev.starling.proto.v1.Checkpoint;
import dev.starling.ps.CheckpointStore;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * eval against policies whose return is known exactly: on the scripted environment (5 steps,
 * reward 1 when the action equals the step's parity) a policy that always takes action 0 earns
 * 3 per episode and one that always takes action 1 earns 2; on the pendulum, a policy whose mean
 * torque is far above the bound earns what a constant torque of 2 earns. The checkpoints are
 * written by the parameter server's store, so this also checks that eval's reader (the policy
 * module's) reads what the server writes.
 */
class EvalCommandTest {

    private static final ModelConfig SCRIPTED = new ModelConfig(Box.of(3), new Discrete(2), List.of(8), 8);
    private static final ModelConfig PENDULUM = new ModelConfig(
            EnvironmentRegistry.builtIn().get("pendulum").observationSpace(), Box.bounded(-2f, 2f, 1), List.of(8), 8);

    @Test
    void evalReportsTheExactReturnOfKnownPolicies(@TempDir Path dir) throws Exception {
        assertEquals("mean return 3.00", firstWords(eval(checkpoint(dir.resolve("zero"), SCRIPTED, 0, 7), "scripted",
                "--greedy")));
        assertEquals("mean return 2.00", firstWords(eval(checkpoint(dir.resolve("one"), SCRIPTED, 1, 9), "scripted",
                "--greedy")));
        // Sampling from a policy this sure of itself takes the same action.
        String sampled = eval(dir.resolve("zero"), "scripted");
        assertEquals("mean return 3.00", firstWords(sampled));
        assertTrue(sampled.contains("over 40 episodes of scripted, policy version 7") && !sampled.contains("greedy"),
                sampled);
    }

    @Test
    void evalPlaysAContinuousPolicyWithItsActionsClippedToTheBox(@TempDir Path dir) throws Exception {
        int episodes = 3;
        long seed = 5;
        String out = run("eval", "--checkpoint", checkpoint(dir.resolve("p"), PENDULUM, 0, 4).toString(), "--env",
                "pendulum", "--greedy", "--seed", Long.toString(seed), "--episodes=" + episodes);
        // The same episodes played with the constant torque 2 (the clipped mean of 50).
        double mean = meanFirstEpisodeReturn(EnvironmentRegistry.builtIn().get("pendulum"), episodes, seed,
                step -> Arrays.fill(step.continuousActions, 2f));
        assertEquals(String.format(Locale.ROOT, "mean return %.2f", mean), firstWords(out), out);
        assertTrue(out.contains("episodes of pendulum, policy version 4, greedy"), out);
    }

    @Test
    void aRunFolderIsPlayedOnItsOwnEnvironmentAndPixelsReachThePolicy(@TempDir Path dir) throws Exception {
        // A Pong policy that always stays, in a run folder whose options name pong.
        EnvironmentDefinition pong = EnvironmentRegistry.builtIn().get("pong");
        ModelConfig config = new ModelConfig(pong.observationSpace(), pong.actionSpace(), List.of(8), 8);
        Path run = dir.resolve("run");
        checkpoint(run.resolve("checkpoints"), config, 0, 3);
        Files.writeString(run.resolve(SavedOptions.FILE), "env=pong\nmode=impala\n");
        int episodes = 4;
        String out = run("eval", "--checkpoint", run.toString(), "--greedy", "--seed", "5", "--episodes=" + episodes);
        // The same games played by hand with "stay": the return eval reports is theirs.
        double mean = meanFirstEpisodeReturn(pong, episodes, 5, step -> Arrays.fill(step.discreteActions, 0));
        assertEquals(String.format(Locale.ROOT, "mean return %.2f", mean), firstWords(out), out);
        assertTrue(mean < 0, "a paddle that never moves loses: " + mean);
        assertTrue(out.contains("episodes of pong, policy version 3, greedy"), out);

        // A run that played environment servers names them: eval cannot guess where they are.
        Files.writeString(run.resolve(SavedOptions.FILE), "env-server=localhost:50051\n");
        StringWriter err = new StringWriter();
        assertEquals(2, Main.run(new PrintWriter(new StringWriter(), true), new PrintWriter(err, true), "eval",
                "--checkpoint", run.toString()));
        assertTrue(err.toString().contains("played environment servers (localhost:50051): give --env-server"),
                err.toString());
    }

    @Test
    void aCheckpointForAnotherEnvironmentIsRejectedWithAClearMessage(@TempDir Path dir) throws Exception {
        checkpoint(dir.resolve("c"), SCRIPTED, 0, 1);
        StringWriter err = new StringWriter();
        int code = Main.run(new PrintWriter(new StringWriter(), true), new PrintWriter(err, true), "eval",
                "--checkpoint", dir.resolve("c").toString(), "--env", "cartpole");
        assertEquals(2, code);
        assertTrue(err.toString().contains("the checkpoint's model observes box(3) and acts in discrete(2), but"
                + " cartpole has box(4) and discrete(2)"), err.toString());
    }

    @Test
    void aMissingOrCorruptCheckpointIsOneLineAndExitCode2(@TempDir Path dir) throws Exception {
        Path missing = dir.resolve("nothing-here");
        StringWriter err = new StringWriter();
        assertEquals(2, Main.run(new PrintWriter(new StringWriter(), true), new PrintWriter(err, true), "eval",
                "--checkpoint", missing.toString(), "--env", "scripted"));
        assertTrue(err.toString().contains("checkpoint " + missing + " does not exist"), err.toString());

        Path file = checkpoint(dir.resolve("c"), SCRIPTED, 0, 1).resolve(CheckpointStore.fileName(1));
        byte[] bytes = Files.readAllBytes(file);
        bytes[bytes.length / 2] ^= 1;
        Files.write(file, bytes);
        err = new StringWriter();
        assertEquals(2, Main.run(new PrintWriter(new StringWriter(), true), new PrintWriter(err, true), "eval",
                "--checkpoint", file.toString(), "--env", "scripted"));
        assertTrue(err.toString().contains("no valid checkpoint at " + file) && err.toString().contains("CRC mismatch"),
                err.toString());
        assertEquals(1, err.toString().strip().lines().count(), err.toString());
    }

    /**
     * The mean return of the first episode of each of {@code episodes} environments seeded as eval
     * seeds them, playing the actions {@code act} writes before every step.
     */
    private static double meanFirstEpisodeReturn(EnvironmentDefinition env, int episodes, long seed,
            java.util.function.Consumer<VectorStep> act) {
        VectorEnv envs = new VectorEnv(env, episodes, seed);
        VectorStep step = envs.newStep();
        envs.reset(step);
        double[] returns = new double[episodes];
        boolean[] finished = new boolean[episodes];
        int remaining = episodes;
        while (remaining > 0) {
            act.accept(step);
            envs.step(step);
            for (int e = 0; e < episodes; e++) {
                if (!finished[e]) {
                    returns[e] += step.rewards[e];
                    if (step.done(e)) {
                        finished[e] = true;
                        remaining--;
                    }
                }
            }
        }
        return Arrays.stream(returns).average().orElseThrow();
    }

    /**
     * A checkpoint whose policy outputs are the head's biases alone: logit 50 for {@code action}
     * (discrete), or mean 50 in every dimension (continuous).
     */
    @SuppressWarnings("try")
    private static Path checkpoint(Path dir, ModelConfig config, int action, long version) throws Exception {
        try (ActorCritic model = new ActorCritic(config, 1, Torch.device("cpu"));
                NoGradGuard noGrad = new NoGradGuard()) {
            Tensor w = model.parameter("head.weight");
            Tensor b = model.parameter("head.bias");
            w.zero_();
            b.zero_();
            if (config.continuous()) {
                b.narrow(0, 0, config.actionSize()).fill_(new Scalar(50.0));
            } else {
                b.narrow(0, action, 1).fill_(new Scalar(50.0));
            }
            CheckpointStore store = new CheckpointStore(dir, 1);
            store.open();
            store.write(Checkpoint.newBuilder().setParameters(new ParameterCodec(model).encode(version)).build());
        }
        return dir;
    }

    /** eval of 40 episodes. */
    private static String eval(Path checkpoint, String env, String... extra) {
        String[] args = new String[6 + extra.length];
        args[0] = "eval";
        args[1] = "--checkpoint";
        args[2] = checkpoint.toString();
        args[3] = "--env";
        args[4] = env;
        args[5] = "--episodes=40";
        System.arraycopy(extra, 0, args, 6, extra.length);
        return run(args);
    }

    /** Runs the launcher, which must succeed; returns what it printed. */
    private static String run(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        assertEquals(0, Main.run(new PrintWriter(out, true), new PrintWriter(err, true), args), err.toString());
        return out.toString();
    }

    private static String firstWords(String s) {
        String[] words = s.trim().split(" ");
        return words[0] + " " + words[1] + " " + words[2];
    }
}
