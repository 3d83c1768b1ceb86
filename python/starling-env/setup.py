"""Installs starling_env and the generated stubs (packages starling, starling.v1).

    python3 -m pip install --no-build-isolation --no-deps python/starling-env

Build from the Starling checkout: the stubs are generated from its proto/ folder at build time
(protoc and grpc_python_plugin must be installed), so there is no sdist to build elsewhere.
"""

import sys
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

sys.path.insert(0, str(Path(__file__).resolve().parent))
import generate_stubs  # noqa: E402


class BuildPyWithStubs(build_py):
    """build_py, plus the stubs generated straight into the build folder."""

    def run(self):
        super().run()
        try:
            self._stubs = generate_stubs.generate(Path(self.build_lib))
        except generate_stubs.StubError as e:
            sys.exit(f"starling-env: {e}")

    def get_outputs(self, include_bytecode=1):
        # Listed so that install --record and wheels account for the generated modules too.
        stubs = [str(p) for p in getattr(self, "_stubs", [])]
        init = [str(Path(self.build_lib) / "starling" / "__init__.py")] if stubs else []
        return super().get_outputs(include_bytecode) + init + stubs


setup(
    name="starling-env",
    version="0.1.0",
    description="Host Gymnasium-style environments for Starling's actors over gRPC",
    packages=["starling_env"],
    python_requires=">=3.9",
    install_requires=["grpcio>=1.51", "protobuf>=4.21", "numpy>=1.24"],
    cmdclass={"build_py": BuildPyWithStubs},
)
