#!/usr/bin/env python3
"""Gymnasium's CartPole-v1 in pure Python, served to Starling's actors.

    python3 examples/cartpole.py --port 50051 --num-envs 64 [--step-cost-us MICROSECONDS_PER_ENV_STEP]

The dynamics, constants, rewards, termination and 500-step time limit are CartPole-v1's, and so
are the observation bounds, except that the velocities are unbounded (Gymnasium writes float32's
largest value). The start state is drawn as Gymnasium draws it (numpy's
default_rng(seed).uniform), so the same seed starts the same episodes. Each step is plain Python
with the math module.
"""

import argparse
import math
import sys
import time
from pathlib import Path

import numpy as np

# The starling_env next to this example, whether or not it is installed.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from starling_env import serve  # noqa: E402
from starling_env.spaces import Box, Discrete  # noqa: E402

GRAVITY = 9.8
MASS_CART = 1.0
MASS_POLE = 0.1
TOTAL_MASS = MASS_POLE + MASS_CART
LENGTH = 0.5  # half the pole's length
POLE_MASS_LENGTH = MASS_POLE * LENGTH
FORCE_MAG = 10.0
TAU = 0.02
THETA_THRESHOLD_RADIANS = 12 * 2 * math.pi / 360
X_THRESHOLD = 2.4
MAX_EPISODE_STEPS = 500

_HIGH = np.array([X_THRESHOLD * 2, np.inf, THETA_THRESHOLD_RADIANS * 2, np.inf], dtype=np.float32)


class CartPole:
    """CartPole-v1 with its TimeLimit; observations are tuples [x, x_dot, theta, theta_dot]."""

    observation_space = Box(-_HIGH, _HIGH, dtype=np.float32)
    action_space = Discrete(2)

    def __init__(self, step_cost_us=0.0):
        self._rng = None
        self.state = None
        self._steps = 0
        self._step_cost_ns = int(step_cost_us * 1000)

    def reset(self, seed=None, options=None):
        if seed is not None or self._rng is None:
            self._rng = np.random.default_rng(seed)  # what Gymnasium's seeding.np_random(seed) makes
        self.state = tuple(self._rng.uniform(low=-0.05, high=0.05, size=(4,)).tolist())
        self._steps = 0
        return self.state, {}

    def step(self, action):
        if self._step_cost_ns:
            busy_wait_ns(self._step_cost_ns)
        x, x_dot, theta, theta_dot = self.state
        force = FORCE_MAG if action == 1 else -FORCE_MAG
        costheta = math.cos(theta)
        sintheta = math.sin(theta)
        # Expression order follows Gymnasium's cartpole.py so results agree to rounding.
        temp = (force + POLE_MASS_LENGTH * theta_dot * theta_dot * sintheta) / TOTAL_MASS
        thetaacc = (GRAVITY * sintheta - costheta * temp) / (
            LENGTH * (4.0 / 3.0 - MASS_POLE * costheta * costheta / TOTAL_MASS))
        xacc = temp - POLE_MASS_LENGTH * thetaacc * costheta / TOTAL_MASS
        # "euler" kinematics: positions move with the old velocities.
        x = x + TAU * x_dot
        x_dot = x_dot + TAU * xacc
        theta = theta + TAU * theta_dot
        theta_dot = theta_dot + TAU * thetaacc
        self.state = (x, x_dot, theta, theta_dot)
        self._steps += 1
        terminated = (x < -X_THRESHOLD or x > X_THRESHOLD
                      or theta < -THETA_THRESHOLD_RADIANS or theta > THETA_THRESHOLD_RADIANS)
        return self.state, 1.0, terminated, self._steps >= MAX_EPISODE_STEPS, {}


def busy_wait_ns(nanoseconds):
    """Spins (holding the CPU, as a real environment's work would) for ``nanoseconds``."""
    deadline = time.perf_counter_ns() + nanoseconds
    while time.perf_counter_ns() < deadline:
        pass


def main(argv=None):
    parser = argparse.ArgumentParser(description="Serve Gymnasium's CartPole-v1 (pure Python) to Starling.")
    parser.add_argument("--port", type=int, default=50051, help="TCP port; 0 picks a free one (default 50051)")
    parser.add_argument("--host", default="[::]", help="address to listen on (default [::], every interface)")
    parser.add_argument("--num-envs", type=int, default=64,
                        help="the most environments one actor's stream may open (default 64)")
    parser.add_argument("--step-cost-us", type=float, default=0.0,
                        help="busy-wait this many microseconds in every environment step, as a costlier "
                             "simulator would (a benchmark knob; default 0)")
    args = parser.parse_args(argv)
    if args.step_cost_us < 0:
        parser.error("--step-cost-us must be >= 0")
    try:
        serve(lambda: CartPole(args.step_cost_us), args.num_envs, args.port, name="py-cartpole",
              description="Gymnasium CartPole-v1 in pure Python: reward 1 per step, 500-step limit",
              reward_threshold=475.0, reward_scale=0.05, host=args.host)
    except (OSError, ValueError) as e:
        sys.exit(f"cartpole: {e}")


if __name__ == "__main__":
    main()
