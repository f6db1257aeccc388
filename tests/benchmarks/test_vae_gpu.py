"""benchmarks/vae_gpu.py without a GPU: the data it chooses, never downloading, and its timing and
epoch tables run through on the CuPy stand-in (tests/support/cupy_stand_in: a test aid that runs
the GPU path's code on NumPy, refusing launch, capture and stream-order mistakes; it times
nothing that means anything, and it is no substitute for the GPU run)."""

import importlib
import sys

import pytest
from support import ROOT, cupy_stand_in

from minivae.errors import MinivaeError
from minivae.training.trainer import TrainConfig, Trainer

sys.path.insert(0, str(ROOT / "benchmarks"))
vae_gpu = importlib.import_module("vae_gpu")


@pytest.fixture
def no_fashion_mnist_here(tmp_path, monkeypatch):
    """A machine without Fashion-MNIST: empty cache and system folders, no MINIVAE_DATA, and
    any download an error."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("MINIVAE_DATA", raising=False)
    monkeypatch.setattr(vae_gpu.sources, "_download", pytest.fail)
    return str(tmp_path / "no-datasets")


def test_sprites_are_the_default_and_auto_falls_back_to_them(no_fashion_mnist_here):
    assert vae_gpu.parse_args([]).dataset == "sprites"
    dataset, data_dir, why = vae_gpu.choose_data("auto", system_dir=no_fashion_mnist_here)
    assert (dataset, data_dir) == ("sprites", None)
    assert "Fashion-MNIST is not on this machine" in why and no_fashion_mnist_here in why
    with pytest.raises(MinivaeError, match="not found"):
        vae_gpu.choose_data("fashion-mnist", system_dir=no_fashion_mnist_here)


def test_auto_takes_fashion_mnist_where_its_files_are(no_fashion_mnist_here, tmp_path):
    folder = tmp_path / "fashion-mnist"
    folder.mkdir()
    for name in vae_gpu.sources.FILENAMES:
        (folder / name).write_bytes(b"")  # located, not read: the trainer's reader checks them
    assert vae_gpu.choose_data("auto", system_dir=str(tmp_path))[:2] == ("fashion-mnist",
                                                                          str(folder))


def test_the_step_and_epoch_tables_run_on_the_stand_in(monkeypatch, tmp_path, capsys):
    cupy = cupy_stand_in.install(monkeypatch)
    small = dict(dataset="sprites", limit=256, epochs=1, batch_size=64, hidden=(16,),
                 latent_dim=4, dtype="float32")

    def runs(out):  # as main() makes them: the step timing and the epochs get fresh runs
        settings = {"minivae eager": dict(device="gpu"),
                    "minivae graph": dict(device="gpu", cuda_graph=True), "minivae CPU": {}}
        return {name: Trainer(TrainConfig(**small, **extra, out=str(tmp_path / out / name)),
                              progress=False, log=lambda _: None)
                for name, extra in settings.items()}

    timed = runs("timed")
    for name in ("minivae eager", "minivae graph"):
        assert vae_gpu.minivae_step_ms(timed[name], cupy, steps=2, warmup=1) > 0
    assert timed["minivae graph"].graph_step.replays > 0
    vae_gpu.print_epoch_table(runs("epochs"), 1)
    printed = capsys.readouterr().out
    assert "minivae graph: final test -ELBO" in printed and "target within 0.5" in printed
