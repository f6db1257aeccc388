"""The host builds of kernels/, made once per test run, in a folder of their own.

Without nvcc or g++ the kernel tests skip on a developer's machine but fail in CI (CI=true),
where the toolchain is part of the machine and a skip would hide that nothing was checked.
"""

import functools
import os
import shutil
import tempfile

import pytest

from minivae.accel import host_builds

_CACHE = tempfile.TemporaryDirectory(prefix="minivae-kernel-tests-")  # removed at exit


def require_tool(tool):
    """Skip (fail in CI) unless `tool` is on PATH."""
    if shutil.which(tool) is None:
        message = f"{tool} is not on PATH: the kernel tests build kernels/ with it"
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI must have {tool}: {message}")
        pytest.skip(message)


@functools.cache
def host_library():
    require_tool("nvcc")
    return host_builds.host_library(_CACHE.name)


@functools.cache
def emulated_kernels():
    require_tool("g++")
    return host_builds.emulated_kernels(_CACHE.name)


@functools.cache
def emulated_matmul():
    require_tool("g++")
    return host_builds.emulated_matmul(_CACHE.name)
