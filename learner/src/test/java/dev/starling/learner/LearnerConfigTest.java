package dev.starling.learner;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.function.Supplier;
import java.util.stream.Stream;

import dev.starling.envs.EnvironmentRegistry;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class LearnerConfigTest {

    private static final LearnerConfig D = LearnerConfig.defaults("masked-cartpole", "localhost:50051");

    @Test
    void defaultsAreTheDocumentedOnes() {
        assertEquals(0, D.port());
        assertEquals(java.util.List.of(64), D.modelConfig().encoderSizes());
        assertEquals(128, D.modelConfig().lstmSize());
        assertEquals(32, D.unroll());
        assertEquals(2, D.batchChunks());
        assertEquals(2, D.queueChunks(), "queue = one batch: less policy lag");
        assertEquals(20, D.maxPolicyLag());
        assertEquals(1, D.publishEvery());
        assertEquals(5, D.optimizerStateEverySeconds());
        assertEquals("rmsprop", D.optimizer());
        assertEquals(1e-3, D.learningRate());
        assertEquals(EnvironmentRegistry.builtIn().get("masked-cartpole").rewardScale(), D.loss().rewardScale());
        assertEquals("cpu", D.device());
        assertEquals(64 << 20, D.maxMessageBytes());
        assertEquals(Duration.ofSeconds(60), D.startupTimeout());
        assertEquals(2, D.modelConfig().observationSize());
        assertTrue(D.training(), "training is on unless switched off");
    }

    @Test
    void theTrainingSwitchSurvivesTheOtherWithers() {
        LearnerConfig off = D.withTraining(false);
        assertFalse(off.training());
        assertEquals(D.withTraining(true), D);
        assertFalse(off.withPort(5).withUnroll(8).withBatching(1, 4).withStartupTimeout(Duration.ofSeconds(3))
                .training(), "other withers keep the switch");
        assertTrue(off.toString().contains("training=false"), off.toString());
    }

    static Stream<Arguments> invalid() {
        return Stream.of(
                Arguments.of("port", (Supplier<LearnerConfig>) () -> D.withPort(70000)),
                Arguments.of("parameterServer", (Supplier<LearnerConfig>) () -> LearnerConfig.defaults("cartpole", " ")),
                Arguments.of("parameterServer", (Supplier<LearnerConfig>) () -> D.withParameterServer(null)),
                Arguments.of("lstmSize", (Supplier<LearnerConfig>) () -> D.withModel(java.util.List.of(64), 0)),
                Arguments.of("encoder width", (Supplier<LearnerConfig>) () -> D.withModel(java.util.List.of(-1), 8)),
                Arguments.of("unroll", (Supplier<LearnerConfig>) () -> D.withUnroll(0)),
                Arguments.of("unroll", (Supplier<LearnerConfig>) () -> D.withUnroll(5000)),
                Arguments.of("batchChunks", (Supplier<LearnerConfig>) () -> D.withBatching(0, 8)),
                Arguments.of("queueChunks", (Supplier<LearnerConfig>) () -> D.withBatching(4, 2)),
                Arguments.of("maxPolicyLag", (Supplier<LearnerConfig>) () -> D.withMaxPolicyLag(-1)),
                Arguments.of("publishEvery", (Supplier<LearnerConfig>) () -> D.withPublishing(0, 5)),
                Arguments.of("optimizerStateEverySeconds", (Supplier<LearnerConfig>) () -> D.withPublishing(1, -1)),
                Arguments.of("optimizer", (Supplier<LearnerConfig>) () -> D.withOptimizer("sgd", 1e-3)),
                Arguments.of("learningRate", (Supplier<LearnerConfig>) () -> D.withOptimizer("adam", 0)),
                Arguments.of("learningRate", (Supplier<LearnerConfig>) () -> D.withOptimizer("adam", Double.NaN)),
                Arguments.of("loss", (Supplier<LearnerConfig>) () -> D.withLoss(null)),
                Arguments.of("device", (Supplier<LearnerConfig>) () -> D.withDevice("tpu")),
                Arguments.of("maxMessageBytes", (Supplier<LearnerConfig>) () -> D.withMaxMessageBytes(100)),
                Arguments.of("chunkLimits", (Supplier<LearnerConfig>) () -> D.withChunkLimits(null)),
                Arguments.of("startupTimeout", (Supplier<LearnerConfig>) () -> D.withStartupTimeout(Duration.ZERO)));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("invalid")
    void invalidValuesFailNamingTheField(String field, Supplier<LearnerConfig> build) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, build::get);
        assertTrue(e.getMessage().startsWith(field), e.getMessage());
    }

    @Test
    void unknownEnvironmentIsNamed() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> LearnerConfig.defaults("breakout", "x:1"));
        assertTrue(e.getMessage().contains("unknown environment 'breakout'"), e.getMessage());
    }

    @Test
    void deviceIsNormalised() {
        assertEquals("auto", D.withDevice("AUTO").device());
    }
}
