#!/usr/bin/env python3
"""Generate the Python gRPC stubs of Starling's wire contract.

Runs protoc over the repository's proto/src/main/proto/starling/v1/*.proto and writes the
packages ``starling`` and ``starling.v1`` into OUT (default: generated/ next to this script).
Put OUT on sys.path (starling_env finds generated/ by itself in a source checkout).

Standard library only: setup.py imports it before anything else is installed.
"""

import argparse
import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
PROTO_ROOT = HERE.parent.parent / "proto" / "src" / "main" / "proto"
DEFAULT_OUT = HERE / "generated"


class StubError(RuntimeError):
    """Stubs could not be generated; the message says what to install or fix."""


def _tool(name, package):
    path = shutil.which(name)
    if path is None:
        raise StubError(f"{name} not found on PATH: install it with 'apt-get install {package}'")
    return path


def generate(out=DEFAULT_OUT, proto_root=PROTO_ROOT):
    """Writes the stubs into ``out`` (created if missing) and returns the generated files."""
    out = Path(out)
    proto_root = Path(proto_root)
    protos = sorted((proto_root / "starling" / "v1").glob("*.proto"))
    if not protos:
        raise StubError(f"no .proto files in {proto_root / 'starling' / 'v1'}: run this from a Starling checkout")
    protoc = _tool("protoc", "protobuf-compiler")
    plugin = _tool("grpc_python_plugin", "protobuf-compiler-grpc")
    package = out / "starling" / "v1"
    package.mkdir(parents=True, exist_ok=True)
    for stale in [*package.glob("*_pb2.py"), *package.glob("*_pb2_grpc.py")]:
        stale.unlink()  # a .proto removed since the last run must not leave a module behind
    command = [protoc, f"-I{proto_root}", f"--python_out={out}", f"--grpc_out={out}",
               f"--plugin=protoc-gen-grpc={plugin}", *map(str, protos)]
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        raise StubError(f"protoc failed ({result.returncode}):\n{result.stderr.strip()}")
    # protoc writes modules only; the imports between them ("from starling.v1 import ...") need packages.
    for init in (out / "starling" / "__init__.py", package / "__init__.py"):
        init.touch()
    return sorted(package.glob("*.py"))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT,
                        help=f"output folder, put on sys.path (default: {DEFAULT_OUT})")
    args = parser.parse_args(argv)
    try:
        files = generate(args.out)
    except StubError as e:
        sys.exit(f"generate_stubs: {e}")
    print(f"generate_stubs: wrote {len(files)} files to {args.out / 'starling' / 'v1'}")


if __name__ == "__main__":
    main()
