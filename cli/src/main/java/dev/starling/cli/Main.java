package dev.starling.cli;

import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Properties;

import dev.starling.common.model.Torch;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.ArgSpec;
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
            ActorCommand.class, BenchCommand.class, CommandLine.HelpCommand.class})
public final class Main implements Runnable {

    public static void main(String[] args) {
        Logging.installLogManager();
        System.exit(run(new PrintWriter(System.out, true), new PrintWriter(System.err, true), args));
    }

    /** Parses and runs; returns the exit code. */
    public static int run(PrintWriter out, PrintWriter err, String... args) {
        Logging.configure();
        CommandLine cli = new CommandLine(new Main());
        cli.setOut(out);
        cli.setErr(err);
        cli.setCaseInsensitiveEnumValuesAllowed(true);
        try {
            cli.setDefaultValueProvider(new Defaults(configFile(args)));
        } catch (IOException | IllegalArgumentException e) {
            err.println("starling: " + e.getMessage());
            return 2;
        }
        cli.setExecutionExceptionHandler((ex, commandLine, parseResult) -> {
            if (ex instanceof IllegalArgumentException) {
                commandLine.getErr().println("starling: " + ex.getMessage());
                return 2;
            }
            throw ex;
        });
        return cli.execute(args);
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
