"""sample_kl.cu's kernels, run on the CPU (kernels/host/emulate.hpp), against SampleKL.

Each CUDA thread is a host thread and __syncthreads a barrier, so these check the kernels'
indexing, bounds, grid-stride loops and row reduction, at sizes chosen to hit every edge: one
row, one latent, rows that end mid-quad, teams of every size, grids far smaller than the work.
Outputs start as NaN, so an element no thread writes fails the comparison. The maths library is
the host's: how CUDA's own rounds is for the GPU tests.
"""

import numpy as np
import pytest
from agreement import assert_agrees, scales
from builds import emulated_kernels
from test_host_math import inputs, reference

from minivae import cuda
from minivae.function import Function
from minivae.gradcheck import gradcheck
from minivae.rng import counter_normal

SIZES = [(1, 1), (1, 1024), (3, 5), (7, 20), (300, 3), (70, 20), (5, 1030), (2, 2051)]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("rows, length", SIZES, ids=lambda v: str(v))
def test_kernels_match_sample_kl(dtype, rows, length):
    check_kernels(emulated_kernels(), dtype, rows, length)


def check_kernels(emulated, dtype, rows, length):
    """emulated's forward and backward kernels against SampleKL, to the docs' bounds."""
    mu, logvar, gz, gk = inputs(dtype, (rows, length), seed=rows * length)
    seed, stream = 2**40 + 3, 2**33 - 2  # the streams of the batch cross a 2^32 boundary
    z, kl, dmu, dlogvar = reference(mu, logvar, gz, gk, seed, stream)
    size = scales(mu, logvar, counter_normal(np, mu.shape, seed, stream, dtype), gz, gk)
    kernel_z, kernel_kl = emulated.forward(mu, logvar, seed, stream, max_blocks=3)
    assert_agrees("z", kernel_z, z, size["z"])
    assert_agrees("kl", kernel_kl, kl, size["kl"])
    kernel_dmu, kernel_dlogvar = emulated.backward(mu, logvar, gz, gk, seed, stream, max_blocks=3)
    assert_agrees("dmu", kernel_dmu, dmu)
    assert_agrees("dlogvar", kernel_dlogvar, dlogvar, size["dlogvar"])


@pytest.mark.parametrize("length", [37, 1030])
def test_the_row_sum_is_right_for_every_team_size(length):
    emulated = emulated_kernels()
    mu, logvar, _, _ = inputs(np.float64, (9, length))
    _, kl, *_ = reference(mu, logvar, mu, mu[:, 0], 1, 2)
    size = scales(mu, logvar, counter_normal(np, mu.shape, 1, 2, np.float64))["kl"]
    z_first = None
    for team in [1, 2, 4, 8, 16, 32, 64, 128, 256]:  # each power of two up to BLOCK_THREADS
        z, kernel_kl = emulated.forward(mu, logvar, 1, 2, max_blocks=2, threads_per_row=team)
        assert_agrees("kl", kernel_kl, kl, size)
        z_first = z if z_first is None else z_first
        np.testing.assert_array_equal(z, z_first)  # z does not depend on who computes it


def test_launch_shapes_give_each_quad_one_thread_up_to_a_block():
    for length in range(0, 5000):
        grid, team = cuda.forward_launch(1000, length)
        quads = -(-length // 4)
        assert team & (team - 1) == 0 and cuda.BLOCK_THREADS % team == 0  # a power of two
        assert team == cuda.BLOCK_THREADS or quads <= team < max(2 * quads, 2)
        assert grid == min(cuda.MAX_BLOCKS, -(-1000 // (cuda.BLOCK_THREADS // team)))
    assert cuda.forward_launch(2**22, 20) == (cuda.MAX_BLOCKS, 8)  # 32 rows of 20 per block
    assert cuda.forward_launch(0, 20)[0] == 1 and cuda.backward_launch(0, 0) == 1  # no empty grid
    assert cuda.backward_launch(3, 1030) == 4  # 3 * 258 = 774 quads: 4 blocks of 256


def test_a_batch_of_no_rows_or_no_latents():
    emulated = emulated_kernels()
    z, kl = emulated.forward(np.zeros((0, 4)), np.zeros((0, 4)), 1, 0)
    assert z.shape == (0, 4) and kl.shape == (0,)
    z, kl = emulated.forward(np.zeros((3, 0)), np.zeros((3, 0)), 1, 0)
    np.testing.assert_array_equal(kl, np.zeros(3))  # the KL of an empty sum


def test_backward_draws_the_forward_noise_again():
    emulated = emulated_kernels()
    """gz = 1, gk = 0 leaves dlogvar = eps sigma / 2: the forward's eps, recovered exactly."""
    mu, logvar, _, _ = inputs(np.float64, (4, 9))
    z, _ = emulated.forward(mu, logvar, 8, 100)
    dmu, dlogvar = emulated.backward(mu, logvar, np.ones_like(mu), np.zeros(4), 8, 100)
    sigma = np.exp(0.5 * logvar)
    np.testing.assert_allclose(2 * dlogvar / sigma, (z - mu) / sigma, rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(dmu, np.ones_like(mu))
    _, other = emulated.backward(mu, logvar, np.ones_like(mu), np.zeros(4), 8, 101)
    assert not np.allclose(other, dlogvar)  # another stream, other noise


def kernel_op(forward, backward):
    """SampleKL's interface over two launchers, forward(mu, logvar, seed, stream) and
    backward(mu, logvar, gz, gk, seed, stream): a Function that gradcheck can check."""

    class KernelSampleKL(Function):
        @staticmethod
        def forward(ctx, mu, logvar, seed, stream):
            ctx.save_for_backward(mu, logvar)
            ctx.noise = (seed, stream)
            return forward(mu, logvar, seed, stream)

        @staticmethod
        def backward(ctx, gz, gk):
            mu, logvar = ctx.saved
            return backward(mu, logvar, gz, gk, *ctx.noise)

    return KernelSampleKL


def check_gradient(op, move=lambda array: array):
    """gradcheck of `op` (from kernel_op) in float64, inputs moved to its device by `move`."""
    mu, logvar, _, _ = inputs(np.float64, (3, 7))
    report = gradcheck(lambda m, v: op.apply(m, v, seed=4, stream=5), [move(mu), move(logvar / 4)])
    assert report.passed, report


def test_the_kernels_gradient_passes_gradcheck():
    emulated = emulated_kernels()
    check_gradient(kernel_op(emulated.forward, emulated.backward))
