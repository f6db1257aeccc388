"""The common mistakes of each exercise, as edits of its solution in the solution notebook.

Each `Planted` replaces text in the code cell that defines the exercise's functions (each `old`
must stand there exactly once: inside the solution regions, or on a `def` line for a mistake
of the parameters), and says what the check must then answer: a phrase of its message, and its
status ("not yet", or "flagged" for an answer that runs minivae's own code).
docs/teachers_guide.md lists the same mistakes with the same phrases (a test compares them), so
the guide a teacher reads is what the checks do.

Besides the misconceptions of each formula, the list holds a mistake of each class of problem
the checks must catch: inputs only the edge cases show (one example, one latent dimension,
k = 1, logvar far from 0, examples far apart, Adam late in a run), float32, parameters that do
not fit the template, arguments changed in place, a term left out or of the wrong sign, a
constant factor that is not simple, and minivae's own code called.
"""

import dataclasses


@dataclasses.dataclass(frozen=True)
class Planted:
    exercise: str  # the name in minivae.course.EXERCISES
    edits: tuple  # (old, new) pairs, applied in the cell that defines the exercise's functions
    says: str  # a phrase the check's message must contain
    status: str = "not yet"  # the Verdict's status
    kind: str = "misconception"  # or the class of problem it stands for (`of_kind`)

    @property
    def id(self):
        return f"{self.exercise}: {self.says[:48]}"


def planted(exercise, *edits_and_phrase, status="not yet"):
    *pairs, says = edits_and_phrase
    return Planted(exercise, tuple(pairs), says, status)


def of_kind(kind, *mistakes):
    """The mistakes, marked as standing for a class of problem: "input" (only an edge case
    shows it), "float32", "parameters", "in place", "term", "factor", "minivae's code"."""
    return [dataclasses.replace(mistake, kind=kind) for mistake in mistakes]


KL = "np.exp(logvar) - 1 - logvar"
DLOGVAR = "(np.exp(logvar) - 1) / 2"
UPDATE = "m_hat / (np.sqrt(v_hat) + eps)"
STABLE = "top + np.log(np.exp(log_w - top).mean(axis=0))"
SOFTPLUS = "np.maximum(logits, 0) + np.log1p(np.exp(-np.abs(logits)))"
NLL = "(softplus - x * logits).sum(axis=1)"
BCE = "-(x * np.log(p) + (1 - x) * np.log(1 - p)).sum(axis=1)"
SIGMA = "sigma = np.exp(logvar / 2)"
TOP = "top = log_w.max(axis=0)"
DEFAULTS = "lr=1e-3, b1=0.9, b2=0.999, eps=1e-8"
LOSS = "(recon + beta * kl).mean()"  # the VAE exercise's (vae_loss, train_step, sample_prior)
Z = "ops.reparameterize(mu, logvar, eps)"
KL_OP = "ops.gaussian_kl(mu, logvar)"
ZERO = "optimizer.zero_grad()"
STEP = "optimizer.step()"
MEAN = "model.decoder.mean(model.decode(eps)).data"
JOINT = "return log_px_z + log_pz"
DENSITY = "np.exp(log_joint - log_px[:, None])"
LSE = "top[:, 0] + np.log(np.exp(log_joint - top).sum(axis=1) * dz)"
ROW_MAX = "top = log_joint.max(axis=1, keepdims=True)"
PAIR = "return log_px, posterior"
FLOORED = "np.where(above, kl, floor)"
RETURN_KL = "return np.where(above, kl, floor).sum(axis=1)"
MASK = "kl.mean(axis=0) > floor  # (L,): m_j, the units"  # in free_bits_kl
MASK_AGAIN = "kl.mean(axis=0) > floor  # (L,): m_j, again"  # in free_bits_backward
PASSED = "g[:, None] * above"
MISTAKES = [
    planted("kl", (KL, "np.exp(logvar / 2) - 1 - logvar"),
            "uses the standard deviation exp(logvar / 2) where the KL has the variance"),
    planted("kl", ("0.5 * (mu**2", "(mu**2"), "The 1/2 in front of (mu^2 + sigma^2 - 1 - logvar)"),
    planted("kl", ("0.5 * (mu**2 + " + KL + ")", "0.5 * (1 + logvar - mu**2 - np.exp(logvar))"),
            "A KL divergence is never negative"),
    planted("kl", ("- 1 - logvar)", "- logvar)"), "The -1 is missing"),
    planted("kl", ("- 1 - logvar)", "- 1 + logvar)"), "has +logvar where the KL has -logvar"),
    planted("kl", ("0.5 * (mu**2", "0.5 * (mu"), "has mu where the KL has mu^2"),
    planted("kl", (KL + ")", KL + ").sum(axis=1)"),
            "it is the right value's sum over the latent dimensions (axis 1)"),
    planted("kl", (DLOGVAR, "np.exp(logvar) - 1"), "The 1/2 in front of the KL stays"),
    planted("kl", (DLOGVAR, "(np.exp(logvar / 2) - 1) / 2"),
            "uses the standard deviation exp(logvar / 2) where the derivative has the variance"),
    planted("kl", (DLOGVAR, "np.exp(logvar) / 2"),
            "The -logvar term is missing from the derivative"),
    planted("kl", (DLOGVAR, "np.exp(logvar / 2) - np.exp(-logvar / 2)"),
            "is the derivative with respect to sigma"),
    planted("kl", (DLOGVAR, "(1 - np.exp(logvar)) / 2"), "The KL grows with sigma^2 above 1"),
    planted("kl", ("return mu, ", "return 2 * mu, "), "the 1/2 in front of the KL cancels the 2"),
    planted("kl", ("return mu, " + DLOGVAR, "return " + DLOGVAR + ", mu"),
            "returns its results in the wrong order"),
    planted("linear", ("g @ weight.T", "g @ weight"), "is g @ W where g @ W.T belongs"),
    planted("linear", ("x.T @ g", "g.T @ x"), "which is x^T g"),
    planted("linear", ("x.T @ g", "x @ g"), "Follow the shapes: g is (B, O)"),
    planted("linear", ("x.T @ g", "x.T @ np.ones_like(g)"), "g, the gradient arriving from y"),
    planted("linear", ("x.T @ g", "x.T @ g / len(x)"), "grad_weight sums over the examples"),
    planted("linear", ("g.sum(axis=0)", "g.sum(axis=1)"), "not over the outputs"),
    planted("linear", ("g.sum(axis=0)", "g.mean(axis=0)"), "sum over axis 0, not the mean"),
    planted("linear", ("g.sum(axis=0)", "g"), "it is not yet summed over the examples (axis 0)"),
    planted("linear", ("return grad_x, grad_weight", "return grad_weight, grad_x"),
            "returns its results in the wrong order"),
    planted("reparameterize", ("g * eps * sigma / 2", "g * eps * sigma"),
            "sigma = exp(logvar / 2) gives a factor 1/2"),
    planted("reparameterize", ("np.exp(logvar / 2)", "np.exp(logvar)"),
            "This is the variance, not the standard deviation"),
    planted("reparameterize", ("return g, ", "return np.ones_like(g), "),
            "is dz/dmu = 1 without g"),
    planted("reparameterize", ("g * eps * sigma / 2", "g * eps"),
            "is the gradient with respect to sigma"),
    planted("reparameterize", ("g * eps * sigma / 2", "g * sigma / 2"), "carries the noise"),
    planted("reparameterize", ("g * eps * sigma / 2", "eps * sigma / 2"),
            "g, the gradient arriving from z, is missing"),
    planted("reparameterize", ("g * eps * sigma / 2", "-g * eps * sigma / 2"),
            "The sign is flipped"),
    planted("reparameterize", ("return g, g * eps * sigma / 2", "return g * eps * sigma / 2, g"),
            "returns its results in the wrong order"),
    planted("reparameterize", ("g * eps * sigma / 2", "(g * eps * sigma / 2).sum(axis=0)"),
            "do not reduce over the examples"),
    planted("bernoulli", (NLL, "-(x * np.log(logits) + (1 - x) * np.log(1 - logits)).sum(axis=1)"),
            "BCE on probabilities, not logits"),
    planted("bernoulli", (NLL, BCE),
            ("softplus = ", "p = 1 / (1 + np.exp(-logits))\n    softplus = "),
            "log(1 - sigmoid(l)) is log(0) once sigmoid(l) rounds to 1"),
    planted("bernoulli", (SOFTPLUS, "np.log(1 + np.exp(logits))"),
            "exp(l) overflows to inf for l above 709"),
    planted("bernoulli", (NLL, BCE), ("softplus = ", "p = np.clip(1 / (1 + np.exp(-logits)), "
                                      "1e-7, 1 - 1e-7)\n    softplus = "),
            "Clipping the probabilities"),
    planted("bernoulli", ("softplus = ", "logits = 1 / (1 + np.exp(-logits))\n    softplus = "),
            "The sigmoid is applied twice"),
    planted("bernoulli", (NLL, "(softplus - x * logits).mean(axis=1)"),
            "sums over the pixels; this is their mean"),
    planted("bernoulli", (NLL, "(softplus - x * logits).sum()"),
            "it is the right value's sum over the examples (axis 0)"),
    planted("bernoulli", (NLL, "softplus - x * logits"),
            "it is not yet summed over the pixels (axis 1)"),
    planted("bernoulli", (NLL, "(x * logits - softplus).sum(axis=1)"),
            "the loss is its negative"),
    planted("bernoulli", (NLL, "(softplus + x * logits).sum(axis=1)"),
            "The x l term enters with a minus sign"),
    planted("bernoulli", (NLL, "(softplus - (1 - x) * logits).sum(axis=1)"),
            "x and 1 - x are swapped"),
    planted("adam", ("m / (1 - b1**t)", "m"), ("v / (1 - b2**t)", "v"), "has no bias correction"),
    planted("adam", ("m / (1 - b1**t)", "m"), "m_hat = m / (1 - b1^t) is missing"),
    planted("adam", ("v / (1 - b2**t)", "v"), "v_hat's bias correction is missing"),
    planted("adam", ("(np.sqrt(v_hat) + eps)", "np.sqrt(v_hat + eps)"),
            "eps goes outside the square root"),
    planted("adam", (UPDATE, "(m_hat / np.sqrt(v_hat) + eps)"), "eps belongs in the denominator"),
    planted("adam", (UPDATE, "v_hat / (np.sqrt(m_hat) + eps)"), "m and v are swapped"),
    planted("adam", ("(np.sqrt(v_hat) + eps)", "(v_hat + eps)"),
            "The denominator is the square root of v_hat"),
    planted("adam", ("theta - lr", "theta + lr"), "theta moves against the gradient"),
    planted("adam", ("b1**t", "b1**(t + 1)"), ("b2**t", "b2**(t + 1)"),
            "t counts the steps from 1"),
    planted("adam", ("b1 * m + (1 - b1) * g", "b2 * m + (1 - b2) * g"),
            ("b2 * v + (1 - b2) * g**2", "b1 * v + (1 - b1) * g**2"), "b1 and b2 are swapped"),
    planted("adam", ("(1 - b1) * g", "g"), "without (1 - b1) it is a sum"),
    planted("adam", ("(1 - b2) * g**2", "(1 - b2) * g"),
            "v is the running average of the squared gradient"),
    planted("adam", ("eps), m, v", "eps), m_hat, v"), "Return m itself, not m_hat"),
    planted("adam", ("eps), m, v", "eps), v, m"), "returns its results in the wrong order"),
    planted("adam", ("m = b1 * m", "m_new = b1 * m"), ("m_hat = m /", "m_hat = m_new /"),
            "the caller keeps only what adam_step returns"),
    planted("iwae", ("return " + STABLE, "return log_w.mean(axis=0)"),
            "is the mean of the log weights (the ELBO)"),
    planted("iwae", (".mean(axis=0))", ".sum(axis=0))"), "subtract log k"),
    planted("iwae", (STABLE, "np.log(np.exp(log_w).mean(axis=0))"),
            "exp(log w) underflows to 0"),
    planted("iwae", ("return top + np.log(", "return np.log("), "add it back outside"),
    planted("iwae", ("return " + STABLE, "return top"), "The largest log w alone"),
    planted("iwae", (STABLE, "(top + np.log(np.exp(log_w - top).sum(axis=0))) / len(log_w)"),
            "The 1/k belongs inside the log"),
    planted("iwae", ("+ log_pz - log_qz", "+ log_pz + log_qz"),
            "is subtracted, not added"),
    planted("iwae", ("log_px_z + log_pz - log_qz", "log_px_z - log_qz"),
            "The prior's log p(z_i) is part of log w_i"),
    planted("iwae", (STABLE, "np.log(np.exp(log_w).mean(axis=1))"),
            "That reduced over axis 1, the examples"),
    planted("vae", (LOSS, "recon.sum() + beta * kl.mean()"),
            "over the examples but averages the KL over them"),
    planted("vae", (LOSS, "recon.mean() + beta * kl.sum()"),
            "over the examples but sums the KL over them"),
    planted("vae", (LOSS, "(recon + beta * kl).sum()"),
            "is the sum over the examples, not their mean"),
    planted("vae", (LOSS, "(recon / 784 + beta * kl).mean()"), "a beta of 784 in disguise"),
    planted("vae", (LOSS, "-(recon + beta * kl).mean()"), "is the ELBO, not the negative ELBO"),
    planted("vae", (LOSS, "(recon - beta * kl).mean()"),
            "subtracts the KL where the negative ELBO adds it"),
    planted("vae", (LOSS, "(beta * recon + kl).mean()"), "not on the KL"),
    planted("vae", ("model.decode(z)", "model.decode(mu)"), "decodes mu, not the sample z"),
    planted("vae", (Z, "mu + logvar.exp() * eps"), "decodes mu + sigma^2 eps"),
    planted("vae", ("model.decode(z)", "model.decoder.mean(model.decode(z))"),
            "gives the likelihood sigmoid(l) where it takes the logits l"),
    planted("vae", (KL_OP, "(0.5 * (mu**2 + logvar.exp() - 1 - logvar)).mean(axis=1)"),
            "averages the KL over the latent dimensions"),
    planted("vae", (KL_OP, "(0.5 * (z * z - eps**2 - logvar)).sum(axis=1)"),
            "estimates the KL from the sample"),
    planted("vae", (Z, "ops.reparameterize(mu, logvar, np.random.standard_normal(eps.shape))"),
            "vae_loss gives another value when called again with the same eps"),
    planted("vae", (Z, "ops.reparameterize(mu, logvar, np.random.default_rng(0).normal(size="
                       "eps.shape))"), "does not use the eps it is given"),
    planted("vae", ("z = " + Z, "from minivae import Tensor\n    z = ops.reparameterize(mu, "
                                "logvar, Tensor(eps, requires_grad=True))"),
            "that requires a gradient and is not a parameter of the model"),
    planted("vae", (Z, "mu.data + np.exp(logvar.data / 2) * eps"),
            "z was computed outside the graph"),
    planted("vae", (KL_OP, "0.5 * (mu.data**2 + np.exp(logvar.data) - 1 - logvar.data).sum("
                           "axis=1)"), "the KL was computed outside the graph"),
    planted("vae", (ZERO, "pass"), "the gradients were not zeroed first"),
    planted("vae", (ZERO, "pass"), (STEP, STEP + "\n    " + ZERO),
            "they were zeroed after the step, not before it"),
    planted("vae", ("loss.backward()", STEP + "\n    loss.backward()"),
            (STEP + "  # Adam", "pass  # Adam"), "optimizer.step() ran before loss.backward()"),
    planted("vae", (STEP, "type(optimizer)(model.parameters(), lr=1e-3).step()"),
            "yet the parameters moved: another optimizer moved them"),
    planted("vae", (STEP, "type(optimizer)(model.parameters(), lr=optimizer.lr).step()"),
            "the optimizer was made anew inside the step"),
    planted("vae", (STEP, STEP + "\n    " + STEP), "optimizer.step() ran twice"),
    planted("vae", (STEP, "for p in model.parameters():\n        p.data = p.data - "
                          "optimizer.lr * p.grad"), "the parameters were moved by hand"),
    planted("vae", ("return loss.item()", "return vae_loss(model, x, eps).item()"),
            "is the loss after the step, not the one the step was taken on"),
    planted("vae", (MEAN, "model.decode(eps).data"), "is the decoder's logits l"),
    planted("vae", ("return " + MEAN, "p = " + MEAN + "\n        return (np.random.uniform("
                                      "size=p.shape) < p) * 1.0"),
            "returns only 0s and 1s"),
    planted("vae", ("return " + MEAN, "mu, logvar = model.encode(np.full((len(eps), 784), 0.5))"
                                      "\n        z = ops.reparameterize(mu, logvar, eps)\n"
                                      "        return model.decoder.mean(model.decode(z)).data"),
            "from a model that differs only in its encoder"),
    planted("vae", ("model.decode(eps)", "model.decode(np.random.standard_normal(eps.shape))"),
            "sample_prior gives another value when called again with the same eps"),
    planted("posterior", ("* dz)", ")"), "lacks the grid spacing: it is off by exactly -log dz"),
    planted("posterior", (JOINT, "return log_px_z"), "leaves out the prior's log p(z)"),
    planted("posterior", ("np.log(sigma**2) + diff**2 / sigma**2",
                          "np.log(sigma) + diff**2 / sigma"),
            "uses sigma where the Gaussian has the variance sigma^2"),
    planted("posterior", ("diff**2 / sigma**2", "diff**2 / sigma"),
            "divides (x - mean)^2 by sigma where the Gaussian divides it by the variance"),
    planted("posterior", ("-0.5 * (np.log(2 * np.pi) + z**2)", "-0.5 * z**2"),
            "has the prior without its constant"),
    planted("posterior", (DENSITY, "np.exp(log_joint - top) / np.exp(log_joint - top).sum("
                                   "axis=1, keepdims=True)"),
            "sums to 1 over the grid points: it is the probability of each grid cell"),
    planted("posterior", (DENSITY, "np.exp(log_joint)"), "is p(x, z), the joint"),
    planted("posterior", (DENSITY, "log_joint - log_px[:, None]"),
            "is log p(z|x), the log of the density"),
    planted("posterior", (LSE, "(log_joint * dz).sum(axis=1)"),
            "is the integral of log p(x, z), not the log of the integral"),
    planted("posterior", (".sum(axis=1) * dz)", ".mean(axis=1))"), "The grid is not a sample"),
    planted("posterior", (PAIR, "return posterior, log_px"),
            "returns its results in the wrong order"),
    planted("free_bits", (FLOORED, "np.maximum(kl, floor)"),
            "floors each example's KL_bj, element by element"),
    planted("free_bits", (RETURN_KL, "return np.maximum(floor, kl.sum(axis=1))"),
            "is max(lambda, sum_j KL_bj)"),
    planted("free_bits", (MASK_AGAIN, "kl.sum(axis=1, keepdims=True) > floor  # (L,): m_j, again"),
            "compares each example's total KL, sum_j KL_bj, with the floor"),
    planted("free_bits", (PASSED, "g[:, None]"), "is the plain KL's gradient, not masked"),
    planted("free_bits", (MASK, "kl.mean(axis=0) > floor * np.log(2)  # (L,): m_j, the units"),
            (FLOORED, "np.where(above, kl, floor * np.log(2))"),
            "uses the floor lambda ln 2 (lambda read as bits, turned into nats)"),
    planted("free_bits", (MASK_AGAIN, "kl.mean(axis=0) > floor / np.log(2)  # (L,): m_j, again"),
            "uses the floor lambda / ln 2 where lambda nats belongs"),
    planted("free_bits", ("kl = 0.5 * (mu**2 + np.exp(logvar) - 1 - logvar)  # (B, L): KL_bj\n",
                          "kl = 0.5 * (mu**2 + np.exp(logvar) - 1 - logvar) / np.log(2)\n"),
            "is in bits: each KL_bj divided by ln 2"),
    planted("free_bits", (MASK, "kl.mean(axis=1, keepdims=True) > floor  # (L,): m_j, the units"),
            "compares each example's mean over the units (axis 1)"),
    planted("free_bits", (MASK_AGAIN, "kl.mean(axis=1) > floor  # (L,): m_j, again"),
            "m_j, its mean over the examples (axis 0) compared with the floor, is (L,)"),
    planted("free_bits", (PASSED, "g[:, None] * ~above"),
            "lets the gradient through from the units below the floor"),
    planted("free_bits", (PASSED, "g[:, None] * above / len(g)"),
            "is the right gradient divided by B"),
    planted("free_bits", ("g = " + PASSED, "g = above"), "is the gradient without g"),
    planted("free_bits", (FLOORED, "np.where(above, kl, 0)"),
            "counts 0 for a unit below the floor, where it counts lambda"),
    planted("free_bits", (RETURN_KL, "return np.maximum(floor, kl.mean(axis=0)).sum()"),
            "That is the batch's objective"),
] + of_kind(  # inputs the ordinary batches never try
    "input",
    planted("vae", (LOSS, "(recon + kl).mean()"), "leaves beta out (with beta = 0.3"),
    planted("vae", (MEAN, MEAN + ".squeeze()"), "(for one sample"),
    planted("kl", (KL + ")", KL + ").squeeze()"), "for a batch of one example"),
    planted("kl", ("- 1 - logvar)", "- 1 - np.clip(logvar, -20, 20))"), "Clipping logvar"),
    planted("kl", (KL, "np.exp(logvar) - 1 - np.log(np.exp(logvar))"),
            "exp(logvar) underflows to 0 below about -745"),
    planted("reparameterize", (SIGMA, SIGMA + ".squeeze()"), "for one latent dimension"),
    planted("reparameterize", (SIGMA, SIGMA + " + 1e-6"), "adding a small number to sigma"),
    planted("bernoulli", ("softplus = ", "top = logits.max()\n    softplus = "),
            (SOFTPLUS, "top + np.log(np.exp(-top) + np.exp(logits - top))"),
            "a shift c of the whole batch"),
    planted("iwae", (TOP, "log_w = log_w.squeeze()\n    " + TOP), "for k = 1 sample"),
    planted("iwae", (TOP, "top = log_w.max()"), "one number for the whole batch"),
    planted("iwae", (TOP, "top = log_w.mean()"),
            "one number for the whole batch (its largest log w, its mean)"),
    planted("adam", ("m_hat = m / (1 - b1**t)", "t = min(t, 10)\n    m_hat = m / (1 - b1**t)"),
            "steps 3 to 10 of this run were right"),
    planted("adam", ("m_hat = m / (1 - b1**t)", "m_hat = m / (1 - b1**t) if t < 20 else m"),
            "steps 3 to 19 of this run were right"),
    planted("posterior", ("top[:, 0] + np.log(np.exp(log_joint - top)", "np.log(np.exp(log_joint)"),
            "log p(x) is -inf at 2 of 2 elements (for x far from the curve"),
    planted("posterior", (JOINT, "return np.log(np.exp(log_px_z)) + log_pz"),
            "log_joint_on_grid is -inf at"),
    planted("posterior", (ROW_MAX, "top = np.full((len(log_joint), 1), log_joint.max())"),
            "c is one number for the whole batch"),
    planted("posterior", (PAIR, "return log_px, posterior.squeeze()"),
            "for a batch of one example"),
    planted("free_bits", (RETURN_KL, RETURN_KL + ".squeeze()"), "for a batch of one example"),
) + of_kind(
    "float32",
    planted("kl", (KL + ")", KL + ").astype(np.float32)"), "is float32, not float64"),
    planted("reparameterize", (SIGMA, SIGMA + ".astype(np.float32)"), "significant digits only"),
    planted("vae", (MEAN, MEAN + ".astype(np.float32)"), "sample_prior is float32, not float64"),
    planted("posterior", (JOINT, "return (log_px_z + log_pz).astype(np.float32)"),
            "log_joint_on_grid is float32, not float64"),
    planted("free_bits", (RETURN_KL, RETURN_KL + ".astype(np.float32)"),
            "is float32, not float64"),
) + of_kind(  # messages that must be true: about the parameters, not the shapes
    "parameters",
    planted("adam", (DEFAULTS, "lr=1e-3, betas=(0.9, 0.999), eps=1e-8"),
            "the check calls it with 9 arguments by position"),
    planted("adam", (DEFAULTS, "lr=1e-3, beta1=0.9, b2=0.999, eps=1e-8"),
            "its parameters are named (theta, g, m, v, t, lr, beta1, b2, eps)"),
    planted("linear", ("def linear_backward(g, x, weight)", "def linear_backward(x, weight, g)"),
            "takes the template's parameters in another order"),
    planted("vae", ("def train_step(model, optimizer, x, eps)",
                    "def train_step(model, x, optimizer, eps)"),
            "train_step takes the template's parameters in another order"),
    planted("posterior", ("def evidence_and_posterior(log_joint, z)",
                          "def evidence_and_posterior(z, log_joint)"),
            "so your z receives log_joint"),
    planted("free_bits", ("def free_bits_backward(g, mu, logvar, floor)",
                          "def free_bits_backward(mu, logvar, floor, g)"),
            "takes the template's parameters in another order"),
) + of_kind(
    "in place",
    planted("adam", ("m = b1 * m + (1 - b1) * g", "m *= b1\n    m += (1 - b1) * g"),
            "changes its argument m in place"),
    planted("vae", ("return " + MEAN, "eps *= 0.8  # a lower temperature\n        return " + MEAN),
            "sample_prior changes its argument eps in place"),
    planted("free_bits", ("return g * mu, ", "mu *= above\n    return g * mu, "),
            "changes its argument mu in place"),
) + of_kind(  # "wrong at N of M elements" no more: the term that is wrong
    "term",
    planted("adam", ("(np.sqrt(v_hat) + eps)", "np.sqrt(v_hat)"), "leaves out the term eps"),
    planted("iwae", ("log_px_z + log_pz - log_qz", "log_px_z - log_pz - log_qz"),
            "has the term log p(z_i) with the wrong sign"),
    planted("bernoulli", (NLL, "softplus.sum(axis=1)"), "leaves out the term -x l"),
    planted("kl", ("0.5 * (mu**2 + ", "0.5 * ("), "leaves out the term mu^2 / 2"),
    planted("vae", (LOSS, "recon.mean()"), "vae_loss leaves out the KL"),
    planted("posterior", ("(np.log(2 * np.pi) + np.log(sigma**2)", "(np.log(sigma**2)"),
            "leaves out the term -1/2 log 2 pi of each coordinate"),
    planted("posterior", (JOINT, "return log_px_z - log_pz"),
            "has the term log p(z) with the wrong sign"),
) + of_kind(  # an exact factor named only when it is simple or a named constant
    "factor",
    planted("adam", ("theta - lr * m_hat", "theta - m_hat"), "A factor lr is missing"),
) + of_kind(
    "minivae's code",
    planted("kl", ("return 0.5 * (mu**2 + " + KL + ")",
                   "from minivae.ops.vae import kl_terms\n    return kl_terms(mu, np.exp(logvar), "
                   "logvar)"), "runs minivae's own code (minivae.ops.vae.kl_terms)",
            status="flagged"),
    planted("linear", ("return grad_x, grad_weight, grad_bias",
                       "from minivae import Tensor, ops\n"
                       "    xt = Tensor(x, requires_grad=True)\n"
                       "    wt = Tensor(weight, requires_grad=True)\n"
                       "    bt = Tensor(grad_bias * 0, requires_grad=True)\n"
                       "    ops.linear(xt, wt, bt).backward(g)\n"
                       "    return xt.grad, wt.grad, bt.grad"),
            "runs minivae's own code (minivae.", status="flagged"),
    planted("vae", ("mu, logvar = model.encode(x)", "return model.loss(x, beta).objective.mean()"),
            "runs minivae's own code (minivae.models.vae.VAE.loss", status="flagged"),
    planted("vae", ("return " + MEAN, "return model.sample(len(eps))"),
            "runs minivae's own code (minivae.models.vae.VAE.sample)", status="flagged"),
    planted("posterior", (PAIR, "from minivae.models import exact_posterior\n"
                                "    return (exact_posterior.log_evidence(log_joint, z),\n"
                                "            np.exp(exact_posterior.log_posterior(log_joint, z)))"),
            "runs minivae's own code (minivae.models.exact_posterior.", status="flagged"),
    planted("free_bits", (RETURN_KL, "from minivae import ops\n"
                          "    return ops.free_bits_kl(mu, logvar, floor).data"),
            "runs minivae's own code (minivae.", status="flagged"),
)

# Exercise `gaussian` (notebook 6): -log N(x | mean, exp(logvar)) and its backward pass.
GAUSSIAN_NLL = ("0.5 * (np.log(2 * np.pi) + logvar + (x - mean) ** 2 * np.exp(-logvar))"
                ".sum(axis=1)")
GRAD_LOGVAR = "0.5 * g * (1 - (x - mean) ** 2 * inv_var)"
TO_ONE = ("    if grad_logvar.shape != logvar.shape:  # logvar (1,): shared by the dimensions too\n"
          "        grad_logvar = grad_logvar.sum(keepdims=True)  # (D,) -> (1,)\n")
MISTAKES += [
    planted("gaussian", ("np.log(2 * np.pi) + logvar", "logvar"),
            "leaves out log(2 pi) / 2, the normalizing constant's part"),
    planted("gaussian", ("return 0.5 * (np.log", "return (np.log"),
            "the 1/2 stands in front of all three terms"),
    planted("gaussian", (GAUSSIAN_NLL, "(0.5 * np.log(2 * np.pi) + logvar + 0.5 * (x - mean) ** 2 "
                                       "* np.exp(-2 * logvar)).sum(axis=1)"),
            "reads logvar as log sigma, the log of the standard deviation"),
    planted("gaussian", ("(x - mean) ** 2 * np.exp(-logvar))",
                         "(x - mean) ** 2 * np.exp(-logvar / 2))"),
            "divides (x - mean)^2 by sigma = exp(logvar / 2)"),
    planted("gaussian", ("np.pi) + logvar +", "np.pi) + np.exp(logvar) +"),
            "has the variance exp(logvar) where its log, logvar, belongs"),
    planted("gaussian", ("logvar + (x - mean) ** 2 * np.exp(-logvar)",
                         "np.log(logvar) + (x - mean) ** 2 / logvar"),
            "is nan where logvar < 0: logvar is the log of the variance"),
    planted("gaussian", ("return 0.5 * (np.log", "return -0.5 * (np.log"),
            "This is log p(x|z); the loss is its negative"),
    planted("gaussian", (".sum(axis=1)", ".mean(axis=1)"),
            "sums over the dimensions; this is their mean"),
    planted("gaussian", (GAUSSIAN_NLL, "0.5 * (x.shape[1] * np.log(2 * np.pi) + np.sum(logvar, "
                                       "axis=-1) + ((x - mean) ** 2 * np.exp(-logvar))"
                                       ".sum(axis=1))"),
            "counts the one shared logvar once, not once per dimension"),
    planted("gaussian", ("+ logvar + (x - mean) ** 2 * np.exp(-logvar))",
                         "+ logvar[:, None] + (x - mean) ** 2 * np.exp(-logvar[:, None]))"),
            "a (D,) array lines up with x's last axis"),
    planted("gaussian", ("g * (mean - x) * inv_var", "g * (x - mean) * inv_var"),
            "d/dmean = (mean - x) / sigma^2 has the sign of mean - x"),
    planted("gaussian", ("g * (mean - x) * inv_var", "g * (mean - x) * np.exp(-logvar / 2)"),
            "divides by sigma = exp(logvar / 2) where the derivative has sigma^2"),
    planted("gaussian", ("grad_mean = g", "grad_mean = 0.5 * g"), "the 2 cancels the 1/2"),
    planted("gaussian", ("g = g[:, None]", "g = np.ones_like(g)[:, None]"),
            "is d(-log p)/dmean without g"),
    planted("gaussian", ("inv_var = np.exp(-logvar)", "inv_var = np.exp(-2 * logvar)"),
            "divides by exp(2 logvar), reading logvar as log sigma"),
    planted("gaussian", (GRAD_LOGVAR, "g * (1 - (x - mean) ** 2 * np.exp(-2 * logvar))"),
            "is the derivative for logvar read as log sigma"),
    planted("gaussian", (GRAD_LOGVAR, "0.5 * (1 - (x - mean) ** 2 * inv_var)"),
            "is d(-log p)/dlogvar without g"),
    planted("gaussian", ("0.5 * g * (1 -", "g * (1 -"),
            "The 1/2 in front of -log p stays in the derivative"),
    planted("gaussian", (GRAD_LOGVAR, "0.5 * g * (inv_var - (x - mean) ** 2 * inv_var**2)"),
            "is the derivative with respect to sigma^2, not logvar"),
    planted("gaussian", (GRAD_LOGVAR, "g * (np.sqrt(inv_var) - (x - mean) ** 2 * inv_var**1.5)"),
            "is the derivative with respect to sigma, not logvar"),
    planted("gaussian", ("return grad_mean, grad_logvar", "return grad_mean, " + GRAD_LOGVAR),
            "not yet summed over the elements that share each logvar"),
    planted("gaussian", ("grad_logvar.sum(axis=0)", "grad_logvar.mean(axis=0)"),
            "is the mean over the examples of the elementwise gradient"),
    planted("gaussian", (TO_ONE, ""), "is summed over the examples but not over the dimensions"),
    planted("gaussian", ("    g = g[:, None]  # (B,) -> (B, 1): example b's g scales row b\n", ""),
            "as g[:, None], (B, 1), it scales the rows"),
    planted("gaussian", ("return grad_mean, grad_logvar", "return grad_logvar, grad_mean"),
            "returns its results in the wrong order"),
] + of_kind(
    "input",
    planted("gaussian", (".sum(axis=1)", ".sum(axis=1).squeeze()"), "for a batch of one example"),
    planted("gaussian", ("* np.exp(-logvar)).sum(axis=1)",
                         "/ (np.exp(logvar) + 1e-6)).sum(axis=1)"),
            "adding a small number to the variance"),
    planted("gaussian", ("inv_var = np.exp(-logvar)",
                         "inv_var = np.exp(-np.clip(logvar, -10, 10))"),
            "Clipping logvar"),
) + of_kind(
    "float32",
    planted("gaussian", ("grad_mean = g * (mean - x) * inv_var",
                         "grad_mean = (g * (mean - x) * inv_var).astype(np.float32)"),
            "is float32, not float64"),
) + of_kind(
    "parameters",
    planted("gaussian", ("def gaussian_nll_backward(g, x, mean, logvar)",
                         "def gaussian_nll_backward(x, mean, logvar, g)"),
            "takes the template's parameters in another order"),
) + of_kind(
    "in place",
    planted("gaussian", ("return 0.5 * (np.log(2 * np.pi) + logvar + (x - mean) ** 2",
                         "x -= mean\n    return 0.5 * (np.log(2 * np.pi) + logvar + x ** 2"),
            "changes its argument x in place"),
) + of_kind(
    "term",
    planted("gaussian", ("(1 - (x - mean) ** 2 * inv_var)", "(-(x - mean) ** 2 * inv_var)"),
            "leaves out the term 1/2"),
    planted("gaussian", ("(1 - (x - mean) ** 2 * inv_var)", "(1 + (x - mean) ** 2 * inv_var)"),
            "has the term -(x - mean)^2 / (2 sigma^2) with the wrong sign"),
) + of_kind(
    "minivae's code",
    planted("gaussian", ("return " + GAUSSIAN_NLL, "from minivae import Tensor, ops\n    return "
                         "ops.gaussian_nll(Tensor(x), Tensor(mean), Tensor(logvar)).data"),
            "runs minivae's own code (minivae.", status="flagged"),
)
