package dev.starling.cli;

import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Properties;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import dev.starling.common.model.Torch;
import dev.starling.envs.remote.EnvironmentServerException;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.ArgSpec;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;

/**
 * The {@code starling} launcher: one fat jar with every role. {@code main} only parses and
 * delegates to {@link #run}, which tests call.
 *
 * <p>Option values come from, in order: the command line, an environment variable
 * {@code STARLING_<OPTION>} (e.g. {@code STARLING_MAX_FRAMES} for {@code --max-frames}), a
 * properties file named by {@code --config FILE} or {@code STARLING_CONFIG} (keys are option
 * names without dashes, e.g. {@code max-frames=200000}), then the built-in default.
 */
@Command(name = "starling", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
        description = "Distributed reinforcement learning on the JVM: LSTM actor-critic, V-trace, libtorch.",
        subcommands = {TrainCommand.class, EvalCommand.class, ParameterServerCommand.class, LearnerCommand.class,
            ActorCommand.class, EnvsCommand.class, CredentialsCommand.class, BenchCommand.class,
            CommandLine.HelpCommand.class})
public final class Main implements Runnable {

    public static void main(String[] args) {
        Logging.installLogManager();
        System.exit(run(new PrintWriter(System.out, true), new PrintWriter(System.err, true), args));
    }

    /** Parses and runs; returns the exit code. */
    public static int run(PrintWriter out, PrintWriter err, String... args) {
        Logging.configure();
        CommandLine cli;
        try {
            cli = commandLine(new Main(), configFile(args));
        } catch (IOException | IllegalArgumentException e) {
            err.println("starling: " + e.getMessage());
            return 2;
        }
        cli.setOut(out);
        cli.setErr(err);
        // A mistake in the user's input (an environment server that cannot be played included) is one
        // line naming the option or the server, and exit code 2; never a stack trace.
        cli.setExecutionExceptionHandler((ex, commandLine, parseResult) -> {
            if (ex instanceof IllegalArgumentException || ex instanceof EnvironmentServerException) {
                commandLine.getErr().println(commandLine.getCommandSpec().qualifiedName() + ": "
                        + withOptionNames(ex.getMessage(), commandLine.getCommandSpec()));
                return 2;
            }
            throw ex;
        });
        cli.setParameterExceptionHandler((ex, arguments) -> {
            CommandLine c = ex.getCommandLine();
            String name = c.getCommandSpec().qualifiedName();
            c.getErr().println(name + ": " + ex.getMessage() + " (see '" + name + " --help')");
            return 2;
        });
        return cli.execute(args);
    }

    /**
     * A parser for {@code command} with Starling's defaults: environment variables, then the
     * properties file {@code config} (may be null), then the annotations.
     */
    static CommandLine commandLine(Object command, Path config) throws IOException {
        CommandLine cli = new CommandLine(command);
        cli.setCaseInsensitiveEnumValuesAllowed(true);
        cli.setDefaultValueProvider(new Defaults(config));
        return cli;
    }

    /** The configuration file named by {@code STARLING_CONFIG}, which child processes inherit, or null. */
    static Path inheritedConfigFile() {
        return configFile(new String[0]);
    }

    private static final Pattern FIELD = Pattern.compile("\\b(?:[a-z0-9]+\\.)*([a-z][a-z0-9]*(?:[A-Z][a-z0-9]*)*)\\b");

    /**
     * Settings records name their fields ({@code numEnvs must be in [1, 4096], got 100000}); on
     * the command line the user knows them as options. Rewrites the message's leading word and
     * any camel-case word that is the field of one of {@code spec}'s options to the option's name
     * ({@code --num-envs must be in [1, 4096], got 100000}).
     */
    static String withOptionNames(String message, CommandSpec spec) {
        if (message == null) {
            return "invalid input";
        }
        Matcher m = FIELD.matcher(message);
        StringBuilder out = new StringBuilder();
        while (m.find()) {
            String field = m.group(1);
            boolean leading = m.start() == 0;
            String option = "--" + field.replaceAll("([A-Z])", "-$1").toLowerCase(Locale.ROOT);
            boolean camel = !field.equals(field.toLowerCase(Locale.ROOT));
            boolean afterDashes = m.start() >= 2 && message.startsWith("--", m.start() - 2);
            if ((leading || camel) && !afterDashes && spec.findOption(option) != null) {
                m.appendReplacement(out, Matcher.quoteReplacement(option));
            } else {
                m.appendReplacement(out, Matcher.quoteReplacement(m.group()));
            }
        }
        m.appendTail(out);
        return out.toString();
    }

    @Override
    public void run() {
        throw new CommandLine.ParameterException(new CommandLine(this), "a command is required (see --help)");
    }

    private static Path configFile(String[] args) {
        for (int i = 0; i < args.length; i++) {
            if (args[i].equals("--config") && i + 1 < args.length) {
                return Path.of(args[i + 1]);
            }
            if (args[i].startsWith("--config=")) {
                return Path.of(args[i].substring("--config=".length()));
            }
        }
        String env = System.getenv("STARLING_CONFIG");
        return env == null || env.isBlank() ? null : Path.of(env);
    }

    /** Environment variables, then the config file, then the annotation's default. */
    static final class Defaults implements CommandLine.IDefaultValueProvider {
        private final Properties file = new Properties();

        Defaults(Path config) throws IOException {
            if (config != null) {
                if (!Files.isRegularFile(config)) {
                    throw new IllegalArgumentException("config file " + config + " does not exist");
                }
                try (InputStream in = Files.newInputStream(config)) {
                    file.load(in);
                }
            }
        }

        @Override
        public String defaultValue(ArgSpec arg) {
            if (!(arg instanceof OptionSpec option)) {
                return null;
            }
            String key = option.longestName().replaceFirst("^-+", "");
            String env = System.getenv("STARLING_" + key.toUpperCase(Locale.ROOT).replace('-', '_'));
            if (env != null) {
                return env;
            }
            return file.getProperty(key);
        }
    }

    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            // Loading libtorch here makes --version a check that the natives load and a GPU is seen.
            return new String[] {"starling " + Provenance.starlingVersion(), "libtorch " + Provenance.libtorchVersion(),
                "devices " + Torch.devices(), "java " + System.getProperty("java.version")};
        }
    }
}
