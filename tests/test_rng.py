"""The counter-based generator: Philox4x32-10 known answers, normal statistics, reproducibility."""

import math

import numpy as np
import pytest
from support.sample_kl_checks import KNOWN_ANSWERS

from minivae.rng import CounterRNG, counter_normal, philox4x32


@pytest.mark.parametrize("counter, key, expected", KNOWN_ANSWERS)
def test_philox_matches_the_reference_vectors(counter, key, expected):
    words = philox4x32(tuple(np.array([c], np.uint32) for c in counter), key)
    assert tuple(int(w[0]) for w in words) == expected


def test_normals_have_zero_mean_unit_variance_and_no_correlation():
    z = counter_normal(np, (200_000,), seed=1, stream=0, dtype=np.float64)
    assert abs(z.mean()) < 0.01 and abs(z.var() - 1) < 0.01
    assert abs(np.corrcoef(z[:-1], z[1:])[0, 1]) < 0.01
    assert abs((np.abs(z) < 1.96).mean() - 0.95) < 0.003


def test_each_row_is_its_own_stream_and_columns_run_along_it():
    a = counter_normal(np, (3, 5), seed=7, stream=2, dtype=np.float64)
    for r in range(3):  # row r is stream 2 + r, whatever else is drawn with it
        np.testing.assert_array_equal(a[r], counter_normal(np, (5,), 7, 2 + r, np.float64))
    np.testing.assert_array_equal(a[1:], counter_normal(np, (2, 5), 7, 3, np.float64))
    assert not np.allclose(a, counter_normal(np, (3, 5), seed=8, stream=2, dtype=np.float64))
    f32 = counter_normal(np, (3, 5), seed=7, stream=2, dtype=np.float32)
    assert f32.dtype == np.float32
    np.testing.assert_array_equal(f32, a.astype(np.float32))  # float64 math, then one rounding


def test_leading_axes_are_flattened_into_rows():
    a = counter_normal(np, (2, 3, 4), seed=1, stream=5, dtype=np.float64)
    np.testing.assert_array_equal(a.reshape(6, 4), counter_normal(np, (6, 4), 1, 5, np.float64))


def test_lanes_follow_the_documented_counter_layout():
    """Element i of stream s is lane i % 4 of Philox block i // 4, Box-Muller on pairs of words."""
    seed, stream, block = (1 << 33) + 9, (1 << 40) + 3, (1 << 32) + 2  # hi words in use
    counter = (block & 0xFFFFFFFF, block >> 32, stream & 0xFFFFFFFF, stream >> 32)
    w = [int(v[0]) for v in philox4x32(tuple(np.array([c], np.uint64) for c in counter),
                                    (seed & 0xFFFFFFFF, seed >> 32))]
    expected = []
    for even, odd in ((w[0], w[1]), (w[2], w[3])):
        radius = math.sqrt(-2 * math.log((even + 1) / 2**32))
        expected += [radius * math.cos(2 * math.pi * odd / 2**32),
                     radius * math.sin(2 * math.pi * odd / 2**32)]
    drawn = counter_normal(np, (4,), seed, stream, np.float64, offset=4 * block)
    np.testing.assert_allclose(drawn, expected, rtol=1e-15, atol=1e-15)


def test_counter_rng_takes_one_stream_per_row():
    rng = CounterRNG(seed=3)
    rng.normal(np, (4, 2), np.float64)
    assert rng.stream == 4
    rng.normal(np, (6,), np.float64)
    assert rng.stream == 5
    assert rng.next_streams(10) == 5 and rng.stream == 15


def test_counter_rng_state_round_trip_reproduces_later_draws():
    rng = CounterRNG(seed=3)
    rng.normal(np, (4,), np.float64)
    saved = rng.state_dict()
    expected = rng.normal(np, (4,), np.float64)
    restored = CounterRNG(seed=0)
    restored.load_state_dict(saved)
    np.testing.assert_array_equal(restored.normal(np, (4,), np.float64), expected)


def test_drawing_in_pieces_with_offsets_equals_drawing_whole():
    whole = counter_normal(np, (2, 23), seed=5, stream=1, dtype=np.float64)
    pieces = [
        counter_normal(np, (2, n), seed=5, stream=1, dtype=np.float64, offset=start)
        for start, n in ((0, 3), (3, 6), (9, 14))
    ]
    np.testing.assert_array_equal(np.concatenate(pieces, axis=1), whole)
