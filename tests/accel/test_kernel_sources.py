"""The kernel sources: they compile for sm_90, errors point at the right line, a header edit is
never served stale, and a bug planted in a copy of them is caught by the tests that check them.
"""

import pathlib
import re
import shutil
import subprocess

import numpy as np
import pytest
from support import matmul_checks, sample_kl_checks
from support.builds import require_tool

from minivae.accel import host_builds, kernel_sources, sample_kl
from minivae.accel import matmul as accel_matmul
from minivae.errors import MinivaeError

ROOT = pathlib.Path(str(kernel_sources.kernel_root()))
# what CuPy builds, by file
MODULES = {"sample_kl.cu": sample_kl.NAME_EXPRESSIONS, **accel_matmul.NAME_EXPRESSIONS}
NVCC_SM90 = [
    "nvcc",
    "-arch=sm_90",
    "-std=c++17",
    "--fmad=false",
    "-ftz=true",
    "-Werror",
    "all-warnings",
]


def nvcc(arguments, cwd):
    require_tool("nvcc")
    return subprocess.run(NVCC_SM90 + arguments, cwd=cwd, capture_output=True, text=True)


@pytest.mark.parametrize("name", sorted(p.relative_to(ROOT).as_posix() for p in ROOT.rglob("*.cu")))
def test_every_cu_file_compiles_for_sm_90(name, tmp_path):
    done = nvcc(["-c", "-o", str(tmp_path / "out.o"), name], cwd=ROOT)
    assert done.returncode == 0, done.stderr


def instantiated(source, names=sample_kl.NAME_EXPRESSIONS):
    """The source plus the addresses of the kernels `names`, so nvcc compiles each of them."""
    addresses = ", ".join(f"(void*)&{name}" for name in names)
    return f"{source}\nstatic void* const minivae_kernels[] = {{{addresses}}};\n"


def mangled(expression):
    """How `minivae::name<float,2>` is named in a cubin (Itanium ABI): 4nameIfLi2EE."""
    name, arguments = re.fullmatch(r"minivae::(\w+)<(.+)>", expression).groups()
    letters = {"float": "f", "double": "d"}  # an int argument N is written LiNE
    code = "".join(letters.get(argument, f"Li{argument}E") for argument in arguments.split(","))
    return f"{len(name)}{name}I{code}E"


@pytest.mark.parametrize("name", sorted(MODULES))
def test_every_kernel_instance_compiles_on_sm_90(name, tmp_path):
    source = kernel_sources.kernel_source(name)
    (tmp_path / "all.cu").write_text(instantiated(source, MODULES[name]))
    done = nvcc(["-cubin", "-o", "all.cubin", "all.cu"], cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    cubin = (tmp_path / "all.cubin").read_bytes()
    for expression in MODULES[name]:
        assert mangled(expression).encode() in cubin, expression


@pytest.mark.parametrize("name", sorted(p.name for p in ROOT.glob("*.cuh")))
def test_the_header_has_no_intrinsics_no_arch_branches_and_no_includes(name):
    header = (ROOT / name).read_text()
    code = re.sub(r"//.*", "", header)  # comments may name what the code avoids
    assert "__CUDA_ARCH__" not in code and "#include" not in code
    assert not re.findall(r"\b__\w+\s*\(", code), "intrinsics: " + str(
        re.findall(r"\b__\w+\(", code)
    )
    for line in code.splitlines():
        if " inline " in line:
            assert line.startswith("__host__ __device__ inline"), line


def test_the_loader_agrees_with_the_kernel_source():
    source = (ROOT / "sample_kl.cu").read_text()
    assert f"constexpr int BLOCK_THREADS = {sample_kl.BLOCK_THREADS};" in source
    matmul = (ROOT / "matmul.cu").read_text()
    assert f"constexpr int SIDE = {accel_matmul.SIDE};" in matmul
    assert "constexpr int THREADS = SIDE * SIDE;" in matmul
    column_sum = (ROOT / "column_sum.cu").read_text()
    assert f"constexpr int COLUMN_SUM_THREADS = {accel_matmul.COLUMN_SUM_THREADS};" in column_sum
    for name, expressions in MODULES.items():
        for expression in expressions:
            assert f"{expression.split('::')[1].split('<')[0]}(" in (ROOT / name).read_text()


def test_headers_are_pasted_in_with_line_markers():
    text = kernel_sources.kernel_source("sample_kl.cu")
    assert '#include "' not in text
    assert text.count('#line 1 "sample_kl.cuh"') == 1
    assert (ROOT / "sample_kl.cuh").read_text().splitlines()[1] in text
    include_at = (ROOT / "sample_kl.cu").read_text().splitlines().index('#include "sample_kl.cuh"')
    assert f'#line {include_at + 2} "sample_kl.cu"' in text  # the next line, counted from 1
    emulated = kernel_sources.kernel_source("host/sample_kl_emulated.cpp")
    assert '#line 1 "host/emulate.hpp"' in emulated and "#include <barrier>" in emulated


def test_a_header_included_twice_is_pasted_once(tmp_path):
    (tmp_path / "a.cuh").write_text("int a;\n")
    (tmp_path / "main.cu").write_text('#include "a.cuh"\n#include "a.cuh"\nint b;\n')
    assert kernel_sources.kernel_source("main.cu", tmp_path).count("int a;") == 1


@pytest.fixture
def copy_of_kernels(tmp_path):
    """A writable copy of kernels/, to edit; returns (root, edit(name, old, new))."""
    root = tmp_path / "kernels"
    shutil.copytree(ROOT, root, ignore=shutil.ignore_patterns("__pycache__"))

    def edit(name, old, new):
        text = (root / name).read_text()
        assert text.count(old) == 1, f"{old!r} is not once in {name}"
        (root / name).write_text(text.replace(old, new))

    return root, edit


def test_a_compile_error_points_at_the_header_line(copy_of_kernels):
    root, edit = copy_of_kernels
    edit("sample_kl.cuh", "var = sigma * sigma;              //", "var = sigma * undeclared;  //")
    lines = (root / "sample_kl.cuh").read_text().splitlines()
    line = next(n for n, text in enumerate(lines, start=1) if "undeclared" in text)
    (root / "check.cu").write_text(instantiated(kernel_sources.kernel_source("sample_kl.cu", root)))
    done = nvcc(["-cubin", "-o", "check.cubin", "check.cu"], cwd=root)
    assert done.returncode != 0 and f"sample_kl.cuh({line}): error" in done.stderr, done.stderr


def test_an_edited_header_is_rebuilt_and_never_served_stale(copy_of_kernels, tmp_path):
    """The source text CuPy keys its cache on changes with the header, and so do the host builds."""
    root, edit = copy_of_kernels
    cache = tmp_path / "cache"
    before = kernel_sources.kernel_source("sample_kl.cu", root)
    library = host_builds.host_library(cache, root)
    assert host_builds.host_library(cache, root).path == library.path  # unchanged: built once
    counters, keys, expected = zip(*sample_kl_checks.KNOWN_ANSWERS, strict=True)
    assert [tuple(map(int, w)) for w in library.philox(counters, keys)] == list(expected)

    edit("sample_kl.cuh", "PHILOX_M0 = 0xD2511F53u", "PHILOX_M0 = 0xD2511F55u")  # a planted bug
    after = kernel_sources.kernel_source("sample_kl.cu", root)
    assert after != before and "0xD2511F55u" in after  # what RawModule compiles and hashes
    edited = host_builds.host_library(cache, root)
    assert edited.path != library.path
    assert [tuple(map(int, w)) for w in edited.philox(counters, keys)] != list(expected)


PLANTED = [  # (file, correct text, wrong text, what catches it)
    ("sample_kl.cuh", "exp_of(T(0.5) * logvar);  //", "exp_of(logvar);  //", "host"),  # no 1/2
    ("sample_kl.cuh", "gk * (var - T(1)) / T(2)", "gk * (var - T(1))", "host"),
    ("sample_kl.cu", "half > 0; half /= 2", "half > 1; half /= 2", "emulated"),  # tree too short
    ("sample_kl.cu", "gz[at], gk[row])", "gz[at], gk[quad])", "emulated"),
    ("matmul.cuh", "kk >= depth", "kk > depth", "matmul"),  # reads past each row's end
    ("matmul.cuh", "? x[kk * rows + row]", "? x[kk * depth + row]", "matmul"),  # transposed
    ("matmul.cu", "__syncthreads();  // both tiles", "//", "matmul"),  # reads half-copied tiles
    ("matmul.cu", "__syncthreads();  // everyone", "//", "matmul"),  # overwrites tiles in use
    ("matmul.cu", "acc[r][s] + bias[j]", "acc[r][s] + bias[i]", "matmul"),
    ("column_sum.cu", "COLUMN_SUM_THREADS + threadIdx.x;", "0 + threadIdx.x;", "matmul"),
]


@pytest.mark.parametrize("name, right, wrong, where", PLANTED, ids=lambda v: str(v)[:24])
def test_a_planted_bug_fails_the_checks(copy_of_kernels, tmp_path, name, right, wrong, where):
    root, edit = copy_of_kernels
    edit(name, right, wrong)
    with pytest.raises(AssertionError):
        if where == "host":
            library = host_builds.host_library(tmp_path, root)
            sample_kl_checks.check_element_formulas(library, np.float64)
        elif where == "emulated":
            kernels = host_builds.emulated_kernels(tmp_path, root)
            sample_kl_checks.check_kernels(kernels, np.float64, 70, 20)
        else:
            check_matmul_kernels(host_builds.emulated_matmul(tmp_path, root))


def check_matmul_kernels(emulated):
    """Each transpose pair and tile on a shape past every edge, then the column sums."""
    for transpose_a, transpose_b in matmul_checks.TRANSPOSES:
        for tile in accel_matmul.TILES:
            matmul_checks.check_matmul(emulated, 33, 40, 65, transpose_a, transpose_b,
                                       np.float64, tile)
    matmul_checks.check_column_sum(emulated, 5, 600, np.float64)


@pytest.mark.parametrize("name", sorted(MODULES))
def test_nvrtc_compiles_the_source_cupy_gets(name):
    """As RawModule would, with CuPy's own additions; needs CuPy and libnvrtc, no GPU."""
    nvrtc = pytest.importorskip("cupy_backends.cuda.libs.nvrtc", reason="NVRTC needs CuPy")
    try:
        nvrtc.getVersion()
    except Exception as error:  # noqa: BLE001 - any failure to load libnvrtc
        pytest.skip(f"NVRTC unusable ({error}): pip install cupy-cuda13x nvidia-cuda-nvrtc")
    program = nvrtc.createProgram(kernel_sources.kernel_source(name), name, [], [])
    for expression in MODULES[name]:
        nvrtc.addNameExpression(program, expression)
    options = kernel_sources.COMPILE_OPTIONS + (
        "-ftz=true",
        "-arch=sm_90",
        "--device-as-default-execution-space",
    )
    nvrtc.compileProgram(program, options)
    assert nvrtc.getProgramLog(program).strip() == ""  # not even a warning
    for expression in MODULES[name]:
        assert nvrtc.getLoweredName(program, expression).startswith("_ZN7minivae")


def test_a_missing_compiler_is_named_with_what_to_install(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # no nvcc, no g++
    with pytest.raises(MinivaeError, match="needs nvcc: install the CUDA toolkit"):
        host_builds.host_library(tmp_path / "cache")
