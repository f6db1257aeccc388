"""A training step captured once into a CUDA graph and replayed for each batch (--cuda-graph).

A step of this small model is a few hundred short kernels. Launched one at a time from Python,
each costs microseconds of host time, more than many of them take to run. A CUDA graph records
the whole step (forward, backward, the optimizer, the epoch sums) once and launches it again
with one call. Capturing is also a proof: any call in the step that makes the host wait for
the device (reading a number back, a synchronizing copy) is an error while a stream captures,
so a step that captures never synchronizes.

A graph freezes what each launch was given: pointers and scalar arguments. So everything that
changes from step to step lives in device memory and is changed in place:
  - the batch: the examples' indices are copied into `index` before each replay, and the graph
    gathers x = train_x[index] itself;
  - beta (KL warm-up): `beta`, filled before each replay;
  - the noise stream and the optimizer's step count: step scalars (`backend.step_scalar`), which
    the graph itself advances;
  - the epoch's sums of the loss: added to inside the graph.
Memory: what the step allocates while it is captured comes from a memory pool of the graph's
own, kept as long as the graph, so no other array is ever given an address a replay writes to.
cuBLAS: CuPy refuses cuBLAS calls while a stream captures, so inside the capture the dense
layers run minivae's own matrix-product kernel (`ops.linalg.LinearCUDA`).
The first full batch runs eagerly (it compiles and loads every kernel the step needs), the
second is captured and then replayed, like every later full batch; a last, smaller batch has
another shape and runs eagerly.
"""

import contextlib

import numpy as np

from minivae.accel.matmul import column_sum, matmul
from minivae.engine.tensor import Tensor
from minivae.errors import MinivaeError


class GraphStep:
    """The captured step of one trainer; `run` trains on one full batch.

    All of the trainer's device work in an epoch runs on `stream` (the trainer enters it with
    `ordered_block`), so the replays, the eager steps and the copies before each replay happen in
    order. The order with everything else is made explicit, because `stream` is non-blocking:
    it does not wait for work queued on CuPy's default (legacy) stream, where the model's
    parameters, the data and the epoch sums were written. So `ordered_block` makes it wait for
    an event recorded on the stream that was current, and waits for `stream` on leaving.
    """

    def __init__(self, trainer):
        cupy = trainer.xp
        self.trainer, self.cupy = trainer, cupy
        self.stream = cupy.cuda.Stream(non_blocking=True)  # capture needs a stream of its own
        self.pool = cupy.cuda.MemoryPool()  # the graph's memory, never lent to anything else
        with self.stream:  # zeroed on the stream that later copies into them and replays
            self.index = cupy.zeros(trainer.config.batch_size, dtype=np.int64)  # (B,) of a batch
            self.beta = cupy.zeros((), dtype=trainer.model.dtype)  # the KL's weight this step
            # the kernels a captured dense layer runs (ops.linalg.LinearCUDA), compiled and
            # loaded now: the eager warm-up step does not run them
            probe = cupy.ones((1, 1), dtype=trainer.model.dtype)
            matmul(probe, probe)
            column_sum(probe)
        self.graph = None
        self.warmed_up = False
        self.replays = 0

    @contextlib.contextmanager
    def ordered_block(self):
        """Make `stream` current for the block, after all work queued so far on the stream that
        was current (an event `stream` waits for), and wait for all of `stream`'s work at the end.
        """
        before = self.cupy.cuda.get_current_stream()
        queued = before.record()  # an event after everything queued there so far
        self.stream.wait_event(queued)  # which runs first; `queued` lives until the block ends
        with self.stream:
            yield
        self.stream.synchronize()  # the host, and so any stream it queues work on next, waits

    def run(self, batch_index, beta, sums):
        """One optimizer step on train_x[batch_index], a full batch of indices on the device."""
        self.index[...] = batch_index  # device to device
        self.beta.fill(beta)
        if not self.warmed_up:  # compile and load every kernel before capturing
            self._step(sums)
            self.warmed_up = True
        else:
            if self.graph is None:
                self.graph = self._capture(sums)
            self.graph.launch(stream=self.stream)
            self.replays += 1
        sums.seen += len(self.index)  # the host's count, which no replay can update

    def _step(self, sums):
        x = self.trainer.train_x[self.index]  # (B, D), gathered on the device
        terms, loss = self.trainer.update(x, Tensor(self.beta))
        sums.accumulate(loss, terms, len(self.index))

    def _capture(self, sums):
        cupy = self.cupy
        self.stream.begin_capture()
        try:
            with cupy.cuda.using_allocator(self.pool.malloc):
                self._step(sums)
        except Exception as error:
            self.stream.end_capture()  # leave capture mode, whatever the step did
            raise MinivaeError(
                f"--cuda-graph: the training step cannot be captured into a CUDA graph: "
                f"{type(error).__name__}: {error}. Something in the step waits for the device "
                "(reads a value back, or calls a library that is not capturable); train "
                "without --cuda-graph, or move that call out of the step"
            ) from error
        return self.stream.end_capture()
