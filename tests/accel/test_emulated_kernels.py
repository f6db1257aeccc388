"""sample_kl.cu's kernels, run on the CPU (kernels/host/emulate.hpp), against SampleKL.

Each CUDA thread is a host thread and __syncthreads a barrier, so these check the kernels'
indexing, bounds, grid-stride loops and row reduction, at sizes chosen to hit every edge: one
row, one latent, rows that end mid-quad, teams of every size, grids far smaller than the work.
Outputs start as NaN, so an element no thread writes fails the comparison. The maths library is
the host's: how CUDA's own rounds is for the GPU tests.
"""

import numpy as np
import pytest
from support.agreement import assert_agrees, scales
from support.builds import emulated_kernels
from support.sample_kl_checks import (
    SIZES,
    check_gradient,
    check_kernels,
    inputs,
    kernel_op,
    reference,
)

from minivae.accel import launches, sample_kl
from minivae.rng import counter_normal


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("rows, length", SIZES, ids=lambda v: str(v))
def test_kernels_match_sample_kl(dtype, rows, length):
    check_kernels(emulated_kernels(), dtype, rows, length)


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
        grid, team = sample_kl.forward_launch(1000, length)
        quads = -(-length // 4)
        assert team & (team - 1) == 0 and sample_kl.BLOCK_THREADS % team == 0  # a power of two
        assert team == sample_kl.BLOCK_THREADS or quads <= team < max(2 * quads, 2)
        assert grid == min(launches.MAX_BLOCKS, -(-1000 // (sample_kl.BLOCK_THREADS // team)))
    assert sample_kl.forward_launch(2**22, 20) == (launches.MAX_BLOCKS, 8)  # 32 rows of 20 a block
    assert sample_kl.forward_launch(0, 20)[0] == 1  # no empty grid
    assert sample_kl.backward_launch(0, 0) == 1
    assert sample_kl.backward_launch(3, 1030) == 4  # 3 * 258 = 774 quads: 4 blocks of 256


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


def test_the_kernels_gradient_passes_gradcheck():
    emulated = emulated_kernels()
    check_gradient(kernel_op(emulated.forward, emulated.backward))
