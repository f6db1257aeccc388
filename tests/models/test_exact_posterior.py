"""The grid's p(x), p(z|x) and KL against a model whose answers are known in closed form.

A linear Gaussian model, z ~ N(0, 1), x = a z + b + noise of standard deviation s_d per
coordinate, has
    p(x) = N(x; b, a a^T + diag(s^2)),
    p(z|x) = N(m, v),  v = 1 / (1 + sum_d a_d^2 / s_d^2),  m = v sum_d a_d (x_d - b_d) / s_d^2,
so the quadrature of minivae.models.exact_posterior must give these to the grid's accuracy.
"""

import numpy as np
import pytest

import minivae
from minivae.errors import ConfigError, ShapeError
from minivae.models import exact_posterior

A, B, S = np.array([1.5, -0.7]), np.array([0.2, -1.0]), np.array([0.3, 0.5])
Z = np.linspace(-8, 8, 4001)


def examples():
    rng = np.random.default_rng(0)
    z = rng.standard_normal(6)
    return z[:, None] * A + B + S * rng.standard_normal((6, 2))  # (6, 2)


def closed_form(x):
    """log p(x) (N,) and the posterior's mean and variance (N,) each."""
    cov = np.outer(A, A) + np.diag(S**2)
    diff = x - B
    log_px = -0.5 * (2 * np.log(2 * np.pi) + np.log(np.linalg.det(cov))
                     + np.einsum("nd,de,ne->n", diff, np.linalg.inv(cov), diff))
    v = 1 / (1 + np.sum(A**2 / S**2))
    return log_px, v * (diff * A / S**2).sum(axis=1), np.full(len(x), v)


def test_the_grid_gives_the_linear_gaussian_models_evidence_and_posterior():
    x = examples()
    joint = exact_posterior.log_joint(x, Z, Z[:, None] * A + B, np.log(S**2))  # (6, 4001)
    log_px, m, v = closed_form(x)
    assert np.allclose(exact_posterior.log_evidence(joint, Z), log_px, rtol=0, atol=1e-9)
    log_post = exact_posterior.log_posterior(joint, Z)
    expected = exact_posterior.log_normal(Z[None], m[:, None], np.log(v)[:, None])
    assert np.allclose(np.exp(log_post), np.exp(expected), rtol=0, atol=1e-8)
    assert np.allclose(np.exp(log_post).sum(axis=1) * (Z[1] - Z[0]), 1.0)


def test_the_kl_on_the_grid_is_the_closed_form_kl_between_two_gaussians():
    mu_q, var_q, mu_p, var_p = 0.3, 0.2**2, -0.5, 1.3**2
    log_q = exact_posterior.log_normal(Z, mu_q, np.log(var_q))[None]
    log_p = exact_posterior.log_normal(Z, mu_p, np.log(var_p))[None]
    closed = 0.5 * (np.log(var_p / var_q) + (var_q + (mu_q - mu_p) ** 2) / var_p - 1)
    assert np.allclose(exact_posterior.kl_on_grid(log_q, log_p, Z), closed, atol=1e-10)
    # where q underflows to 0 its terms are 0, even where log p is -inf
    narrow = exact_posterior.log_normal(Z, 0.0, np.log(1e-4))[None]
    assert np.isfinite(exact_posterior.kl_on_grid(narrow, np.where(np.abs(Z) < 1, 0.0, -np.inf)
                                                  [None], Z)).all()


def test_far_from_the_curve_the_evidence_stays_finite_where_the_density_underflows():
    away = np.array([A[1], -A[0]]) / np.linalg.norm(A)  # at right angles to the line
    x = (B + A + 30 * away)[None]  # log p(x|z) below -2000 for every z on the grid
    joint = exact_posterior.log_joint(x, Z, Z[:, None] * A + B, np.log(S**2))
    assert np.all(joint < -2000) and abs(closed_form(x)[1][0]) < 4
    assert np.allclose(exact_posterior.log_evidence(joint, Z), closed_form(x)[0], rtol=1e-9)


def test_the_decoder_on_the_grid_is_the_vaes_own_decoder():
    model = minivae.VAE(3, hidden=(8,), latent_dim=1, likelihood="gaussian", dtype=np.float64)
    mean, logvar = exact_posterior.decoder_on_grid(model, Z[:5])
    assert np.array_equal(mean, model.decode(Z[:5, None]).data)
    assert np.array_equal(logvar, model.decoder.logvar.data)
    with pytest.raises(ConfigError, match="latent_dim=1 and likelihood='gaussian'"):
        exact_posterior.decoder_on_grid(minivae.VAE(3, hidden=(8,), latent_dim=2,
                                                    likelihood="gaussian"), Z)
    with pytest.raises(ConfigError, match="likelihood 'bernoulli'"):
        exact_posterior.decoder_on_grid(minivae.VAE(3, hidden=(8,), latent_dim=1), Z)


@pytest.mark.parametrize("grid, says", [
    (np.array([0.0]), "at least two points"),
    (np.zeros((3, 2)), "a 1-D array"),
    (np.array([0.0, 1.0, 3.0]), "evenly spaced and increasing"),
    (np.array([1.0, 0.0, -1.0]), "evenly spaced and increasing"),
])
def test_a_grid_that_is_not_an_even_grid_is_refused(grid, says):
    with pytest.raises(ShapeError, match=says):
        exact_posterior.log_evidence(np.zeros((2, grid.size)), grid)


def test_shapes_that_do_not_fit_are_refused():
    with pytest.raises(ShapeError, match=r"mean \(5, 2\) \(G, D\) with G = 4"):
        exact_posterior.log_joint(np.zeros((3, 2)), Z[:4], np.zeros((5, 2)), np.zeros(2))
