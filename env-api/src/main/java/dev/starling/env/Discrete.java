package dev.starling.env;

/**
 * A choice among {@code n} actions, {@code 0 .. n-1}.
 *
 * @param n number of actions, at least 2
 */
public record Discrete(int n) implements ActionSpace {

    public Discrete {
        if (n < 2 || n > Spaces.MAX_SIZE) {
            throw new IllegalArgumentException("a discrete space needs between 2 and " + Spaces.MAX_SIZE
                    + " actions, got " + n);
        }
    }

    /** Always 1: one integer per action. */
    @Override
    public int size() {
        return 1;
    }

    /** True if {@code action} is one of {@code 0 .. n-1}. */
    public boolean contains(int action) {
        return action >= 0 && action < n;
    }

    @Override
    public String describe() {
        return "discrete(" + n + ")";
    }

    @Override
    public String toString() {
        return describe();
    }
}
