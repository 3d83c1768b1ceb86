"""Play over a real gRPC channel: replies, auto-reset, seeding, errors and the environments' lifetime."""

import random
import unittest

import grpc
import numpy as np

try:
    from . import support
except ImportError:  # discovered without -t: the tests folder itself is on sys.path
    import support

pb = support.pb
INVALID = grpc.StatusCode.INVALID_ARGUMENT
INTERNAL = grpc.StatusCode.INTERNAL


def first_draw(seed):
    """ScriptedEnv's start value of the first episode after reset(seed), as float32 on the wire."""
    return np.float32(random.Random(seed).random())


class RoundTripTest(support.ServerTestCase, unittest.TestCase):

    def test_open_answers_the_first_observations_of_seeds_seed_plus_k(self):
        factory = support.Factory()
        self.start_server(factory)
        play = self.play()
        reply = play.open(3, seed=100)
        self.assertEqual(reply.observations.dtype, pb.FLOAT32)
        obs = support.observations(reply.observations)
        self.assertEqual(obs.shape, (3, 3))
        np.testing.assert_array_equal(obs[:, 0], [first_draw(100), first_draw(101), first_draw(102)])
        np.testing.assert_array_equal(obs[:, 1:], np.zeros((3, 2)))
        self.assertEqual(len(reply.rewards), 0)
        self.assertEqual(len(reply.terminated), 0)
        self.assertFalse(reply.HasField("final_observations"))
        self.assertEqual([env.seeds for env in factory.stream_envs()], [[100], [101], [102]])

    def test_act_steps_every_environment_once_with_its_own_action(self):
        factory = support.Factory()
        self.start_server(factory)
        play = self.play()
        play.open(3, seed=7)
        reply = play.act(discrete=[2, 0, 1])
        obs = support.observations(reply.observations)
        self.assertEqual(obs.shape, (3, 3))
        np.testing.assert_array_equal(obs[:, 1], [1, 1, 1])
        np.testing.assert_array_equal(obs[:, 2], [2, 0, 1])
        self.assertEqual(list(reply.rewards), [1.0, 1.0, 1.0])
        self.assertEqual(list(reply.terminated), [False] * 3)
        self.assertEqual(list(reply.truncated), [False] * 3)
        reply = play.act(discrete=[1, 1, 1])
        self.assertEqual(list(reply.rewards), [2.0, 2.0, 2.0])
        envs = factory.stream_envs()
        self.assertEqual([env.actions for env in envs], [[2, 1], [0, 1], [1, 1]])
        self.assertTrue(all(type(a) is int for env in envs for a in env.actions))

    def test_auto_reset_puts_the_new_episode_in_the_row_and_truncated_last_observations_aside(self):
        # Seed 10 + k is environment k: 0 terminates after 2 steps, 1 and 3 are truncated after 3,
        # 2 never ends, 4 hits both at step 2 (terminated wins).
        plans = {10: (2, "terminated"), 11: (3, "truncated"), 13: (3, "truncated"), 14: (2, "both")}
        factory = support.Factory(plans=plans)
        self.start_server(factory)
        play = self.play()
        play.open(5, seed=10)
        play.act(discrete=[0] * 5)

        reply = play.act(discrete=[1] * 5)
        self.assertEqual(list(reply.terminated), [True, False, False, False, True])
        self.assertEqual(list(reply.truncated), [False] * 5)
        self.assertEqual(list(reply.rewards), [2.0] * 5)
        self.assertFalse(reply.HasField("final_observations"))
        obs = support.observations(reply.observations)
        rng = random.Random(10)
        rng.random()
        np.testing.assert_array_equal(obs[0], [np.float32(rng.random()), 0, 0])  # episode 2, unseeded
        np.testing.assert_array_equal(obs[1], [first_draw(11), 2, 1])

        reply = play.act(discrete=[2] * 5)
        self.assertEqual(list(reply.terminated), [False] * 5)
        self.assertEqual(list(reply.truncated), [False, True, False, True, False])
        self.assertEqual(list(reply.rewards), [1.0, 3.0, 3.0, 3.0, 1.0])
        final = support.observations(reply.final_observations)
        self.assertEqual(reply.final_observations.dtype, pb.FLOAT32)
        np.testing.assert_array_equal(final, [[first_draw(11), 3, 2], [first_draw(13), 3, 2]])
        obs = support.observations(reply.observations)
        np.testing.assert_array_equal(obs[[1, 3], 1:], np.zeros((2, 2)))
        np.testing.assert_array_equal(obs[2], [first_draw(12), 3, 2])

        envs = factory.stream_envs()
        self.assertEqual([env.seeds for env in envs], [[10, None], [11, None], [12], [13, None], [14, None]])

    def test_same_seed_same_episodes_on_a_new_stream(self):
        self.start_server(support.Factory())
        first = self.play()
        second = self.play()
        other = self.play()
        a = support.observations(first.open(4, seed=5).observations)
        b = support.observations(second.open(4, seed=5).observations)
        c = support.observations(other.open(4, seed=6).observations)
        np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(a[1:], c[:3])  # env k of seed 5 is env k - 1 of seed 6
        self.assertFalse(np.array_equal(a, c))

    def test_largest_seed(self):
        factory = support.Factory()
        self.start_server(factory)
        seed = (1 << 62) - 1
        self.play().open(2, seed=seed)
        self.assertEqual([env.seeds for env in factory.stream_envs()], [[seed], [seed + 1]])

    def test_continuous_actions_arrive_as_float32_arrays_of_the_action_shape(self):
        factory = support.Factory(support.ContinuousEnv)
        self.start_server(factory)
        play = self.play()
        play.open(2)
        play.act(continuous=[0.5, -2.0, 2.0, 1.25])
        actions = [env.actions[0] for env in factory.stream_envs()]
        for action in actions:
            self.assertIsInstance(action, np.ndarray)
            self.assertEqual(action.dtype, np.float32)
            self.assertEqual(action.shape, (2,))
        np.testing.assert_array_equal(actions, [[0.5, -2.0], [2.0, 1.25]])

    def test_image_observations_are_uint8(self):
        self.start_server(support.Factory(support.ImageEnv))
        play = self.play()
        reply = play.open(2)
        self.assertEqual(reply.observations.dtype, pb.UINT8)
        self.assertEqual(list(reply.observations.shape), [2, 3, 4, 5])
        reply = play.act(discrete=[0, 1])
        obs = support.observations(reply.observations)
        expected = np.arange(60, dtype=np.uint8).reshape(3, 4, 5) + 1
        np.testing.assert_array_equal(obs, [expected, expected])


class StreamEndTest(support.ServerTestCase, unittest.TestCase):
    """Whatever ends a stream, its environments are closed and the server plays on."""

    def test_client_finishing_closes_the_environments(self):
        factory = support.Factory()
        self.start_server(factory)
        play = self.play()
        play.open(3)
        play.act(discrete=[0, 1, 2])
        self.assertEqual([env.closed for env in factory.stream_envs()], [False] * 3)
        play.finish()
        self.assertEqual([env.closed for env in factory.stream_envs()], [True] * 3)

    def test_client_cancelling_closes_the_environments(self):
        factory = support.Factory()
        self.start_server(factory)
        play = self.play()
        play.open(2)
        play.cancel()
        self.assertTrue(support.wait_until(lambda: all(env.closed for env in factory.stream_envs())))

    def test_server_stop_closes_the_environments(self):
        factory = support.Factory()
        server = self.start_server(factory)
        self.play().open(2)
        server.stop(grace=0.1)
        self.assertEqual([env.closed for env in factory.stream_envs()], [True, True])

    def test_error_closes_the_environments_and_the_next_stream_plays(self):
        factory = support.Factory()
        self.start_server(factory)
        play = self.play()
        play.open(2)
        self.assertStatus(INVALID, "Act.discrete", lambda: play.act(discrete=[0]))
        self.assertEqual([env.closed for env in factory.stream_envs()], [True, True])
        play = self.play()
        play.open(1)
        self.assertEqual(list(play.act(discrete=[1]).rewards), [1.0])


class BadRequestTest(support.ServerTestCase, unittest.TestCase):

    def setUp(self):
        self.factory = support.Factory()
        self.start_server(self.factory, num_envs=4)

    def opened(self, num_envs=2):
        play = self.play()
        play.open(num_envs)
        return play

    def test_open_for_no_environment(self):
        play = self.play()
        self.assertStatus(INVALID, "Open.num_envs is 0", lambda: play.open(0))

    def test_open_for_more_than_max_envs(self):
        play = self.play()
        self.assertStatus(grpc.StatusCode.RESOURCE_EXHAUSTED, "Open.num_envs is 5.* at most 4",
                          lambda: play.open(5))
        self.assertEqual(len(self.factory.made), 1, "no environment made for a refused Open")

    def test_seed_too_large(self):
        play = self.play()
        self.assertStatus(INVALID, r"Open.seed .* below 2\^62", lambda: play.open(1, seed=1 << 62))

    def test_first_request_not_an_open(self):
        play = self.play()
        self.assertStatus(INVALID, "first request .* must be an Open, got an Act", lambda: play.act(discrete=[0]))
        play = self.play()
        self.assertStatus(INVALID, "got an empty PlayRequest", lambda: play.send(pb.PlayRequest()))

    def test_second_open(self):
        play = self.opened()
        self.assertStatus(INVALID, "a second Open", lambda: play.open(2))

    def test_wrong_number_of_actions(self):
        play = self.opened(2)
        self.assertStatus(INVALID, "Act.discrete has 3 actions for 2 environments", lambda: play.act(discrete=[0] * 3))
        play = self.opened(2)
        self.assertStatus(INVALID, "Act.discrete has 0 actions for 2", lambda: play.act())

    def test_discrete_action_out_of_range(self):
        play = self.opened(2)
        self.assertStatus(INVALID, r"Act.discrete\[1\] \(environment 1\) is 3, outside \[0, 3\)",
                          lambda: play.act(discrete=[0, 3]))
        play = self.opened(2)
        self.assertStatus(INVALID, r"Act.discrete\[0\] \(environment 0\) is -1", lambda: play.act(discrete=[-1, 0]))

    def test_continuous_actions_for_a_discrete_space(self):
        play = self.opened(1)
        self.assertStatus(INVALID, "Act.continuous is set, but the action space is discrete",
                          lambda: play.act(continuous=[0.0]))


class BadContinuousRequestTest(support.ServerTestCase, unittest.TestCase):

    def setUp(self):
        self.start_server(support.Factory(support.ContinuousEnv))
        self.play_ = self.play()
        self.play_.open(2)

    def test_nan(self):
        self.assertStatus(INVALID, "NaN at element 1 of environment 1",
                          lambda: self.play_.act(continuous=[0.0, 0.0, 0.0, float("nan")]))

    def test_outside_the_box(self):
        self.assertStatus(INVALID, r"element 0 of environment 1 is 2.5, outside \[-2.0, 2.0\]",
                          lambda: self.play_.act(continuous=[0.0, 0.0, 2.5, 0.0]))

    def test_wrong_number_of_values(self):
        self.assertStatus(INVALID, "Act.continuous has 3 values for 2 environments of 2 each",
                          lambda: self.play_.act(continuous=[0.0] * 3))

    def test_discrete_actions_for_a_box_space(self):
        self.assertStatus(INVALID, "Act.discrete is set, but the action space is a box",
                          lambda: self.play_.act(discrete=[0, 0]))


class FailingEnv(support.ScriptedEnv):
    """ScriptedEnv that misbehaves as ``fault`` says once its step count reaches ``at``
    (only in the environment whose first seed is ``seed``)."""

    def __init__(self, fault=None, seed=None, at=1):
        super().__init__()
        self.fault, self.fault_seed, self.at = fault, seed, at

    def step(self, action):
        ob, reward, terminated, truncated, info = super().step(action)
        if self.seeds[0] != self.fault_seed or self.steps < self.at:
            return ob, reward, terminated, truncated, info
        if self.fault == "raise":
            raise RuntimeError("the simulator crashed")
        if self.fault == "shape":
            return ob[:2], reward, terminated, truncated, info
        if self.fault == "nan-reward":
            return ob, float("nan"), terminated, truncated, info
        if self.fault == "reward-none":
            return ob, None, terminated, truncated, info
        if self.fault == "four-values":
            return ob, reward, terminated, info
        if self.fault == "truncated-shape":
            return ob[:1], reward, False, True, info
        if self.fault == "reset-raises":
            self.reset = self._crash
            return ob, reward, True, False, info
        raise AssertionError(self.fault)

    def _crash(self, seed=None):
        raise ValueError("no more episodes")


class EnvironmentFailureTest(support.ServerTestCase, unittest.TestCase):
    """An environment that raises or returns the wrong thing ends its stream with INTERNAL, logged."""

    def assertInternal(self, pattern, call):
        with self.assertLogs("starling_env", "WARNING") as logs:
            self.assertStatus(INTERNAL, pattern, call)
        self.assertRegex(logs.output[0], "Play stream ended: " + pattern)

    def assertFails(self, fault, pattern, at=1):
        factory = support.Factory(FailingEnv, fault=fault, seed=2, at=at)
        self.start_server(factory)
        play = self.play()
        play.open(3)
        for _ in range(at - 1):
            play.act(discrete=[0, 0, 0])
        self.assertInternal(pattern, lambda: play.act(discrete=[0, 0, 0]))
        self.assertEqual([env.closed for env in factory.stream_envs()], [True] * 3)
        play = self.play()  # the server serves the next stream
        self.assertEqual(support.observations(play.open(1).observations).shape, (1, 3))

    def test_step_raises(self):
        self.assertFails("raise", "environment 2: step.. failed: RuntimeError: the simulator crashed")

    def test_observation_of_the_wrong_shape(self):
        self.assertFails("shape", r"environment 2: step\(\) returned an observation of shape \(2,\), expected \(3,\)",
                         at=2)

    def test_non_finite_reward(self):
        self.assertFails("nan-reward", r"environment 2: step\(\) returned reward nan .*must be finite")

    def test_reward_not_a_number(self):
        self.assertFails("reward-none", r"environment 2: step\(\) returned reward None, which is not a number")

    def test_old_gym_api(self):
        self.assertFails("four-values", r"environment 2: step\(\) failed: ValueError: not enough values to unpack")

    def test_last_observation_of_a_truncated_episode_of_the_wrong_shape(self):
        self.assertFails("truncated-shape", r"environment 2: step\(\) returned an observation of shape \(1,\)")

    def test_reset_raises(self):
        self.assertFails("reset-raises", r"environment 2: reset\(\) failed: ValueError: no more episodes")

    def test_make_env_raises_on_open(self):
        made = []

        def make_env():
            if len(made) == 2:  # the probe, then environment 0 of the stream
                raise OSError("no licence left")
            made.append(support.ScriptedEnv())
            return made[-1]
        self.start_server(make_env)
        play = self.play()
        self.assertInternal(r"environment 1: make_env\(\) failed: OSError: no licence left",
                            lambda: play.open(2))
        self.assertTrue(made[1].closed)

    def test_environment_with_other_spaces(self):
        made = []

        def make_env():
            made.append(support.ScriptedEnv() if not made else support.ContinuousEnv())
            return made[-1]
        self.start_server(make_env)
        play = self.play()
        self.assertInternal(r"environment 0: its spaces \(box\(3\), box\(-2,2;2\)\) differ from the ones "
                            r"the server described \(box\(3\), discrete\(3\)\)", lambda: play.open(1))

    def test_float_image(self):
        class FloatImageEnv(support.ImageEnv):
            def reset(self, seed=None):
                return np.zeros((3, 4, 5), np.float32), {}
        self.start_server(support.Factory(FloatImageEnv))
        play = self.play()
        self.assertInternal(r"environment 0: reset\(\) returned an image of dtype float32, expected uint8",
                            lambda: play.open(1))


class StreamLimitTest(support.ServerTestCase, unittest.TestCase):

    def test_streams_beyond_max_streams_are_refused(self):
        self.start_server(support.Factory(), max_streams=2)
        self.play().open(1)
        self.play().open(1)
        third = self.play()
        self.assertStatus(grpc.StatusCode.RESOURCE_EXHAUSTED, "already plays 2 streams", lambda: third.open(1))
        self.stub.Describe(pb.DescribeRequest(), timeout=support.TIMEOUT)  # still answered


if __name__ == "__main__":
    unittest.main()
