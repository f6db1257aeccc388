"""The VAE ops' values: KL against Monte Carlo, likelihoods against their textbook forms, and the
classic mistakes, planted in the backward passes, caught by the gradient checker."""

import numpy as np
import pytest

from minivae import Tensor, gradcheck, ops
from minivae.ops import likelihoods, vae
from minivae.ops.gradcheck_cases import forms, running
from minivae.rng import CounterRNG, counter_normal

rng = np.random.default_rng(0)


def test_reparameterize_moves_and_scales_the_noise():
    mu, logvar, eps = rng.normal(size=(3, 4)), rng.normal(size=(3, 4)), rng.normal(size=(3, 4))
    z = ops.reparameterize(Tensor(mu), Tensor(logvar), Tensor(eps)).data
    np.testing.assert_allclose(z, mu + np.exp(logvar / 2) * eps)


def test_reparameterize_draws_its_noise_from_a_seeded_generator():
    mu, logvar = Tensor(np.zeros((2, 3))), Tensor(np.zeros((2, 3)))
    first = ops.reparameterize(mu, logvar, noise=CounterRNG(5)).data
    np.testing.assert_array_equal(first, ops.reparameterize(mu, logvar, noise=CounterRNG(5)).data)
    np.testing.assert_array_equal(first, counter_normal(np, (2, 3), 5, 0, np.float64))
    with pytest.raises(ValueError, match="pass the noise eps"):
        ops.reparameterize(mu, logvar)


def test_gaussian_kl_matches_a_monte_carlo_estimate():
    mu, logvar = np.array([[0.5, -1.0, 2.0]]), np.array([[-0.5, 0.3, -1.2]])
    sigma = np.exp(logvar / 2)
    z = mu + sigma * rng.standard_normal((400_000, 3))
    log_q = -0.5 * (((z - mu) / sigma) ** 2 + logvar + np.log(2 * np.pi)).sum(1)
    log_p = -0.5 * (z**2 + np.log(2 * np.pi)).sum(1)
    monte_carlo = (log_q - log_p).mean()
    closed_form = ops.gaussian_kl(Tensor(mu), Tensor(logvar)).item()
    assert closed_form == pytest.approx(monte_carlo, abs=0.02)
    assert ops.gaussian_kl(Tensor(np.zeros((2, 3))), Tensor(np.zeros((2, 3)))).data.tolist() == [
        0,
        0,
    ]


def test_sample_kl_equals_reparameterize_plus_gaussian_kl_with_the_same_noise():
    mu, logvar = rng.normal(size=(5, 3)), rng.normal(size=(5, 3))
    z, kl = ops.sample_kl(Tensor(mu), Tensor(logvar), seed=4, stream=9)
    eps = counter_normal(np, (5, 3), 4, 9, np.float64)
    np.testing.assert_allclose(
        z.data, ops.reparameterize(Tensor(mu), Tensor(logvar), Tensor(eps)).data
    )
    np.testing.assert_allclose(kl.data, ops.gaussian_kl(Tensor(mu), Tensor(logvar)).data)


def test_bernoulli_nll_is_the_binary_cross_entropy_and_stable():
    logits, x = rng.normal(size=(4, 6)) * 3, rng.uniform(size=(4, 6))
    p = 1 / (1 + np.exp(-logits))
    bce = -(x * np.log(p) + (1 - x) * np.log(1 - p)).sum(1)
    np.testing.assert_allclose(ops.bernoulli_nll(Tensor(logits), Tensor(x)).data, bce)
    extreme = ops.bernoulli_nll(Tensor(np.array([[1e4, -1e4]])), Tensor(np.array([[0.0, 1.0]])))
    assert extreme.item() == pytest.approx(2e4)  # finite, where log(sigmoid) would give inf


@pytest.mark.parametrize("width", [784, 96, 7, 6, 1])
def test_row_sum_of_logs_equals_the_sum_of_the_logs(width):
    t = 1 + rng.uniform(size=(3, width))  # in [1, 2], as BernoulliNLL's t = 1 + e^-|l|
    np.testing.assert_allclose(likelihoods.row_sum_of_logs(np, t), np.log(t).sum(1), rtol=1e-13)
    t32 = t.astype(np.float32)
    np.testing.assert_allclose(likelihoods.row_sum_of_logs(np, t32), np.log(t).sum(1), rtol=1e-6)


def test_bernoulli_nll_float32_on_a_full_image_batch_matches_float64():
    logits, x = rng.normal(size=(128, 784)) * 4, rng.uniform(size=(128, 784))
    exact = ops.bernoulli_nll(Tensor(logits), Tensor(x)).data
    single = ops.bernoulli_nll(Tensor(logits.astype(np.float32)), Tensor(x.astype(np.float32)))
    np.testing.assert_allclose(single.data, exact, rtol=1e-5)


def test_gaussian_nll_is_the_normal_log_density():
    x, mean, logvar = rng.normal(size=(3, 4)), rng.normal(size=(3, 4)), rng.normal(size=4)
    var = np.exp(logvar)
    expected = (0.5 * np.log(2 * np.pi * var) + (x - mean) ** 2 / (2 * var)).sum(1)
    np.testing.assert_allclose(
        ops.gaussian_nll(Tensor(x), Tensor(mean), Tensor(logvar)).data, expected
    )


# -- classic mistakes, written as a learner might write them, each caught by gradcheck ----------


def std_is_exp_logvar(ctx, g):
    """Using exp(logvar) as the standard deviation: dz/dlogvar = eps e^logvar / 2."""
    eps, sigma = ctx.saved
    return g, g * eps * sigma**2 / 2, g * sigma


def kl_sign_flipped(ctx, g):
    """dKL/dlogvar = (1 - e^logvar) / 2: the sign of the variance term flipped."""
    mu, var = ctx.saved
    g = g[:, None]
    return g * mu, g * (1 - var) / 2


def bce_on_probabilities(ctx, g):
    """Treating the logits as probabilities: d/dl = l - x, the sigmoid forgotten."""
    logits, x = ctx.saved[:2]  # the plain form saves (l, x), the fast form (l, x, t)
    return g[:, None] * (logits - x), -g[:, None] * logits


def reparameterize_missing_half(ctx, g):
    """d sigma/d logvar taken as sigma instead of sigma / 2."""
    eps, sigma = ctx.saved
    return g, g * eps * sigma, g * sigma


MISTAKES = [
    (vae.Reparameterize, std_is_exp_logvar, "reparameterize", 3),
    (vae.Reparameterize, reparameterize_missing_half, "reparameterize", 3),
    (vae.GaussianKL, kl_sign_flipped, "gaussian_kl", 2),
    (likelihoods.BernoulliNLL, bce_on_probabilities, "bernoulli_nll", 2),
]
PLANTED = [(form, wrong, op, n) for function, wrong, op, n in MISTAKES for form in forms(function)]


@pytest.mark.parametrize(
    "form, wrong, op, n_inputs", PLANTED,
    ids=[f"{op}-{form.label}-{wrong.__name__}" for form, wrong, op, _ in PLANTED],
)
def test_classic_mistake_is_caught(form, wrong, op, n_inputs, monkeypatch):
    inputs = [rng.normal(size=(3, 4)), rng.uniform(-1.5, 1.0, (3, 4)), rng.normal(size=(3, 4))]
    if op == "bernoulli_nll":
        inputs[1] = rng.uniform(0, 1, (3, 4))
    call = getattr(ops, op)
    with running(form.label):
        assert gradcheck(call, inputs[:n_inputs]).passed  # the correct op passes
        monkeypatch.setattr(form.function, "backward", staticmethod(wrong))
        report = gradcheck(call, inputs[:n_inputs])
    assert not report.passed, f"{wrong.__name__} went unnoticed: {report}"


def test_free_bits_kl_is_the_floored_kl_of_each_unit_averaged_over_the_batch():
    mu, logvar = rng.normal(size=(6, 4)), rng.normal(size=(6, 4))
    terms = vae.kl_terms(mu, np.exp(logvar), logvar)  # (B, L)
    per_unit = terms.mean(axis=0)  # KLbar_j
    floor = float(np.median(per_unit))  # two units below the floor, two above
    kl = ops.free_bits_kl(Tensor(mu), Tensor(logvar), floor).data  # (B,)
    assert kl.mean() == pytest.approx(np.maximum(floor, per_unit).sum())
    above = per_unit > floor
    np.testing.assert_allclose(kl, terms[:, above].sum(axis=1) + floor * (~above).sum())
    below_all = ops.free_bits_kl(Tensor(mu), Tensor(logvar), per_unit.max() + 1).data
    np.testing.assert_allclose(below_all, 4 * (per_unit.max() + 1))  # every unit free
    zero_floor = ops.free_bits_kl(Tensor(mu), Tensor(logvar), 0.0).data
    np.testing.assert_allclose(zero_floor, ops.gaussian_kl(Tensor(mu), Tensor(logvar)).data)


def test_free_bits_kl_sends_no_gradient_to_units_below_the_floor():
    mu = Tensor(rng.normal(size=(5, 3)), requires_grad=True)
    logvar = Tensor(np.zeros((5, 3)), requires_grad=True)
    mu.data[:, 0] *= 0.01  # unit 0 carries almost nothing: below a floor of 0.5 nats
    mu.data[:, 1:] *= 3  # units 1 and 2 carry several nats each
    ops.free_bits_kl(mu, logvar, 0.5).sum().backward()
    assert not mu.grad[:, 0].any() and not logvar.grad[:, 0].any()
    np.testing.assert_allclose(mu.grad[:, 1:], mu.data[:, 1:])  # dKL/dmu = mu above the floor
