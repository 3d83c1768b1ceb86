"""A tiny image environment served through starling_env, for Starling's client tests of pixels.

Each observation is one uint8 frame of shape (1, 2, 3): pixel 0 is the step within the episode,
pixel 1 is the last action times 100, pixel 2 is the reset seed modulo 251, pixel 3 is 255 and
pixels 4 and 5 are 0. Reward is 1 per step; an episode is truncated after --length steps.
"""
import argparse

import numpy as np

from starling_env import serve
from starling_env.spaces import Box, Discrete


class Frames:
    observation_space = Box(0, 255, shape=(1, 2, 3), dtype=np.uint8)
    action_space = Discrete(3)

    def __init__(self, length):
        self.length = length
        self.t = 0
        self.seed = 0

    def frame(self, action):
        pixels = np.zeros((1, 2, 3), np.uint8)
        pixels[0, 0, 0] = self.t
        pixels[0, 0, 1] = action * 100
        pixels[0, 0, 2] = self.seed % 251
        pixels[0, 1, 0] = 255
        return pixels

    def reset(self, seed=None, options=None):
        self.t = 0
        if seed is not None:
            self.seed = seed
        return self.frame(0), {}

    def step(self, action):
        self.t += 1
        return self.frame(int(action)), 1.0, False, self.t >= self.length, {}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--length", type=int, default=3)
    args = parser.parse_args()
    serve(lambda: Frames(args.length), 8, args.port, name="frames", description="uint8 frames for tests")


if __name__ == "__main__":
    main()
