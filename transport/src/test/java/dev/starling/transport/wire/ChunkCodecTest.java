package dev.starling.transport.wire;

import dev.starling.common.model.TestConfigs;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;

import dev.starling.common.model.ModelConfig;
import dev.starling.common.rl.Rollout;
import dev.starling.common.rl.RolloutFixtures;
import dev.starling.common.rollout.EpisodeBuffer;
import dev.starling.env.Discrete;
import dev.starling.env.Image;
import dev.starling.proto.v1.TrajectoryChunk;
import io.grpc.Status;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Round trips for both action spaces, truncation validation, and regression tests for the
 * actor_id check (issue 7: an empty or overlong actor id was accepted).
 */
class ChunkCodecTest {

    private static final ModelConfig MODEL = TestConfigs.discrete(2, 2, 8, 8);
    private static final long SPEC = 42;

    private static TrajectoryChunk chunk(String actorId) {
        Rollout r = RolloutFixtures.random(MODEL, 4, 2, RolloutFixtures.Dones.RANDOM, 3);
        return ChunkCodec.encode(r, actorId, 0, 0, SPEC, new EpisodeBuffer());
    }

    private static Rollout decode(TrajectoryChunk c) throws InvalidMessageException {
        return ChunkCodec.decode(c, MODEL, SPEC, 0, 4, ChunkLimits.defaults());
    }

    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void aRolloutSurvivesTheWireUnchanged(boolean continuous) throws Exception {
        ModelConfig model = continuous ? TestConfigs.continuous(3, 2, 8, 8) : MODEL;
        Rollout r = RolloutFixtures.random(model, 5, 3, RolloutFixtures.Dones.RANDOM, 11);
        Rollout back = ChunkCodec.decode(ChunkCodec.encode(r, "a", 0, 0, SPEC, new EpisodeBuffer()), model, SPEC, 0, 5,
                ChunkLimits.defaults());
        assertArrayEquals(r.observations, back.observations);
        assertArrayEquals(r.actions, back.actions);
        assertArrayEquals(r.continuousActions, back.continuousActions);
        assertArrayEquals(r.rewards, back.rewards);
        assertArrayEquals(r.dones, back.dones);
        assertArrayEquals(r.truncated, back.truncated);
        assertArrayEquals(r.bootstrapValues, back.bootstrapValues);
        assertArrayEquals(r.behaviourLogProbs, back.behaviourLogProbs);
        assertArrayEquals(r.initialH, back.initialH);
        assertArrayEquals(r.initialC, back.initialC);
        assertEquals(continuous, r.continuousActions.length > 0);
    }

    @Test
    void imageObservationsTravelAsOneBytePerPixelAndTheirSizeIsChecked() throws Exception {
        ModelConfig model = new ModelConfig(new Image(1, 5, 6), new Discrete(3), List.of(new ModelConfig.ConvLayer(4, 3, 1)),
                List.of(8), 8);
        Rollout r = RolloutFixtures.random(model, 4, 3, RolloutFixtures.Dones.RANDOM, 5);
        TrajectoryChunk chunk = ChunkCodec.encode(r, "a", 0, 0, SPEC, new EpisodeBuffer());
        assertEquals(5 * 3 * 30, chunk.getObservations().size(), "[T+1, K, 30] pixels, one byte each");
        Rollout back = ChunkCodec.decode(chunk, model, SPEC, 0, 4, ChunkLimits.defaults());
        assertTrue(back.images);
        assertArrayEquals(r.pixels, back.pixels);
        assertEquals(0, back.observations.length);
        assertArrayEquals(r.actions, back.actions);

        // Float observations where pixels belong (four bytes a value) are a shape error naming the image.
        TrajectoryChunk floats = chunk.toBuilder().setObservations(ChunkCodec.floats(new float[5 * 3 * 30])).build();
        InvalidMessageException e = assertThrows(InvalidMessageException.class,
                () -> ChunkCodec.decode(floats, model, SPEC, 0, 4, ChunkLimits.defaults()));
        assertEquals("shape", e.reason());
        assertTrue(e.getMessage().contains("uint8 pixels of image(1,5,6)"), e.getMessage());
        // And pixels where floats belong: a box model reads the same bytes as a quarter as many floats.
        ModelConfig box = TestConfigs.discrete(30, 3, 8, 8);
        e = assertThrows(InvalidMessageException.class,
                () -> ChunkCodec.decode(chunk, box, SPEC, 0, 4, ChunkLimits.defaults()));
        assertEquals("shape", e.reason());
        assertTrue(e.getMessage().contains("float32"), e.getMessage());
    }

    @Test
    void aTruncationMustEndTheEpisodeAndCarryItsValue() {
        Rollout r = RolloutFixtures.random(MODEL, 4, 2, RolloutFixtures.Dones.NONE, 3);
        r.dones[3] = true;
        r.truncated[3] = true;
        r.bootstrapValues[3] = 2.5f;
        TrajectoryChunk good = ChunkCodec.encode(r, "a", 0, 0, SPEC, new EpisodeBuffer());
        assertEquals(1, good.getTruncationValuesCount());
        TrajectoryChunk notDone = good.toBuilder().setDones(3, false).build();
        assertEquals("truncated", assertThrows(InvalidMessageException.class, () -> decode(notDone)).reason());
        TrajectoryChunk noValue = good.toBuilder().clearTruncationValues().build();
        assertEquals("truncation_values", assertThrows(InvalidMessageException.class, () -> decode(noValue)).reason());
        TrajectoryChunk extra = good.toBuilder().addTruncationValues(1f).build();
        assertEquals("truncation_values", assertThrows(InvalidMessageException.class, () -> decode(extra)).reason());
        TrajectoryChunk nan = good.toBuilder().setTruncationValues(0, Float.NaN).build();
        assertEquals("non_finite", assertThrows(InvalidMessageException.class, () -> decode(nan)).reason());
        TrajectoryChunk continuousForDiscrete = good.toBuilder().setContinuousActions(
                ChunkCodec.floats(new float[8])).build();
        assertEquals("shape", assertThrows(InvalidMessageException.class, () -> decode(continuousForDiscrete)).reason());
    }

    @ParameterizedTest
    @ValueSource(strings = {"", " ", "\t\n"})
    void anEmptyOrBlankActorIdIsInvalid(String actorId) {
        InvalidMessageException e = assertThrows(InvalidMessageException.class, () -> decode(chunk(actorId)));
        assertEquals(Status.Code.INVALID_ARGUMENT, e.code());
        assertEquals("actor_id", e.reason());
        assertEquals("actor_id is empty or blank: every chunk must name the actor that sent it", e.getMessage());
    }

    @ParameterizedTest
    @ValueSource(ints = {ChunkCodec.MAX_ACTOR_ID_LENGTH + 1, 100_000})
    void anOverlongActorIdIsInvalid(int length) {
        InvalidMessageException e = assertThrows(InvalidMessageException.class, () -> decode(chunk("a".repeat(length))));
        assertEquals("actor_id", e.reason());
        assertEquals("actor_id has " + length + " characters, at most 256 are accepted", e.getMessage());
    }

    @Test
    void anOverlongActorIdIsCutInLogs() {
        assertEquals("actor-3", ChunkCodec.loggable("actor-3"));
        assertEquals("a".repeat(64) + "... (100000 characters)", ChunkCodec.loggable("a".repeat(100_000)));
    }

    @ParameterizedTest
    @ValueSource(ints = {1, ChunkCodec.MAX_ACTOR_ID_LENGTH})
    void actorIdsUpToTheLimitAreFine(int length) throws Exception {
        assertEquals(8, decode(chunk("a".repeat(length))).frames());
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "a"})
    void aWrongSpecHashIsStillReportedFirst(String actorId) {
        TrajectoryChunk c = chunk(actorId).toBuilder().setSpecHash(SPEC + 1).build();
        InvalidMessageException e = assertThrows(InvalidMessageException.class, () -> decode(c));
        assertEquals(Status.Code.FAILED_PRECONDITION, e.code());
        assertEquals("spec_hash", e.reason());
    }
}
