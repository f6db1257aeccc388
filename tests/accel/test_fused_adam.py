"""Adam's fast form on NumPy, the compiled loop of kernels/cpu/adam.cpp, gives the plain bits.

The plain form is Adam.update_arrays, thirteen NumPy lines; the fused loop makes the same
roundings in the same order, so parameters, m and v must come out equal to the bit, in float32
and float64, step after step. Without a C++ compiler the tests of the loop skip here and fail
in CI (CI=true), and Adam must then run its plain form. A planted mistake in a copy of the
source shows that the comparison fails when the loop is wrong.
"""

import os
import shutil

import numpy as np
import pytest
from support import ROOT

import minivae
from minivae.accel import fused_adam, native
from minivae.models import optim
from minivae.models.vae import VAE
from minivae.ops.gradcheck_cases import running

STEPS = 7
KERNELS = ROOT / "kernels"


@pytest.fixture
def fused():
    library, why = fused_adam.fused_adam()
    if library is None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI must build Adam's fused loop: {why}")
        pytest.skip(why)
    return library


def gradients(model, rng, dtype):
    """One gradient per parameter, of every size: zeros, tiny, ordinary and large entries."""
    scales = np.array([0.0, 1e-30, 1e-3, 1.0, 1e3])
    return [
        (rng.standard_normal(p.shape) * rng.choice(scales, p.shape)).astype(dtype)
        for p in model.parameters()
    ]


def trained_state(form, dtype, steps=STEPS, **adam_options):
    """Parameters, m and v after `steps` Adam steps on the same random gradients, in `form`."""
    model = VAE(30, hidden=(12,), latent_dim=4, seed=3, dtype=dtype)
    opt = optim.Adam(model.parameters(), **adam_options)
    rng = np.random.default_rng(0)
    for _ in range(steps):
        for p, g in zip(model.parameters(), gradients(model, rng, dtype), strict=True):
            p.grad = g
        with running(form):
            opt.step()
    return [p.data for p in model.parameters()] + opt.m + opt.v


def assert_same_bits(fast, plain):
    for f, p in zip(fast, plain, strict=True):
        np.testing.assert_array_equal(f.view(f"u{f.itemsize}"), p.view(f"u{p.itemsize}"))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("options", [{}, {"lr": 0.05, "betas": (0.5, 0.9), "eps": 1e-4}])
def test_the_fused_loop_gives_the_plain_forms_bits(fused, dtype, options):
    fast, plain = (trained_state(form, dtype, **options) for form in ("fast", "plain"))
    assert_same_bits(fast, plain)


def test_the_fused_loop_is_what_runs_by_default(fused, monkeypatch):
    calls = []
    original = optim.Adam.fused_update
    monkeypatch.setattr(optim.Adam, "fused_update", lambda *a: calls.append(1) or original(*a))
    state = trained_state("fast", np.float32, steps=1)  # parameters, m, v: a third each
    assert len(calls) == len(state) // 3  # one call per parameter
    assert fused_adam.status() == "Adam: the fused loop (kernels/cpu/adam.cpp)"


def test_arrays_the_loop_cannot_take_get_the_plain_form(fused):
    theta = np.ones((4, 3), np.float32)
    settings = dict(b1=0.9, b2=0.999, correction1=0.1, correction2=0.001, eps=1e-8, lr=1e-3)
    m, v = np.zeros_like(theta), np.zeros_like(theta)
    refused = {
        "a transposed gradient": (np.ones((3, 4), np.float32).T, m, v, theta),
        "a float64 gradient": (np.ones((4, 3)), m, v, theta),
        "a gradient of another shape": (np.ones((12,), np.float32), m, v, theta),
        "float16 arrays": tuple(a.astype(np.float16) for a in (theta, m, v, theta)),
        "a read-only parameter": (theta, m, v, np.broadcast_to(theta, theta.shape)),
    }
    for name, arrays in refused.items():
        before = [a.copy() for a in arrays]
        assert fused_adam.update(fused, *arrays, **settings) is False, name
        for a, b in zip(arrays, before, strict=True):
            np.testing.assert_array_equal(a, b)  # nothing written


def test_a_transposed_gradient_steps_as_in_the_plain_form():
    states = []
    for form in ("fast", "plain"):
        theta = np.linspace(-1, 1, 12, dtype=np.float32).reshape(4, 3)
        p = minivae.Tensor(theta, requires_grad=True)
        opt = optim.Adam([p], lr=0.1)
        p.grad = np.arange(12, dtype=np.float32).reshape(3, 4).T  # not C-contiguous
        with running(form):
            opt.step()
        states.append([p.data, opt.m[0], opt.v[0]])
    assert_same_bits(*states)


def test_without_a_compiler_adam_runs_its_plain_form(monkeypatch, tmp_path):
    monkeypatch.setattr(native, "CPU_COMMAND", ("no-such-compiler", *native.CPU_COMMAND[1:]))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))  # nothing built before
    fused_adam.fused_adam.cache_clear()
    try:
        library, why = fused_adam.fused_adam()
        assert library is None
        assert why == "building cpu/adam.cpp needs no-such-compiler: put no-such-compiler on PATH"
        assert fused_adam.status() == f"Adam: plain form ({why})"
        assert_same_bits(trained_state("fast", np.float32), trained_state("plain", np.float32))
    finally:
        fused_adam.fused_adam.cache_clear()  # the next test builds (or finds) the real loop again


@pytest.mark.parametrize(
    "old, new",
    [
        ("g[i] * g[i] * one_minus_b2", "g[i] * one_minus_b2"),  # v averages g, not g^2
        ("std::sqrt(v_i / correction2) + eps", "std::sqrt(v_i / correction2 + eps)"),
        ("m_i / denominator * step", "m_i * step / denominator"),  # right math, other roundings
    ],
)
def test_a_planted_mistake_in_the_loop_breaks_the_bits(fused, monkeypatch, tmp_path, old, new):
    root = tmp_path / "kernels"
    shutil.copytree(KERNELS, root)
    source = root / "cpu" / "adam.cpp"
    text = source.read_text()
    assert text.count(old) == 1
    source.write_text(text.replace(old, new))
    path = native.build_library("cpu/adam.cpp", native.CPU_COMMAND, tmp_path / "cache", root)
    planted = native.load(path, fused_adam.SIGNATURES)
    monkeypatch.setattr(fused_adam, "fused_adam", lambda: (planted, None))
    with pytest.raises(AssertionError):
        assert_same_bits(trained_state("fast", np.float32), trained_state("plain", np.float32))
