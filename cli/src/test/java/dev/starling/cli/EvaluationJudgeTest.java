package dev.starling.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;

import dev.starling.common.model.ActorCritic;
import dev.starling.common.model.CheckpointFiles;
import dev.starling.common.model.ModelConfig;
import dev.starling.common.model.ParameterCodec;
import dev.starling.common.model.Torch;
import dev.starling.env.Box;
import dev.starling.env.Discrete;
import dev.starling.envs.EnvironmentRegistry;
import dev.starling.envs.EnvironmentSource;
import dev.starling.proto.v1.Checkpoint;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Scalar;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Solved means what eval sees, checked with policies whose return is known exactly: on the
 * scripted environment (5 steps, reward 1 when the action equals the step's parity) always
 * taking action 0 earns 3 and always taking action 1 earns 2. The target is 3.
 */
class EvaluationJudgeTest {

    private static final ModelConfig SCRIPTED = new ModelConfig(Box.of(3), new Discrete(2), List.of(8), 8);
    private static final int EPISODES = 10;

    @Test
    void aHighTrainingAverageOnlyNominatesTheEvaluationDecidesAndKeepsTheBest(@TempDir Path run) throws Exception {
        EvaluationJudge judge = judge(run);
        long start = System.nanoTime();
        assertFalse(judge.solved(1.0, 1000, true, 3.5, () -> weights(1, 5)), "the weights earn 2, not 3");
        double took = (System.nanoTime() - start) / 1e9;
        assertEquals(1, judge.evaluations());
        assertEquals(2.0, judge.bestReturn(), 1e-9, "the first evaluation is the best so far");
        assertEquals(5, bestVersion(run));

        // The next evaluation waits at least as long as the last one took.
        assertFalse(judge.solved(1.1, 1100, true, 3.5, () -> fail("evaluated again at once")));
        Thread.sleep((long) (took * 1000) + 50);
        assertTrue(judge.solved(2.0, 2000, true, 3.5, () -> weights(0, 6)));
        assertEquals(3.0, judge.bestReturn(), 1e-9);
        assertEquals(6, bestVersion(run));

        // eval of the run folder loads the best weights and reports what the judge measured.
        StringWriter out = new StringWriter();
        assertEquals(0, Main.run(new PrintWriter(out, true), new PrintWriter(new StringWriter(), true), "eval",
                "--checkpoint", run.toString(), "--env", "scripted", "--episodes", Integer.toString(EPISODES)));
        assertTrue(out.toString().startsWith("mean return 3.00 (std 0.00) over 10 episodes of scripted, policy version 6"),
                out.toString());
        List<String> csv = Files.readAllLines(run.resolve(EvaluationJudge.EVALUATIONS));
        assertEquals(List.of(EvaluationJudge.HEADER, "1.000,1000,5,3.5000,2.0000,true", "2.000,2000,6,3.5000,3.0000,true"),
                csv);
    }

    @Test
    void belowTheTargetOnlyANewHighIsEvaluatedAndNotTooOften(@TempDir Path run) throws Exception {
        EvaluationJudge judge = judge(run);
        assertFalse(judge.solved(1.0, 100, false, 3.5, () -> fail("the window is not full")));
        AtomicInteger asked = new AtomicInteger();
        Supplier<Checkpoint> counted = () -> {
            asked.incrementAndGet();
            return weights(1, 7);
        };
        assertFalse(judge.solved(2.0, 200, true, 1.0, counted), "a first high is evaluated");
        assertEquals(1, asked.get());
        assertFalse(judge.solved(3.0, 300, true, 1.5, counted), "a higher one within 30 s is not");
        assertEquals(1, asked.get());
        assertEquals(1, judge.evaluations());
    }

    @Test
    void theSameVersionIsNotEvaluatedTwiceAndAResumedRunKeepsItsBetterBest(@TempDir Path run) throws Exception {
        EvaluationJudge first = judge(run);
        assertTrue(first.solved(1.0, 100, true, 3.0, () -> weights(0, 3)));
        assertFalse(first.solved(9.0, 900, true, 3.0, () -> weights(0, 3)), "nothing new to evaluate");
        assertEquals(1, first.evaluations());

        EvaluationJudge resumed = judge(run);
        assertEquals(3.0, resumed.bestReturn(), 1e-9, "read back from best/" + EvaluationJudge.BEST_RECORD);
        assertFalse(resumed.solved(20.0, 2000, true, 3.0, () -> weights(1, 9)));
        assertEquals(3, bestVersion(run), "a worse evaluation leaves the best checkpoint alone");
        assertEquals(3, Files.readAllLines(run.resolve(EvaluationJudge.EVALUATIONS)).size(), "header and two rows");
    }

    private static EvaluationJudge judge(Path run) {
        return new EvaluationJudge(run, EnvironmentSource.local(EnvironmentRegistry.builtIn().get("scripted")), 3.0, EPISODES);
    }

    private static long bestVersion(Path run) throws Exception {
        List<Path> files = CheckpointFiles.list(run.resolve(CheckpointFiles.RUN_FOLDER_BEST));
        assertEquals(1, files.size(), "one best checkpoint: " + files);
        return CheckpointFiles.read(files.get(0)).getParameters().getVersion();
    }

    /** Weights whose policy is the head's bias alone: logit 50 for {@code action}. */
    @SuppressWarnings("try")
    private static Checkpoint weights(int action, long version) {
        try (ActorCritic model = new ActorCritic(SCRIPTED, 1, Torch.device("cpu"));
                NoGradGuard noGrad = new NoGradGuard()) {
            model.parameter("head.weight").zero_();
            model.parameter("head.bias").zero_();
            model.parameter("head.bias").narrow(0, action, 1).fill_(new Scalar(50.0));
            return Checkpoint.newBuilder().setParameters(new ParameterCodec(model).encode(version)).build();
        }
    }
}
