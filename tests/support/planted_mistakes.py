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
    planted("free_bits", (RETURN_KL, RETURN_KL + ".squeeze()"), "for a batch of one example"),
) + of_kind(
    "float32",
    planted("kl", (KL + ")", KL + ").astype(np.float32)"), "is float32, not float64"),
    planted("reparameterize", (SIGMA, SIGMA + ".astype(np.float32)"), "significant digits only"),
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
    planted("free_bits", ("def free_bits_backward(g, mu, logvar, floor)",
                          "def free_bits_backward(mu, logvar, floor, g)"),
            "takes the template's parameters in another order"),
) + of_kind(
    "in place",
    planted("adam", ("m = b1 * m + (1 - b1) * g", "m *= b1\n    m += (1 - b1) * g"),
            "changes its argument m in place"),
    planted("free_bits", ("return g * mu, ", "mu *= above\n    return g * mu, "),
            "changes its argument mu in place"),
) + of_kind(  # "wrong at N of M elements" no more: the term that is wrong
    "term",
    planted("adam", ("(np.sqrt(v_hat) + eps)", "np.sqrt(v_hat)"), "leaves out the term eps"),
    planted("iwae", ("log_px_z + log_pz - log_qz", "log_px_z - log_pz - log_qz"),
            "has the term log p(z_i) with the wrong sign"),
    planted("bernoulli", (NLL, "softplus.sum(axis=1)"), "leaves out the term -x l"),
    planted("kl", ("0.5 * (mu**2 + ", "0.5 * ("), "leaves out the term mu^2 / 2"),
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
    planted("free_bits", (RETURN_KL, "from minivae import ops\n"
                          "    return ops.free_bits_kl(mu, logvar, floor).data"),
            "runs minivae's own code (minivae.", status="flagged"),
)
