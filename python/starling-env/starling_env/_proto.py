"""The generated gRPC stubs (packages starling.v1), found where pip installed them or, in a source
checkout, in the generated/ folder that generate_stubs.py writes."""

import sys
from pathlib import Path

try:
    from starling.v1 import environment_pb2, environment_pb2_grpc, model_pb2
except ImportError:
    _generated = Path(__file__).resolve().parent.parent / "generated"
    if not (_generated / "starling" / "v1" / "environment_pb2.py").is_file():
        raise ImportError(
            "starling_env needs the generated stubs (package starling.v1): run "
            "'python3 python/starling-env/generate_stubs.py' in the Starling checkout, or install the package "
            "with 'python3 -m pip install --no-build-isolation --no-deps python/starling-env'") from None
    sys.path.append(str(_generated))
    from starling.v1 import environment_pb2, environment_pb2_grpc, model_pb2

__all__ = ["environment_pb2", "environment_pb2_grpc", "model_pb2"]
