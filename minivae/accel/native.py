"""C and C++ from kernels/ built for this machine's CPU and loaded with ctypes.

    path = build_library("cpu/adam.cpp", CPU_COMMAND)   # compiled once, then found in the cache
    library = load(path, {"minivae_adam_float": "qPPPPfffffff"})

A library is built from `kernel_sources.kernel_source` (local headers pasted in) into a cache
folder named by the hash of that text and of the compiler command, so an edited source always
builds a new library and a stale one is never loaded. Adam's fused loop (`optim.Adam`) and the
host builds of the CUDA kernels for the tests (`cuda_host`) are made this way.
"""

import ctypes
import hashlib
import os
import pathlib
import shutil
import subprocess
import tempfile

from minivae.accel.kernel_sources import kernel_source
from minivae.errors import MinivaeError

# The CPU's fast forms. -ffp-contract=off: a * b + c stays two roundings (no fused multiply-add),
# as in NumPy, so a loop gives NumPy's bits; -fno-math-errno lets sqrt run as one instruction
# (it never sees a negative number there). No -march=native: a library in a cache shared by
# several machines must run on each of them.
CPU_COMMAND = ("c++", "-std=c++17", "-O3", "-ffp-contract=off", "-fno-math-errno", "-shared",
               "-fPIC")
_INSTALL_HINT = {
    "nvcc": "install the CUDA toolkit (nvcc) or put it on PATH",
    "g++": "install a C++20 compiler (apt-get install g++)",
    "c++": "install a C++ compiler (apt-get install g++; on macOS xcode-select --install)",
}
# The C signatures, a letter an argument (as in the struct module): i int, I unsigned int,
# q int64, Q uint64, f float, d double, P a pointer (an array's address).
_CTYPES = {"i": ctypes.c_int, "I": ctypes.c_uint, "q": ctypes.c_int64, "Q": ctypes.c_uint64,
           "f": ctypes.c_float, "d": ctypes.c_double, "P": ctypes.c_void_p}


def default_cache_dir():
    """$XDG_CACHE_HOME/minivae/kernels, or ~/.cache/minivae/kernels."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return pathlib.Path(base) / "minivae" / "kernels"


def build_library(name, command, cache_dir=None, root=None):
    """Compile kernels/`name` (headers pasted in) with `command` into a shared library; its path.

    The library lands in cache_dir/<hash of command and source>/, built once: a source or header
    edit changes the hash, so it is rebuilt. root: another kernels folder (the tests' copies).
    """
    source = kernel_source(name, root)
    key = hashlib.sha256("\0".join([*command, source]).encode()).hexdigest()[:16]
    folder = pathlib.Path(cache_dir or default_cache_dir()) / key
    stem = pathlib.PurePosixPath(name).stem
    target = folder / f"lib{stem}.so"
    if target.exists():
        return target
    compiler = shutil.which(command[0])
    if compiler is None:
        hint = _INSTALL_HINT.get(command[0], f"put {command[0]} on PATH")
        raise MinivaeError(f"building {name} needs {command[0]}: {hint}")
    folder.mkdir(parents=True, exist_ok=True)
    source_path = folder / pathlib.PurePosixPath(name).name
    source_path.write_text(source, encoding="utf-8")
    with tempfile.TemporaryDirectory(dir=folder) as scratch:  # rename: no half-written library
        built = os.path.join(scratch, target.name)
        done = subprocess.run(
            [compiler, *command[1:], "-o", built, str(source_path)], capture_output=True, text=True
        )
        if done.returncode != 0:
            raise MinivaeError(f"{' '.join(command)} {name} failed:\n{done.stderr.strip()}")
        os.replace(built, target)
    return target


def load(path, signatures):
    """The library at `path`, each function named in `signatures` given its argument types
    (a string of the letters above); every function returns void. ctypes checks nothing else:
    the caller checks each array's dtype, shape and layout before passing its address."""
    library = ctypes.CDLL(str(path))
    for name, letters in signatures.items():
        function = getattr(library, name)
        function.argtypes, function.restype = [_CTYPES[c] for c in letters], None
    return library
