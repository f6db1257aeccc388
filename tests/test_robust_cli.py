"""Values outside what a setting may be, on the command line and in TrainConfig: refused before
anything runs, in one line naming the flag (or field), with exit status 2 on the command line.
The limits are minivae.training.config'; the last tests check the flags and the fields agree."""

import math
import os
import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from minivae.cli import _parser, main
from minivae.errors import ConfigError
from minivae.plots.figures import principal_plane
from minivae.training.config import LIMITS, Names
from minivae.training.trainer import TrainConfig

BAD_TRAIN_FLAGS = {
    "--hidden": ["0", "-5", "400,0", "x", "65537"],
    "--latent-dim": ["0", "-1", "1.5", "65537"],
    "--batch-size": ["0", "-1"],
    "--epochs": ["0", "-3"],
    "--seed": ["-1", str(2**64)],
    "--limit": ["0", "-1"],
    "--lr": ["0", "-1", "nan", "inf", "abc"],
    "--momentum": ["1", "-0.1", "nan"],
    "--clip": ["0", "-1", "nan"],
    "--beta": ["-1", "nan", "inf"],
    "--warmup-epochs": ["-1", "nan"],
    "--model": ["VAE"],
    "--dataset": ["cifar"],
    "--optimizer": ["Adam"],
    "--likelihood": ["poisson"],
    "--activation": ["gelu"],
    "--binarize": ["yes"],
    "--dtype": ["float16"],
    "--device": ["tpu"],
}
BAD_OTHER_FLAGS = {
    "eval": {"--k": ["0", "-1"], "--n-test": ["0", "-3"]},
    "sample": {"--n": ["0", "-1"], "--seed": ["-1"]},
    "gradcheck": {"--draws": ["0"], "--seed": ["-1"]},
}
CASES = [("train", None, flag, v) for flag, values in BAD_TRAIN_FLAGS.items() for v in values]
CASES += [
    (command, ["runs/nowhere"] if command != "gradcheck" else [], flag, value)
    for command, flags in BAD_OTHER_FLAGS.items()
    for flag, values in flags.items()
    for value in values
]


@pytest.mark.parametrize("command, positional, flag, value", CASES)
def test_a_bad_value_is_one_line_naming_the_flag_and_exit_status_2(
    tmp_path, capsys, command, positional, flag, value
):
    if command == "train":  # should the value be taken, a tiny run, not the default one
        positional = ["--limit", "1", "--epochs", "1", "--no-figures", "--out", str(tmp_path)]
    assert main([command, *positional, f"{flag}={value}"]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith(f"minivae {command}: argument {flag}: ")
    assert err.endswith(f"; see minivae {command} --help\n")


BAD_FIELDS = {
    "hidden": [(0,), (400, -1), 400, (1.5,)],
    "latent_dim": [0, -2, 2.5],
    "batch_size": [0, -1, True, None],  # None: only fields that default to None may be None
    "epochs": [0, "3"],
    "seed": [-1, 2**64],
    "limit": [0, -5],
    "lr": [0, -1e-3, math.nan, math.inf],
    "momentum": [1.0, -0.5],
    "clip": [0, math.nan],
    "beta": [-1, math.inf],
    "warmup_epochs": [-0.5],
    "model": ["VAE", "ae"],
    "dataset": ["cifar"],
    "optimizer": ["Adam"],
    "likelihood": ["poisson"],
    "activation": ["gelu"],
    "binarize": [False],
    "dtype": ["float16"],
    "device": ["tpu"],
}


@pytest.mark.parametrize(
    "field, value", [(f, v) for f, values in BAD_FIELDS.items() for v in values], ids=repr
)
def test_train_config_refuses_the_same_values_naming_the_field(field, value):
    expected = f"^TrainConfig: {field} must be .*, got {re.escape(repr(value))}$"
    with pytest.raises(ConfigError, match=expected):
        TrainConfig(**{field: value})


def test_an_unknown_model_name_no_longer_trains_an_autoencoder():
    with pytest.raises(ConfigError, match="model must be one of vae, autoencoder, got 'VAE'"):
        TrainConfig(model="VAE")
    assert TrainConfig(model="autoencoder").architecture(4)["kind"] == "autoencoder"


def test_optional_fields_may_stay_unset():
    config = TrainConfig(clip=None, limit=None, hidden=(), data_dir=None)
    assert (config.clip, config.limit, config.hidden) == (None, None, ())


def _field(flag):
    return flag[2:].replace("-", "_")


NUMBER_FLAGS = [flag for flag in BAD_TRAIN_FLAGS if not isinstance(LIMITS[_field(flag)], Names)]


@settings(max_examples=200, deadline=1000)
@given(
    flag=st.sampled_from(NUMBER_FLAGS),
    number=st.one_of(st.integers(-3, 3), st.integers(), st.floats(-2, 2), st.floats()),
)
def test_a_flag_and_its_field_accept_and_refuse_the_same_numbers(flag, number):
    # hidden takes two widths, written 3,3 on the command line and (3, 3) in Python
    text, value = (f"{number},{number}", (number, number)) if flag == "--hidden" else (
        str(number), number)
    try:
        _parser().parse_args(["train", flag, text])
        refused_by_flag = False
    except SystemExit:
        refused_by_flag = True
    try:
        TrainConfig(**{_field(flag): value})
        refused_by_field = False
    except ConfigError:
        refused_by_field = True
    assert refused_by_flag == refused_by_field, (flag, text)


def test_small_limits_and_a_one_dimensional_latent_still_draw_the_figures(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    tiny = ["--epochs", "1", "--hidden", "8", "--quiet", "--latent-dim", "1"]
    for limit, interpolations in (("1", False), ("3", True)):
        out = tmp_path / limit
        assert main(["train", *tiny, "--limit", limit, "--out", str(out)]) == 0
        assert {"latent.png", "reconstructions.png", "traversals.png"} <= set(os.listdir(out))
        assert (out / "interpolations.png").exists() == interpolations
    assert "Traceback" not in capsys.readouterr().err


@pytest.mark.parametrize(
    "codes, plane, explained",
    [
        ([[1.0], [3.0]], [[-1, 0], [1, 0]], [1, 0]),  # one latent dimension: PC2 is zero
        ([[1.0, 2.0, 3.0]], [[0, 0]], [0, 0]),  # one example: no variance to explain
    ],
)
def test_the_latent_plane_has_two_columns_whatever_the_codes(codes, plane, explained):
    got_plane, got_explained = principal_plane(np.array(codes))
    np.testing.assert_allclose(np.abs(got_plane), np.abs(plane), atol=1e-12)  # signs are free
    np.testing.assert_allclose(got_explained, explained, atol=1e-12)
