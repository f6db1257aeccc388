"""sample_kl.cuh's math, built for the CPU by nvcc, against minivae.rng and SampleKL.

The same lines run on the GPU, so these pin the constants, the counter layout, the Box-Muller
order of operations and the element formulas. They cannot pin the GPU's maths library (its log,
sin, cos and exp): tests/kernels/test_gpu_sample_kl.py does, where there is a GPU.
"""

import numpy as np
import pytest
from agreement import assert_agrees, bounds, scales
from builds import host_library

from minivae.function import Context
from minivae.ops.vae import SampleKL
from minivae.rng import counter_normal, philox4x32

KNOWN_ANSWERS = [  # Random123's kat_vectors for philox4x32_10: counter, key -> words
    ((0, 0, 0, 0), (0, 0), (0x6627E8D5, 0xE169C58D, 0xBC57AC4C, 0x9B00DBD8)),
    ((0xFFFFFFFF,) * 4, (0xFFFFFFFF,) * 2, (0x408F276D, 0x41C83B0E, 0xA20BC7C6, 0x6D5451FD)),
    (
        (0x243F6A88, 0x85A308D3, 0x13198A2E, 0x03707344),
        (0xA4093822, 0x299F31D0),
        (0xD16CFE09, 0x94FDCCEB, 0x5001E420, 0x24126EA1),
    ),
]


def test_philox_gives_the_known_answers():
    counters, keys, expected = zip(*KNOWN_ANSWERS, strict=True)
    words = host_library().philox(counters, keys)
    assert [tuple(int(w) for w in row) for row in words] == list(expected)


def test_philox_words_equal_rng_bit_for_bit_on_random_counters_and_keys():
    assert set(bounds()["words"].values()) == {"equal"}  # what docs/cuda.md promises
    draw = np.random.default_rng(12)
    for _ in range(32):  # 32 keys x 8192 counters, every word over the full 32 bits
        key = tuple(int(k) for k in draw.integers(0, 2**32, 2))
        counters = draw.integers(0, 2**32, (8192, 4), dtype=np.uint64)
        expected = np.stack(philox4x32(tuple(counters.T), key), axis=1)  # (8192, 4)
        words = host_library().philox(counters, np.tile(key, (8192, 1)))
        np.testing.assert_array_equal(words, expected)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(
    "seed, stream", [(1, 0), (2**33 + 5, 2**40 + 7), (2**64 - 1, 2**64 - 1001)]
)  # high words of seed and stream in use, and the last streams there are
def test_normals_match_counter_normal(dtype, seed, stream):
    shape = (1000, 1003)  # 1,003,000 normals; rows not a multiple of 4 long
    expected = counter_normal(np, shape, seed, stream, dtype)
    assert_agrees("eps", host_library().normals(shape, seed, stream, dtype), expected)


def inputs(dtype, shape=(400, 333), seed=5):
    """mu, logvar, gz, gk over wide ranges (sigma from e^-6 to e^3), and SampleKL's eps."""
    draw = np.random.default_rng(seed)
    mu = (3 * draw.standard_normal(shape)).astype(dtype)
    logvar = draw.uniform(-12, 6, shape).astype(dtype)
    gz = draw.standard_normal(shape).astype(dtype)
    gk = draw.standard_normal(shape[0]).astype(dtype)
    return mu, logvar, gz, gk


def reference(mu, logvar, gz, gk, seed, stream):
    """SampleKL's forward and backward on NumPy: z, kl, dmu, dlogvar."""
    ctx = Context(np, (True, True))
    z, kl = SampleKL.forward(ctx, mu, logvar, seed, stream)
    return (z, kl, *SampleKL.backward(ctx, gz, gk))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_element_formulas_match_sample_kl(dtype):
    check_element_formulas(host_library(), dtype)


def check_element_formulas(host_lib, dtype):
    """host_lib's forward_element and backward_element against SampleKL, to the docs' bounds."""
    mu, logvar, gz, gk = inputs(dtype)
    z, kl, dmu, dlogvar = reference(mu, logvar, gz, gk, seed=3, stream=9)
    eps = counter_normal(np, mu.shape, 3, 9, dtype)  # the noise SampleKL drew
    size = scales(mu, logvar, eps, gz, gk)
    host_z, terms = host_lib.forward_elements(mu, logvar, eps)
    assert_agrees("z", host_z, z, size["z"])
    assert_agrees("kl", 0.5 * terms.sum(axis=1), kl, size["kl"])  # NumPy's sum of the terms
    gk_each = np.ascontiguousarray(np.broadcast_to(gk[:, None], mu.shape))
    host_dmu, host_dlogvar = host_lib.backward_elements(mu, logvar, eps, gz, gk_each)
    assert_agrees("dmu", host_dmu, dmu)
    assert_agrees("dlogvar", host_dlogvar, dlogvar, size["dlogvar"])
