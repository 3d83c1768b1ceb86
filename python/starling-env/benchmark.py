#!/usr/bin/env python3
"""Time one batched step of examples/cartpole.py at several batch sizes N.

    python3 python/starling-env/benchmark.py [--sizes 32,64,128] [--seconds 2]

Three figures per N, each the median of 5 rounds, in microseconds per batched step:
  envs       N x CartPole.step() in a plain loop (the environments' own cost)
  server     the server's work for one Act: read the actions, step and auto-reset N environments,
             check and batch the results into a PlayReply (no gRPC; uses the private _Stream)
  round trip one Act -> PlayReply over loopback gRPC between this process (an asyncio Python
             client) and examples/cartpole.py in its own process, as an actor plays it; the
             client's own cost is included (a Java actor's is lower)
"""

import argparse
import asyncio
import random
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE / "examples")]

import grpc  # noqa: E402

from cartpole import CartPole  # noqa: E402
from starling_env._proto import environment_pb2 as pb  # noqa: E402
from starling_env._proto import environment_pb2_grpc  # noqa: E402
from starling_env._spec import read_spec  # noqa: E402
from starling_env.server import _Stream  # noqa: E402

ROUNDS = 5


def _actions(n, count):
    rng = random.Random(1)
    return [[rng.randrange(2) for _ in range(n)] for _ in range(count)]


def _median_us(run, steps, seconds):
    """Median over ROUNDS of the time per step of run(count), with count sized to take ``seconds`` in all."""
    start = time.perf_counter()
    run(steps)
    per_step = (time.perf_counter() - start) / steps
    count = max(10, int(seconds / ROUNDS / per_step))
    samples = []
    for _ in range(ROUNDS):
        start = time.perf_counter()
        run(count)
        samples.append((time.perf_counter() - start) / count * 1e6)
    return statistics.median(samples)


def envs_alone(n, seconds):
    envs = [CartPole() for _ in range(n)]
    for k, env in enumerate(envs):
        env.reset(seed=k)
    plan = _actions(n, 256)

    def run(steps):
        for t in range(steps):
            actions = plan[t % len(plan)]
            for i in range(n):
                env = envs[i]
                _, _, term, trunc, _ = env.step(actions[i])
                if term or trunc:
                    env.reset()
    return _median_us(run, 100, seconds)


def server_step(n, seconds):
    stream = _Stream(read_spec(CartPole()), n, None)
    stream.open(CartPole, 1)
    acts = [pb.Act(discrete=a) for a in _actions(n, 256)]

    def run(steps):
        for t in range(steps):
            stream.step(stream.actions(acts[t % len(acts)]))
    try:
        return _median_us(run, 100, seconds)
    finally:
        stream.close()


def round_trip(port, n, seconds):
    # An asyncio client: a blocking one hands every message to a thread of its own, which costs more.
    loop = asyncio.new_event_loop()

    async def connect():
        channel = grpc.aio.insecure_channel(f"localhost:{port}")
        call = environment_pb2_grpc.EnvironmentStub(channel).Play()
        await call.write(pb.PlayRequest(open=pb.Open(num_envs=n, seed=1)))
        await call.read()
        return channel, call
    channel, call = loop.run_until_complete(connect())
    acts = [pb.PlayRequest(act=pb.Act(discrete=a)) for a in _actions(n, 256)]

    async def play(steps):
        for t in range(steps):
            await call.write(acts[t % len(acts)])
            await call.read()
    try:
        return _median_us(lambda steps: loop.run_until_complete(play(steps)), 100, seconds)
    finally:
        loop.run_until_complete(finish(channel, call))
        loop.close()


async def finish(channel, call):
    await call.done_writing()
    await call.code()  # the stream's status: nothing of the call is left pending when the loop closes
    await channel.close()


def start_example(max_envs):
    """examples/cartpole.py on a free port, and that port (read from the line it prints)."""
    process = subprocess.Popen([sys.executable, str(HERE / "examples" / "cartpole.py"), "--port", "0",
                                "--host", "localhost", "--num-envs", str(max_envs)],
                               stdout=subprocess.PIPE, text=True)
    line = process.stdout.readline()
    match = re.search(r" on port (\d+)$", line.rstrip("\n"))
    if match is None:
        process.kill()
        sys.exit(f"benchmark: examples/cartpole.py did not start: {line!r}")
    return process, int(match.group(1))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="32,64,128", help="batch sizes N, comma-separated")
    parser.add_argument("--seconds", type=float, default=2.0, help="time per figure (default 2)")
    args = parser.parse_args(argv)
    sizes = [int(n) for n in args.sizes.split(",")]
    process, port = start_example(max(sizes))
    try:
        print("    N   envs us   server us   round trip us   (server - envs) / N us")
        for n in sizes:
            alone = envs_alone(n, args.seconds)
            server = server_step(n, args.seconds)
            trip = round_trip(port, n, args.seconds)
            print(f"{n:5d} {alone:9.1f} {server:11.1f} {trip:15.1f} {(server - alone) / n:21.2f}", flush=True)
    finally:
        process.terminate()
        process.wait()


if __name__ == "__main__":
    main()
