"""The autograd engine: forward values, graph bookkeeping, stability and clear errors."""

import numpy as np
import pytest

import minivae
from minivae import Tensor, no_grad, ops
from minivae.engine.function import Function
from minivae.engine.tensor import unbroadcast
from minivae.errors import DTypeError, GraphError, ShapeError

rng = np.random.default_rng(0)


def leaf(*shape):
    return Tensor(rng.standard_normal(shape), requires_grad=True)


@pytest.mark.parametrize(
    "op, reference",
    [
        (ops.exp, np.exp),
        (ops.tanh, np.tanh),
        (ops.relu, lambda x: np.maximum(x, 0)),
        (ops.sigmoid, lambda x: 1 / (1 + np.exp(-x))),
        (ops.softplus, lambda x: np.log1p(np.exp(x))),
        (ops.log_sigmoid, lambda x: -np.log1p(np.exp(-x))),
        (ops.neg, np.negative),
    ],
)
def test_unary_forward_matches_numpy(op, reference):
    x = rng.standard_normal((5, 4)) * 3
    np.testing.assert_allclose(op(Tensor(x)).data, reference(x), rtol=1e-12, atol=1e-12)


def test_binary_and_reduction_forward_match_numpy():
    a, b = rng.standard_normal((3, 1, 4)), rng.uniform(0.5, 2, (2, 4))
    np.testing.assert_allclose((Tensor(a) + b).data, a + b)
    np.testing.assert_allclose((Tensor(a) / b).data, a / b)
    np.testing.assert_allclose((Tensor(b) ** 1.5).data, b**1.5)
    np.testing.assert_allclose(ops.sum(Tensor(a), axis=(0, 2)).data, a.sum(axis=(0, 2)))
    mean = ops.mean(Tensor(a), axis=-1, keepdims=True).data
    np.testing.assert_allclose(mean, a.mean(-1, keepdims=True))
    x = rng.standard_normal((4, 6))
    np.testing.assert_allclose(ops.logsumexp(Tensor(x), axis=1).data, np.log(np.exp(x).sum(1)))
    w = rng.standard_normal((6, 3))
    np.testing.assert_allclose((Tensor(x) @ w).data, x @ w)
    np.testing.assert_allclose(ops.linear(Tensor(x), w, np.ones(3)).data, x @ w + 1)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_stable_ops_are_finite_and_exact_at_extremes(dtype):
    x = np.array([-1e4, -100.0, -30.0, 0.0, 30.0, 100.0, 1e4], dtype=dtype)
    sig, sp, ls = (op(Tensor(x)).data for op in (ops.sigmoid, ops.softplus, ops.log_sigmoid))
    for out in (sig, sp, ls):
        assert np.isfinite(out).all() and out.dtype == dtype
    np.testing.assert_array_equal(sig[[0, -1]], [0.0, 1.0])
    np.testing.assert_allclose(sp[[0, -1]], [0.0, 1e4])  # softplus(x) -> 0 and -> x
    np.testing.assert_allclose(ls[[0, -1]], [-1e4, 0.0])  # log sigma(x) -> x and -> 0
    big = np.array([[1e4, 1e4 - 1.0], [-1e4, -1e4]], dtype=dtype)
    lse = ops.logsumexp(Tensor(big), axis=1).data
    np.testing.assert_allclose(lse, [1e4 + np.log1p(np.exp(-1.0)), -1e4 + np.log(2)], rtol=1e-6)
    for op in (ops.sigmoid, ops.softplus, ops.log_sigmoid):
        t = Tensor(x, requires_grad=True)
        op(t).sum().backward()
        assert np.isfinite(t.grad).all()


def test_float32_stays_float32_through_forward_and_backward():
    x = Tensor(rng.standard_normal((4, 3)).astype(np.float32), requires_grad=True)
    y = ops.maximum(ops.softplus(x * 2.0 + 1), 0.5).mean()
    assert y.dtype == np.float32
    y.backward()
    assert x.grad.dtype == np.float32


def test_diamond_graph_accumulates_both_paths():
    x = leaf(3)
    a, b = x * 2.0, x.exp()
    (a * b).sum().backward()  # d/dx (2x e^x) = 2 e^x + 2x e^x
    np.testing.assert_allclose(x.grad, 2 * np.exp(x.data) * (1 + x.data))


def test_tensor_used_twice_and_two_backward_calls_accumulate():
    x = leaf(2)
    (x * x).sum().backward()
    (x * x).sum().backward()
    np.testing.assert_allclose(x.grad, 4 * x.data)
    x.zero_grad()
    assert x.grad is None


def test_ten_thousand_op_chain_needs_no_recursion():
    x = Tensor(np.array([0.5]), requires_grad=True)
    y = x
    for _ in range(10_000):
        y = y * 1.0001
    y.sum().backward()
    np.testing.assert_allclose(x.grad, [1.0001**10_000])


def test_no_grad_builds_no_graph():
    x = leaf(3)
    with no_grad():
        y = (x * 2).exp().sum()
    assert not y.requires_grad and y._node is None
    with pytest.raises(GraphError, match="does not require grad"):
        y.backward()
    assert (x * 2).requires_grad  # back on after the block


def test_unused_output_of_a_split_sends_back_zeros():
    x = leaf(2, 5)
    first, _ = ops.split(x, [2], axis=1)
    first.sum().backward()
    np.testing.assert_array_equal(x.grad, np.concatenate([np.ones((2, 2)), np.zeros((2, 3))], 1))


def test_detach_cuts_the_graph():
    x = leaf(3)
    (x.detach() * x).sum().backward()
    np.testing.assert_allclose(x.grad, x.data)


def test_unbroadcast_sums_leading_and_size_one_axes():
    g = np.ones((2, 3, 4))
    assert unbroadcast(g, (3, 1)).tolist() == [[8.0]] * 3  # summed over 2 x 4 copies
    assert unbroadcast(g, ()).item() == 24.0


def test_backward_on_non_scalar_needs_an_upstream_gradient():
    y = leaf(2, 3) * 2
    with pytest.raises(GraphError, match=r"shape \(2, 3\) needs an upstream gradient"):
        y.backward()
    with pytest.raises(ShapeError, match=r"grad must be an array of shape \(2, 3\)"):
        y.backward(np.ones(3))


def test_incompatible_shapes_name_the_op_and_shapes():
    with pytest.raises(ShapeError, match=r"add: shapes \(2, 3\) and \(4,\) cannot be broadcast"):
        leaf(2, 3) + leaf(4)
    with pytest.raises(ShapeError, match=r"matmul: shapes \(2, 3\) @ \(4, 5\) do not fit"):
        leaf(2, 3) @ leaf(4, 5)
    with pytest.raises(ShapeError, match=r"linear: x has 3 features"):
        ops.linear(leaf(2, 3), leaf(4, 5), leaf(5))
    with pytest.raises(ShapeError, match="reshape: cannot reshape"):
        leaf(2, 3).reshape(4)
    with pytest.raises(ShapeError, match=r"concatenate: shapes \[\] do not fit"):
        ops.concatenate([])  # an op with no inputs at all


def test_mixed_dtypes_and_non_arrays_are_refused_clearly():
    x32 = Tensor(np.ones(3, np.float32))
    with pytest.raises(DTypeError, match=r"Mul: inputs have mixed dtypes \(float32, float64"):
        x32 * np.ones(3)
    with pytest.raises(DTypeError, match="Add: expected a Tensor, an array or a number, got str"):
        x32 + "1"
    with pytest.raises(DTypeError, match="floating dtype"):
        Tensor(np.arange(3), requires_grad=True)
    assert (x32 * 2).dtype == np.float32  # Python numbers take the tensor's dtype


def test_a_backward_of_the_wrong_shape_is_reported_with_the_op_name():
    class Broken(Function):
        @staticmethod
        def forward(ctx, x):
            return x.sum(axis=0)

        @staticmethod
        def backward(ctx, g):
            return g  # forgot to broadcast back to x's shape

    x = leaf(3, 2)
    with pytest.raises(GraphError, match=r"Broken.backward returned a gradient of shape \(2,\)"):
        Broken.apply(x).sum().backward()


def test_gradcheck_report_and_raise():
    report = minivae.gradcheck(lambda t: ops.tanh(t), [rng.standard_normal((2, 2))])
    assert report.passed and report.elements == 4 and "passed" in str(report)

    class WrongExp(Function):
        @staticmethod
        def forward(ctx, x):
            return np.exp(x)

        @staticmethod
        def backward(ctx, g):
            return g  # should be g * exp(x)

    with pytest.raises(GraphError, match="FAILED"):
        minivae.gradcheck(WrongExp.apply, [np.ones((2, 2))], raise_on_failure=True)


def test_iterating_a_tensor_gives_its_rows_in_the_graph():
    x = leaf(3, 2)
    rows = list(x)
    assert len(rows) == 3 and rows[1].shape == (2,)
    (rows[0] * 2 + rows[2]).sum().backward()
    np.testing.assert_array_equal(x.grad, [[2, 2], [0, 0], [1, 1]])
