"""Minimal stand-ins for Gymnasium's Box and Discrete, for environments written without Gymnasium.

They carry the attributes Starling reads (Box: ``shape``, ``low``, ``high``, ``dtype``;
Discrete: ``n``, ``start``); a Gymnasium space works in their place and the other way round.
"""

import numpy as np


class Box:
    """Values of a fixed shape, each within [low, high] (bounds per element; +-inf allowed).

    ``Box(-1.0, 1.0, (2,))`` broadcasts scalar bounds over the shape; ``Box(low_array,
    high_array)`` takes the shape from the arrays. A float ``dtype`` is a vector observation or a
    continuous action; ``np.uint8`` with shape (C, H, W) and bounds within 0..255 is an image.
    """

    def __init__(self, low, high, shape=None, dtype=np.float32):
        self.dtype = np.dtype(dtype)
        if self.dtype.kind != "f" and self.dtype != np.uint8:
            raise ValueError(f"Box dtype must be a float type or uint8, got {self.dtype}")
        if shape is None:
            shape = np.broadcast_shapes(np.shape(low), np.shape(high))
        self.shape = tuple(int(d) for d in shape)
        if not self.shape or min(self.shape) < 1:
            raise ValueError(f"Box shape must have at least one dimension, each >= 1, got {self.shape}")
        try:
            low = np.broadcast_to(np.asarray(low, dtype=np.float64), self.shape)
            high = np.broadcast_to(np.asarray(high, dtype=np.float64), self.shape)
        except ValueError:
            raise ValueError(f"Box bounds of shapes {np.shape(low)} and {np.shape(high)} do not fit shape "
                             f"{self.shape}") from None
        if np.isnan(low).any() or np.isnan(high).any() or not (low <= high).all():
            raise ValueError(f"Box bounds need low <= high and no NaN, got low={low}, high={high}")
        if self.dtype == np.uint8 and (low.min() < 0 or high.max() > 255):
            raise ValueError(f"uint8 Box bounds must lie within 0..255, got {low.min()}..{high.max()}")
        self.low = low.astype(self.dtype)
        self.high = high.astype(self.dtype)

    def __repr__(self):
        return f"Box({self.low.min()}, {self.high.max()}, {self.shape}, {self.dtype})"


class Discrete:
    """One of the actions 0 .. n-1."""

    start = 0  # Gymnasium's Discrete may start elsewhere; Starling's actions always start at 0

    def __init__(self, n):
        if int(n) != n or n < 1:
            raise ValueError(f"Discrete needs a whole number n >= 1, got {n!r}")
        self.n = int(n)

    def __repr__(self):
        return f"Discrete({self.n})"
