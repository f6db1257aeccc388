"""Training curves, read from the per-epoch rows that training writes to metrics.jsonl.

Three panels share the epoch axis, all in nats per example:

    negative ELBO   -ELBO = -E_q[log p(x|z)] + KL(q(z|x) || p(z)), train and test
    reconstruction  -E_q[log p(x|z)] on the test set: how well x is rebuilt from its code
    KL              KL(q(z|x) || p(z)) on the test set: the nats the code carries about x

The two terms add up to the test negative ELBO. When a row carries `beta` and it is not always 1
(KL warm-up, beta-VAE), the training loss is -E_q[log p(x|z)] + beta * KL rather than the negative
ELBO; its label says so and beta is drawn on a second axis of the KL panel.

An autoencoder's rows have no KL and no ELBO (null in metrics.jsonl): its figure is one panel,
the reconstruction term -log p(x|z = f(x)), train and test.
"""

from minivae.errors import DataError
from minivae.plots.canvas import new_figure, save_png

KEYS = ("epoch", "train_loss", "test_neg_elbo", "test_recon", "test_kl")


def _column(rows, key):
    """The values of `key` in every row, as floats, or a DataError naming the row."""
    values = []
    for i, row in enumerate(rows):
        try:
            values.append(float(row[key]))
        except KeyError:
            raise DataError(
                f"curves: row {i} of the metrics has no {key!r}; each row needs {', '.join(KEYS)}"
            ) from None
        except (TypeError, ValueError):
            raise DataError(f"curves: row {i} has {key}={row[key]!r}, not a number") from None
    return values


def curves(rows, path, title="Training curves"):
    """Plot per-epoch metrics (a list of dicts, one per epoch, as in metrics.jsonl) to `path`."""
    if not rows or not all(isinstance(row, dict) for row in rows):
        raise DataError(
            "curves: rows must be a non-empty list of dicts, one per epoch, as read "
            "from metrics.jsonl with [json.loads(line) for line in file]"
        )
    epoch = _column(rows, "epoch")
    style = {"marker": "o", "markersize": 3} if len(rows) <= 25 else {}
    if all(row.get("test_kl", 0) is None for row in rows):
        _autoencoder_curve(rows, epoch, style, path, title)
        return
    betas = _column(rows, "beta") if all("beta" in row for row in rows) else None
    weighted = betas is not None and any(b != 1.0 for b in betas)

    figure = new_figure(13.0, 4.2)
    figure.suptitle(title)
    elbo, recon, kl = figure.subplots(1, 3, sharex=True)
    train_label = "train loss (recon + β·KL)" if weighted else "train"
    elbo.plot(epoch, _column(rows, "train_loss"), label=train_label, **style)
    elbo.plot(epoch, _column(rows, "test_neg_elbo"), label="test", **style)
    elbo.set_title("negative ELBO")
    elbo.set_ylabel("nats per example")
    elbo.legend()
    recon.plot(epoch, _column(rows, "test_recon"), color="tab:orange", label="test", **style)
    recon.set_title(r"reconstruction term  $-\mathbb{E}_q[\log p(x|z)]$")
    recon.legend()
    kl.plot(epoch, _column(rows, "test_kl"), color="tab:orange", label="test", **style)
    kl.set_title(r"KL term  $\mathrm{KL}(q(z|x)\,\|\,p(z))$")
    kl.legend(loc="upper left")
    if weighted:
        weight = kl.twinx()
        weight.plot(epoch, betas, color="gray", linestyle="--", label="β")
        weight.set_ylabel("β (weight of the KL term)", color="gray")
        weight.set_ylim(0.0, max(1.0, max(betas)) * 1.05)
        weight.legend(loc="lower right")
    for axes in (elbo, recon, kl):
        _epoch_axis(axes)
    save_png(figure, path, "curves")


def _autoencoder_curve(rows, epoch, style, path, title):
    figure = new_figure(6.0, 4.2)
    axes = figure.subplots()
    axes.plot(epoch, _column(rows, "train_loss"), label="train", **style)
    axes.plot(epoch, _column(rows, "test_recon"), label="test", **style)
    axes.set_title(f"{title}: autoencoder, reconstruction " + r"$-\log p(x\,|\,z = f(x))$")
    axes.set_ylabel("nats per example")
    axes.legend()
    _epoch_axis(axes)
    save_png(figure, path, "curves")


def _epoch_axis(axes):
    axes.set_xlabel("epoch")
    axes.grid(alpha=0.3)
    axes.xaxis.get_major_locator().set_params(integer=True)
