"""The trainer's GPU path orders its CUDA streams: checked on the CPU, with the CuPy stand-in.

A --cuda-graph run trains on a non-blocking stream of its own (accel.graph_step), which does not
wait for work queued on CuPy's default stream: the model's parameters, the data, the epoch sums'
reset. The stand-in (tests/support/cupy_stand_in) refuses any read or write of memory whose
last write on another stream is not ordered before it, as CUDA's rules order work (events, the
host waiting, the legacy stream). It is a test aid: only a GPU shows the timing of a real race.
"""

import contextlib

import pytest
from support import cupy_stand_in

from minivae.accel.graph_step import GraphStep
from minivae.training.trainer import TrainConfig, Trainer

SMALL = dict(dataset="sprites", limit=256, epochs=2, batch_size=64, hidden=(16,), latent_dim=4,
             dtype="float64", device="gpu", cuda_graph=True)


def quiet(config):
    return Trainer(config, progress=False, log=lambda _: None)


def test_the_graph_stream_starts_after_the_work_queued_before_it(monkeypatch, tmp_path):
    stand_in = cupy_stand_in.install(monkeypatch)
    trainer = quiet(TrainConfig(**SMALL, out=str(tmp_path / "run")))
    trainer.fit()  # two epochs: the second's reset of the sums follows the first's replays
    assert trainer.graph_step.replays > 0
    graph_stream, null = trainer.graph_step.stream, stand_in.cuda.Stream.null
    assert graph_stream.clock[graph_stream] > 0 and null.clock[null] > 0  # work on both


@contextlib.contextmanager
def without_the_event(self):  # the graph step's stream entered as it was before the fix
    with self.stream:
        yield
    self.stream.synchronize()


def test_without_the_event_the_stand_in_refuses_the_race(monkeypatch, tmp_path):
    cupy_stand_in.install(monkeypatch)
    monkeypatch.setattr(GraphStep, "ordered_block", without_the_event)
    trainer = quiet(TrainConfig(**SMALL, out=str(tmp_path / "run")))
    with pytest.raises(cupy_stand_in.StreamOrderError, match="written by .* on Stream.null"):
        trainer.fit()


def test_the_graph_step_zeroes_its_batch_and_beta_on_its_own_stream(monkeypatch, tmp_path):
    cupy_stand_in.install(monkeypatch)
    step = quiet(TrainConfig(**SMALL, out=str(tmp_path / "run"))).graph_step
    for array in (step.index, step.beta):  # written on the stream that later copies into them
        assert array._buffer.last_write.stream is step.stream
