"""benchmarks/sample_kl.py's measuring and printing, run through at one small size on the CuPy
stand-in (tests/support/cupy_stand_in: NumPy and the kernels' CPU emulation, a test aid whose
times mean nothing), as notebook 9 calls them; the GPU run gives the numbers."""

import functools
import importlib
import sys

import numpy as np
from support import ROOT, cupy_stand_in

sys.path.insert(0, str(ROOT / "benchmarks"))
benchmark = importlib.import_module("sample_kl")


def test_a_size_is_measured_and_printed_row_by_row(monkeypatch, capsys):
    cupy = cupy_stand_in.install(monkeypatch)
    monkeypatch.setattr(benchmark, "bursts", lambda rows, length: 1)  # each launch emulated: few
    monkeypatch.setattr(benchmark, "host_time", functools.partial(benchmark.host_time, calls=2))
    rows = benchmark.measure(cupy, None, 8, 20, np.float32, repeats=2)
    assert [r["pass"] for r in rows] == ["forward", "backward"]
    assert all(r["us"] > 0 and r["copy_us"] > 0 and r["unfused_us"] > 0 for r in rows)
    benchmark.print_table(rows)
    printed = capsys.readouterr().out.splitlines()
    assert printed[0] == benchmark.HEADER and len(printed) == 3
    assert printed[1].split()[:4] == ["8", "x", "20", "float32"]
