package dev.starling.common.rl;

/** How the learner runs the LSTM over a batch whose sequences contain episode ends. */
public enum ForwardPath {
    /**
     * Split every sequence at its done boundaries into separate rows, sort them by length, run
     * them through the fused LSTM in a few padded groups (usually one to three calls instead of
     * T+1), scatter the outputs back. The default.
     */
    FAST,
    /** Reference: one LSTM step per time step, masking the state to zero after each done. */
    LOOP
}
