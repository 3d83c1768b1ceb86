package dev.starling.cli;

import picocli.CommandLine.Option;

/** T, for the roles that cut or train on chunks (actors, learner, train). */
final class UnrollOption {

    @Option(names = "--unroll", defaultValue = "32", description = "Steps per chunk / TBPTT length (T). Default: ${DEFAULT-VALUE}.")
    int unroll;
}
