"""Exercise `linear` (notebook 3): the backward pass of the dense layer y = x W + b.

The learner writes linear_backward(g, x, weight) -> (grad_x, grad_weight, grad_bias), from the
upstream gradient g = dL/dy (B, O), the input x (B, I) and the weight W (I, O):

    dL/dx = g W^T  (B, I),     dL/dW = x^T g  (I, O),     dL/db = sum over the examples of g  (O,)

The check compares them with the backward pass of minivae's `ops.linear` on four batches: the
first with a square W (so that a transposed W still fits and shows as a wrong value rather than
an error), a batch of one example, one output, and examples whose sizes differ by orders of
magnitude; then on the teacher's cases (`minivae.course.cases`). It plugs linear_backward into a
Function as the backward of y = x W + b and runs `minivae.gradcheck` on its own batches.
"""

import types

import numpy as np

from minivae import ops
from minivae.course.cases import Case, teacher_cases
from minivae.course.compare import Batch, Mistake, Quantity, RoundingLater, compare
from minivae.course.plugged import gradcheck_all, with_backward
from minivae.course.verdict import Template, call, checked, unpack
from minivae.engine.tensor import Tensor

TEMPLATES = (Template("linear_backward", ("g", "x", "weight")),)
CASE = Case({"g": "B O", "x": "B I", "weight": "I O", "bias": "O"},
            optional={"bias": lambda inputs: np.zeros(inputs["weight"].shape[1])})
NAMES = ["grad_x", "grad_weight", "grad_bias"]
NO_G = "g, the gradient arriving from y, is missing: the chain rule multiplies by it."
SHAPES = ("Follow the shapes: g is (B, O); grad_x is (B, I) like x, grad_weight (I, O) like W, "
          "grad_bias (O,) like b.")

MISTAKES = [
    Mistake("grad_x", lambda e: e.g @ e.weight,
            "Each x_i reaches output j through W_ij, so dL/dx = g W^T: (B, O) @ (O, I) -> (B, I).",
            "is g @ W where g @ W.T belongs"),
    Mistake("grad_x", lambda e: np.ones_like(e.g) @ e.weight.T, NO_G, "is ones @ W.T: no g in it"),
    Mistake("grad_weight", lambda e: e.g.T @ e.x,
            "dL/dW_io = sum_b x_bi g_bo, which is x^T g: (I, B) @ (B, O) -> (I, O), the shape "
            "of W."),
    Mistake("grad_weight", lambda e: e.x.T @ np.ones_like(e.g), NO_G, "is x.T @ ones: no g in it"),
    Mistake("grad_bias", lambda e: e.g.sum(axis=1),
            "b is added to every example's row: its gradient sums g over the examples (axis 0), "
            "not over the outputs."),
    Mistake("grad_bias", lambda e: e.g.mean(axis=0),
            "b is added to every example's row, so the examples' gradients add up: sum over "
            "axis 0, not the mean."),
    Mistake("grad_bias", lambda e: e.g.sum(),
            "Sum over the examples only (axis 0): one value per output, the shape of b."),
]


def batches():
    """(g, x, weight, bias): the first with a square weight, then a batch of one, one output,
    and examples far apart in size; then the teacher's cases."""
    rng = np.random.default_rng(2)
    draws = []
    for (b, i, o), label in [((3, 4, 4), ""), ((1, 3, 2), "for a batch of one example"),
                             ((4, 3, 1), "for a layer with one output"),
                             ((3, 5, 2), "for examples of sizes 1e-3 to 1e3")]:
        inputs = {"g": rng.normal(size=(b, o)), "x": rng.normal(size=(b, i)),
                  "weight": rng.normal(size=(i, o)), "bias": rng.normal(size=o)}
        if b == 3 and i == 5:
            inputs["x"] *= np.array([[1e-3], [1.0], [1e3]])  # rows of very different sizes
        draws.append(Batch(inputs, label))
    return draws + [Batch(inputs, label, why_wrong=why, gradcheck=False)
                    for label, why, inputs in teacher_cases("linear", CASE)]


def minivae_gradients(g, x, weight, bias):
    """dL/dx, dL/dW, dL/db from the backward pass of ops.linear, for upstream gradient g."""
    tensors = [Tensor(a, requires_grad=True) for a in (x, weight, bias)]
    ops.linear(*tensors).backward(g)
    return [t.grad for t in tensors]


def quantities(batch):
    examples = (("examples", len(batch.inputs["x"])),)
    return [Quantity("grad_x", ("examples", "inputs")),
            Quantity("grad_weight", ("inputs", "outputs"), examples),
            Quantity("grad_bias", ("outputs",), examples)]


@checked("linear", TEMPLATES)
def check_linear_backward(linear_backward):
    """Check linear_backward(g, x, weight) -> (grad_x, grad_weight, grad_bias)."""
    name, draws, later = linear_backward.name, batches(), RoundingLater()
    for batch in draws:
        g, x, weight = (batch.inputs[k] for k in ("g", "x", "weight"))
        got = unpack(name, call(linear_backward, g, x, weight, why_error=SHAPES), NAMES)
        expected = minivae_gradients(g, x, weight, batch.inputs["bias"])
        with later:
            compare(name, quantities(batch), got, expected, MISTAKES,
                    types.SimpleNamespace(**batch.inputs), batch)
    later.finish()

    def forward(ctx, x, weight, bias):
        ctx.save_for_backward(x, weight)
        return x @ weight + bias  # (B, I) (I, O) + (O,) -> (B, O)

    def backward(ctx, g):
        return tuple(unpack(name, call(linear_backward, g, *ctx.saved), NAMES))

    op = with_backward("LinearWithYourBackward", forward, backward)
    worst = gradcheck_all(name, op.apply, [[b.inputs[k] for k in ("x", "weight", "bias")]
                                           for b in draws if b.gradcheck])
    return (f"{name} agrees with the backward pass of minivae's ops.linear on {len(draws)} "
            "batches", "gradcheck finds your gradients equal to central differences of "
            f"y = x W + b (largest error {worst:.1e}).")
