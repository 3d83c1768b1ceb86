"""Host Gymnasium-style environments behind Starling's gRPC Environment service.

    from starling_env import serve
    serve(lambda: MyEnv(), num_envs=64, port=50051, name="my-env")

Any object with Gymnasium's API works (``reset(seed=None)``, ``step(action)``,
``observation_space``, ``action_space``); ``starling_env.spaces`` has Box and Discrete for
environments written without Gymnasium.
"""

from . import spaces
from ._spec import SpaceError
from .server import Server, serve

__all__ = ["Server", "SpaceError", "serve", "spaces"]
