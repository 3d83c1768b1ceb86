package dev.starling.env;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Parses the text forms that {@link ObservationSpace#describe()} and {@link ActionSpace#describe()}
 * write: {@code box(2)}, {@code box(-2,2;1)}, {@code box([-1 -2],[1 2];2)}, {@code image(1,42,42)},
 * {@code discrete(3)}. Command lines use them to tell a learner the spaces without loading the
 * environment.
 */
public final class Spaces {

    /** Largest number of values in one observation or action. */
    public static final int MAX_SIZE = 1 << 22;

    private Spaces() {
    }

    /** An observation space from its text form; the message of the exception says what is wrong. */
    public static ObservationSpace observation(String text) {
        Parsed p = parse(text);
        return switch (p.kind) {
            case "box" -> p.box();
            case "image" -> {
                int[] d = p.dims("image", 3);
                yield new Image(d[0], d[1], d[2]);
            }
            default -> throw new IllegalArgumentException("observation space '" + text
                    + "': expected box(...) or image(C,H,W)");
        };
    }

    /** An action space from its text form; a box must be bounded. */
    public static ActionSpace action(String text) {
        Parsed p = parse(text);
        return switch (p.kind) {
            case "discrete" -> new Discrete(p.dims("discrete", 1)[0]);
            case "box" -> {
                Box b = p.box();
                if (!b.isBounded()) {
                    throw new IllegalArgumentException("action space '" + text
                            + "': a continuous action box needs finite bounds, such as box(-1,1;2)");
                }
                yield b;
            }
            default -> throw new IllegalArgumentException("action space '" + text
                    + "': expected discrete(N) or box(LOW,HIGH;SHAPE)");
        };
    }

    /** Shortest text of a float that parses back to it. */
    static String number(float v) {
        if (v == Float.POSITIVE_INFINITY) {
            return "inf";
        }
        if (v == Float.NEGATIVE_INFINITY) {
            return "-inf";
        }
        if (v == Math.rint(v) && Math.abs(v) < 1e7) {
            // -0 keeps its sign: Box compares bounds bit for bit, so the text must round-trip.
            return (Float.floatToRawIntBits(v) == Float.floatToRawIntBits(-0f) ? "-" : "") + (int) v;
        }
        return Float.toString(v);
    }

    private record Parsed(String text, String kind, String bounds, String dims) {

        int[] dims(String what, int expected) {
            if (bounds != null) {
                throw new IllegalArgumentException("'" + text + "': " + what + " takes no bounds");
            }
            int[] d = integers(dims);
            if (expected > 0 && d.length != expected) {
                throw new IllegalArgumentException("'" + text + "': " + what + " takes " + expected
                        + " number(s), got " + d.length);
            }
            return d;
        }

        Box box() {
            int[] shape = integers(dims);
            if (bounds == null) {
                return Box.of(shape);
            }
            List<String> parts = splitTopLevel(bounds);
            if (parts.size() != 2) {
                throw new IllegalArgumentException("'" + text + "': box bounds are LOW,HIGH before the ';'");
            }
            long n = 1;
            for (int d : shape) {
                n *= Math.max(d, 1);
                if (n > MAX_SIZE) {
                    throw new IllegalArgumentException("'" + text + "': more than " + MAX_SIZE + " values");
                }
            }
            return new Box(floats(parts.get(0), (int) n), floats(parts.get(1), (int) n), shape);
        }

        private int[] integers(String s) {
            String[] items = s.split(",");
            int[] out = new int[items.length];
            for (int i = 0; i < items.length; i++) {
                try {
                    out[i] = Integer.parseInt(items[i].trim());
                } catch (NumberFormatException e) {
                    throw new IllegalArgumentException("'" + text + "': '" + items[i].trim() + "' is not a whole number");
                }
            }
            return out;
        }

        private float[] floats(String s, int n) {
            s = s.trim();
            float[] out = new float[n];
            if (s.startsWith("[") && s.endsWith("]")) {
                String[] items = s.substring(1, s.length() - 1).trim().split("\\s+");
                if (items.length != n) {
                    throw new IllegalArgumentException("'" + text + "': " + items.length + " bounds in " + s
                            + " for " + n + " values");
                }
                for (int i = 0; i < n; i++) {
                    out[i] = number(items[i]);
                }
            } else {
                java.util.Arrays.fill(out, number(s));
            }
            return out;
        }

        private float number(String s) {
            switch (s.toLowerCase(Locale.ROOT)) {
                case "inf", "+inf" -> {
                    return Float.POSITIVE_INFINITY;
                }
                case "-inf" -> {
                    return Float.NEGATIVE_INFINITY;
                }
                default -> {
                    try {
                        return Float.parseFloat(s);
                    } catch (NumberFormatException e) {
                        throw new IllegalArgumentException("'" + text + "': '" + s + "' is not a number");
                    }
                }
            }
        }
    }

    private static Parsed parse(String text) {
        if (text == null) {
            throw new IllegalArgumentException("a space is required, such as box(4) or discrete(2)");
        }
        String t = text.trim();
        int open = t.indexOf('(');
        if (open < 1 || !t.endsWith(")")) {
            throw new IllegalArgumentException("'" + text + "' is not a space: expected NAME(...), such as box(4),"
                    + " image(1,42,42), discrete(2) or box(-2,2;1)");
        }
        String kind = t.substring(0, open).trim().toLowerCase(Locale.ROOT);
        String inside = t.substring(open + 1, t.length() - 1);
        int semi = inside.indexOf(';');
        String bounds = semi < 0 ? null : inside.substring(0, semi);
        String dims = semi < 0 ? inside : inside.substring(semi + 1);
        if (dims.isBlank()) {
            throw new IllegalArgumentException("'" + text + "': no dimensions");
        }
        return new Parsed(text, kind, bounds, dims);
    }

    private static List<String> splitTopLevel(String s) {
        List<String> out = new ArrayList<>();
        int depth = 0;
        int start = 0;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '[') {
                depth++;
            } else if (c == ']') {
                depth--;
            } else if (c == ',' && depth == 0) {
                out.add(s.substring(start, i));
                start = i + 1;
            }
        }
        out.add(s.substring(start));
        return out;
    }
}
