"""generate_stubs.py: what it writes, and what it says when a tool is missing."""

import os
import tempfile
import unittest
from pathlib import Path
from unittest import mock

try:
    from . import support
except ImportError:  # discovered without -t: the tests folder itself is on sys.path
    import support

import generate_stubs  # noqa: E402  (support put its folder on sys.path)


class GenerateStubsTest(unittest.TestCase):

    def test_writes_importable_packages(self):
        files = {p.name for p in (Path(support.STUBS) / "starling" / "v1").iterdir()}
        self.assertLessEqual({"__init__.py", "environment_pb2.py", "environment_pb2_grpc.py", "model_pb2.py"}, files)
        self.assertTrue((Path(support.STUBS) / "starling" / "__init__.py").is_file())

    def test_removes_modules_of_deleted_protos(self):
        with tempfile.TemporaryDirectory() as out:
            stale = Path(out) / "starling" / "v1" / "removed_pb2.py"
            stale.parent.mkdir(parents=True)
            stale.write_text("")
            generate_stubs.generate(out)
            self.assertFalse(stale.exists())
            self.assertTrue((stale.parent / "environment_pb2.py").is_file())

    def test_missing_protoc_names_the_debian_package(self):
        with tempfile.TemporaryDirectory() as empty, mock.patch.dict(os.environ, PATH=empty):
            with self.assertRaisesRegex(generate_stubs.StubError,
                                        "protoc not found .*'apt-get install protobuf-compiler'"):
                generate_stubs.generate(empty)

    def test_missing_plugin_names_the_debian_package(self):
        protoc = generate_stubs.shutil.which("protoc")
        with tempfile.TemporaryDirectory() as tools, mock.patch.dict(os.environ, PATH=tools):
            os.symlink(protoc, Path(tools) / "protoc")
            with self.assertRaisesRegex(generate_stubs.StubError,
                                        "grpc_python_plugin not found .*'apt-get install protobuf-compiler-grpc'"):
                generate_stubs.generate(tools)

    def test_outside_a_checkout(self):
        with tempfile.TemporaryDirectory() as elsewhere:
            with self.assertRaisesRegex(generate_stubs.StubError, "no .proto files"):
                generate_stubs.generate(elsewhere, proto_root=elsewhere)


if __name__ == "__main__":
    unittest.main()
