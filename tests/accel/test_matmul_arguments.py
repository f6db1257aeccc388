"""minivae.accel.matmul's checks before a launch, on NumPy arrays (the emulated launcher makes
the same checks as the GPU's): what the kernels would misread is refused, naming the op, the
shapes, the flags and the fix."""

import numpy as np
import pytest
from support.builds import emulated_matmul

from minivae import backend
from minivae.accel import matmul as accel_matmul
from minivae.errors import DTypeError, MinivaeError, ShapeError


def test_the_inner_sizes_must_agree_and_the_message_shows_both_ops():
    a, b = np.zeros((3, 4)), np.zeros((3, 5))
    with pytest.raises(ShapeError) as caught:
        accel_matmul.product_shape("matmul", a, b, False, False)
    message = str(caught.value)
    assert "op(A) 3 x 4" in message and "op(B) 3 x 5" in message and "transpose_a=False" in message
    assert accel_matmul.product_shape("matmul", a, b, True, False) == (4, 3, 5)  # A^T B fits


@pytest.mark.parametrize(
    "a, b, transpose_a, error, words",
    [
        (np.zeros(4), np.zeros((4, 2)), False, ShapeError, "a is float64(4,): need a 2-D matrix"),
        (np.zeros((2, 4)), [[1.0]] * 4, False, ShapeError, "b is list: need a 2-D matrix"),
        (np.zeros((2, 4)), np.zeros((4, 2)), 1, MinivaeError, "transpose_a is 1: pass True"),
    ],
)
def test_matrices_and_flags_are_checked(a, b, transpose_a, error, words):
    with pytest.raises(error, match=words.replace("(", r"\(").replace(")", r"\)")):
        accel_matmul.product_shape("matmul", a, b, transpose_a, False)


def test_the_operands_are_checked_as_the_gpu_launcher_checks_them():
    emulated = emulated_matmul()
    a, b = np.zeros((3, 4), np.float32), np.zeros((4, 5), np.float32)
    with pytest.raises(DTypeError, match="all must be float32: convert b"):
        emulated.matmul(a, b.astype(np.float64), tile=32)
    with pytest.raises(ShapeError, match=r"bias must have shape \(5,\)"):
        emulated.matmul(a, b, bias=np.zeros(3, np.float32), tile=32)
    with pytest.raises(ShapeError, match="b is a strided view"):  # b.T: pass transpose_b instead
        emulated.matmul(a, np.zeros((5, 4), np.float32).T, tile=32)
    with pytest.raises(DTypeError, match="float32 or float64"):
        emulated.matmul(a.astype(np.float16), b.astype(np.float16), tile=32)
    with pytest.raises(MinivaeError, match=r"tile=48: the kernels have tiles \(32, 64\)"):
        emulated.matmul(a, b, tile=48)


def test_the_launchers_without_cupy_say_what_to_install(monkeypatch):
    monkeypatch.setattr(backend, "cupy", None)
    with pytest.raises(MinivaeError, match=r'pip install "minivae\[gpu-cuda13\]"'):
        accel_matmul.matmul(np.zeros((2, 3)), np.zeros((3, 2)))
    with pytest.raises(MinivaeError, match=r'pip install "minivae\[gpu-cuda13\]"'):
        accel_matmul.column_sum(np.zeros((2, 3)))
