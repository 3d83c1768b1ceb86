package dev.starling.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import picocli.CommandLine;

/**
 * A mistake in an option fails at once: one line naming the option, the value and the valid
 * range, exit code 2, and nothing started (no run folder, no child process), whichever role
 * would have refused the value.
 */
class OptionValidationTest {

    @ParameterizedTest(name = "train {0}")
    @CsvSource(delimiter = '|', value = {
        // The learner refused these after the parameter server had started:
        "--unroll 0                    | starling train: --unroll must be in [1, 1024], got 0",
        "--learning-rate -1            | starling train: --learning-rate must be finite and > 0, got -1.0",
        // An actor refused this after the parameter server and the learner had started:
        "--num-envs 100000             | starling train: --num-envs must be in [1, 4096], got 100000",
        "--max-in-flight 0             | starling train: --max-in-flight must be in [1, 1024], got 0",
        "--entropy-cost -1             | starling train: --entropy-cost must be finite and >= 0, got -1.0",
        "--batch-chunks 3              | starling train: --queue-chunks must be at least --batch-chunks (3): the trainer takes a whole batch from the queue, got 1",
        // The a3c parameter server:
        "--mode a3c --max-staleness -1 | starling train: --max-staleness must be >= 0, got -1",
        "--mode a3c --learning-rate 0  | starling train: --learning-rate must be finite and > 0, got 0.0",
        // The synchronous trainer:
        "--mode sync --unroll 2000     | starling train: --unroll must be in [1, 1024], got 2000",
        // The launcher's own:
        "--max-seconds -5              | starling train: --max-seconds must be finite and >= 0 (0 = no limit), got -5.0",
        "--actors 0                    | starling train: --actors must be in [1, 256], got 0",
        "--env breakout                | starling train: --env: unknown environment 'breakout'; known: cartpole, masked-cartpole, repeat-previous, scripted, pendulum, pong (add your own with --env-jar PATH)",
        // The model: conv layers are for images, and each is CHANNELS:KERNEL:STRIDE.
        "--conv-layers 8:3:2           | starling train: conv layers encode image observations; box(2) is not an image",
        "--env pong --conv-layers 8:x:2 | starling train: --conv-layers: conv layer '8:x:2' is not CHANNELS:KERNEL:STRIDE, such as 16:3:2",
        "--env pong --conv-layers 8:5:8,8:5:8 | starling train: conv layer 8:5:8 has a kernel larger than its 4x4 input (of image(1,32,32))",
        "--env-jar /nonexistent.jar    | starling train: --env-jar /nonexistent.jar: no such file",
        "--env scripted --max-frames 0 --max-seconds 0 | starling train: environment 'scripted' states no reward threshold: give --target-return, --max-frames or --max-seconds, or the run never ends",
        "--unroll abc                  | starling train: Invalid value for option '--unroll': 'abc' is not an int (see 'starling train --help')",
        // r2d2: the launcher's own check, then what the learner and an actor would refuse.
        "--mode bogus                  | starling train: unknown --mode 'bogus': expected impala, a3c, r2d2 or sync",
        "--mode r2d2 --env pendulum    | starling train: --mode r2d2 needs a discrete action space; pendulum has box(-2,2;1) (use impala or a3c)",
        "--mode r2d2 --overlap 30      | starling train: --overlap must be in [0, 79] with the sequence length 80 a multiple of (length - overlap), got 30 (sequences are built from whole chunks of length - overlap steps)",
        "--mode r2d2 --burn-in 80      | starling train: --burn-in must be in [0, 79] (steps left to train on), got 80",
        "--mode r2d2 --min-replay-sequences 10 | starling train: --min-replay-sequences must be in [--batch-sequences, --replay-sequences] = [64, 100000], got 10",
        "--mode r2d2 --epsilon-base 2  | starling train: --epsilon-base must be in [0, 1], got 2.0",
        "--checkpoint-replay           | starling train: --checkpoint-replay and --replay-dir keep an r2d2 learner's replay: use them with --mode r2d2",
        "--mode r2d2 --checkpoint-replay --replay-dir /tmp/x | starling train: --checkpoint-replay keeps the replay in the run folder; --replay-dir somewhere else: give one of them",
    })
    void aBadTrainOptionIsOneLineAndStartsNothing(String options, String expected, @TempDir Path dir) {
        Path runDir = dir.resolve("run");
        List<String> args = new ArrayList<>(List.of("train", "--run-dir", runDir.toString()));
        args.addAll(List.of(options.trim().split("\\s+")));
        Set<Long> before = descendants();
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int code = Main.run(new PrintWriter(out, true), new PrintWriter(err, true), args.toArray(String[]::new));
        assertEquals(2, code, err.toString());
        assertEquals(expected.trim(), err.toString().strip(), "exactly one line");
        assertEquals("", out.toString());
        assertFalse(Files.exists(runDir), "a run folder was created");
        assertEquals(before, descendants(), "a process was started");
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
        "learner --observation-space box(2) --action-space discrete(2) --unroll 0 | starling learner: --unroll must be in [1, 1024], got 0",
        "learner --unroll 1                 | starling learner: --observation-space is required: this role builds the model without loading the environment; `starling envs` prints the spaces of every environment",
        "learner --observation-space box(2) --action-space box(2) | starling learner: --action-space: action space 'box(2)': a continuous action box needs finite bounds, such as box(-1,1;2)",
        "actor --num-envs 100000            | starling actor: --num-envs must be in [1, 4096], got 100000",
        "parameter-server --keep-checkpoints 0 | starling parameter-server: --keep-checkpoints must be at least 1, got 0",
        "actor --mode r2d2 --actor-index 2 --actor-count 2 | starling actor: --actor-index must be in [0, --actor-count - 1] and --actor-count >= 1, got 2 of 2",
        "actor --mode r2d2 --env pendulum   | starling actor: --mode r2d2 needs a discrete action space; pendulum has box(-2,2;1) (use impala or a3c)",
        "actor --mode bogus                 | starling actor: unknown --mode 'bogus': expected impala, a3c or r2d2",
        "actor --mode r2d2 --overlap 30     | starling actor: --overlap must be in [0, 79] with the sequence length 80 a multiple of (length - overlap), got 30 (sequences are built from whole chunks of length - overlap steps)",
        "learner --observation-space box(2) --action-space discrete(2) --mode r2d2 --replay-bytes 100000 | starling learner: --replay-bytes 100000 holds 32 sequences of this model (3112 bytes each), fewer than --min-replay-sequences 1000: training would never start",
        "learner --observation-space box(2) --action-space box(-1,1;2) --mode r2d2 | starling learner: a Q-network (r2d2) needs a discrete action space, got box(-1,1;2)",
        "learner --observation-space box(2) --action-space discrete(2) --mode a3c | starling learner: unknown --mode 'a3c': expected impala or r2d2 (a3c has no learner)",
        "learner --observation-space box(2) --action-space discrete(2) --mode r2d2 --sequence-length 10 --overlap 4 | starling learner: --overlap must be in [0, 9] with the sequence length 10 a multiple of (length - overlap), got 4 (sequences are built from whole chunks of length - overlap steps)",
    })
    void aRoleStartedByHandNamesItsOptionToo(String command, String expected) {
        StringWriter err = new StringWriter();
        int code = Main.run(new PrintWriter(new StringWriter(), true), new PrintWriter(err, true),
                command.trim().split("\\s+"));
        assertEquals(2, code, err.toString());
        assertEquals(expected.trim(), err.toString().strip());
    }

    @Test
    void onlyFieldsThatAreOptionsOfTheCommandAreRenamed() {
        CommandLine.Model.CommandSpec train = new CommandLine(new TrainCommand()).getCommandSpec();
        assertEquals("--num-envs must be in [1, 4096], got 0",
                Main.withOptionNames("numEnvs must be in [1, 4096], got 0", train));
        assertEquals("--max-staleness must be >= 0, got -1",
                Main.withOptionNames("a3c.maxStaleness must be >= 0, got -1", train));
        // Not an option of train: left as it is; a lower-case word only at the start.
        assertEquals("checkpointDir is missing; got unroll 3",
                Main.withOptionNames("checkpointDir is missing; got unroll 3", train));
        assertEquals("unknown --mode 'x'", Main.withOptionNames("unknown --mode 'x'", train));
    }

    private static Set<Long> descendants() {
        return ProcessHandle.current().descendants().map(ProcessHandle::pid).collect(Collectors.toSet());
    }
}
