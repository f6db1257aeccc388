"""The CuPy stand-in catches launch and capture mistakes that a GPU would turn into wrong numbers,
or into a failure only the rare GPU run would show: each is planted in a copy of minivae's
launchers or graph step, or made in a direct call, and must be refused with a message naming it.

The stand-in (tests/support/cupy_stand_in) is a test aid for CI, never a substitute for the GPU
run: what it cannot show (CUDA's maths library, warps, the memory model, speed) the GPU tests
(`-m gpu`) and benchmarks/gpu_check.sh do.
"""

import contextlib
import inspect
import types

import numpy as np
import pytest
from support import cupy_stand_in

from minivae.accel import graph_step, matmul, sample_kl
from minivae.errors import MinivaeError
from minivae.ops import linalg
from minivae.training import trainer as trainer_module
from minivae.training.trainer import TrainConfig, Trainer


@pytest.fixture
def cupy(monkeypatch):
    """The stand-in only: a GPU would not refuse these mistakes, it would run them."""
    stand_in = cupy_stand_in.install(monkeypatch)
    yield stand_in
    cupy_stand_in.forget_compiled()


def planted(module, old, new):
    """A copy of `module` with `old` (which must stand there once) replaced by `new`."""
    source = inspect.getsource(module)
    assert source.count(old) == 1, f"{old!r} is not in {module.__name__} exactly once"
    copy = types.ModuleType(f"planted_{module.__name__}")
    exec(compile(source.replace(old, new), module.__file__, "exec"), copy.__dict__)  # noqa: S102
    return copy


def latents(cupy, rows=7, length=20):
    draw = np.random.default_rng(0)
    return [cupy.asarray(draw.standard_normal((rows, length))) for _ in range(2)]


SAMPLE_KL_MISTAKES = [
    ("numpy.int32(threads_per_row)", "threads_per_row", "int threads_per_row gets int"),
    ('_kernel("forward", mu.dtype)((grid,), (BLOCK_THREADS,)',
     '_kernel("forward", mu.dtype)((grid,), (BLOCK_THREADS // 2,)', "blocks of exactly 256"),
    ("(mu, logvar, counter, *sizes, z, kl)", "(mu, logvar, counter, *sizes, kl, z)",
     "parameter z holds 7 elements; the kernel indexes 140"),
    ("(mu, logvar, counter, *sizes, z, kl)", "(mu, logvar, counter, *sizes, mu, kl)",
     "z and mu share memory, but both are __restrict__"),
    ("sizes = (numpy.int64(rows), numpy.int64(length), numpy.int32(threads_per_row))",
     "sizes = (numpy.int64(rows), numpy.int64(length))", "7 arguments for its 8 parameters"),
]


@pytest.mark.parametrize("old, new, says", SAMPLE_KL_MISTAKES, ids=lambda v: v[:40])
def test_a_planted_sample_kl_launch_mistake_is_refused(cupy, old, new, says):
    mu, logvar = latents(cupy)
    sample_kl.sample_kl_forward(mu, logvar, 1, 2)  # the launcher as it is: accepted
    copy = planted(sample_kl, old, new)
    with pytest.raises(cupy_stand_in.KernelLaunchError, match=says):
        copy.sample_kl_forward(mu, logvar, 1, 2)


MATMUL_MISTAKES = [
    ("NO_BIAS = numpy.uint64(0)", "NO_BIAS = numpy.uint32(0)",
     r"bias gets .*: only a device array"),
    ("flags = (numpy.int32(transpose_a), numpy.int32(transpose_b))",
     "flags = (transpose_a, transpose_b)", "int transpose_a gets bool"),
    ("kernel((grid,), (THREADS,)", "kernel(grid, (THREADS,)", "grid must be a tuple"),
    ("sizes = (numpy.int64(m), numpy.int64(n), numpy.int64(k))",
     "sizes = (numpy.int64(m), numpy.int64(k), numpy.int64(n))",
     "parameter c holds 15 elements; the kernel indexes 35"),
    ("kernel((grid,), (COLUMN_SUM_THREADS,), (g, numpy.int64(rows), numpy.int64(cols), out))",
     "kernel((grid,), (COLUMN_SUM_THREADS,), (g[:, ::2], numpy.int64(rows), "
     "numpy.int64(cols), out))", "strided view"),
]


@pytest.mark.parametrize("old, new, says", MATMUL_MISTAKES, ids=lambda v: v[:40])
def test_a_planted_matmul_launch_mistake_is_refused(cupy, old, new, says):
    draw = np.random.default_rng(1)
    a, b = cupy.asarray(draw.standard_normal((5, 7))), cupy.asarray(draw.standard_normal((7, 3)))
    matmul.matmul(a, b)
    matmul.column_sum(a)
    copy = planted(matmul, old, new)
    with pytest.raises(cupy_stand_in.KernelLaunchError, match=says):
        copy.matmul(a, b)
        copy.column_sum(a)


def test_launches_outside_cudas_limits_are_refused(cupy):
    mu, logvar = latents(cupy)
    z, kl = cupy.empty((7, 20)), cupy.empty(7)
    kernel = sample_kl._kernel("forward", np.dtype(np.float64))
    counter = sample_kl.seed_stream_array(1, 2)
    arguments = (mu, logvar, counter, np.int64(7), np.int64(20), np.int32(8), z, kl)
    kernel((1,), (256,), arguments)  # right
    with pytest.raises(cupy_stand_in.KernelLaunchError, match="grid.y = 65536 is over"):
        kernel((1, 65536), (256,), arguments)
    with pytest.raises(cupy_stand_in.KernelLaunchError, match="more than CUDA's 1024"):
        kernel((1,), (256, 8), arguments)
    with pytest.raises(cupy_stand_in.KernelLaunchError, match="gets a float32 array"):
        kernel((1,), (256,), (mu.astype(np.float32), *arguments[1:]))
    with pytest.raises(cupy_stand_in.KernelLaunchError, match="a null pointer, which the kernel"):
        kernel((1,), (256,), (None, *arguments[1:]))


def small_graph_run(tmp_path):
    config = TrainConfig(dataset="sprites", limit=256, epochs=1, batch_size=64, hidden=(16,),
                         latent_dim=4, dtype="float64", device="gpu", cuda_graph=True,
                         out=str(tmp_path / "run"))
    return Trainer(config, progress=False, log=lambda _: None)


def test_a_graph_captured_without_its_own_memory_pool_is_refused(cupy, monkeypatch, tmp_path):
    copy = planted(graph_step, "with cupy.cuda.using_allocator(self.pool.malloc):",
                   "with contextlib.nullcontext():")
    monkeypatch.setattr(trainer_module, "GraphStep", copy.GraphStep)
    with pytest.raises(cupy_stand_in.CaptureError, match="from CuPy's default memory pool"):
        small_graph_run(tmp_path).fit()


def test_cublas_inside_a_captured_step_is_refused(cupy, monkeypatch, tmp_path):
    monkeypatch.setattr(linalg, "capturing", lambda xp: False)  # LinearCUDA always takes cuBLAS
    with pytest.raises(MinivaeError, match="cannot be captured.*cuBLAS API during stream capture"):
        small_graph_run(tmp_path).fit()


@pytest.mark.parametrize("waits", ["synchronize", "copy from the host"])
def test_a_step_that_waits_for_the_host_or_device_is_refused(cupy, monkeypatch, tmp_path, waits):
    run = small_graph_run(tmp_path)
    update = run.update

    def waiting_update(x, beta):
        if waits == "synchronize":
            cupy.cuda.Device().synchronize()
        else:
            cupy.asarray(np.zeros(3))
        return update(x, beta)

    monkeypatch.setattr(run, "update", waiting_update)
    with pytest.raises(MinivaeError, match="cannot be captured"):
        run.fit()


def test_captured_work_is_recorded_not_run_and_replays_read_memory_then(cupy):
    x = cupy.asarray(np.arange(4.0))
    y = cupy.zeros(4)
    stream = cupy.cuda.Stream(non_blocking=True)
    stream.wait_event(cupy.cuda.get_current_stream().record())
    with stream:
        stream.begin_capture()
        doubled = x * 2  # a new array: NaN until a replay
        y += doubled  # in place: unchanged until a replay
        graph = stream.end_capture()
        assert np.isnan(doubled.get()).all() and (y.get() == 0).all()
        x[...] = 10.0
        graph.launch(stream)
        np.testing.assert_array_equal(y.get(), [20.0] * 4)


def test_work_on_two_streams_with_nothing_between_is_refused(cupy):
    x = cupy.zeros(4)  # written on the default (legacy) stream
    other = cupy.cuda.Stream(non_blocking=True)
    with other, pytest.raises(cupy_stand_in.StreamOrderError, match="written by cupy.zeros"):
        x + 1
    blocking = cupy.cuda.Stream()  # a blocking stream waits for the legacy stream: ordered
    with blocking:
        x + 1
    with contextlib.ExitStack() as block:
        block.enter_context(other)
        other.wait_event(blocking.record())
        x + 1  # ordered by the event
