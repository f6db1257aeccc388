"""Check hand-written backward passes against finite differences.

For f with outputs y = f(x_1, ..., x_n), draw a random upstream gradient u (the same shape as y)
and look at the scalar L = sum(u * y). Backpropagation gives the analytic dL/dx. Central
differences give a numeric estimate for every element i of every input:

    dL/dx_i  ~  (L(x + h e_i) - L(x - h e_i)) / (2h)        error O(h^2) + rounding O(eps/h)

A random u (rather than all ones) makes mistakes that cancel under a plain sum, such as a
transposed gradient, visible. Everything runs in float64. The error of element i is

    err_i = |analytic_i - numeric_i| / max(1, |analytic_i|, |numeric_i|)

relative for gradients of size above 1 and absolute below (where a relative error would only
measure rounding noise). The check passes when max_i err_i <= tol.
"""

import dataclasses

from minivae import backend
from minivae.engine.function import no_grad
from minivae.engine.tensor import Tensor
from minivae.errors import GraphError


@dataclasses.dataclass
class GradcheckReport:
    """The outcome of one gradient check, worst element first."""

    name: str
    shapes: list
    passed: bool
    max_abs_error: float
    max_rel_error: float
    worst_input: int  # which input holds the worst element
    worst_index: tuple  # and where in it
    worst_analytic: float
    worst_numeric: float
    tol: float
    elements: int  # how many elements were checked

    def __str__(self):
        verdict = "passed" if self.passed else "FAILED"
        return (
            f"gradcheck {self.name} {verdict}: max relative error {self.max_rel_error:.2e} "
            f"(tol {self.tol:.0e}), max absolute error {self.max_abs_error:.2e} over "
            f"{self.elements} elements; worst: input {self.worst_input} at {self.worst_index}, "
            f"analytic {self.worst_analytic:.8g} vs numeric {self.worst_numeric:.8g}"
        )


def gradcheck(fn, inputs, *, h=1e-6, tol=1e-6, seed=0, name=None, raise_on_failure=False):
    """Compare the backward pass of `fn` with central differences on every input element.

    fn: takes the inputs as Tensors, returns a Tensor or a tuple of Tensors.
    inputs: arrays or Tensors; floating ones are copied to float64 and checked, float64 leaf
        tensors (a model's parameters) are checked in place, the others (integer indices, say)
        are passed through unchanged.
    Returns a GradcheckReport; with raise_on_failure=True a failed check raises GraphError.
    """
    # a Tensor's array is .data; a CuPy array's .data is its memory pointer, so ask Tensor only
    xp = backend.get_array_module(*[v.data if isinstance(v, Tensor) else v for v in inputs])
    tensors = [_as_float64_leaf(v) for v in inputs]
    checked = [i for i, t in enumerate(tensors) if isinstance(t, Tensor) and t.requires_grad]
    upstream = None

    def objective():
        outputs = fn(*tensors)
        outputs = outputs if isinstance(outputs, tuple) else (outputs,)
        nonlocal upstream
        if upstream is None:
            rng = backend.numpy.random.default_rng(seed)
            upstream = [xp.asarray(rng.standard_normal(out.shape)) for out in outputs]
        return outputs, sum(
            float((u * out.data).sum()) for u, out in zip(upstream, outputs, strict=True)
        )

    outputs, _ = objective()
    for out, u in zip(outputs, upstream, strict=True):
        if not out.requires_grad:
            raise GraphError(f"gradcheck {name or fn}: an output does not depend on any input")
        out.backward(u)
    analytic = [_grad_or_zeros(tensors[i]) for i in checked]

    worst = dict(rel=-1.0, abs=0.0, input=0, index=(), analytic=0.0, numeric=0.0)
    elements = 0
    with no_grad():
        for k, i in enumerate(checked):
            data = tensors[i].data
            for index in backend.numpy.ndindex(data.shape):
                original = data[index].item()
                data[index] = original + h
                plus = objective()[1]
                data[index] = original - h
                minus = objective()[1]
                data[index] = original
                numeric = (plus - minus) / (2 * h)
                exact = float(analytic[k][index])
                abs_err = abs(exact - numeric)
                rel_err = abs_err / max(1.0, abs(exact), abs(numeric))
                elements += 1
                worst["abs"] = max(worst["abs"], abs_err)
                if rel_err > worst["rel"]:
                    worst.update(rel=rel_err, input=i, index=index, analytic=exact, numeric=numeric)

    report = GradcheckReport(
        name=name or getattr(fn, "__name__", "fn"),
        shapes=[tuple(getattr(t, "shape", ())) for t in tensors],
        passed=worst["rel"] <= tol,
        max_abs_error=worst["abs"],
        max_rel_error=max(worst["rel"], 0.0),
        worst_input=worst["input"],
        worst_index=worst["index"],
        worst_analytic=worst["analytic"],
        worst_numeric=worst["numeric"],
        tol=tol,
        elements=elements,
    )
    if raise_on_failure and not report.passed:
        raise GraphError(str(report))
    return report


def _as_float64_leaf(value):
    """A float64 leaf to differentiate: float64 leaves (a model's parameters) are used as they
    are, other floating inputs are copied to float64, anything else passes through."""
    if isinstance(value, Tensor) and value.requires_grad and value._node is None:
        if value.dtype != backend.numpy.float64:
            raise GraphError(f"gradcheck: build the model in float64 (got {value.dtype})")
        value.zero_grad()
        return value
    data = value.data if isinstance(value, Tensor) else value
    if not backend.is_array(data) or data.dtype.kind != "f":
        return value
    return Tensor(data.astype(backend.get_array_module(data).float64), requires_grad=True)


def _grad_or_zeros(tensor):
    """An input the outputs do not depend on has gradient zero."""
    return tensor.grad if tensor.grad is not None else tensor.xp.zeros_like(tensor.data)
