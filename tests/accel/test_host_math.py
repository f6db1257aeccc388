"""sample_kl.cuh's math, built for the CPU by nvcc, against minivae.rng and SampleKL.

The same lines run on the GPU, so these pin the constants, the counter layout, the Box-Muller
order of operations and the element formulas. They cannot pin the GPU's maths library (its log,
sin, cos and exp): tests/accel/test_gpu_sample_kl.py does, where there is a GPU.
"""

import numpy as np
import pytest
from support.agreement import assert_agrees, bounds
from support.builds import host_library
from support.sample_kl_checks import KNOWN_ANSWERS, check_element_formulas

from minivae.rng import counter_normal, philox4x32


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


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_element_formulas_match_sample_kl(dtype):
    check_element_formulas(host_library(), dtype)


