# ---
# jupyter:
#   jupytext:
#     notebook_metadata_filter: -jupytext.text_representation.jupytext_version
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 2. A model whose posterior can be computed
#
# Notebook 1 gave the VAE's encoder a distribution, $q(z \mid x)$, and a KL to the prior. What
# is $q(z \mid x)$ for? It stands in for the **posterior** $p(z \mid x)$, the distribution of the
# codes that could have produced $x$, which Bayes' rule gives as
#
# $$
# p(z \mid x) = \frac{p(x \mid z)\, p(z)}{p(x)}, \qquad p(x) = \int p(x \mid z)\, p(z)\, dz .
# $$
#
# For a neural decoder and a latent space of many dimensions nobody can compute that integral,
# so nobody can compute $p(x)$ or $p(z \mid x)$: the VAE approximates the one by the encoder's
# Gaussian and the other by a lower bound, the ELBO. This notebook takes a model small enough
# that both can be computed exactly, on a grid of codes, and measures what the VAE's
# approximations cost:
#
# 1. you compute $p(x)$ and $p(z \mid x)$ on the grid (an exercise);
# 2. a VAE is trained on data drawn from the model;
# 3. the ELBO, met here for the first time: it is exactly $\log p(x)$ minus
#    $\mathrm{KL}(q(z \mid x) \,\|\, p(z \mid x))$, three numbers computed three ways;
# 4. the importance-weighted bound closes in on $\log p(x)$;
# 5. where the gap comes from: the encoder, or the Gaussian shape of $q$.
#
# The symbols are those of `docs/math.md` (its section "When the posterior can be computed"
# has this notebook's formulas): $x$ an example of $D = 2$ numbers, $z$ its code (here one
# number, $L = 1$), $\mu$ and $\mathrm{logvar} = \log \sigma^2$ what the encoder outputs.

# %%
# %matplotlib inline
import matplotlib.pyplot as plt
import numpy as np

import minivae
import minivae.course
from minivae import ops
from minivae.models import exact_posterior
from minivae.models.optim import Adam
from minivae.rng import CounterRNG

SEED = 0
rng = np.random.default_rng(SEED)

# %% [markdown]
# ## The model
#
# A code is one number drawn from the prior, and the example is a point of the plane near a
# curve, at the place the code names, plus Gaussian noise of standard deviation
# $\sigma_\star = 0.15$ in each coordinate:
#
# $$
# z \sim \mathcal{N}(0, 1), \qquad
# x = f(z) + \sigma_\star \epsilon, \quad \epsilon \sim \mathcal{N}(0, I), \qquad
# f(z) = \big(1.5 \tanh z,\; \sin 2z\big),
# $$
#
# so $p(x \mid z) = \mathcal{N}(x;\, f(z),\, \sigma_\star^2 I)$. The star marks the true
# model, the one the data come from; a VAE trained on the data will have its own decoder and
# its own $p(x)$. 5,000 training points and 1,000 test points:

# %%
SIGMA_TRUE = 0.15


def curve(z):
    """The true decoder's mean f(z) = (1.5 tanh z, sin 2z): (G,) -> (G, 2)."""
    return np.stack([1.5 * np.tanh(z), np.sin(2 * z)], axis=-1)


def draw(n):
    """n examples x = f(z) + sigma eps of the true model, and their codes z: (n, 2), (n,)."""
    z = rng.standard_normal(n)
    return curve(z) + SIGMA_TRUE * rng.standard_normal((n, 2)), z


x_train, z_train = draw(5000)
x_test, z_test = draw(1000)

POINTS = {"A": np.array([0.0, 0.0]), "B": np.array([0.98, 0.7]), "C": np.array([1.47, -0.76])}
line = curve(np.linspace(-4, 4, 801))
figure, axes = plt.subplots(figsize=(7.5, 5.5))
shown = axes.scatter(*x_train.T, c=z_train, s=3, cmap="coolwarm", vmin=-2.5, vmax=2.5)
axes.plot(*line.T, color="black", lw=1, label=r"the curve $f(z)$, $-4 \leq z \leq 4$")
for name, point in POINTS.items():
    axes.plot(*point, "k*", markersize=14)
    axes.annotate(name, point, xytext=(8, 4), textcoords="offset points", fontsize=13)
figure.colorbar(shown, label="the code $z$ that produced the point")
axes.set_xlabel("$x_1$")
axes.set_ylabel("$x_2$")
axes.set_aspect("equal")
axes.set_title("The true model: 5,000 draws, and three chosen points")
axes.legend(loc="lower right")
plt.show()

# %% [markdown]
# The curve runs from the lower left to the upper right through an arch on each side, and at
# each end, where $\tanh z$ has nearly stopped growing and $\sin 2z$ has not, it turns back on
# itself: on the right it comes down to $x_2 = -1$ and goes back up along nearly the same
# vertical line. Most codes are within 2 of 0, so the ends are sparse.
#
# **Predict first.** Point A sits on the curve where it is nearly straight. Point B sits under
# the top of the arch, between its two sides; point C at the right end, where the curve turns
# back. Which codes could have produced each? How many peaks will $p(z \mid x)$ have at A, at B,
# at C?
#
# ## $p(x)$ and $p(z \mid x)$ on a grid
#
# With one latent dimension the integral is a sum. Take $G$ evenly spaced codes
# $z_1 < \dots < z_G$, $dz$ apart, covering where the prior has its mass (here $[-6, 6]$:
# the prior puts less than $10^{-8}$ of its mass outside). The integral is approximately the
# sum of the areas of thin rectangles, one per grid point, of height $p(x \mid z_g)\, p(z_g)$
# and width $dz$ (a Riemann sum). Work it out in logs: with $\sigma_\star = 0.15$, a point $x$
# only 0.6 away from the curve already has $\log p(x \mid z) < -14$ at every $z$, and for a
# decoder with a smaller noise or an $x$ further off, $p(x \mid z)$ rounds to 0 in float64
# (below $e^{-745}$) at every grid point, while its log is an ordinary number.
#
# ### Exercise 2: the evidence and the posterior on a grid
#
# Write two NumPy functions:
#
# - `log_joint_on_grid(x, z, mean, sigma)`: for examples `x` (N, D), a grid `z` (G,), the
#   decoder's mean at each grid point `mean` (G, D) (for the true model, `curve(z)`) and the
#   noise's standard deviation of each coordinate `sigma` (D,), return
#   $\log p(x_n, z_g) = \log p(x_n \mid z_g) + \log p(z_g)$ for every example and grid point,
#   an array (N, G).
# - `evidence_and_posterior(log_joint, z)`: from that array, return the pair
#   $\big(\log p(x_n)$ of each example (N,), $p(z_g \mid x_n)$ on the grid (N, G)$\big)$, the
#   posterior as a **density**: its values times $dz$ add up to 1 in each row.
#
# Derive both from the definitions above: Bayes' rule and $p(x) = \int p(x \mid z)\, p(z)\, dz$.
# Use only the arguments and NumPy. The check runs them on grids and curves of its own,
# including points so far from the curve that $p(x \mid z)$ is 0 in float64 everywhere.
#
# <details><summary>Hint 1: the log-density of the decoder and of the prior</summary>
#
# A Gaussian with mean $m$ and standard deviation $\sigma$ has the log-density
#
# $$
# \log \mathcal{N}(x; m, \sigma^2)
# = -\tfrac12 \Big(\log 2\pi + \log \sigma^2 + \frac{(x - m)^2}{\sigma^2}\Big)
# $$
#
# (notebook 1's `log_normal`, with $\mathrm{logvar} = \log \sigma^2$). The $D$ coordinates of
# $x$ are independent given $z$, so their log-densities add up; the prior is
# $\mathcal{N}(0, 1)$. To pair every example with every grid point, broadcast:
# `x[:, None, :] - mean[None, :, :]` has shape (N, G, D).
#
# </details>
#
# <details><summary>Hint 2: a sum of numbers you only have the logs of</summary>
#
# With $a_g = \log p(x, z_g)$, the Riemann sum is $p(x) = \sum_g e^{a_g}\, dz$. Do not form
# $e^{a_g}$: factor out the largest, $a_{\max} = \max_g a_g$ of each row, so that every
# exponent is at most 0 and one of them is exactly 0:
# $\log \sum_g e^{a_g} = a_{\max} + \log \sum_g e^{a_g - a_{\max}}$ (log-sum-exp). Then add
# $\log dz$.
#
# </details>
#
# <details><summary>Hint 3: the formulas</summary>
#
# $$
# \log p(x, z_g) = \sum_{d=1}^{D} -\tfrac12 \Big(\log 2\pi + \log \sigma_d^2
# + \frac{(x_d - m_{gd})^2}{\sigma_d^2}\Big) - \tfrac12 \big(\log 2\pi + z_g^2\big)
# $$
#
# $$
# \log p(x) = a_{\max} + \log \sum_{g=1}^{G} e^{a_g - a_{\max}} + \log dz, \qquad
# p(z_g \mid x) = e^{\log p(x, z_g) - \log p(x)}
# $$
#
# </details>


# %%
# The check calls each function by position, its arguments in the order of the def line:
# keep the parameters and their order as they are (a name may change, the order may not).
def log_joint_on_grid(x, z, mean, sigma):
    """log p(x_n, z_g) = log p(x_n | z_g) + log p(z_g) of every example and grid point: (N, G)."""
    ### BEGIN SOLUTION
    diff = x[:, None, :] - mean[None, :, :]  # (N, 1, D) - (1, G, D) -> (N, G, D)
    log_px_z = -0.5 * (np.log(2 * np.pi) + np.log(sigma**2) + diff**2 / sigma**2).sum(axis=2)
    log_pz = -0.5 * (np.log(2 * np.pi) + z**2)  # (G,): the prior N(0, 1)
    return log_px_z + log_pz  # (N, G) + (G,) -> (N, G)
    ### END SOLUTION


def evidence_and_posterior(log_joint, z):
    """(log p(x) of each example (N,), the density p(z_g | x) on the grid (N, G))."""
    ### BEGIN SOLUTION
    dz = z[1] - z[0]  # the grid's spacing
    top = log_joint.max(axis=1, keepdims=True)  # (N, 1): the largest term of each row
    log_px = top[:, 0] + np.log(np.exp(log_joint - top).sum(axis=1) * dz)  # (N,)
    posterior = np.exp(log_joint - log_px[:, None])  # (N, G): sum_g posterior * dz = 1
    return log_px, posterior
    ### END SOLUTION


# %% [markdown]
# The check compares both with minivae's own on six batches (the second function always given
# minivae's $\log p(x, z)$, so that a mistake in the first does not hide the second): two
# ordinary ones, one example, one coordinate of $x$, points far from the curve, and points near
# and far in one batch. If it finds a mistake, it says which quantity is wrong, how, and the
# likely reason.

# %%
minivae.course.check_exact_posterior(log_joint_on_grid, evidence_and_posterior)

# %% [markdown]
# From here on the notebook uses minivae's own, `minivae/models/exact_posterior.py`:
# `log_joint` (with the decoder's likelihood `ops.gaussian_nll`), `log_evidence` (with
# `ops.logsumexp`) and `log_posterior`, so that it runs the same whether or not your answer is
# right yet. A grid of 2,401 codes, $dz = 0.005$:

# %%
Z = np.linspace(-6, 6, 2401)  # (G,)
DZ = exact_posterior.spacing(Z)
LOGVAR_TRUE = np.full(2, np.log(SIGMA_TRUE**2))  # (D,)


def exact(x, mean, logvar):
    """log p(x) (N,) and log p(z_g | x) (N, G) of a model given by its mean on the grid."""
    joint = exact_posterior.log_joint(x, Z, mean, logvar)  # (N, G)
    return exact_posterior.log_evidence(joint, Z), exact_posterior.log_posterior(joint, Z)


chosen = np.stack(list(POINTS.values()))  # (3, 2): A, B, C
log_px_true, log_post_true = exact(chosen, curve(Z), LOGVAR_TRUE)
assert np.allclose(np.exp(log_post_true).sum(axis=1) * DZ, 1.0)  # a density in every row

# %% [markdown]
# One more check, independent of the grid: $p(x) = \mathbb{E}_{z \sim p(z)}[p(x \mid z)]$ is
# also an average over codes drawn from the prior, a Monte Carlo estimate. Its log is within 3
# standard errors (by the delta method, the relative standard error of the mean) of the grid's:

# %%
draws = rng.standard_normal(200_000)  # z ~ p(z)
for name, point, on_grid in zip(POINTS, chosen, log_px_true, strict=True):
    log_px_z = exact_posterior.log_normal(point, curve(draws), LOGVAR_TRUE).sum(axis=1)  # (S,)
    weights = np.exp(log_px_z - log_px_z.max())
    monte_carlo = log_px_z.max() + np.log(weights.mean())
    stderr = weights.std(ddof=1) / weights.mean() / np.sqrt(len(draws))
    print(f"{name}: log p(x) on the grid {on_grid:.4f}, Monte Carlo from the prior "
          f"{monte_carlo:.4f} +- {stderr:.4f}")
    assert abs(monte_carlo - on_grid) < 3 * stderr


# %% [markdown]
# The Monte Carlo estimate works here because one in a few hundred codes from the prior lands
# near the right place on the curve. With many latent dimensions almost none would, which is
# why the VAE draws its codes from $q(z \mid x)$ instead (section 5 below).
#
# The exact posteriors at A, B and C, the answer to the prediction:

# %%
def peaks(density):
    """The grid indices of the local maxima of a density on the grid that reach at least 5%
    of its largest value: its modes."""
    inner = density[1:-1]
    return np.flatnonzero((inner > density[:-2]) & (inner >= density[2:])
                          & (inner > 0.05 * density.max())) + 1


figure, panels = plt.subplots(1, 3, figsize=(14, 3.6), layout="constrained")
for panel, name, log_post in zip(panels, POINTS, log_post_true, strict=True):
    panel.plot(Z, np.exp(log_post), color="black")
    panel.set_xlim(-1, 3.5)
    count = len(peaks(np.exp(log_post)))
    panel.set_title(f"{name} = {POINTS[name]}: {count} peak{'s' * (count > 1)}")
    panel.set_xlabel("$z$")
panels[0].set_ylabel("true posterior $p(z \\mid x)$")
figure.suptitle("The true model's exact posterior at the three points")
plt.show()
modes_true = {name: Z[peaks(np.exp(p))] for name, p in zip(POINTS, log_post_true, strict=True)}
print("modes:", {name: np.round(m, 2) for name, m in modes_true.items()})
assert [len(m) for m in modes_true.values()] == [1, 2, 2]

# %% [markdown]
# At A one code explains the point, and the posterior is a narrow bump close to a Gaussian. At
# B both sides of the arch pass within reach of the point, and at C both the last stretch of
# the curve and the stroke that turns back: two codes, far apart, explain each of them about as
# well, and the posterior has two peaks. No Gaussian has two peaks.
#
# ## A VAE trained on the data
#
# Now forget the true model, as a VAE must, and train one on the 5,000 points: minivae's `VAE`
# with one latent dimension, the Gaussian likelihood (its decoder outputs a mean, and learns one
# noise variance per coordinate, `decoder.logvar`), two hidden layers of 64 tanh units, in
# float64. Its loss, `VAE.loss(x)`, is minus an estimate of the ELBO of each example (the next
# section says what that is); Adam follows its gradient.
#
# The loop is written out here rather than run by minivae's `Trainer`: the `Trainer` trains on
# a dataset it loads by name (the sprites, MNIST, the 2-D toys) and writes checkpoints, and
# these data were drawn above, in this notebook. The four lines inside the loop are the
# `Trainer`'s step without its bookkeeping; notebook 5 takes them apart, and notebooks 3 and 4
# show how `backward()` gets a gradient through a drawn code.

# %%
model = minivae.VAE(2, hidden=(64, 64), latent_dim=1, likelihood="gaussian",
                    activation="tanh", dtype=np.float64, seed=SEED)
optimizer = Adam(model.parameters(), lr=3e-3)
noise = CounterRNG(SEED + 1)  # the draws of z inside the loss, a stream per example
test_curve = []  # the test -ELBO estimate after each epoch, nats per example
for _ in range(150):  # epochs
    order = rng.permutation(len(x_train))
    for start in range(0, len(x_train), 128):
        loss = model.loss(x_train[order[start:start + 128]], noise=noise).objective.mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    with minivae.no_grad():
        test_curve.append(float(model.loss(x_test, noise=CounterRNG(99)).neg_elbo.data.mean()))
test_curve = np.array(test_curve)

# %%
Z_CURVE = np.linspace(-3, 3, 601)
mean_learned, _ = exact_posterior.decoder_on_grid(model, Z_CURVE)
sigma_learned = np.exp(model.decoder.logvar.data / 2)
figure, (left, right) = plt.subplots(1, 2, figsize=(14, 4.8), layout="constrained")
left.plot(np.arange(1, 151), test_curve)
left.set_xlabel("epoch")
left.set_ylabel("test $-$ELBO estimate (nats per example)")
left.set_title("Training: down fast, then up and down")
right.scatter(*x_test.T, s=3, color="gray", label="test points")
right.plot(*line.T, color="black", lw=1, label=r"the true curve $f(z)$")
right.plot(*mean_learned.T, color="C1", lw=2, label=r"the VAE's mean $E[x \mid z]$, $|z| \leq 3$")
right.set_aspect("equal")
right.set_xlabel("$x_1$")
right.set_ylabel("$x_2$")
right.set_title("The decoder's curve against the true one")
right.legend(loc="lower right", fontsize=8)
plt.show()
first, last, late = test_curve[:10].mean(), test_curve[-10:].mean(), test_curve[-30:]
print(f"test -ELBO: {first:.3f} over the first 10 epochs, {last:.3f} over the last 10; over "
      f"the last 30 from {late.min():.3f} to {late.max():.3f}")
print(f"the decoder's noise: sigma = {np.round(sigma_learned, 3)} (the true model's: 0.15, 0.15)")
assert last < first - 0.5 and late.max() - late.min() > 0.03
assert sigma_learned[0] < SIGMA_TRUE - 0.005 and sigma_learned[1] > SIGMA_TRUE + 0.02

# %% [markdown]
# The loss falls fast over the first epochs and then wanders up and down: each epoch's number is
# one estimate with one drawn code per example, and each step follows a noisy gradient. So a
# claim about training is one about the whole curve (its last ten epochs against its first ten),
# never about one epoch against the next. The decoder's curve follows the data, but it is not
# the true model: its noise is below the true $0.15$ in $x_1$ and above it in $x_2$ (printed
# above), and it need not use its code the same way (it may run along the curve the other way,
# or faster in some places). Its $p_\theta(x)$ and posterior $p_\theta(z \mid x)$, $\theta$ for
# its parameters, are its own, and since it has one latent dimension, the grid computes them
# exactly, from its decoder's mean at each grid point (`exact_posterior.decoder_on_grid`).
#
# ## The ELBO, met
#
# The VAE cannot compute $\log p_\theta(x)$. What it computes, and trains on, is the
# **evidence lower bound**: how well codes drawn from $q(z \mid x)$ rebuild $x$, less the KL of
# notebook 1 from $q(z \mid x)$ to the prior,
#
# $$
# \mathrm{ELBO}(x) = \mathbb{E}_{q(z \mid x)}[\log p(x \mid z)]
# - \mathrm{KL}\big(q(z \mid x) \,\|\, p(z)\big)
# = \mathbb{E}_{q(z \mid x)}\big[\log p(x \mid z) + \log p(z) - \log q(z \mid x)\big].
# $$
#
# `VAE.loss` returns minus this, with the expectation estimated at one drawn $z$ and the KL in
# closed form (notebook 5 trains on it, and derives it a second way).
#
# **Predict first.** Which is larger, $\log p_\theta(x)$ or $\mathrm{ELBO}(x)$? For every $x$,
# or only on average? By how much?
#
# Write $p(x \mid z)\, p(z) = p(x, z) = p(z \mid x)\, p(x)$ inside the expectation. Since
# $\log p(x)$ does not depend on $z$, its expectation under $q$ is itself:
#
# $$
# \begin{aligned}
# \log p(x) - \mathrm{ELBO}(x)
# &= \mathbb{E}_{q(z \mid x)}\big[\log p(x) - \log p(z \mid x) - \log p(x)
# + \log q(z \mid x)\big] \\
# &= \mathbb{E}_{q(z \mid x)}\big[\log q(z \mid x) - \log p(z \mid x)\big]
# = \mathrm{KL}\big(q(z \mid x) \,\|\, p(z \mid x)\big) \;\geq\; 0 .
# \end{aligned}
# $$
#
# An identity, not an approximation: the ELBO is below $\log p(x)$ for every $x$, by exactly
# how far the encoder's $q(z \mid x)$ is from the true posterior, and equal to it only where
# $q(z \mid x) = p(z \mid x)$. So raising the ELBO either raises $\log p(x)$ or brings $q$
# closer to the posterior.
#
# Here all three terms can be computed, each its own way, on the 1,000 test points:
#
# - $\log p_\theta(x)$ on the grid, as in the exercise;
# - $\mathrm{ELBO}(x)$ without the grid: $\mathbb{E}_q[\log p(x \mid z)]$ by Gauss-Hermite
#   quadrature, 40 codes $z_k = \mu + \sigma t_k$ at fixed nodes $t_k$ with weights $w_k$
#   (for a smooth function of $z$ as good as millions of random draws), minus the KL in closed
#   form (`ops.gaussian_kl`);
# - $\mathrm{KL}(q(z \mid x) \,\|\, p_\theta(z \mid x))$ on the grid, from the encoder's
#   Gaussian and the exact posterior (`exact_posterior.kl_on_grid`).

# %%
NODES, WEIGHTS = np.polynomial.hermite_e.hermegauss(40)  # for the weight e^(-t^2 / 2)
WEIGHTS = WEIGHTS / WEIGHTS.sum()  # E_{eps ~ N(0, 1)} g(eps) = sum_k WEIGHTS_k g(NODES_k)


def elbo_by_quadrature(x, mu, logvar):
    """ELBO(x) = E_q[log p(x|z)] - KL(q || p(z)) of each example, (N,), for q = N(mu, sigma^2):
    the expectation at the K codes z_k = mu + sigma t_k, the KL in closed form."""
    with minivae.no_grad():
        z = mu + np.exp(logvar / 2) * NODES  # (N, 1) * (K,) -> (N, K)
        output = model.decode(z.reshape(-1, 1))  # (NK, 1) -> (NK, D)
        x_rows = np.repeat(x, len(NODES), axis=0)  # (NK, D): row n K + k is x_n
        log_px_z = -model.decoder.nll(output, x_rows).data.reshape(len(x), len(NODES))
        return log_px_z @ WEIGHTS - ops.gaussian_kl(mu, logvar).data  # (N, K) @ (K,) -> (N,)


mean_theta, logvar_theta = exact_posterior.decoder_on_grid(model, Z)  # (G, D), (D,)
log_px, log_post = exact(x_test, mean_theta, logvar_theta)  # (N,), (N, G)
with minivae.no_grad():
    mu, logvar = (t.data for t in model.encode(x_test))  # (N, 1) each
elbo = elbo_by_quadrature(x_test, mu, logvar)  # (N,)
log_q = exact_posterior.log_normal(Z, mu, logvar)  # (N, G): log q(z_g | x)
kl_to_posterior = exact_posterior.kl_on_grid(log_q, log_post, Z)  # (N,)
gap = log_px - elbo

print(f"over the 1,000 test points: log p(x) {log_px.mean():.4f}, ELBO {elbo.mean():.4f}, "
      f"KL(q || p(z|x)) {kl_to_posterior.mean():.4f} nats on average")
print(f"log p(x) - ELBO: from {gap.min():.4f} to {gap.max():.4f}; it differs from the KL by at "
      f"most {np.abs(gap - kl_to_posterior).max():.1e}")
assert np.all(gap > 0)
assert np.abs(gap - kl_to_posterior).max() < 1e-5

# %% [markdown]
# The ELBO is below $\log p_\theta(x)$ at every one of the 1,000 points, and the gap equals the
# KL to the exact posterior, point by point, to the accuracy of the two quadratures (printed
# above). And the number `VAE.loss` trains on, one drawn code per example, is an unbiased
# estimate of the same ELBO: 200 draws per point, averaged, land within 3 standard errors of
# the quadrature's.

# %%
repeats = 200
with minivae.no_grad():
    one_draw = -model.loss(np.repeat(x_test, repeats, axis=0), noise=CounterRNG(7)).neg_elbo.data
per_point = one_draw.reshape(len(x_test), repeats)  # (N, R): R one-draw estimates per point
difference = per_point.mean(axis=1) - elbo  # (N,)
stderr = per_point.std(axis=1, ddof=1).mean() / np.sqrt(repeats * len(x_test))
print(f"mean over the points of (VAE.loss's estimate - quadrature): {difference.mean():+.5f} "
      f"+- {stderr:.5f}")
assert abs(difference.mean()) < 3 * stderr

figure, axes = plt.subplots(figsize=(6, 5.5))
axes.scatter(kl_to_posterior, gap, s=6)
top = gap.max() * 1.05
axes.plot([0, top], [0, top], color="black", lw=0.8, label="gap = KL")
axes.set_xlabel(r"$\mathrm{KL}(q(z \mid x) \,\|\, p_\theta(z \mid x))$ on the grid (nats)")
axes.set_ylabel(r"$\log p_\theta(x) - \mathrm{ELBO}(x)$ (nats)")
axes.set_title("Each test point: the ELBO's gap against the encoder's KL to the posterior")
axes.legend()
plt.show()

# %% [markdown]
# ## What a Gaussian $q(z \mid x)$ can and cannot follow
#
# Back to A, B and C, first in the true model. For each, the Gaussian $q$ with the smallest
# $\mathrm{KL}(q \,\|\, p_\star(z \mid x))$ (the best Gaussian for that point, by the identity
# the one with the largest ELBO), found by gradient descent on its two numbers
# $(\mu, \mathrm{logvar})$, with the KL computed on the grid from the exact posterior. The same
# search, for the trained VAE, gives the best Gaussian of each test point in the last section.


# %%
def best_gaussian(log_post, mu, logvar, steps=100):
    """(mu, logvar), each (N, 1), of the Gaussian q closest to each row's posterior in
    KL(q || p(z|x)) on the grid: Adam on the two numbers of each row, from the given start."""
    mu = minivae.Tensor(mu.copy(), requires_grad=True)
    logvar = minivae.Tensor(logvar.copy(), requires_grad=True)
    search = Adam([mu, logvar], lr=0.05)
    for _ in range(steps):
        log_q = -0.5 * (np.log(2 * np.pi) + logvar + (Z - mu) ** 2 * ops.exp(-logvar))  # (N, G)
        kl = ((ops.exp(log_q) * (log_q - log_post)).sum(axis=1) * DZ).sum()
        search.zero_grad()
        kl.backward()
        search.step()
    return mu.data, logvar.data


highest = Z[np.argmax(log_post_true, axis=1)][:, None]  # (3, 1): start at the highest peak
mu_star, logvar_star = best_gaussian(log_post_true, highest, np.full((3, 1), np.log(0.01)))
kl_star = exact_posterior.kl_on_grid(exact_posterior.log_normal(Z, mu_star, logvar_star),
                                     log_post_true, Z)
print("KL(best Gaussian || true posterior): "
      + ", ".join(f"{name} {value:.3f}" for name, value in zip(POINTS, kl_star, strict=True)))
assert kl_star[0] < 0.01 and np.all(kl_star[1:] > 0.1)
q_at_c = np.exp(exact_posterior.log_normal(modes_true["C"], mu_star[2], logvar_star[2]))
p_at_c = np.exp(np.interp(modes_true["C"], Z, log_post_true[2]))
print(f"best Gaussians' means: B {mu_star[1, 0]:.2f} (its peaks {modes_true['B']}), "
      f"C {mu_star[2, 0]:.2f} (its peaks {modes_true['C']}); at C's second peak the Gaussian's "
      f"density is {q_at_c[1] / p_at_c[1]:.1e} of the posterior's")
assert modes_true["B"][0] < mu_star[1, 0] < modes_true["B"][1]
assert abs(mu_star[2, 0] - modes_true["C"][0]) < 0.1 and q_at_c[1] < 0.05 * p_at_c[1]

# %% [markdown]
# At A the best Gaussian is almost the posterior itself. At B and C no Gaussian comes close,
# and the two fail differently. $\mathrm{KL}(q \,\|\, p)$ averages $\log q - \log p$ over
# $q$: it charges $q$ heavily for mass where the posterior has little, and only mildly for
# leaving out mass the posterior has. At B the peaks are close and the valley between them
# shallow, so the best Gaussian straddles both, too high in the valley and too low on each peak.
# At C the second peak is small and far: a Gaussian wide enough to reach it would pour mass
# into the valley, so the best one sits on the large peak and leaves the small one out (printed
# above: its mean within 0.1 of the large peak, almost none of its density at the small one).
# In the trained VAE, the same three points with its encoder's
# $q(z \mid x)$ over its own exact posterior (top row: the true model and its best Gaussians;
# bottom row: the trained VAE, whose codes are its own, so the two rows need not line up):

# %%
log_px_chosen, log_post_chosen = exact(chosen, mean_theta, logvar_theta)
with minivae.no_grad():
    mu_chosen, logvar_chosen = (t.data for t in model.encode(chosen))  # (3, 1) each
log_q_chosen = exact_posterior.log_normal(Z, mu_chosen, logvar_chosen)  # (3, G)
kl_chosen = exact_posterior.kl_on_grid(log_q_chosen, log_post_chosen, Z)

figure, panels = plt.subplots(2, 3, figsize=(14, 6.5), layout="constrained")
for column, name in enumerate(POINTS):
    top_panel, bottom_panel = panels[:, column]
    top_panel.plot(Z, np.exp(log_post_true[column]), color="black",
                   label="true posterior, exact")
    top_panel.plot(Z, np.exp(exact_posterior.log_normal(Z, mu_star[column], logvar_star[column])),
                   color="C2", label=f"best Gaussian, KL {kl_star[column]:.3f}")
    top_panel.set_title(f"true model at {name} = {POINTS[name]}")
    bottom_panel.plot(Z, np.exp(log_post_chosen[column]), color="black",
                      label=r"$p_\theta(z \mid x)$, exact")
    bottom_panel.plot(Z, np.exp(log_q_chosen[column]), color="C1",
                      label=f"encoder's $q(z \\mid x)$, KL {kl_chosen[column]:.3f}")
    bottom_panel.set_title(f"trained VAE at {name}")
    bottom_panel.set_xlabel("$z$")
    for panel, centre in ((top_panel, mu_star[column, 0]), (bottom_panel,
                                                            mu_chosen[column, 0])):
        panel.set_xlim(centre - 2, centre + 2)
        panel.legend(fontsize=8, loc="upper left")
figure.suptitle("Exact posteriors (black) and Gaussians over them")
plt.show()

modes_vae = [len(peaks(np.exp(p))) for p in log_post_chosen]
two_peaks = {"true model": sum(len(peaks(np.exp(p))) > 1 for p in
                               exact(x_test, curve(Z), LOGVAR_TRUE)[1]),
             "trained VAE": sum(len(peaks(np.exp(p))) > 1 for p in log_post)}
print(f"peaks of the trained VAE's posterior at A, B, C: {modes_vae}")
print(f"test points (of 1,000) whose posterior has two peaks or more: {two_peaks}")
assert modes_vae == [1, 1, 1]
assert two_peaks["true model"] >= 40 and two_peaks["trained VAE"] <= 10

# %% [markdown]
# The trained VAE's posteriors have one peak at B and C, and at all but a handful of the test
# points, where the true model's have two at dozens of them (printed above). The VAE did not
# learn the true model: it learned one whose posteriors its Gaussian $q$ can follow. The
# identity says why it may: training raises
# $\mathrm{ELBO} = \log p_\theta(x) - \mathrm{KL}(q \,\|\, p_\theta(z \mid x))$, and a decoder
# whose posteriors have two peaks pays the KL of a Gaussian that cannot have them, while a
# decoder that blurs the folds of the curve (a larger noise in $x_2$, printed in the training
# section, or a curve that passes the folds differently) pays less KL for a little
# $\log p(x)$.
#
# Does it pay in $\log p(x)$? Gibbs' inequality says that no model can give data drawn from
# $p_\star$ a higher expected log-likelihood than $p_\star$ itself:
# $\mathbb{E}_{p_\star}[\log p_\star(x)] - \mathbb{E}_{p_\star}[\log p_\theta(x)]
# = \mathrm{KL}(p_\star \,\|\, p_\theta) \geq 0$. Measured on 5,000 fresh points, with its
# standard error:

# %%
fresh, _ = draw(5000)
lost = np.concatenate([exact(chunk, curve(Z), LOGVAR_TRUE)[0] - exact(chunk, mean_theta,
                                                                      logvar_theta)[0]
                       for chunk in np.split(fresh, 5)])  # log p*(x) - log p_theta(x), (5000,)
stderr = lost.std(ddof=1) / np.sqrt(len(lost))
print(f"E log p*(x) - E log p_theta(x) = {lost.mean():.4f} +- {stderr:.4f} nats")
assert lost.mean() > 3 * stderr

# %% [markdown]
# Positive, many standard errors above 0: the true model is the better density, and the
# VAE's ELBO preferred its own anyway. Cremer, Li and Duvenaud (2018) describe this: the
# decoder adapts to the family of $q$.
#
# ## The importance-weighted bound closes in on $\log p(x)$
#
# The ELBO's gap is the price of averaging $\log$ of one weight
# $w = p(x \mid z)\, p(z) / q(z \mid x)$ over $z \sim q$. Average $k$ weights first, then take
# the log, and the bound tightens (Burda et al., 2016; notebook 5 derives it, and has you write
# it):
#
# $$
# \mathcal{L}_k(x) = \log \frac1k \sum_{i=1}^{k} w_i,
# \quad w_i = \frac{p(x \mid z_i)\, p(z_i)}{q(z_i \mid x)},\ z_i \sim q(z \mid x), \qquad
# \mathrm{ELBO}(x) = \mathbb{E}[\mathcal{L}_1(x)] \leq \mathbb{E}[\mathcal{L}_k(x)]
# \leq \log p(x).
# $$
#
# **Predict first.** As $k$ grows, how fast does the average gap
# $\log p(x) - \mathcal{L}_k(x)$ shrink? And since $\mathcal{L}_k(x)$ is a lower bound, can one
# draw of it land *above* $\log p(x)$?
#
# `VAE.log_likelihood(x, k)` computes one draw of $\mathcal{L}_k(x)$ per example. With the same
# `noise` seed, the draws for $k = 10$ are the first 10 of those for $k = 100$, so the
# estimates of the different $k$ share their noise. For $k \leq 100$, ten draws per test point:

# %%
ks = [1, 10, 100, 1000]
iwae_gaps, iwae_stderrs, above = [], [], []
for k in ks:
    repeats = 10 if k <= 100 else 1
    draws_k = model.log_likelihood(np.repeat(x_test, repeats, axis=0), k, noise=CounterRNG(11))
    per_point = (log_px[:, None] - draws_k.reshape(len(x_test), repeats)).mean(axis=1)  # (N,)
    iwae_gaps.append(per_point.mean())
    iwae_stderrs.append(per_point.std(ddof=1) / np.sqrt(len(x_test)))
    above.append(np.mean(draws_k.reshape(len(x_test), repeats) > log_px[:, None]))
    print(f"k = {k:4d}: log p(x) - L_k = {iwae_gaps[-1]:.4f} +- {iwae_stderrs[-1]:.4f} nats on "
          f"average; single draws above log p(x): {above[-1]:.0%}")
iwae_gaps, iwae_stderrs = np.array(iwae_gaps), np.array(iwae_stderrs)
assert abs(iwae_gaps[0] - gap.mean()) < 3 * iwae_stderrs[0]  # L_1 estimates the ELBO
assert np.all(iwae_gaps[:2] - iwae_gaps[1:3] > 3 * iwae_stderrs[:2])  # k = 1, 10, 100: tighter
assert iwae_gaps[-1] < 0.01 and min(above) > 0.2

# %% [markdown]
# $k = 1$ is the ELBO again (its average gap within 3 standard errors of the exact one); the gap
# shrinks fast as $k$ grows (from $k = 1$ to 10 to 100 by more than 3 standard errors each
# time), to under a hundredth of a nat at $k = 1000$. Yet at every $k$ a good share of the
# single draws land above $\log p(x)$ (more than a fifth, printed above). There is no
# contradiction: the bound is on the *expectation* of $\mathcal{L}_k$, by Jensen's inequality
# ($\mathbb{E} \log \le \log \mathbb{E}$ and $\mathbb{E}[\frac1k \sum_i w_i] = p(x)$), and one
# draw is a random number around it. Many draws at one point show it: the test point with the
# largest gap, 2,000 draws of $\mathcal{L}_k$ for each $k$:

# %%
worst = int(np.argmax(gap))
point = x_test[worst:worst + 1]
figure, panels = plt.subplots(1, 3, figsize=(14, 3.8), layout="constrained")
for panel, k, colour in zip(panels, [1, 10, 100], ["C0", "C1", "C2"], strict=True):
    many = model.log_likelihood(np.repeat(point, 2000, axis=0), k, noise=CounterRNG(12))
    offset = many - log_px[worst]  # (2000,): L_k(x) - log p(x), one per draw
    mean, stderr = offset.mean(), offset.std(ddof=1) / np.sqrt(len(offset))
    share = np.mean(offset > 0)
    panel.hist(offset, bins=60, color=colour, alpha=0.6)
    panel.axvline(0, color="black", lw=2, label=r"$\log p_\theta(x)$, exact")
    panel.axvline(mean, color=colour, lw=2, linestyle="--", label=f"their mean, {mean:+.3f}")
    panel.set_title(f"$k = {k}$: {share:.0%} of the draws above $\\log p_\\theta(x)$")
    panel.set_xlabel(r"$\mathcal{L}_k(x) - \log p_\theta(x)$ (nats)")
    panel.legend(fontsize=8, loc="upper left")
    print(f"k = {k:3d}: mean of 2,000 draws - log p(x) = {mean:+.4f} +- {stderr:.4f}; "
          f"{share:.0%} of them above log p(x)")
    assert mean + 3 * stderr < 0 and share > 0.05
panels[0].set_ylabel("draws")
figure.suptitle(f"2,000 draws of each bound at the test point with the largest gap, "
                f"x = {np.round(point[0], 2)}")
plt.show()

# %% [markdown]
# At each $k$ some draws land above $\log p(x)$, but their mean stays below it by more than 3
# standard errors, and closes in as $k$ grows. So an estimate of $\log p(x)$ from
# $\mathcal{L}_k$ is trustworthy as an average over many examples (what `minivae eval` reports,
# with $k = 5000$), not as the number for one example. Everywhere but in a model like this one,
# that average is the best estimate of $\log p(x)$ there is.
#
# ## Where the gap comes from: the encoder, or the Gaussian
#
# The encoder is one network for all $x$: it *amortizes* inference, a forward pass instead of
# a search per example. It may not find the best Gaussian of every $x$. The best one,
# $q^\ast(z \mid x)$, is found for each $x$ by the search above, on its two numbers
# $(\mu, \mathrm{logvar})$, with the decoder fixed and starting from the encoder's output.
# Its $\mathrm{ELBO}^\ast(x)$ splits the gap in two (Cremer et al., 2018):
#
# $$
# \log p(x) - \mathrm{ELBO}(x)
# = \underbrace{\log p(x) - \mathrm{ELBO}^\ast(x)}_{\text{approximation: the Gaussian family}}
# + \underbrace{\mathrm{ELBO}^\ast(x) - \mathrm{ELBO}(x)}_{\text{amortization: the encoder}},
# $$
#
# both parts at least 0. The first is what no Gaussian can do better (the two peaks of the last
# section); the second is what a better encoder, or a search per example, could win back.
#
# **Predict first.** For this VAE, which part is larger?
#
# On the first 200 test points (by the identity, $\mathrm{ELBO}^\ast(x) = \log p(x) -
# \mathrm{KL}(q^\ast \,\|\, p(z \mid x))$; computed here by the quadrature of the ELBO, as for
# the encoder's):

# %%
few = slice(0, 200)
mu_best, logvar_best = best_gaussian(log_post[few], mu[few], logvar[few])
elbo_best = elbo_by_quadrature(x_test[few], mu_best, logvar_best)  # (200,)
approximation = log_px[few] - elbo_best
amortization = elbo_best - elbo[few]
print(f"average over 200 points: gap {gap[few].mean():.4f} = approximation "
      f"{approximation.mean():.4f} + amortization {amortization.mean():.4f} nats")
print(f"smallest of each: approximation {approximation.min():.1e}, amortization "
      f"{amortization.min():.1e}")
assert approximation.min() > -1e-6 and amortization.min() > -1e-6
assert amortization.mean() > approximation.mean() and approximation.mean() < 0.03

order = np.argsort(gap[few])
figure, axes = plt.subplots(figsize=(11, 4))
axes.bar(np.arange(200), approximation[order], width=1.0, color="C2",
         label="approximation: the best Gaussian's gap")
axes.bar(np.arange(200), amortization[order], width=1.0, bottom=approximation[order],
         color="C1", label="amortization: the encoder's extra")
axes.set_xlabel("the 200 test points, by their gap")
axes.set_ylabel(r"$\log p_\theta(x) - \mathrm{ELBO}(x)$ (nats)")
axes.set_title("The gap of each point, split in two")
axes.legend()
plt.show()

# %% [markdown]
# Most of the gap is the encoder's: a Gaussian chosen for each point alone comes within a
# few hundredths of a nat of $\log p(x)$ on average (about one hundredth, printed above), and
# the encoder's Gaussians lose more. How much more depends on the run: trained from eight
# other seeds (change `SEED` at the top), this VAE's encoder lost about 2 to 10 times the
# approximation gap, which stayed near a hundredth of a nat. This VAE learned a decoder whose
# posteriors a Gaussian fits well, as the last section found, so what is left of the gap is
# mostly amortization. Models of images with many latent dimensions need not be so kind.
#
# What to take on: a VAE never computes $\log p(x)$ or $p(z \mid x)$; it trains on a lower
# bound that is exactly $\log p(x)$ less the encoder's KL to the true posterior. Notebook 3
# builds the engine that computed every gradient here, notebook 4 shows how a gradient gets
# through a drawn code $z = \mu + \sigma \epsilon$ (the quadrature's $z_k = \mu + \sigma t_k$
# with fixed $t_k$ is the same move), and notebook 5 trains on the ELBO where nothing can be
# computed on a grid.
