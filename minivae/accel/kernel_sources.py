"""The sources of kernels/, read as the compilers see them, and compiled by CuPy.

    text = kernel_source("sample_kl.cu")   # headers pasted in, #line markers kept
    module = compile_module("sample_kl.cu", ("minivae::sample_kl_forward<float>", ...))

`kernel_source` reads a file of the package's kernels (`minivae/kernels`, the repository's
`kernels/`, found through importlib.resources) and pastes in every `#include "..."` with `#line`
markers, so compiler errors name the right file and line, and so CuPy's compile cache, which
keys on the source text alone, sees every header edit. The GPU launchers (`sample_kl`, `matmul`)
and the C++ builds for the CPU (`native`) all start from this text.
"""

import importlib.resources
import posixpath
import re

from minivae import backend
from minivae.errors import MinivaeError

COMPILE_OPTIONS = ("--std=c++17", "--fmad=false")  # no fused multiply-adds: NumPy's roundings
_INCLUDE = re.compile(r'\s*#\s*include\s+"([^"]+)"\s*$')  # only "local" includes, not <system>


def kernel_root():
    """The folder of kernel sources inside the installed package (a Traversable)."""
    return importlib.resources.files("minivae.kernels")


def kernel_source(name, root=None):
    """The text of kernels/`name` with each local header pasted in place of its `#include`.

    Every file starts with `#line 1 "its name"` and the text after an include with
    `#line N "including file"`, so errors point at the original line. A header included twice is
    pasted once (what its `#pragma once` asks; the pragma itself becomes a blank line).
    """
    return _assemble(kernel_root() if root is None else root, name, set())


def _assemble(root, name, pasted):
    if name in pasted:
        return ""
    pasted.add(name)
    lines = [f'#line 1 "{name}"']
    text = _read(root, name)
    for number, line in enumerate(text.splitlines(), start=1):
        include = _INCLUDE.fullmatch(line)
        if include:
            lines.append(_assemble(root, _join(name, include[1]), pasted))
            lines.append(f'#line {number + 1} "{name}"')
        else:
            lines.append("" if line.strip() == "#pragma once" else line)
    return "\n".join(lines)


def _join(including, included):
    name = posixpath.normpath(posixpath.join(posixpath.dirname(including), included))
    if name.startswith(".."):
        raise MinivaeError(f'{including}: #include "{included}" points outside kernels/')
    return name


def _read(root, name):
    place = root
    for part in name.split("/"):
        place = place / part
    return place.read_text(encoding="utf-8")



def compile_module(name, name_expressions):
    """kernels/`name`, headers pasted in, as a CuPy RawModule instantiating `name_expressions`.

    CuPy compiles it with NVRTC on first use (and caches the binary on disk under a hash of the
    text and options); callers keep the module, so that happens once per process.
    """
    cupy = backend.module_for_device("gpu")
    return cupy.RawModule(
        code=kernel_source(name), options=COMPILE_OPTIONS, name_expressions=name_expressions
    )

