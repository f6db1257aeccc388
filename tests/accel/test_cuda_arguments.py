"""The checks before a kernel launch (minivae.accel.launches, sample_kl), on NumPy arrays: what
a raw kernel would misread is refused with an error naming the op, the operands' dtypes and
shapes, and the fix."""

import numpy as np
import pytest
from support.builds import host_library

from minivae import backend
from minivae.accel import launches, sample_kl
from minivae.errors import DTypeError, MinivaeError, ShapeError


def operands(mu, logvar, kl=None):
    rows, length = mu.shape
    kl = np.zeros(rows, mu.dtype) if kl is None else kl
    return [("mu", mu, (rows, length)), ("logvar", logvar, (rows, length)), ("kl", kl, (rows,))]


def check(*arrays):
    return launches.check_operands("sample_kl_forward", operands(*arrays), np.ndarray)


def test_good_operands_pass_and_give_their_dtype():
    assert check(np.zeros((3, 4), np.float32), np.ones((3, 4), np.float32)) == np.float32


@pytest.mark.parametrize(
    "mu, logvar, error, words",
    [
        (
            np.zeros((3, 4), np.float16),
            np.zeros((3, 4), np.float16),
            DTypeError,
            "float32 or float64",
        ),
        (np.zeros((3, 4)), np.zeros((3, 4), np.float32), DTypeError, "convert logvar"),
        (np.zeros((3, 4)), np.zeros((4, 3)), ShapeError, "logvar must have shape (3, 4)"),
        (np.zeros((3, 4)), np.zeros((4, 3)).T, ShapeError, "strided view"),
        (np.zeros((3, 8))[:, ::2], np.zeros((3, 4)), ShapeError, "mu.copy()"),
        (np.zeros((3, 4)), [[0.0] * 4] * 3, DTypeError, "logvar is a builtins.list"),
    ],
)
def test_bad_operands_are_refused_with_everything_named(mu, logvar, error, words):
    with pytest.raises(error) as caught:
        check(mu, logvar)
    message = str(caught.value)
    assert message.startswith("sample_kl_forward: ") and words in message
    assert "mu float" in message and "logvar " in message and "kl float" in message


def test_a_wrong_row_vector_is_refused():
    with pytest.raises(ShapeError, match=r"kl must have shape \(3,\)"):
        check(np.zeros((3, 4)), np.zeros((3, 4)), np.zeros(4))


def test_mu_must_be_a_matrix():
    with pytest.raises(
        ShapeError, match=r"sample_kl_forward: mu is float64\(12,\): need a \(B, L\)"
    ):
        sample_kl.latent_shape("sample_kl_forward", np.zeros(12))


@pytest.mark.parametrize("seed, stream, rows", [(-1, 0, 1), (2**64, 0, 1), (0, 2**64 - 2, 3)])
def test_counters_must_fit_64_bits(seed, stream, rows):
    with pytest.raises(MinivaeError, match="must lie in"):
        sample_kl._check_counter(seed, stream, rows)
    sample_kl._check_counter(0, 2**64 - 3, 3)  # the last three streams are fine


def test_launchers_without_cupy_say_what_to_install(monkeypatch):
    monkeypatch.setattr(backend, "cupy", None)
    with pytest.raises(MinivaeError, match=r'pip install "minivae\[gpu-cuda13\]"'):
        sample_kl.sample_kl_forward(np.zeros((2, 3)), np.zeros((2, 3)), 1, 0)


def test_the_host_libraries_check_their_arrays_too():
    mu = np.zeros((4, 6))
    with pytest.raises(ShapeError, match="forward_elements: .* eps is a strided view"):
        host_library().forward_elements(mu, mu, np.zeros((6, 4)).T)
