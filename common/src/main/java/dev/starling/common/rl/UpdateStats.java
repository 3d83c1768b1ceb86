package dev.starling.common.rl;

/**
 * What one update did. {@code applied} is false when the loss or the gradient was not finite:
 * then the weights were not touched.
 */
public record UpdateStats(boolean applied, double loss, double policyLoss, double baselineLoss,
        double entropy, double gradNorm) {
}
