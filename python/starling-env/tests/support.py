"""Shared by the tests: fresh stubs on sys.path, scripted environments and a Play client.

Importing this module first generates the stubs into a temporary folder and puts it and the
starling_env under test on sys.path, so the tests need no prior step.
"""

import atexit
import queue
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

PACKAGE_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PACKAGE_ROOT))  # the starling_env under test, not an installed copy

import generate_stubs  # noqa: E402

STUBS = tempfile.mkdtemp(prefix="starling-env-stubs-")
atexit.register(shutil.rmtree, STUBS, ignore_errors=True)
generate_stubs.generate(STUBS)
sys.path.insert(0, STUBS)

import grpc  # noqa: E402

from starling_env import Server  # noqa: E402
from starling_env._proto import environment_pb2 as pb  # noqa: E402
from starling_env._proto import environment_pb2_grpc  # noqa: E402
from starling_env.spaces import Box, Discrete  # noqa: E402

TIMEOUT = 10.0


class ScriptedEnv:
    """An environment whose observations say what happened, for exact assertions.

    Observation [start, steps, last action]: ``start`` is the episode's first draw from
    random.Random(seed) (later episodes continue that generator), ``steps`` counts the episode's
    steps. Reward = steps. An episode ends after ``plans[seed]`` = (length, how), how being
    "terminated", "truncated" or "both", keyed by the seed of the first reset; never otherwise.
    """

    observation_space = Box(-np.inf, np.inf, (3,))
    action_space = Discrete(3)

    def __init__(self, plans=None):
        self.plans = plans or {}
        self.seeds = []  # the seed of every reset, None when unseeded
        self.actions = []
        self.closed = False
        self.start = self.steps = None
        self._rng = None
        self._plan = (None, None)

    def reset(self, seed=None):
        self.seeds.append(seed)
        if seed is not None:
            self._rng = random.Random(seed)
            self._plan = self.plans.get(seed, (None, None))
        self.start = self._rng.random()
        self.steps = 0
        return np.array([self.start, 0.0, 0.0]), {}

    def step(self, action):
        self.actions.append(action)
        self.steps += 1
        length, how = self._plan
        ended = self.steps == length
        return (np.array([self.start, self.steps, float(action)]), float(self.steps),
                ended and how in ("terminated", "both"), ended and how in ("truncated", "both"), {})

    def close(self):
        self.closed = True


class ContinuousEnv(ScriptedEnv):
    """ScriptedEnv with a Box(-2, 2, (2,)) action space; records the actions it gets."""

    action_space = Box(-2.0, 2.0, (2,))

    def step(self, action):
        self.actions.append(action)
        self.steps += 1
        return np.array([self.start, self.steps, float(action[0])]), 0.0, False, False, {}


class ImageEnv:
    """uint8 image observations (3, 4, 5) filled with the step count."""

    observation_space = Box(0, 255, (3, 4, 5), dtype=np.uint8)
    action_space = Discrete(2)

    def reset(self, seed=None):
        self.steps = 0
        return np.zeros((3, 4, 5), np.uint8), {}

    def step(self, action):
        self.steps += 1
        ob = np.arange(60, dtype=np.uint8).reshape(3, 4, 5) + np.uint8(self.steps)
        return ob, 1.0, False, False, {}


class Factory:
    """make_env that remembers every environment it made (the first is the server's probe)."""

    def __init__(self, cls=ScriptedEnv, **kwargs):
        self.cls = cls
        self.kwargs = kwargs
        self.made = []

    def __call__(self):
        env = self.cls(**self.kwargs)
        self.made.append(env)
        return env

    def stream_envs(self):
        return self.made[1:]


def observations(tensor):
    """A reply's tensor as a numpy array, its byte count checked against its shape."""
    dtype = {pb.FLOAT32: np.dtype("<f4"), pb.UINT8: np.dtype(np.uint8)}[tensor.dtype]
    shape = tuple(tensor.shape)
    if len(tensor.data) != int(np.prod(shape)) * dtype.itemsize:
        raise AssertionError(f"{len(tensor.data)} bytes for shape {shape} of {dtype}")
    return np.frombuffer(tensor.data, dtype).reshape(shape)


def wait_until(condition, timeout=TIMEOUT):
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


class Play:
    """One Play stream over a real channel: send() a request, get its reply (or grpc.RpcError)."""

    def __init__(self, stub):
        self._requests = queue.SimpleQueue()
        self._replies = stub.Play(iter(self._requests.get, None), timeout=TIMEOUT)

    def send(self, request):
        self._requests.put(request)
        return next(self._replies)

    def open(self, num_envs, seed=0):
        return self.send(pb.PlayRequest(open=pb.Open(num_envs=num_envs, seed=seed)))

    def act(self, discrete=(), continuous=()):
        return self.send(pb.PlayRequest(act=pb.Act(discrete=discrete, continuous=continuous)))

    def finish(self):
        """Ends the stream from the client's side and waits for the server's status."""
        self._requests.put(None)
        for _ in self._replies:
            raise AssertionError("a reply without a request")

    def cancel(self):
        self._requests.put(None)  # lets gRPC's thread that reads the requests end
        self._replies.cancel()


class ServerTestCase:
    """Mixin for unittest.TestCase: start_server() and play() clean up after themselves."""

    def start_server(self, make_env, num_envs=8, **kwargs):
        kwargs.setdefault("name", "scripted")
        server = Server(make_env, num_envs, 0, host="localhost", **kwargs).start()
        self.addCleanup(server.stop)
        channel = grpc.insecure_channel(f"localhost:{server.port}")
        self.addCleanup(channel.close)
        self.stub = environment_pb2_grpc.EnvironmentStub(channel)
        return server

    def play(self):
        play = Play(self.stub)
        self.addCleanup(play.cancel)
        return play

    def assertStatus(self, code, pattern, call):
        with self.assertRaises(grpc.RpcError) as caught:
            call()
        self.assertEqual(caught.exception.code(), code, caught.exception.details())
        self.assertRegex(caught.exception.details(), pattern)
