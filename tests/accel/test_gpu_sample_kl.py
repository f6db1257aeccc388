"""The CUDA kernels on a real GPU, through minivae.accel.sample_kl, against SampleKL on NumPy.

What the CPU tests cannot show: CUDA's own log, cos, sin and exp rounding within docs/cuda.md's
bounds, -ftz and --fmad=false doing what the docs say, the launch from Python (argument types,
name expressions), sizes past 2^31 elements, and that nothing is kept between the passes.
Each test runs on the GPU (skipped, with the reason, where CuPy or a GPU is missing) and on the
CuPy stand-in (tests/conftest.py), which checks every launch against the kernels' C signatures
and runs the kernels' CPU emulation: a test aid for CI, not a GPU. `pytest -s` prints the
measured figures for the docs' table.
"""

import subprocess
import sys
import textwrap

import numpy as np
import pytest
from support import cupy_stand_in
from support.agreement import assert_agrees, scales
from support.sample_kl_checks import SIZES, check_gradient, inputs, kernel_op, reference

from minivae import backend
from minivae.accel import sample_kl
from minivae.errors import DTypeError, MinivaeError, ShapeError
from minivae.rng import counter_normal


def nan_like(array):
    return backend.cupy.full(array.shape, backend.cupy.nan, dtype=array.dtype)


def launch_both(mu, logvar, gz, gk, seed, stream):
    """Forward and backward on the GPU into NaN-poisoned buffers: z, kl, dmu, dlogvar (NumPy)."""
    mu, logvar, gz, gk = (backend.cupy.asarray(a) for a in (mu, logvar, gz, gk))
    out = (nan_like(mu), nan_like(mu[:, 0].copy()))
    z, kl = sample_kl.sample_kl_forward(mu, logvar, seed, stream, out=out)
    dmu, dlogvar = sample_kl.sample_kl_backward(
        mu, logvar, gz, gk, seed, stream, out=(nan_like(mu), nan_like(mu))
    )
    return [a.get() for a in (z, kl, dmu, dlogvar)]


def assert_matches(kernel, mu, logvar, gz, gk, seed, stream):
    """kernel = (z, kl, dmu, dlogvar) of rows mu..., compared with SampleKL as the docs bound."""
    expected = reference(mu, logvar, gz, gk, seed, stream)
    size = scales(mu, logvar, counter_normal(np, mu.shape, seed, stream, mu.dtype), gz, gk)
    for name, got, want in zip(("z", "kl", "dmu", "dlogvar"), kernel, expected, strict=True):
        assert not np.isnan(got).any(), f"{name}: elements left unwritten"
        measured = assert_agrees(name, got, want, size.get(name))
        print(f"measured {name} {mu.dtype} {mu.shape}: {measured}")


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("rows, length", [*SIZES, (4096, 256), (65536, 20)], ids=str)
def test_kernels_match_sample_kl(cupy, dtype, rows, length):
    if cupy_stand_in.is_stand_in(cupy) and rows * length > 2**16:
        pytest.skip("the stand-in runs every CUDA thread on the CPU: the large sizes are the GPU's")
    mu, logvar, gz, gk = inputs(dtype, (rows, length), seed=rows + length)
    seed, stream = 2**40 + 3, 2**33 - 2
    kernel = launch_both(mu, logvar, gz, gk, seed, stream)
    assert_matches(kernel, mu, logvar, gz, gk, seed, stream)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_the_gpu_draws_counter_normal(cupy, dtype):
    """With mu = 0 and logvar = 0, z is eps itself (sigma = exp(0) = 1 exactly)."""
    zeros = cupy.zeros((1000, 1003), dtype=dtype)
    z, _ = sample_kl.sample_kl_forward(zeros, zeros, 2**33 + 5, 2**40 + 7)
    measured = assert_agrees(
        "eps", z.get(), counter_normal(np, z.shape, 2**33 + 5, 2**40 + 7, dtype)
    )
    print(f"measured eps {np.dtype(dtype)}: {measured} ulp")


def test_past_2_to_the_31_elements(cupy):
    """64-bit indexing: rows near the end of a batch of 2.2e9 float32 elements (8.6 GB each)."""
    rows, length = 2**21 + 3, 1030
    need = 7 * rows * length * 4  # mu, logvar, z, gz, dmu, dlogvar and room
    if cupy.cuda.Device().mem_info[0] < need:
        pytest.skip(f"needs {need / 2**30:.0f} GiB free on the GPU")
    draw = cupy.random.default_rng(0)
    mu = draw.standard_normal((rows, length), dtype=cupy.float32)
    logvar = draw.uniform(-3, 3, (rows, length), dtype=cupy.float32)
    z, kl = sample_kl.sample_kl_forward(mu, logvar, 5, 6)
    gz = mu.copy()
    gk = cupy.ones(rows, dtype=cupy.float32)
    dmu, dlogvar = sample_kl.sample_kl_backward(mu, logvar, gz, gk, 5, 6)
    for first in (0, rows // 2, rows - 4):  # the last rows lie past element 2^31
        part = slice(first, first + 4)
        arrays = [a[part].get() for a in (mu, logvar, gz, gk)]
        kernel = [a[part].get() for a in (z, kl, dmu, dlogvar)]
        assert_matches(kernel, *arrays, 5, 6 + first)


def test_backward_in_a_fresh_process_from_the_saved_seed_and_stream(cupy, tmp_path):
    """Nothing survives the forward pass but (seed, stream): a new process gets the same grads."""
    if cupy_stand_in.is_stand_in(cupy):
        pytest.skip("a new process has no stand-in: this one checks the GPU only")
    mu, logvar, gz, gk = inputs(np.float32, (33, 21))
    np.savez(tmp_path / "inputs.npz", mu=mu, logvar=logvar, gz=gz, gk=gk)
    script = textwrap.dedent(f"""
        import cupy, numpy
        from minivae.accel import sample_kl
        a = {{k: cupy.asarray(v) for k, v in numpy.load({str(tmp_path / "inputs.npz")!r}).items()}}
        dmu, dlogvar = sample_kl.sample_kl_backward(a["mu"], a["logvar"], a["gz"], a["gk"], 11, 12)
        numpy.savez({str(tmp_path / "grads.npz")!r}, dmu=dmu.get(), dlogvar=dlogvar.get())
    """)
    subprocess.run([sys.executable, "-c", script], check=True)
    grads = np.load(tmp_path / "grads.npz")
    _, _, dmu, dlogvar = reference(mu, logvar, gz, gk, 11, 12)
    size = scales(mu, logvar, counter_normal(np, mu.shape, 11, 12, np.float32), gz, gk)
    assert_agrees("dmu", grads["dmu"], dmu)
    assert_agrees("dlogvar", grads["dlogvar"], dlogvar, size["dlogvar"])


def test_seed_and_stream_can_live_on_the_device(cupy):
    """What a CUDA graph needs: the kernels read (seed, stream) from memory at each launch."""
    mu = cupy.asarray(inputs(np.float64, (5, 9))[0])
    counter = sample_kl.seed_stream_array(3, 40)
    by_array, _ = sample_kl.sample_kl_forward(mu, mu, seed_stream=counter)
    by_ints, _ = sample_kl.sample_kl_forward(mu, mu, 3, 40)
    cupy.testing.assert_array_equal(by_array, by_ints)
    counter[1] = 45  # a new stream written in place, as before a graph's replay
    moved, _ = sample_kl.sample_kl_forward(mu, mu, seed_stream=counter)
    cupy.testing.assert_array_equal(moved, sample_kl.sample_kl_forward(mu, mu, 3, 45)[0])


def test_the_kernels_gradient_passes_gradcheck(cupy):
    def backward(mu, logvar, gz, gk, seed, stream):  # upstream gradients as the kernel reads them
        gz, gk = cupy.ascontiguousarray(gz), cupy.ascontiguousarray(gk)
        return sample_kl.sample_kl_backward(mu, logvar, gz, gk, seed, stream)

    check_gradient(kernel_op(sample_kl.sample_kl_forward, backward), cupy.asarray)


def test_bad_arguments_are_refused_before_the_launch(cupy):
    mu = cupy.zeros((4, 6), dtype=cupy.float32)
    with pytest.raises(DTypeError, match=r"mu is a numpy.ndarray .*cupy.asarray"):
        sample_kl.sample_kl_forward(mu.get(), mu, 1, 0)
    with pytest.raises(DTypeError, match="all must be float32: convert logvar"):
        sample_kl.sample_kl_forward(mu, mu.astype(cupy.float64), 1, 0)
    with pytest.raises(ShapeError, match="strided view"):
        sample_kl.sample_kl_forward(cupy.zeros((4, 12), cupy.float32)[:, ::2], mu, 1, 0)
    with pytest.raises(ShapeError, match=r"gk must have shape \(4,\)"):
        sample_kl.sample_kl_backward(mu, mu, mu, cupy.zeros(6, cupy.float32), 1, 0)
    with pytest.raises(DTypeError, match="seed_stream"):
        sample_kl.sample_kl_forward(mu, mu, seed_stream=cupy.zeros(2, cupy.int64))
    with pytest.raises(MinivaeError, match="not both"):
        sample_kl.sample_kl_forward(mu, mu, 1, 0, seed_stream=sample_kl.seed_stream_array(1, 0))


def test_the_module_is_compiled_once_per_process(cupy):
    mu = cupy.zeros((2, 3))
    sample_kl.sample_kl_forward(mu, mu, 1, 0)
    sample_kl.sample_kl_forward(mu.astype(cupy.float32), mu.astype(cupy.float32), 1, 0)
    assert sample_kl._module.cache_info().misses == 1
