"""An environment server that breaks the contract on purpose, for Starling's client tests.

Written against the raw generated stubs (not starling_env, which refuses to send bad replies).
Its Open replies are correct; every Act reply has the fault chosen with --fault.
"""
import argparse
import math
import signal
import sys
import threading
import time
from concurrent import futures

import grpc
import numpy as np

from starling.v1 import environment_pb2 as pb
from starling.v1 import environment_pb2_grpc as rpc
from starling.v1 import model_pb2

FAULTS = ("wrong-shape", "nan-reward", "hang", "three-observations")


def tensor(array):
    return pb.Tensor(dtype=pb.FLOAT32, shape=list(array.shape), data=array.astype("<f4").tobytes())


class Broken(rpc.EnvironmentServicer):
    def __init__(self, fault):
        self.fault = fault
        # "three-observations" describes box(3): a server whose spaces differ from box(4).
        self.size = 3 if fault == "three-observations" else 4

    def Describe(self, request, context):
        inf = [math.inf] * self.size
        return pb.EnvironmentInfo(
            name="broken",
            observation_space=model_pb2.ObservationSpace(
                box=model_pb2.BoxSpace(shape=[self.size], low=[-x for x in inf], high=inf)),
            action_space=model_pb2.ActionSpace(discrete=model_pb2.DiscreteSpace(n=2)),
            max_envs=64)

    def Play(self, requests, context):
        n = 0
        for request in requests:
            if request.HasField("open"):
                n = request.open.num_envs
                yield pb.PlayReply(observations=tensor(np.zeros((n, self.size), np.float32)))
                continue
            if self.fault == "hang":
                time.sleep(3600)
            observations = np.full((n, self.size), 0.5, np.float32)
            rewards = [1.0] * n
            if self.fault == "wrong-shape":
                observations = np.full((n, self.size - 1), 0.5, np.float32)
            if self.fault == "nan-reward":
                rewards[n - 1] = math.nan
            yield pb.PlayReply(observations=tensor(observations), rewards=rewards,
                               terminated=[False] * n, truncated=[False] * n)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--fault", choices=FAULTS, required=True)
    args = parser.parse_args()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=8))
    rpc.add_EnvironmentServicer_to_server(Broken(args.fault), server)
    port = server.add_insecure_port(f"[::]:{args.port}")
    server.start()
    print(f"starling-env: serving broken ({args.fault}) on port {port}", flush=True)
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    stopped.wait()
    server.stop(0)
    sys.exit(0)


if __name__ == "__main__":
    main()
