"""Describe: what a server tells actors about its environments, and the spaces it refuses at start."""

import math
import types
import unittest

import numpy as np

try:
    from . import support
except ImportError:  # discovered without -t: the tests folder itself is on sys.path
    import support

from starling_env import Server, SpaceError, spaces  # noqa: E402

pb = support.pb


def env_with(observation_space, action_space):
    """A make_env for an environment that only has the given spaces."""
    return lambda: types.SimpleNamespace(observation_space=observation_space, action_space=action_space)


def gym_box(low, high, shape, dtype):
    """A Box as Gymnasium's looks (bounds as arrays of the shape), without starling_env.spaces."""
    return types.SimpleNamespace(low=np.full(shape, low, dtype), high=np.full(shape, high, dtype), shape=shape,
                                 dtype=np.dtype(dtype))


class DescribeTest(support.ServerTestCase, unittest.TestCase):

    def describe(self):
        return self.stub.Describe(pb.DescribeRequest(), timeout=support.TIMEOUT)

    def test_box_observations_and_discrete_actions(self):
        low = np.array([-4.8, -np.inf, -0.5], np.float32)
        make_env = env_with(spaces.Box(low, -low), spaces.Discrete(3))
        self.start_server(make_env, 64, name="py-cartpole", description="one line", reward_threshold=475.0,
                          reward_scale=0.05)
        info = self.describe()
        self.assertEqual(info.name, "py-cartpole")
        self.assertEqual(info.description, "one line")
        self.assertEqual(info.max_envs, 64)
        self.assertAlmostEqual(info.reward_scale, 0.05)
        self.assertTrue(info.HasField("reward_threshold"))
        self.assertEqual(info.reward_threshold, 475.0)
        self.assertEqual(info.observation_space.WhichOneof("kind"), "box")
        box = info.observation_space.box
        self.assertEqual(list(box.shape), [3])
        self.assertEqual(list(box.low), [np.float32(-4.8), -math.inf, -0.5])
        self.assertEqual(list(box.high), [np.float32(4.8), math.inf, 0.5])
        self.assertEqual(info.action_space.WhichOneof("kind"), "discrete")
        self.assertEqual(info.action_space.discrete.n, 3)

    def test_image_observations_and_continuous_actions(self):
        make_env = env_with(spaces.Box(0, 255, (3, 84, 80), np.uint8), spaces.Box([-1.0, 0.0], [1.0, 2.0]))
        self.start_server(make_env, 4)
        info = self.describe()
        self.assertEqual(info.observation_space.WhichOneof("kind"), "image")
        image = info.observation_space.image
        self.assertEqual((image.channels, image.height, image.width), (3, 84, 80))
        self.assertEqual(info.action_space.WhichOneof("kind"), "box")
        box = info.action_space.box
        self.assertEqual(list(box.shape), [2])
        self.assertEqual(list(box.low), [-1.0, 0.0])
        self.assertEqual(list(box.high), [1.0, 2.0])
        self.assertFalse(info.HasField("reward_threshold"))
        self.assertEqual(info.reward_scale, 1.0)

    def test_gymnasium_style_spaces_are_duck_typed(self):
        observation = gym_box(-1.0, 1.0, (2, 3), np.float64)
        action = types.SimpleNamespace(n=np.int64(4), start=np.int64(0), shape=(), dtype=np.dtype(np.int64))
        self.start_server(env_with(observation, action), 2)
        info = self.describe()
        self.assertEqual(list(info.observation_space.box.shape), [2, 3])
        self.assertEqual(list(info.observation_space.box.low), [-1.0] * 6)
        self.assertEqual(info.action_space.discrete.n, 4)

    def test_summary_names_the_spaces_as_starling_writes_them(self):
        server = Server(env_with(spaces.Box(-np.inf, np.inf, (4,)), spaces.Discrete(2)), 64, name="a")
        self.assertEqual(server.summary(), "a (box(4), discrete(2), up to 64 envs per stream)")
        server = Server(env_with(spaces.Box([-1, -np.inf], [1.5, np.inf]), spaces.Box(-2, 2, (1,))), 8, name="b")
        self.assertEqual(server.summary(), "b (box([-1 -inf],[1.5 inf];2), box(-2,2;1), up to 8 envs per stream)")
        server = Server(env_with(spaces.Box(0, 255, (1, 42, 42), np.uint8), spaces.Discrete(3)), 1, name="c")
        self.assertEqual(server.summary(), "c (image(1,42,42), discrete(3), up to 1 envs per stream)")


class StartupCheckTest(unittest.TestCase):
    """Server() makes one environment and refuses what Starling cannot play, saying why."""

    def assertRefused(self, observation_space, action_space, pattern):
        with self.assertRaisesRegex(SpaceError, pattern):
            Server(env_with(observation_space, action_space), 4, name="x")

    def test_unsupported_spaces(self):
        box4 = spaces.Box(-1, 1, (4,))
        self.assertRefused(spaces.Discrete(5), spaces.Discrete(2), "observation space .* is Discrete")
        self.assertRefused(gym_box(0, 9, (4,), np.int32), spaces.Discrete(2), "dtype int32")
        self.assertRefused(spaces.Box(0, 255, (84, 84), np.uint8), spaces.Discrete(2), r"needs shape \(C, H, W\)")
        self.assertRefused(box4, spaces.Box(-np.inf, np.inf, (2,)), "finite bounds")
        self.assertRefused(box4, spaces.Discrete(1), "at least 2")
        self.assertRefused(box4, types.SimpleNamespace(n=3, start=1), "starts at 1")
        self.assertRefused(box4, types.SimpleNamespace(shape=(2,)), "missing low, high, dtype")
        self.assertRefused(gym_box(-1, 1, (), np.float32), spaces.Discrete(2), "at least one dimension")
        self.assertRefused(spaces.Box(0, 255, (3, 2048, 2048), np.uint8), spaces.Discrete(2), "more than 4194304")

    def test_environment_without_spaces(self):
        with self.assertRaisesRegex(SpaceError, "no observation_space attribute"):
            Server(lambda: object(), 4, name="x")

    def test_probe_environment_is_closed(self):
        factory = support.Factory()
        Server(factory, 4, name="x")
        self.assertEqual(len(factory.made), 1)
        self.assertTrue(factory.made[0].closed)

    def test_bad_arguments(self):
        make_env = support.Factory()
        for kwargs, pattern in [
            (dict(name="Has-Capitals"), "lower-case"),
            (dict(name=""), "lower-case"),
            (dict(name="x" * 65), "lower-case"),
            (dict(name="x", reward_scale=0.0), "reward_scale"),
            (dict(name="x", reward_scale=math.inf), "reward_scale"),
            (dict(name="x", reward_threshold=math.nan), "reward_threshold"),
            (dict(name="x", description="two\nlines"), "one line"),
            (dict(name="x", max_streams=0), "max_streams"),
        ]:
            with self.subTest(**kwargs), self.assertRaisesRegex(ValueError, pattern):
                Server(make_env, 4, **kwargs)
        with self.assertRaisesRegex(ValueError, "num_envs"):
            Server(make_env, 0, name="x")


class SpacesTest(unittest.TestCase):

    def test_box_broadcasts_scalar_bounds(self):
        box = spaces.Box(-1.0, 2.0, (2, 3))
        self.assertEqual(box.shape, (2, 3))
        self.assertEqual(box.dtype, np.float32)
        np.testing.assert_array_equal(box.low, np.full((2, 3), -1.0, np.float32))
        np.testing.assert_array_equal(box.high, np.full((2, 3), 2.0, np.float32))

    def test_box_takes_its_shape_from_array_bounds(self):
        box = spaces.Box(np.array([-1.0, -np.inf]), np.array([1.0, np.inf]))
        self.assertEqual(box.shape, (2,))
        self.assertEqual(box.low[1], -np.inf)

    def test_box_refuses_bad_bounds_and_dtypes(self):
        with self.assertRaisesRegex(ValueError, "low <= high"):
            spaces.Box(1.0, -1.0, (2,))
        with self.assertRaisesRegex(ValueError, "NaN"):
            spaces.Box(np.nan, 1.0, (2,))
        with self.assertRaisesRegex(ValueError, "do not fit"):
            spaces.Box([0.0, 0.0, 0.0], 1.0, (2,))
        with self.assertRaisesRegex(ValueError, "float type or uint8"):
            spaces.Box(0, 10, (2,), np.int32)
        with self.assertRaisesRegex(ValueError, "0..255"):
            spaces.Box(0, 256, (1, 2, 2), np.uint8)

    def test_discrete(self):
        self.assertEqual(spaces.Discrete(np.int64(3)).n, 3)
        self.assertEqual(spaces.Discrete(3).start, 0)
        with self.assertRaisesRegex(ValueError, "n >= 1"):
            spaces.Discrete(0)
        with self.assertRaisesRegex(ValueError, "whole number"):
            spaces.Discrete(2.5)


if __name__ == "__main__":
    unittest.main()
