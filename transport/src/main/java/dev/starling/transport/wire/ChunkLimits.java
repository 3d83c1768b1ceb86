package dev.starling.transport.wire;

/**
 * Bounds on what a peer may send: every size a peer controls is checked against these before
 * any memory is allocated for it.
 *
 * @param maxUnroll T at most
 * @param maxEnvs   K at most
 * @param maxEpisodesPerChunk episode statistics entries at most
 */
public record ChunkLimits(int maxUnroll, int maxEnvs, int maxEpisodesPerChunk) {

    public ChunkLimits {
        if (maxUnroll < 1 || maxEnvs < 1 || maxEpisodesPerChunk < 0) {
            throw new IllegalArgumentException("chunk limits must be positive");
        }
    }

    public static ChunkLimits defaults() {
        return new ChunkLimits(1024, 4096, 1 << 16);
    }
}
