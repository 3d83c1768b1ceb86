package dev.starling.cli;

import java.io.IOException;
import java.io.Reader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Properties;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

import picocli.CommandLine;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;

/**
 * The effective options of a {@code train} run, saved in its folder as {@code config.properties}
 * (keys are option names, as in a {@code --config} file, so the file also works as one), and
 * how {@code --resume} takes them back: every saved option applies again, an option set now
 * (on the command line, by a {@code STARLING_<OPTION>} variable or a {@code --config} file) must
 * equal the saved value, except those in {@link #MAY_CHANGE}. Stateless.
 */
final class SavedOptions {

    static final String FILE = "config.properties";
    /**
     * What a resumed run may set anew: its budgets, and how the launcher runs the roles (not what
     * they train).
     */
    static final Set<String> MAY_CHANGE = Set.of("max-frames", "max-seconds", "target-return", "max-restarts", "metrics",
            "secure");
    /** Not part of a run's configuration: where options come from, the folder itself, the resume switch. */
    private static final Set<String> NOT_SAVED = Set.of("config", "run-dir", "resume");

    private SavedOptions() {
    }

    /** Writes the effective value of every option of {@code train} to {@code dir/config.properties}. */
    static void save(CommandSpec train, Path dir) {
        Map<String, String> values = new TreeMap<>();
        for (OptionSpec o : saved(train)) {
            Object v = o.getValue();
            if (v instanceof java.util.Collection<?> list) {
                // Written as the option reads it back: comma-separated (its split), none if empty.
                if (!list.isEmpty()) {
                    values.put(key(o), String.join(",", list.stream().map(String::valueOf).toList()));
                }
            } else if (v != null) {
                values.put(key(o), String.valueOf(v));
            }
        }
        StringBuilder text = new StringBuilder("# The options of this run (starling train). `starling train --run-dir DIR"
                + " --resume` reads them back;\n# only " + mayChange() + " may change on --resume.\n");
        values.forEach((k, v) -> text.append(k).append('=').append(escape(v)).append('\n'));
        try {
            Files.createDirectories(dir);
            Files.writeString(dir.resolve(FILE), text, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + dir.resolve(FILE), e);
        }
    }

    /**
     * Gives {@code train} the options saved in {@code dir}: an option not set now takes its saved
     * value; one set now must equal it unless it is in {@link #MAY_CHANGE}.
     *
     * @throws IllegalArgumentException (one line) if {@code dir} holds no saved options, they do not
     *     parse, or an option set now conflicts with its saved value
     */
    static void restore(CommandSpec train, Path dir) {
        Path file = dir.resolve(FILE);
        if (!Files.isRegularFile(file)) {
            throw new IllegalArgumentException("--resume: " + dir + " holds no run to resume (no " + FILE + ")");
        }
        Properties props = new Properties();
        try (Reader in = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            props.load(in);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + file, e);
        }
        // The saved values, typed as the options are: parsed into a fresh command without any
        // default provider, so an option missing from the file takes its built-in default.
        TrainCommand fresh = new TrainCommand();
        CommandLine parser = new CommandLine(fresh);
        List<String> args = new ArrayList<>();
        for (String key : new TreeSet<>(props.stringPropertyNames())) {
            OptionSpec o = parser.getCommandSpec().findOption("--" + key);
            if (o == null || NOT_SAVED.contains(key)) {
                throw new IllegalArgumentException(file + ": '" + key + "' is not an option of train");
            }
            String value = props.getProperty(key);
            if (o.arity().max() == 0) {
                if (Boolean.parseBoolean(value)) {
                    args.add("--" + key);
                }
            } else {
                args.add("--" + key + "=" + value);
            }
        }
        try {
            parser.parseArgs(args.toArray(String[]::new));
        } catch (CommandLine.ParameterException e) {
            throw new IllegalArgumentException(file + ": " + e.getMessage(), e);
        }
        CommandLine.ParseResult given = train.commandLine().getParseResult();
        for (OptionSpec o : saved(train)) {
            Object savedValue = parser.getCommandSpec().findOption(o.longestName()).getValue();
            if (!isSet(train, given, o)) {
                o.setValue(savedValue);
            } else if (!MAY_CHANGE.contains(key(o)) && !Objects.equals(o.getValue(), savedValue)) {
                throw new IllegalArgumentException(o.longestName() + " " + o.getValue() + " conflicts with this run's "
                        + o.longestName() + " " + (savedValue == null ? "(unset)" : savedValue) + " (" + file
                        + "); a resumed run keeps its options: only " + mayChange() + " may change");
            }
        }
    }

    /** Set on the command line, by an environment variable or by a --config file: not the built-in default. */
    private static boolean isSet(CommandSpec train, CommandLine.ParseResult given, OptionSpec o) {
        if (given != null && given.hasMatchedOption(o)) {
            return true;
        }
        CommandLine.IDefaultValueProvider provider = train.defaultValueProvider();
        try {
            return provider != null && provider.defaultValue(o) != null;
        } catch (Exception e) {
            return false;
        }
    }

    private static String mayChange() {
        return String.join(", ", MAY_CHANGE.stream().sorted().map(k -> "--" + k).toList());
    }

    private static List<OptionSpec> saved(CommandSpec train) {
        return train.options().stream()
                .filter(o -> !o.usageHelp() && !o.versionHelp() && !NOT_SAVED.contains(key(o)))
                .toList();
    }

    private static String key(OptionSpec o) {
        return o.longestName().replaceFirst("^-+", "");
    }

    /** Properties-file escaping for a value: backslashes, line breaks, a leading space. */
    private static String escape(String v) {
        String e = v.replace("\\", "\\\\").replace("\n", "\\n").replace("\r", "\\r");
        return e.startsWith(" ") ? "\\" + e : e;
    }
}
