"""The decoder p(x|z): a network from the code z to the parameters of a distribution over x.

    bernoulli   for pixels in [0, 1]: the network gives logits l (B, D), p(x_j = 1 | z) = sigma(l_j)
    gaussian    for real x: the network gives the mean (B, D); one learned log-variance per
                dimension (D,), the parameter `logvar`

`nll(output, x)` is -log p(x|z) per example, summed over the D dimensions (the likelihood ops
of minivae.ops.likelihoods); `mean(output)` is E[x|z], what the figures draw.
"""

from minivae import ops
from minivae.errors import ConfigError
from minivae.models.nn import MLP, Module, Parameter

LIKELIHOODS = ("bernoulli", "gaussian")


class Decoder(Module):
    """z (B, L) -> the parameters of p(x|z) over D dimensions, and its negative log-density.

    bernoulli: the MLP outputs logits l (B, D); p(x_j = 1 | z) = sigma(l_j).
    gaussian: the MLP outputs the mean (B, D); one learned log-variance per dimension (D,).
    """

    def __init__(self, latent_dim, hidden, output_dim, likelihood, rng, activation, dtype, xp):
        if likelihood not in LIKELIHOODS:
            raise ConfigError(f"unknown likelihood {likelihood!r}: use one of {LIKELIHOODS}")
        self.likelihood = likelihood
        self.net = MLP((latent_dim, *hidden, output_dim), rng, activation, dtype, xp)
        if likelihood == "gaussian":
            self.logvar = Parameter(xp.zeros(output_dim, dtype=dtype))

    def forward(self, z):
        return self.net(z)  # (B, L) -> (B, D)

    def nll(self, output, x):
        """-log p(x|z) per example, (B,)."""
        if self.likelihood == "bernoulli":
            return ops.bernoulli_nll(output, x)
        return ops.gaussian_nll(x, output, self.logvar)

    def mean(self, output):
        """E[x|z]: pixel probabilities sigma(l) or the Gaussian mean."""
        return ops.sigmoid(output) if self.likelihood == "bernoulli" else output
