"""Numbers of any real type in TrainConfig: a NumPy scalar, a Fraction, a subclass of int that
passes a field's limit is stored as a plain Python int or float, so the run writes its rows and
checkpoints like any other; a type that is no real number is refused before anything runs."""

import dataclasses
import decimal
import fractions
import json

import numpy as np
import pytest
from support.checkpoint_files import read_meta, tiny_config, write_run

from minivae.errors import ConfigError
from minivae.training.run_dir import read_metrics
from minivae.training.trainer import TrainConfig, Trainer


class Count(int):
    """An int of another type, as some libraries hand out."""


# Each numeric field with values of other types than int and float, all within its limit.
OTHER_TYPES = {
    "lr": [np.float32(1e-3), np.float16(0.01), fractions.Fraction(3, 1000), np.int64(1)],
    "batch_size": [np.int64(4), np.uint8(5), Count(3)],
    "epochs": [np.int32(1)],
    "hidden": [(np.int16(3),), [np.uint64(2), Count(3)]],
    "latent_dim": [np.int64(1)],
    "seed": [np.uint64(2**64 - 1), np.int8(7)],
    "limit": [np.int32(12)],
    "momentum": [np.float32(0.5)],
    "clip": [np.float64(1.0), fractions.Fraction(1, 2)],
    "beta": [np.float32(0.5), np.int64(2)],
    "warmup_epochs": [np.float32(0.5), np.uint8(1)],
}
CASES = [(field, value) for field, values in OTHER_TYPES.items() for value in values]


def plain(value):
    """The value as plain Python numbers: what the field must hold."""
    if isinstance(value, list | tuple):
        return tuple(int(v) for v in value)
    return int(value) if isinstance(value, int | np.integer) else float(value)


@pytest.mark.parametrize("field, value", CASES, ids=repr)
def test_a_number_of_another_type_is_stored_plain(field, value):
    config = TrainConfig(**{field: value})
    stored = getattr(config, field)
    assert stored == plain(value)
    kinds = {type(v) for v in stored} if field == "hidden" else {type(stored)}
    assert kinds <= {int, float}
    json.dumps(dataclasses.asdict(config))  # what every checkpoint holds


@pytest.mark.parametrize("field, value", CASES, ids=repr)
def test_a_run_with_it_writes_its_rows_and_checkpoints(tmp_path, field, value):
    out = tmp_path / "run"
    write_run(out, **{field: value})
    assert [row["epoch"] for row in read_metrics(out / "metrics.jsonl")] == [1]
    assert read_meta(out / "checkpoint.npz")["config"][field] == json.loads(
        json.dumps(plain(value)))


def test_the_issues_repro_trains_and_saves(tmp_path):
    config = TrainConfig(dataset="moons", epochs=1, limit=64, lr=np.float32(1e-3),
                         out=str(tmp_path / "r"))
    Trainer(config, log=lambda _: None).fit()
    assert read_meta(tmp_path / "r" / "checkpoint.npz")["config"]["lr"] == float(np.float32(1e-3))


@pytest.mark.parametrize(
    "field, value",
    [("lr", decimal.Decimal("0.001")), ("batch_size", np.float64(4.0)), ("lr", np.complex64(1)),
     ("epochs", fractions.Fraction(2, 1)), ("cuda_graph", np.bool_(False)),
     ("hidden", np.array([3])), ("seed", np.uint64(2**64 - 1) + np.float64(1))],
    ids=repr,
)
def test_a_value_that_is_not_such_a_number_is_refused_up_front(field, value):
    with pytest.raises(ConfigError, match=f"^TrainConfig: {field} must be "):
        TrainConfig(**{field: value})


def test_a_field_set_after_construction_is_checked_before_the_run_starts(tmp_path):
    config = tiny_config(tmp_path / "run")
    config.lr = np.float32(1e-3)  # a dataclass: fields may be set again
    Trainer(config, log=lambda _: None).fit()
    assert read_meta(tmp_path / "run" / "checkpoint.npz")["config"]["lr"] == float(
        np.float32(1e-3))
    other = tiny_config(tmp_path / "other")
    other.batch_size = 0
    with pytest.raises(ConfigError, match="batch_size must be an integer >= 1, got 0"):
        Trainer(other)
