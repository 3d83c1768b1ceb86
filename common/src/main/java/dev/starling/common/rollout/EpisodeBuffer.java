package dev.starling.common.rollout;

import java.util.Arrays;

import dev.starling.envs.EpisodeSink;

/** Collects the episodes that end during one chunk (returns and lengths), then is cleared. */
public final class EpisodeBuffer implements EpisodeSink {

    private float[] returns = new float[16];
    private int[] lengths = new int[16];
    private int size;

    @Override
    public void accept(float episodeReturn, int length) {
        if (size == returns.length) {
            returns = Arrays.copyOf(returns, size * 2);
            lengths = Arrays.copyOf(lengths, size * 2);
        }
        returns[size] = episodeReturn;
        lengths[size++] = length;
    }

    public int size() {
        return size;
    }

    public float returnAt(int i) {
        return returns[i];
    }

    public int lengthAt(int i) {
        return lengths[i];
    }

    public void clear() {
        size = 0;
    }
}
