"""The two ops that make an autoencoder variational: sampling z and the KL to the prior.

The encoder gives, for each input x, a diagonal Gaussian q(z|x) = N(mu, sigma^2) with
sigma = exp(logvar / 2). Shapes: mu, logvar, eps, z are (B, L); the KL is (B,).

Reparameterization: z = mu + sigma * eps with eps ~ N(0, I), so z is a differentiable function
of (mu, logvar) for a fixed eps:
    dz/dmu = 1,   dz/dlogvar = eps * sigma / 2     (since d sigma / d logvar = sigma / 2)
(and dz/deps = sigma, returned only when eps itself requires a gradient; the model's eps is
drawn outside the graph, so nothing flows there.)

KL to the prior N(0, I), in closed form per row:
    KL = 1/2 sum_j (mu_j^2 + sigma_j^2 - 1 - logvar_j)
    dKL/dmu = mu,   dKL/dlogvar = (sigma^2 - 1) / 2 = (exp(logvar) - 1) / 2

`sample_kl` computes both at once, from noise it draws itself: the fast form that `VAE.loss`
uses (see SampleKL). `free_bits_kl` is the KL with a floor per latent unit, a remedy for
posterior collapse (see FreeBitsKL).
"""

from minivae.engine.function import Function
from minivae.errors import ConfigError, ShapeError
from minivae.rng import counter_normal


def _check_gaussian(op, mu, logvar, eps=None):
    if mu.ndim != 2 or mu.shape != logvar.shape or (eps is not None and eps.shape != mu.shape):
        shapes = f"mu {mu.shape}, logvar {logvar.shape}" + (
            "" if eps is None else f", eps {eps.shape}"
        )
        raise ShapeError(f"{op}: {shapes}: need mu, logvar (and eps) all of one shape (B, L)")


class Reparameterize(Function):
    """z = mu + exp(logvar / 2) * eps.   dz/dmu = 1,  dz/dlogvar = eps exp(logvar / 2) / 2.

    Gradient-checked: case "reparameterize" in ops/gradcheck_cases.py.
    """

    @staticmethod
    def forward(ctx, mu, logvar, eps):
        _check_gaussian("reparameterize", mu, logvar, eps)
        sigma = ctx.xp.exp(0.5 * logvar)
        ctx.save_for_backward(eps, sigma)
        return mu + sigma * eps

    @staticmethod
    def backward(ctx, g):
        eps, sigma = ctx.saved
        grad_eps = g * sigma if ctx.needs_input_grad[2] else None  # dz/deps = sigma
        return g, g * eps * sigma / 2, grad_eps


def kl_terms(mu, var, logvar):
    """The KL of each latent dimension, 1/2 (mu^2 + sigma^2 - 1 - logvar): (B, L) arrays."""
    return 0.5 * (mu * mu + var - 1 - logvar)


class GaussianKL(Function):
    """KL(N(mu, sigma^2) || N(0, I)) per row = 1/2 sum_j (mu^2 + exp(logvar) - 1 - logvar).

    dKL/dmu = mu,  dKL/dlogvar = (exp(logvar) - 1) / 2.

    Gradient-checked: case "gaussian_kl" in ops/gradcheck_cases.py.
    """

    @staticmethod
    def forward(ctx, mu, logvar):
        _check_gaussian("gaussian_kl", mu, logvar)
        var = ctx.xp.exp(logvar)
        ctx.save_for_backward(mu, var)
        return kl_terms(mu, var, logvar).sum(axis=1)  # (B, L) -> (B,)

    @staticmethod
    def backward(ctx, g):
        mu, var = ctx.saved
        g = g[:, None]  # (B,) -> (B, 1)
        return g * mu, g * (var - 1) / 2


class FreeBitsKL(Function):
    """The KL with a floor of lambda nats per latent unit ("free bits", Kingma et al., 2016).

    With KL_bj = 1/2 (mu_bj^2 + sigma_bj^2 - 1 - logvar_bj) and its batch mean
    KLbar_j = 1/B sum_b KL_bj, the free-bits term of a batch is sum_j max(lambda, KLbar_j): below
    the floor a unit's KL costs no more than lambda, so nothing pushes its code back to the prior
    until it carries more than lambda nats. Per example it is
        kl_b = sum_j (KL_bj if KLbar_j > lambda else lambda)                  (B,)
    whose batch mean is exactly sum_j max(lambda, KLbar_j). With m_j = 1[KLbar_j > lambda]:
        dkl_b/dmu_bj = m_j mu_bj,   dkl_b/dlogvar_bj = m_j (sigma_bj^2 - 1) / 2
    (a unit below the floor sends back no gradient; at KLbar_j = lambda the derivative jumps).

    Gradient-checked: case "free_bits_kl" in ops/gradcheck_cases.py.
    """

    @staticmethod
    def forward(ctx, mu, logvar, floor):
        _check_gaussian("free_bits_kl", mu, logvar)
        var = ctx.xp.exp(logvar)
        terms = kl_terms(mu, var, logvar)  # (B, L)
        above = terms.mean(axis=0) > floor  # (L,): m_j, the units above the floor
        ctx.save_for_backward(mu, var, above)
        return ctx.xp.where(above, terms, floor).sum(axis=1)  # (B, L) -> (B,)

    @staticmethod
    def backward(ctx, g):
        mu, var, above = ctx.saved
        g = g[:, None] * above  # (B,) -> (B, L): no gradient below the floor
        return g * mu, g * (var - 1) / 2


class SampleKL(Function):
    """Both at once: z = mu + sigma * eps and the per-row KL, with eps drawn inside the op.

    The fused form of reparameterize(mu, logvar, eps) and gaussian_kl(mu, logvar): the same
    numbers from the same eps, where row r of eps is the counter-based noise of stream
    `stream + r` under `seed` (see `minivae.rng`). It needs no noise array from outside, so a
    GPU kernel can draw eps, write z and reduce the KL in one pass, and draw eps again in the
    backward pass instead of storing it. With upstream gradients gz (B, L) and gk (B,):
        dL/dmu     = gz + gk mu
        dL/dlogvar = gz eps sigma / 2 + gk (sigma^2 - 1) / 2
    This NumPy form is the reference the CUDA kernel must match.

    Gradient-checked: case "sample_kl" in ops/gradcheck_cases.py.
    """

    @staticmethod
    def forward(ctx, mu, logvar, seed, stream):
        _check_gaussian("sample_kl", mu, logvar)
        xp = ctx.xp
        eps = counter_normal(xp, mu.shape, seed, stream, mu.dtype)
        sigma = xp.exp(0.5 * logvar)
        var = sigma * sigma
        ctx.save_for_backward(mu, eps, sigma, var)
        kl = kl_terms(mu, var, logvar).sum(axis=1)  # (B, L) -> (B,)
        return mu + sigma * eps, kl

    @staticmethod
    def backward(ctx, gz, gk):
        mu, eps, sigma, var = ctx.saved
        gk = gk[:, None]  # (B,) -> (B, 1)
        return gz + gk * mu, gz * eps * sigma / 2 + gk * (var - 1) / 2


class SampleKLCUDA(SampleKL):
    """SampleKL as two CUDA kernels: the math in kernels/sample_kl.cuh, the kernels in
    kernels/sample_kl.cu, launched by minivae.accel.sample_kl.

    Forward, one launch: each thread draws four eps from one Philox block of its row's stream,
    writes z and adds its KL terms, and each row's terms are summed in shared memory. Backward,
    one launch: the same eps drawn again from the same counters, so nothing of shape (B, L) is
    kept between the passes but mu and logvar, and each pass reads and writes each array once.
    It agrees with the NumPy form to the bounds of docs/cuda.md; the timings against copy
    bandwidth, unfused CuPy and PyTorch are `benchmarks/sample_kl.py`'s.
    """

    @staticmethod
    def forward(ctx, mu, logvar, seed, stream):
        from minivae.accel import sample_kl as launcher  # noqa: PLC0415 - the kernels' loader

        _check_gaussian("sample_kl", mu, logvar)
        xp = ctx.xp
        mu, logvar = xp.ascontiguousarray(mu), xp.ascontiguousarray(logvar)  # split gives views
        seed_stream = xp.full(2, seed, dtype=xp.uint64)  # (seed, stream) read on the device
        seed_stream[1] = stream
        ctx.save_for_backward(mu, logvar, seed_stream)
        return launcher.sample_kl_forward(mu, logvar, seed_stream=seed_stream)

    @staticmethod
    def backward(ctx, gz, gk):
        from minivae.accel import sample_kl as launcher  # noqa: PLC0415

        mu, logvar, seed_stream = ctx.saved
        gz, gk = ctx.xp.ascontiguousarray(gz), ctx.xp.ascontiguousarray(gk)
        return launcher.sample_kl_backward(mu, logvar, gz, gk, seed_stream=seed_stream)


SampleKL.fast_forms = {"cupy": SampleKLCUDA}


def reparameterize(mu, logvar, eps=None, noise=None):
    """z = mu + exp(logvar / 2) * eps.

    Pass the noise eps (B, L) yourself (deterministic, as in the tests), or a seeded
    `minivae.rng.CounterRNG` as `noise` to draw it from its next streams, one per row.
    """
    if eps is None:
        if noise is None:
            raise ConfigError(
                "reparameterize: pass the noise eps, or noise=CounterRNG(seed) to draw it"
            )
        eps = noise.normal(mu.xp, mu.shape, mu.dtype)
    return Reparameterize.apply(mu, logvar, eps)


def gaussian_kl(mu, logvar):
    """Per-row KL(q(z|x) || p(z)) of diagonal Gaussians against N(0, I): (B, L) -> (B,)."""
    return GaussianKL.apply(mu, logvar)


def free_bits_kl(mu, logvar, floor):
    """Per-row KL with a floor of `floor` nats per latent unit (free bits): (B, L) -> (B,)."""
    return FreeBitsKL.apply(mu, logvar, floor=float(floor))


def sample_kl(mu, logvar, seed, stream):
    """(z, kl): a reparameterized sample and the per-row KL; row r's noise from stream + r."""
    return SampleKL.apply(mu, logvar, seed=seed, stream=stream)
