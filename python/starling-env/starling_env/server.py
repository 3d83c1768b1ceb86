"""A gRPC server (service starling.v1.Environment) that lets Starling's actors play Python environments.

The contract, one stream at a time: the first request opens N environments of this stream alone,
environment k resets with seed + k; each later request carries one action per environment, the
server steps them all, resets those whose episode ended and answers with one reply. See
proto/src/main/proto/starling/v1/environment.proto.
"""

import logging
import math
import numbers
import operator
import re
import signal
import threading
import time
from concurrent import futures

import grpc
import numpy as np

from ._proto import environment_pb2 as pb
from ._proto import environment_pb2_grpc
from ._spec import SpaceError, read_spec, describe_action, describe_observation

_LOG = logging.getLogger("starling_env")

_NAME = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")
_SEED_LIMIT = 1 << 62  # Open.seed is below this, so seed + k stays a positive int64
_FLOAT32 = np.dtype("<f4")  # the wire is little-endian whatever the host is
_STOP_GRACE_SECONDS = 1.0
_SEQUENCES = (list, tuple)


class _StreamError(Exception):
    """Ends a Play stream with a status; the message is the status's details."""

    def __init__(self, code, details):
        super().__init__(details)
        self.code = code


def _invalid(details):
    return _StreamError(grpc.StatusCode.INVALID_ARGUMENT, details)


def _env_failed(index, problem):
    return _StreamError(grpc.StatusCode.INTERNAL, f"environment {index}: {problem}")


def _raised(call, error):
    return f"{call} failed: {type(error).__name__}: {error}"


class _Stream:
    """The environments of one Play stream and the preallocated buffers of its replies.

    Used by the one thread that serves the stream; close() closes every environment it made.
    """

    def __init__(self, spec, num_envs):
        self.envs = []
        self._spec = spec
        self._n = num_envs
        shape = spec.observation_shape
        dtype = np.uint8 if spec.image else _FLOAT32
        self._obs = np.zeros((num_envs, *shape), dtype)
        self._final = np.zeros((num_envs, *shape), dtype)
        self._rewards = np.zeros(num_envs, _FLOAT32)
        self._terminated = np.zeros(num_envs, bool)
        self._truncated = np.zeros(num_envs, bool)
        self._wire_dtype = pb.UINT8 if spec.image else pb.FLOAT32
        self._obs_shape = [num_envs, *shape]
        # Images always take the checked path: assigning a float array to uint8 would wrap silently.
        self._fast_rows = not spec.image
        # Pure-Python environments may return a list or tuple for a vector observation.
        self._width = shape[0] if len(shape) == 1 else -1
        if spec.num_actions == 0:
            self._action_size = math.prod(spec.action_shape)
            self._action_low = spec.action_low.reshape(1, -1)
            self._action_high = spec.action_high.reshape(1, -1)

    def open(self, make_env, seed):
        """Makes and resets the environments; the reply to the Open."""
        for k in range(self._n):
            try:
                env = make_env()
            except Exception as e:
                raise _env_failed(k, _raised("make_env()", e)) from e
            if env is None:
                raise _env_failed(k, "make_env() returned None")
            self.envs.append(env)
            try:
                spec = read_spec(env)
            except SpaceError as e:
                raise _env_failed(k, str(e)) from e
            if not spec.same_spaces(self._spec):
                raise _env_failed(k, f"its spaces ({spec.describe()}) differ from the ones the server described "
                                     f"({self._spec.describe()})")
            try:
                ob, _ = env.reset(seed=seed + k)
            except Exception as e:
                raise _env_failed(k, _raised(f"reset(seed={seed + k})", e)) from e
            self._store(self._obs, k, ob, k, "reset()")
        return pb.PlayReply(observations=self._tensor(self._obs, self._obs_shape))

    def actions(self, act):
        """The actions of ``act``, one per environment, as the environments take them."""
        n = self._n
        num_actions = self._spec.num_actions
        if num_actions:
            if len(act.continuous):
                raise _invalid("Act.continuous is set, but the action space is discrete: send Act.discrete")
            # A plain list is faster than a numpy round trip here, and environments want Python ints.
            actions = list(act.discrete)
            if len(actions) != n:
                raise _invalid(f"Act.discrete has {len(actions)} actions for {n} environments")
            if min(actions) < 0 or max(actions) >= num_actions:
                i = next(i for i, a in enumerate(actions) if not 0 <= a < num_actions)
                raise _invalid(f"Act.discrete[{i}] (environment {i}) is {actions[i]}, outside [0, {num_actions})")
            return actions
        if len(act.discrete):
            raise _invalid("Act.discrete is set, but the action space is a box: send Act.continuous")
        values = np.array(act.continuous, dtype=np.float32)
        if values.size != n * self._action_size:
            raise _invalid(f"Act.continuous has {values.size} values for {n} environments of "
                           f"{self._action_size} each")
        flat = values.reshape(n, self._action_size)
        nan = np.isnan(flat)
        if nan.any():
            i, j = np.argwhere(nan)[0]
            raise _invalid(f"Act.continuous holds NaN at element {j} of environment {i}")
        outside = (flat < self._action_low) | (flat > self._action_high)
        if outside.any():
            i, j = np.argwhere(outside)[0]
            raise _invalid(f"Act.continuous element {j} of environment {i} is {flat[i, j]}, outside "
                           f"[{self._action_low[0, j]}, {self._action_high[0, j]}]")
        # One fresh array per step: an environment that keeps its action never sees it change.
        return list(values.reshape(n, *self._spec.action_shape))

    def step(self, actions):
        """Steps every environment once, resets those whose episode ended; the reply to the Act."""
        envs = self.envs
        obs = self._obs
        rewards = self._rewards
        terminated = self._terminated
        truncated = self._truncated
        shape = self._spec.observation_shape
        fast_rows = self._fast_rows
        width = self._width
        terminated.fill(False)
        truncated.fill(False)
        num_final = 0
        i = 0
        try:
            for i in range(self._n):
                env = envs[i]
                try:
                    ob, reward, term, trunc, _ = env.step(actions[i])
                except Exception as e:
                    raise _env_failed(i, _raised("step()", e)) from e
                # numpy would store None as NaN and parse strings: only numbers are rewards.
                if not isinstance(reward, float) and not isinstance(reward, numbers.Real):
                    raise _env_failed(i, f"step() returned reward {reward!r}, which is not a number")
                rewards[i] = reward
                if term or trunc:
                    # Gymnasium allows both flags; terminated wins (no bootstrapping past a terminal state).
                    if term:
                        terminated[i] = True
                    else:
                        truncated[i] = True
                        self._store(self._final, num_final, ob, i, "step()")
                        num_final += 1
                    try:
                        ob, _ = env.reset()
                    except Exception as e:
                        raise _env_failed(i, _raised("reset()", e)) from e
                    self._store(obs, i, ob, i, "reset()")
                elif fast_rows and (getattr(ob, "shape", None) == shape
                                    or (ob.__class__ in _SEQUENCES and len(ob) == width)):
                    obs[i] = ob  # numpy raises for nested or non-numeric values
                else:
                    self._store(obs, i, ob, i, "step()")
        except _StreamError:
            raise
        except Exception as e:
            # Whatever else an environment returns that cannot be used (flags that are arrays, say).
            raise _env_failed(i, f"what step() returned could not be used: {type(e).__name__}: {e}") from e
        if not np.isfinite(rewards).all():
            i = int(np.flatnonzero(~np.isfinite(rewards))[0])
            raise _env_failed(i, f"step() returned reward {rewards[i]} (as float32): rewards must be finite")
        reply = pb.PlayReply(observations=self._tensor(obs, self._obs_shape), rewards=rewards.tolist(),
                             terminated=terminated.tolist(), truncated=truncated.tolist())
        if num_final:
            reply.final_observations.CopyFrom(
                self._tensor(self._final[:num_final], [num_final, *shape]))
        return reply

    def close(self):
        """Closes every environment made so far; a failing close() is logged, not raised."""
        envs, self.envs = self.envs, []
        for k, env in enumerate(envs):
            close = getattr(env, "close", None)
            if close is None:
                continue
            try:
                close()
            except Exception:
                _LOG.warning("environment %d: close() failed", k, exc_info=True)

    def _store(self, out, row, ob, i, call):
        """Writes observation ``ob`` of environment ``i`` into ``out[row]``, checking shape and type."""
        shape = self._spec.observation_shape
        try:
            array = np.asarray(ob)
        except ValueError as e:  # ragged nested sequences
            raise _env_failed(i, f"{call} returned an observation that is not an array: {e}") from e
        if array.shape != shape:
            raise _env_failed(i, f"{call} returned an observation of shape {array.shape}, expected {shape}")
        if self._spec.image:
            if array.dtype != np.uint8:
                raise _env_failed(i, f"{call} returned an image of dtype {array.dtype}, expected uint8")
        elif array.dtype.kind not in "biuf":
            raise _env_failed(i, f"{call} returned an observation of dtype {array.dtype}, expected numbers")
        out[row] = array

    def _tensor(self, array, shape):
        return pb.Tensor(dtype=self._wire_dtype, shape=shape, data=array.tobytes())


class _EnvironmentService(environment_pb2_grpc.EnvironmentServicer):
    """Describe and Play. Each Play stream runs on one thread of the server's pool."""

    def __init__(self, info, spec, make_env, max_streams):
        self._info = info
        self._spec = spec
        self._make_env = make_env
        self._max_streams = max_streams
        self._lock = threading.Lock()
        self._streams = 0

    def Describe(self, request, context):
        return self._info

    def Play(self, requests, context):
        with self._lock:
            if self._streams >= self._max_streams:
                context.abort(grpc.StatusCode.RESOURCE_EXHAUSTED,
                              f"this server already plays {self._max_streams} streams, its most")
            self._streams += 1
        stream = None
        try:
            request = next(requests, None)
            if request is None:  # the client closed the stream before opening anything
                return
            num_envs, seed = self._read_open(request)
            stream = _Stream(self._spec, num_envs)
            yield stream.open(self._make_env, seed)
            for request in requests:
                kind = request.WhichOneof("kind")
                if kind != "act":
                    raise _invalid("a Play stream has one Open, its first request; then only Act requests, got "
                                   + ("a second Open" if kind == "open" else "an empty PlayRequest"))
                yield stream.step(stream.actions(request.act))
        except _StreamError as e:
            if e.code == grpc.StatusCode.INTERNAL:
                _LOG.warning("Play stream ended: %s", e, exc_info=e.__cause__)
            context.abort(e.code, str(e))
        finally:
            # Runs on every end: the client closing, cancelling or going away, an abort, the server stopping.
            if stream is not None:
                stream.close()
            with self._lock:
                self._streams -= 1

    def _read_open(self, request):
        kind = request.WhichOneof("kind")
        if kind != "open":
            raise _invalid("the first request of a Play stream must be an Open, got "
                           + ("an Act" if kind == "act" else "an empty PlayRequest"))
        num_envs = request.open.num_envs
        if num_envs == 0:
            raise _invalid("Open.num_envs is 0: open at least 1 environment")
        if num_envs > self._info.max_envs:
            raise _StreamError(grpc.StatusCode.RESOURCE_EXHAUSTED,
                               f"Open.num_envs is {num_envs}, but this server opens at most "
                               f"{self._info.max_envs} environments per stream")
        if request.open.seed >= _SEED_LIMIT:
            raise _invalid(f"Open.seed is {request.open.seed}; it must be below 2^62")
        return num_envs, request.open.seed


class Server:
    """Hosts environments made by ``make_env`` for Starling's actors; non-blocking (see serve()).

    Construction makes one environment, checks its spaces and closes it. ``start()`` listens,
    ``stop()`` cancels open streams and waits until each has closed its environments. Every Play
    stream gets its own ``make_env()`` environments and runs on its own thread, so make_env may
    be called from several threads at once; an environment is only ever used by its stream's
    thread. start() and stop() may be called from any thread. Usable as a context manager.

    Args:
        make_env: called with no arguments, returns a new environment with Gymnasium's API:
            ``reset(seed=None) -> (obs, info)``, ``step(action) -> (obs, reward, terminated,
            truncated, info)``, ``observation_space``, ``action_space``, optionally ``close()``.
        num_envs: the most environments one stream may open (``max_envs`` in Describe).
        port: TCP port; 0 picks a free one (read it from ``port`` after start()).
        name: 1-64 lower-case letters, digits, '.', '_' or '-'; Starling's run folders use it.
        description: one line for people.
        reward_threshold: average return over 100 episodes that counts as solved, or None.
        reward_scale: suggested multiplier of rewards in the loss (> 0).
        host: address to listen on; "[::]" is every interface.
        max_streams: Play streams served at once (each holds a thread); more are refused with
            RESOURCE_EXHAUSTED.
    """

    def __init__(self, make_env, num_envs, port=0, *, name, description="", reward_threshold=None,
                 reward_scale=1.0, host="[::]", max_streams=16):
        if not isinstance(name, str) or not _NAME.fullmatch(name):
            raise ValueError(f"name {name!r} must be 1-64 lower-case letters, digits, '.', '_' or '-', starting "
                             "with a letter or digit")
        if "\n" in description:
            raise ValueError("description must be one line")
        num_envs = operator.index(num_envs)
        if not 1 <= num_envs < 1 << 32:
            raise ValueError(f"num_envs must be at least 1, got {num_envs}")
        if not (reward_scale > 0 and math.isfinite(reward_scale)):
            raise ValueError(f"reward_scale must be finite and > 0, got {reward_scale}")
        if reward_threshold is not None and not math.isfinite(reward_threshold):
            raise ValueError(f"reward_threshold must be finite or None, got {reward_threshold}")
        if max_streams < 1:
            raise ValueError(f"max_streams must be at least 1, got {max_streams}")
        spec = _probe(make_env)
        self._info = pb.EnvironmentInfo(
            name=name, description=description, observation_space=spec.observation_space,
            action_space=spec.action_space, max_envs=num_envs, reward_scale=reward_scale,
            reward_threshold=reward_threshold)
        self._service = _EnvironmentService(self._info, spec, make_env, max_streams)
        self._address = f"{host}:{port}"
        self._max_streams = max_streams
        # A request is N actions of at most 10 bytes each (a negative int32 varint; floats take 4).
        self._max_request_bytes = max(4 << 20, num_envs * max(1, math.prod(spec.action_shape)) * 10 + 1024)
        self._lock = threading.Lock()
        self._server = None
        self._executor = None
        self._port = None

    @property
    def port(self):
        """The port the server listens on; None before start()."""
        return self._port

    def summary(self):
        """One line for people: name, spaces and stream size."""
        return (f"{self._info.name} ({describe_observation(self._info.observation_space)}, "
                f"{describe_action(self._info.action_space)}, up to {self._info.max_envs} envs per stream)")

    def start(self):
        """Listens and returns self; OSError if the address cannot be bound."""
        with self._lock:
            if self._server is not None:
                raise RuntimeError("the server was already started")
            # Two threads more than streams, so a Describe is answered while every stream plays.
            executor = futures.ThreadPoolExecutor(max_workers=self._max_streams + 2,
                                                  thread_name_prefix="starling-env")
            server = grpc.server(executor, maximum_concurrent_rpcs=self._max_streams + 2, options=[
                ("grpc.max_receive_message_length", self._max_request_bytes),
                # Fail on a port in use instead of sharing it with another process.
                ("grpc.so_reuseport", 0),
                # Accept clients' keepalive pings every 10 s even between streams (gRPC Java's floor).
                ("grpc.keepalive_permit_without_calls", 1),
                ("grpc.http2.min_ping_interval_without_data_ms", 10_000),
            ])
            environment_pb2_grpc.add_EnvironmentServicer_to_server(self._service, server)
            try:
                port = server.add_insecure_port(self._address)
            except RuntimeError as e:
                port, error = 0, e
            else:
                error = None
            if port == 0:
                server.stop(None)
                executor.shutdown(wait=False)
                raise OSError(f"cannot listen on {self._address} (is the port in use?)"
                              + (f": {error}" if error else ""))
            server.start()
            self._server, self._executor, self._port = server, executor, port
        return self

    def stop(self, grace=None):
        """Refuses new streams, cancels open ones after ``grace`` seconds (None: at once) and waits
        until every stream has closed its environments. Idempotent."""
        with self._lock:
            server, executor = self._server, self._executor
            self._server = self._executor = None
        if server is not None:
            server.stop(grace).wait()
            executor.shutdown(wait=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


def _probe(make_env):
    """The spec of one environment made and closed now, so a bad space fails at start, not on Open."""
    env = make_env()
    if env is None:
        raise ValueError("make_env() returned None")
    try:
        return read_spec(env)
    finally:
        close = getattr(env, "close", None)
        if close is not None:
            close()


def serve(make_env, num_envs, port, *, name, description="", reward_threshold=None, reward_scale=1.0,
          host="[::]", max_streams=16):
    """Hosts environments made by ``make_env`` until SIGTERM or SIGINT, then stops gracefully.

    Arguments as for Server. Prints ``starling-env: serving NAME (OBS, ACTION, up to N envs per
    stream) on port P`` once listening and ``starling-env: stopped`` at the end, each flushed.
    Signals are handled only when called from the main thread; elsewhere it serves until the
    process ends (use Server to stop it from code).
    """
    server = Server(make_env, num_envs, port, name=name, description=description,
                    reward_threshold=reward_threshold, reward_scale=reward_scale, host=host,
                    max_streams=max_streams)
    previous = {}
    try:
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGTERM, signal.SIGINT):
                previous[sig] = signal.signal(sig, _raise_stop)
        server.start()
        print(f"starling-env: serving {server.summary()} on port {server.port}", flush=True)
        while True:
            time.sleep(3600)
    except _StopServing:
        pass
    finally:
        # A second signal while stopping acts as it did before serve(): it ends the process at once.
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        server.stop(_STOP_GRACE_SECONDS)
    print("starling-env: stopped", flush=True)


class _StopServing(Exception):
    pass


def _raise_stop(signum, frame):
    # Raising (rather than setting an Event) interrupts the sleep at once and takes no lock in a handler.
    raise _StopServing()
