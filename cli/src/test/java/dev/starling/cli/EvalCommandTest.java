package dev.starling.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;

import dev.starling.common.model.ActorCritic;
import dev.starling.common.model.ModelConfig;
import dev.starling.common.model.ParameterCodec;
import dev.starling.common.model.Torch;
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
 * 3 per episode and one that always takes action 1 earns 2.
 */
class EvalCommandTest {

    @Test
    void evalReportsTheExactReturnOfKnownPolicies(@TempDir Path dir) throws Exception {
        assertEquals("mean return 3.00", firstWords(eval(checkpoint(dir.resolve("zero"), 0, 7), "--greedy")));
        assertEquals("mean return 2.00", firstWords(eval(checkpoint(dir.resolve("one"), 1, 9), "--greedy")));
        // Sampling from a policy this sure of itself takes the same action.
        String sampled = eval(dir.resolve("zero"));
        assertEquals("mean return 3.00", firstWords(sampled));
        assertTrue(sampled.contains("policy version 7"), sampled);
    }

    @Test
    void aCheckpointForAnotherEnvironmentIsRejectedWithAClearMessage(@TempDir Path dir) throws Exception {
        checkpoint(dir.resolve("c"), 0, 1);
        StringWriter err = new StringWriter();
        int code = Main.run(new PrintWriter(new StringWriter(), true), new PrintWriter(err, true), "eval",
                "--checkpoint", dir.resolve("c").toString(), "--env", "cartpole");
        assertEquals(2, code);
        assertTrue(err.toString().contains("takes 3 observations and 2 actions, but cartpole has 4 and 2"), err.toString());
    }

    /** A checkpoint of a scripted-env model whose policy always prefers {@code action}. */
    private static Path checkpoint(Path dir, int action, long version) throws Exception {
        try (ActorCritic model = new ActorCritic(new ModelConfig(3, 2, 8, 8), 1, Torch.device("cpu"));
                NoGradGuard noGrad = new NoGradGuard()) {
            Tensor w = model.parameter("head.weight");
            Tensor b = model.parameter("head.bias");
            w.zero_();
            b.zero_();
            b.narrow(0, action, 1).fill_(new Scalar(50.0));
            CheckpointStore store = new CheckpointStore(dir, 1);
            store.open();
            store.write(Checkpoint.newBuilder().setParameters(new ParameterCodec(model).encode(version)).build());
        }
        return dir;
    }

    private static String eval(Path checkpoint, String... extra) {
        String[] args = new String[6 + extra.length];
        args[0] = "eval";
        args[1] = "--checkpoint";
        args[2] = checkpoint.toString();
        args[3] = "--env";
        args[4] = "scripted";
        args[5] = "--episodes=40";
        System.arraycopy(extra, 0, args, 6, extra.length);
        StringWriter out = new StringWriter();
        assertEquals(0, Main.run(new PrintWriter(out, true), new PrintWriter(new StringWriter(), true), args));
        return out.toString();
    }

    private static String firstWords(String s) {
        String[] words = s.trim().split(" ");
        return words[0] + " " + words[1] + " " + words[2];
    }
}
