"""examples/cartpole.py: CartPole-v1's dynamics, and the process a Java test starts and stops."""

import importlib.util
import os
import re
import signal
import subprocess
import sys
import time
import unittest

import grpc
import numpy as np

try:
    from . import support
except ImportError:  # discovered without -t: the tests folder itself is on sys.path
    import support

pb = support.pb
EXAMPLE = support.PACKAGE_ROOT / "examples" / "cartpole.py"
SERVING = re.compile(r"starling-env: serving py-cartpole \(box\(\[-4\.8 -inf -0\.41887903 -inf\],"
                     r"\[4\.8 inf 0\.41887903 inf\];4\), discrete\(2\), up to 4 envs per stream\) on port (\d+)")

# Gymnasium's CartPole-v1 reset(seed=42), as its documentation prints it (7-8 digits).
GYMNASIUM_SEED_42 = [0.0273956, -0.00611216, 0.03585979, 0.0197368]

_spec = importlib.util.spec_from_file_location("cartpole_example", EXAMPLE)
cartpole = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(cartpole)


def balancing_action(obs):
    """Linear state feedback that keeps the pole up for the whole 500 steps (as Starling's CartPoleTest)."""
    x, x_dot, theta, theta_dot = obs
    return 1 if 1.0 * x + 1.6 * x_dot + 18.0 * theta + 3.0 * theta_dot > 0 else 0


class DynamicsTest(unittest.TestCase):
    """Expected values are Starling's CartPoleTest ones, computed with Gymnasium's formulas."""

    def test_one_step_pushing_right_and_left(self):
        env = cartpole.CartPole()
        env.reset(seed=0)
        env.state = (0.01, -0.02, 0.03, 0.04)
        obs, reward, terminated, truncated, _ = env.step(1)
        self.assertEqual(reward, 1.0)
        self.assertFalse(terminated or truncated)
        expected = (0.009600000000000001, 0.17467919574755525, 0.030799999999999998, -0.2430687179600081)
        np.testing.assert_allclose(obs, expected, rtol=0, atol=1e-14)
        env.state = (0.01, -0.02, 0.03, 0.04)
        obs = env.step(0)[0]
        np.testing.assert_allclose([obs[1], obs[3]], [-0.21553901710278936, 0.34199522377603914], rtol=0, atol=1e-14)
        env.state = (-1.0, 0.5, -0.15, -1.2)
        obs = env.step(1)[0]
        np.testing.assert_allclose(obs, (-0.99, 0.6967096752986647, -0.174, -1.5356860674755026), rtol=0, atol=1e-14)

    def test_reset_draws_gymnasiums_start_state(self):
        obs, _ = cartpole.CartPole().reset(seed=42)
        np.testing.assert_allclose(obs, GYMNASIUM_SEED_42, rtol=0, atol=1e-7)
        env = cartpole.CartPole()
        first = env.reset(seed=3)[0]
        second = env.reset()[0]
        self.assertNotEqual(first, second)
        self.assertEqual(env.reset(seed=3)[0], first)

    def test_leaving_the_track_or_falling_terminates(self):
        env = cartpole.CartPole()
        env.reset(seed=0)
        for state, action in [((2.39, 1.0, 0.0, 0.0), 1), ((-2.39, -1.0, 0.0, 0.0), 1), ((0.0, 0.0, 0.2, 0.5), 1),
                              ((0.0, 0.0, -0.2, -0.5), 1)]:
            env.state = state
            self.assertTrue(env.step(action)[2], state)
        for state in [(2.39, 0.4, 0.0, 0.0), (-2.39, -0.4, 0.0, 0.0), (0.0, 0.0, 0.2, 0.4), (0.0, 0.0, -0.2, -0.4)]:
            env.state = state
            self.assertFalse(env.step(0)[2], state)

    def test_truncated_at_step_500(self):
        env = cartpole.CartPole()
        obs, _ = env.reset(seed=1)
        for t in range(1, 501):
            obs, reward, terminated, truncated, _ = env.step(balancing_action(obs))
            self.assertFalse(terminated, t)
            self.assertEqual(truncated, t == 500, t)

    def test_spaces(self):
        space = cartpole.CartPole.observation_space
        np.testing.assert_array_equal(space.high, np.float32([4.8, np.inf, 12 * 2 * np.pi / 360 * 2, np.inf]))
        np.testing.assert_array_equal(space.low, -space.high)
        self.assertEqual(cartpole.CartPole.action_space.n, 2)


class ProcessTest(unittest.TestCase):
    """The example as a process: the line it prints, its replies, SIGTERM and --step-cost-us."""

    def launch(self, *args):
        env = dict(os.environ, PYTHONPATH=support.STUBS)
        process = subprocess.Popen([sys.executable, str(EXAMPLE), "--host", "localhost", "--num-envs", "4", *args],
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        self.addCleanup(process.wait, support.TIMEOUT)
        self.addCleanup(process.kill)
        self.addCleanup(process.stderr.close)
        self.addCleanup(process.stdout.close)
        return process

    def start(self, *args):
        """The example on a free port, its port (from the line it prints) and a stub talking to it."""
        process = self.launch("--port", "0", *args)
        line = process.stdout.readline().rstrip("\n")
        match = SERVING.fullmatch(line)
        self.assertIsNotNone(match, line)
        channel = grpc.insecure_channel(f"localhost:{match.group(1)}")
        self.addCleanup(channel.close)
        return process, int(match.group(1)), support.environment_pb2_grpc.EnvironmentStub(channel)

    def test_serves_until_sigterm_then_exits_0(self):
        process, _, stub = self.start()
        info = stub.Describe(pb.DescribeRequest(), timeout=support.TIMEOUT)
        self.assertEqual((info.name, info.max_envs, info.reward_threshold), ("py-cartpole", 4, 475.0))
        self.assertAlmostEqual(info.reward_scale, 0.05)
        play = support.Play(stub)
        self.addCleanup(play.cancel)
        first = support.observations(play.open(4, seed=42).observations)
        np.testing.assert_allclose(first[0], GYMNASIUM_SEED_42, rtol=0, atol=1e-7)
        self.assertEqual(list(play.act(discrete=[0, 1, 0, 1]).rewards), [1.0] * 4)
        process.send_signal(signal.SIGTERM)
        self.assertEqual(process.wait(support.TIMEOUT), 0)
        self.assertEqual(process.stdout.read(), "starling-env: stopped\n")

    def test_step_cost_is_paid_in_every_environment_step(self):
        _, _, stub = self.start("--step-cost-us", "10000")
        play = support.Play(stub)
        self.addCleanup(play.cancel)
        play.open(4)
        for _ in range(3):
            start = time.perf_counter()
            play.act(discrete=[0] * 4)
            # 10 ms in each of the 4 environments (paid once per batched step it would be 10 ms).
            self.assertGreaterEqual(time.perf_counter() - start, 0.040)

    def test_port_in_use_exits_with_a_message(self):
        _, port, _ = self.start()
        second = self.launch("--port", str(port))
        self.assertEqual(second.wait(support.TIMEOUT), 1)
        self.assertEqual(second.stdout.read(), "")
        self.assertIn(f"cartpole: cannot listen on localhost:{port}", second.stderr.read())


if __name__ == "__main__":
    unittest.main()
