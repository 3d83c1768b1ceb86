package dev.starling.learner;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;

import dev.starling.common.model.ModelConfig;
import dev.starling.common.model.ModelSpecs;
import dev.starling.common.rl.Rollout;
import dev.starling.common.rollout.EpisodeBuffer;
import dev.starling.learner.r2d2.SequenceReplay;
import dev.starling.proto.v1.ReplayHeader;
import dev.starling.proto.v1.ReplaySequence;
import dev.starling.transport.wire.ChunkCodec;
import dev.starling.transport.wire.ChunkLimits;
import dev.starling.transport.wire.InvalidMessageException;

/**
 * An r2d2 replay on disk, {@code DIR/replay.bin} (format in {@code replay.proto}): each sequence
 * as a one-environment chunk with its priority, oldest first. Written whole to a temporary file,
 * forced to disk and renamed over the old one, so a crash while writing leaves the previous
 * file; read back through the same validation as a chunk from an actor.
 */
final class ReplayFile {

    static final String NAME = "replay.bin";
    private static final String WRITER = "replay";

    /** A sequence read back, with the priority it had. */
    record Saved(Rollout steps, double priority) {
    }

    private ReplayFile() {
    }

    /** Writes every held sequence of {@code entries} (sequences of {@code m} steps of {@code model}). */
    static void write(Path dir, ModelConfig model, long specHash, int m,
            List<SequenceReplay.Entry<R2d2Trainer.Sequence>> entries) throws IOException {
        Files.createDirectories(dir);
        Path tmp = dir.resolve(NAME + ".tmp");
        EpisodeBuffer noEpisodes = new EpisodeBuffer();
        Rollout one = new Rollout(m, 1, model);
        try (FileChannel channel = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING);
                OutputStream out = new BufferedOutputStream(java.nio.channels.Channels.newOutputStream(channel), 1 << 16)) {
            ReplayHeader.newBuilder().setSpecHash(specHash).setSequenceLength(m).setSequences(entries.size()).build()
                    .writeDelimitedTo(out);
            long i = 0;
            for (SequenceReplay.Entry<R2d2Trainer.Sequence> e : entries) {
                one.copyRowFrom(e.sequence().steps(), e.sequence().row(), 0);
                ReplaySequence.newBuilder()
                        .setSteps(ChunkCodec.encode(one, WRITER, i++, 0, specHash, noEpisodes))
                        .setPriority(e.priority())
                        .build()
                        .writeDelimitedTo(out);
            }
            out.flush();
            channel.force(true);
        }
        Files.move(tmp, dir.resolve(NAME), StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }

    /**
     * The sequences in {@code dir}, oldest first; none if there is no file.
     *
     * @throws IOException naming the file and what is wrong with it: unreadable, of another model
     *     or sequence length, truncated, or a sequence that fails validation
     */
    static List<Saved> read(Path dir, ModelConfig model, long specHash, int m, ChunkLimits limits) throws IOException {
        Path file = dir.resolve(NAME);
        List<Saved> out = new ArrayList<>();
        if (!Files.exists(file)) {
            return out;
        }
        try (InputStream in = new BufferedInputStream(Files.newInputStream(file), 1 << 16)) {
            ReplayHeader header = ReplayHeader.parseDelimitedFrom(in);
            if (header == null) {
                throw new IOException(file + " is empty");
            }
            if (header.getSpecHash() != specHash || header.getSequenceLength() != m) {
                throw new IOException(file + " holds sequences of " + header.getSequenceLength() + " steps of model spec "
                        + ModelSpecs.hex(header.getSpecHash()) + "; this learner trains " + m + " steps of "
                        + ModelSpecs.hex(specHash));
            }
            for (long i = 0; i < header.getSequences(); i++) {
                ReplaySequence s = ReplaySequence.parseDelimitedFrom(in);
                if (s == null) {
                    throw new IOException(file + " ends after " + i + " of " + header.getSequences() + " sequences");
                }
                if (!(s.getPriority() >= 0 && s.getPriority() < Double.POSITIVE_INFINITY)) {
                    throw new IOException(file + ": sequence " + i + " has priority " + s.getPriority());
                }
                try {
                    out.add(new Saved(ChunkCodec.decode(s.getSteps(), model, specHash, 0, m, limits), s.getPriority()));
                } catch (InvalidMessageException e) {
                    throw new IOException(file + ": sequence " + i + " is invalid: " + e.getMessage(), e);
                }
            }
        } catch (com.google.protobuf.InvalidProtocolBufferException e) {
            throw new IOException(file + " is not a replay file: " + e.getMessage(), e);
        }
        return out;
    }
}
