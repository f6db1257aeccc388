"""Arrays handed to the model, to training and to evaluation: empty, not real numbers, NaN or
infinite, outside [0, 1] for a Bernoulli likelihood. Each public method refuses them with a
MinivaeError that names the model, what is wrong and what to do; real arrays it can take pass."""

import re
import warnings

import hypothesis.extra.numpy as npst
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from minivae import Tensor
from minivae.data.batches import check_inputs
from minivae.errors import ConfigError, DataError, DTypeError, MinivaeError, ShapeError
from minivae.models.autoencoder import Autoencoder
from minivae.models.vae import VAE
from minivae.training.evaluate import (
    iwae_negative_log_likelihood,
    latent_statistics,
    mean_elbo_terms,
)

D = 6
GOOD = np.full((2, D), 0.5, np.float32)


def with_value(value, at=(1, 2), dtype=np.float64):
    x = np.full((2, D), 0.5, dtype)
    x[at] = value
    return x


BAD = {  # name: (x, error class, what the message must say)
    "no rows": (np.zeros((0, D), np.float32), ShapeError, r"shape \(0, 6\) holds no examples"),
    "object": (GOOD.astype(object), DTypeError, "has dtype object, not real numbers"),
    "string": (np.full((2, D), "0.5"), DTypeError, "has dtype <U3, not real numbers"),
    "bytes": (np.full((2, D), b"0.5"), DTypeError, "has dtype |S3, not real numbers"),
    "complex": (GOOD.astype(np.complex64), DTypeError, "complex64.*keep x.real"),
    "nan": (with_value(np.nan), DataError, "1 values are NaN or infinite .the first in example "
            "1, feature 2"),
    "inf": (with_value(np.inf, at=(0, 5)), DataError, "example 0, feature 5"),
    "-inf": (with_value(-np.inf), DataError, "NaN or infinite"),
    "above 1": (with_value(1.5), DataError, r"needs values in \[0, 1\], found \[0.5, 1.5\]"),
    "below 0": (with_value(-0.25), DataError, r"found \[-0.25, 0.5\]"),
    "8-bit": (with_value(255, dtype=np.uint8), DataError, r"found \[0, 255\].*x / 255"),
    "list": (GOOD.tolist(), DTypeError, "must be a NumPy array .* got list; .*np.asarray"),
    "tensor": (Tensor(GOOD), DTypeError, "got Tensor"),
    "1-D": (GOOD[0], ShapeError, r"x has shape \(6,\) but the model takes \(B, 6\)"),
}
METHODS = {
    "VAE.encode": lambda m, x: m.encode(x),
    "VAE.loss": lambda m, x: m.loss(x),
    "VAE.reconstruct": lambda m, x: m.reconstruct(x),
    "VAE.log_likelihood": lambda m, x: m.log_likelihood(x, 3),
    "Autoencoder.encode": lambda m, x: m.encode(x),
    "Autoencoder.loss": lambda m, x: m.loss(x),
    "Autoencoder.reconstruct": lambda m, x: m.reconstruct(x),
}


def model_for(method, likelihood="bernoulli"):
    cls = VAE if method.startswith("VAE") else Autoencoder
    return cls(D, hidden=(4,), latent_dim=2, likelihood=likelihood)


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("case", BAD)
def test_every_method_refuses_every_bad_array(method, case):
    x, error, expected = BAD[case]
    model = model_for(method)
    with pytest.raises(error, match=expected) as raised:
        METHODS[method](model, x)
    assert str(raised.value).startswith(type(model).__name__ + ":")


@pytest.mark.parametrize("method", METHODS)
def test_real_arrays_of_any_real_dtype_pass(method):
    model = model_for(method)
    for x in (GOOD, GOOD.astype(np.float64), GOOD > 0.4, (GOOD > 0.4).astype(np.uint8)):
        METHODS[method](model, x)
    METHODS[method](model_for(method, "gaussian"), with_value(-300.0))  # any finite value


@st.composite
def arrays_of_any_kind(draw):
    """Arrays of every kind of dtype NumPy has (bool to complex, dates, strings), half of the
    floating ones drawn inside [0, 1]; mostly of the model's width, with 0 to 3 rows."""
    dtype = draw(st.one_of(
        npst.boolean_dtypes(), npst.integer_dtypes(), npst.unsigned_integer_dtypes(),
        npst.floating_dtypes(), npst.complex_number_dtypes(), npst.datetime64_dtypes(),
        npst.unicode_string_dtypes(max_len=3), npst.byte_string_dtypes(max_len=3),
    ))
    elements = None
    if dtype.kind == "f" and draw(st.booleans()):
        elements = st.floats(0, 1, width=8 * dtype.itemsize)
    shape = (draw(st.integers(0, 3)), draw(st.sampled_from([D, D, D, 1])))
    return draw(npst.arrays(dtype, shape, elements=elements))


@settings(max_examples=300, deadline=1000)
@given(x=arrays_of_any_kind())
def test_any_array_gives_a_reconstruction_or_a_minivae_error(x):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # NumPy on comparing strings with numbers, casting 1e300
        # judged in float32, as the model computes: -1e-88 becomes -0.0, which is in [0, 1]
        as_float32 = x.astype(np.float32) if x.dtype.kind in "biuf" else None
        takeable = (as_float32 is not None and x.shape[0] > 0 and x.shape[1] == D
                    and bool(np.all((as_float32 >= 0) & (as_float32 <= 1))))
        try:
            recon = VAE(D, hidden=(4,), latent_dim=2).reconstruct(x)
        except MinivaeError:
            assert not takeable, x
            return
    assert takeable, x
    assert recon.shape == x.shape and np.all((recon >= 0) & (recon <= 1))


@pytest.mark.parametrize("case", ["no rows", "object", "string", "complex", "nan", "above 1"])
def test_the_trainers_dataset_check_refuses_them_too(case):
    x, error, expected = BAD[case]
    with pytest.raises(error, match=expected):
        check_inputs(x, "bernoulli", "sprites train split")


def test_columns_of_nothing_are_refused():
    with pytest.raises(ShapeError, match=r"shape \(3, 0\) holds examples of no numbers"):
        check_inputs(np.zeros((3, 0)), "gaussian")


@pytest.mark.parametrize(
    "evaluate",
    [mean_elbo_terms, latent_statistics, lambda m, x: iwae_negative_log_likelihood(m, x, 2)],
    ids=["mean_elbo_terms", "latent_statistics", "iwae"],
)
def test_evaluation_of_no_examples_is_refused(evaluate):
    with pytest.raises(ShapeError, match="holds no examples"):
        evaluate(model_for("VAE"), np.zeros((0, D), np.float32))


def test_the_trainer_skips_only_the_value_scan_of_batches_it_validated_at_load():
    model = VAE(4, hidden=(3,), latent_dim=2)
    bad = np.full((2, 4), 2.0, dtype=np.float32)  # outside [0, 1] for the Bernoulli likelihood
    with pytest.raises(DataError, match="needs values in"):
        model.loss(bad)
    model.loss(bad, validated=True)  # the caller vouches for the values: no scan
    with pytest.raises(ShapeError):
        model.loss(np.zeros((2, 5), np.float32), validated=True)  # the shape is always checked


COUNTS = {  # a call with a count below 1 (or not an integer), and what the error names
    "sample 0": (lambda m: m.sample(0), "VAE.sample: n must be an integer >= 1, got 0"),
    "sample -1": (lambda m: m.sample(-1), "VAE.sample: n must be an integer >= 1, got -1"),
    "sample 2.0": (lambda m: m.sample(2.0), "got 2.0"),
    "k 0": (lambda m: m.log_likelihood(GOOD, 0), "log_likelihood: k (importance samples) must"),
    "chunk 0": (lambda m: m.log_likelihood(GOOD, 3, chunk=0), "log_likelihood: chunk must"),
    "steps 0": (lambda m: m.interpolate(GOOD[0], GOOD[1], 0), "VAE.interpolate: steps must"),
    "autoencoder steps": (lambda m: Autoencoder(D).interpolate(GOOD[0], GOOD[1], -2),
                          "Autoencoder.interpolate: steps must be an integer >= 1, got -2"),
}


@pytest.mark.parametrize("case", COUNTS)
def test_counts_below_one_are_refused_instead_of_empty_results(case):
    call, expected = COUNTS[case]
    with pytest.raises(ConfigError, match=re.escape(expected)):
        call(model_for("VAE"))
    assert model_for("VAE").sample(1).shape == (1, D)  # one is a count
