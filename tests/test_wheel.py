"""The wheel carries the CUDA sources (kernels/ as minivae/kernels) and every package."""

import importlib.metadata
import shutil
import subprocess
import sys
import zipfile

from support import ROOT

REPOSITORY = ROOT
LEFT_BEHIND = shutil.ignore_patterns(
    ".git",
    "build",
    "dist",
    "*.egg-info",
    "__pycache__",
    "runs",
    ".pytest_cache",
    ".ruff_cache",
    ".hypothesis",
    "*.so",
)


def setuptools_version():
    try:
        return tuple(int(part) for part in importlib.metadata.version("setuptools").split(".")[:2])
    except importlib.metadata.PackageNotFoundError:
        return ()


def test_the_wheel_holds_the_kernel_sources_and_every_package(tmp_path):
    source = tmp_path / "source"  # a copy, so the build leaves nothing in the checkout
    shutil.copytree(REPOSITORY, source, ignore=LEFT_BEHIND)
    # With setuptools >= 68 at hand, build with it (no download); else pip fetches one to use.
    isolation = ["--no-build-isolation"] if setuptools_version() >= (68,) else []
    wheel_dir = tmp_path / "wheel"
    command = ["pip", "wheel", str(source), "--no-deps", *isolation, "-q", "-w", str(wheel_dir)]
    built = subprocess.run([sys.executable, "-m", *command], capture_output=True, text=True)
    assert built.returncode == 0, built.stderr
    (wheel,) = wheel_dir.glob("minivae-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    kernels = REPOSITORY / "kernels"
    for path in kernels.rglob("*"):
        if path.suffix in {".cu", ".cuh", ".hpp", ".cpp"}:
            assert f"minivae/kernels/{path.relative_to(kernels).as_posix()}" in names
    for package in (REPOSITORY / "minivae").rglob("__init__.py"):  # packages are listed by hand
        assert package.relative_to(REPOSITORY).as_posix() in names, f"{package} not in the wheel"
