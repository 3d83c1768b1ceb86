"""An environment's spaces as Starling sees them, read from any object with Gymnasium's space
attributes (Discrete: ``n``; Box: ``shape``, ``low``, ``high``, ``dtype``)."""

import math
from dataclasses import dataclass

import numpy as np

from ._proto import model_pb2

# Largest observation or action Starling accepts (dev.starling.env.Spaces.MAX_SIZE).
MAX_SIZE = 1 << 22


class SpaceError(ValueError):
    """A space Starling cannot use; the message says which and why."""


@dataclass(frozen=True)
class Spec:
    """What the server needs to know about every environment of one server."""

    observation_space: model_pb2.ObservationSpace
    action_space: model_pb2.ActionSpace
    observation_shape: tuple
    image: bool  # uint8 pixels; otherwise float32 values
    num_actions: int  # Discrete n; 0 for a Box action space
    action_shape: tuple  # Box actions; () for Discrete
    action_low: np.ndarray  # Box actions: float32 bounds, flat
    action_high: np.ndarray

    def same_spaces(self, other):
        return self.observation_space == other.observation_space and self.action_space == other.action_space

    def describe(self):
        """Spaces as ``./starling envs`` prints them, e.g. ``box(4), discrete(2)``."""
        return f"{describe_observation(self.observation_space)}, {describe_action(self.action_space)}"


def read_spec(env):
    """The spec of ``env``'s spaces; SpaceError if Starling cannot use them."""
    for attribute in ("observation_space", "action_space"):
        if not hasattr(env, attribute):
            raise SpaceError(f"the environment ({type(env).__name__}) has no {attribute} attribute")
    observation_space, observation_shape, image = _observation(env.observation_space)
    action_space, num_actions, action_shape, low, high = _action(env.action_space)
    return Spec(observation_space, action_space, observation_shape, image, num_actions, action_shape, low, high)


def _observation(space):
    if hasattr(space, "n"):
        raise SpaceError(f"observation space {space!r} is Discrete: Starling observes a float Box or a uint8 "
                         "image Box; one-hot encode the observation into a Box")
    dtype, shape = _box(space, "observation")
    if dtype == np.uint8:
        if len(shape) != 3:
            raise SpaceError(f"observation space {space!r} is uint8, so an image, and needs shape (C, H, W), got "
                             f"{shape}; Gymnasium's images are (H, W, C): transpose them in a wrapper")
        c, h, w = shape
        return model_pb2.ObservationSpace(image=model_pb2.ImageSpace(channels=c, height=h, width=w)), shape, True
    low, high = _bounds(space, shape, "observation")
    return model_pb2.ObservationSpace(box=model_pb2.BoxSpace(shape=shape, low=low, high=high)), shape, False


def _action(space):
    if hasattr(space, "n"):
        start = getattr(space, "start", 0)
        if start != 0:
            raise SpaceError(f"action space {space!r} starts at {start}: Starling's discrete actions are 0 .. n-1, "
                             "shift them in the environment")
        n = int(space.n)
        if n < 2:
            raise SpaceError(f"action space {space!r} has {n} action(s): a Discrete action space needs at least 2")
        if n > MAX_SIZE:
            raise SpaceError(f"action space {space!r} has more than {MAX_SIZE} actions")
        return model_pb2.ActionSpace(discrete=model_pb2.DiscreteSpace(n=n)), n, (), None, None
    dtype, shape = _box(space, "action")
    if dtype.kind != "f":
        raise SpaceError(f"action space {space!r} has dtype {dtype}: a Box action space must be float")
    low, high = _bounds(space, shape, "action")
    if not (np.isfinite(low).all() and np.isfinite(high).all()):
        raise SpaceError(f"action space {space!r} has infinite bounds: a continuous action Box needs finite bounds "
                         "(Starling clips its actions to them)")
    return model_pb2.ActionSpace(box=model_pb2.BoxSpace(shape=shape, low=low, high=high)), 0, shape, low, high


def _box(space, what):
    """The dtype and shape of a Box-like space, checked."""
    missing = [a for a in ("shape", "low", "high", "dtype") if not hasattr(space, a)]
    if missing:
        raise SpaceError(f"{what} space {space!r} is neither a Discrete (attribute n) nor a Box (missing "
                         f"{', '.join(missing)})")
    dtype = np.dtype(space.dtype)
    if dtype.kind != "f" and dtype != np.uint8:
        raise SpaceError(f"{what} space {space!r} has dtype {dtype}: Starling supports float Boxes "
                         "(sent as float32) and uint8 image Boxes")
    shape = tuple(int(d) for d in space.shape)
    if not shape or min(shape) < 1:
        raise SpaceError(f"{what} space {space!r} has shape {shape}: a Box needs at least one dimension, each >= 1")
    if math.prod(shape) > MAX_SIZE:
        raise SpaceError(f"{what} space {space!r} has more than {MAX_SIZE} values")
    return dtype, shape


def _bounds(space, shape, what):
    """Flat float32 bounds per element, checked as Starling's Box checks them."""
    try:
        with np.errstate(over="ignore"):  # a float64 bound beyond float32's range becomes infinite
            low = np.broadcast_to(np.asarray(space.low, dtype=np.float64), shape).astype(np.float32).ravel()
            high = np.broadcast_to(np.asarray(space.high, dtype=np.float64), shape).astype(np.float32).ravel()
    except ValueError:
        raise SpaceError(f"{what} space {space!r}: bounds of shapes {np.shape(space.low)} and "
                         f"{np.shape(space.high)} do not fit shape {shape}") from None
    bad = np.isnan(low) | np.isnan(high) | (low > high) | (low == np.inf) | (high == -np.inf)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise SpaceError(f"{what} space {space!r}: bounds of element {i} are [{low[i]}, {high[i]}], "
                         "need low <= high and no NaN")
    return low, high


def describe_observation(space):
    """``box(4)``, ``box(-1,1;2)``, ``box([-1 -2],[1 2];2)`` or ``image(3,84,84)``."""
    if space.WhichOneof("kind") == "image":
        return f"image({space.image.channels},{space.image.height},{space.image.width})"
    return _describe_box(space.box)


def describe_action(space):
    """``discrete(2)`` or a box as in describe_observation."""
    if space.WhichOneof("kind") == "discrete":
        return f"discrete({space.discrete.n})"
    return _describe_box(space.box)


def _describe_box(box):
    shape = ",".join(map(str, box.shape))
    if all(v == -math.inf for v in box.low) and all(v == math.inf for v in box.high):
        return f"box({shape})"
    return f"box({_describe_bounds(box.low)},{_describe_bounds(box.high)};{shape})"


def _describe_bounds(values):
    if all(v == values[0] for v in values):
        return _number(values[0])
    return "[" + " ".join(map(_number, values)) + "]"


def _number(v):
    if math.isinf(v):
        return "inf" if v > 0 else "-inf"
    if v == int(v) and abs(v) < 1e7:
        return ("-" if math.copysign(1.0, v) < 0 else "") + str(abs(int(v)))
    return str(np.float32(v))  # the shortest text that reads back as the same float32
