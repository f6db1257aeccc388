"""The stand-in's one GPU: its streams, events, stream capture, graphs and memory, and the order
in which work queued on different streams may run.

Every piece of device work (an elementwise op, a copy, a kernel launch) goes through
`Device.queue`, which names the buffers it reads and writes. While the current stream is
capturing, the work is recorded, not run (as CUDA records it); otherwise it runs at once, on
NumPy arrays, after `check_order` has made sure that it cannot overtake any earlier work it
depends on.

The order, as CUDA defines it. Work on one stream runs in the order it was queued. Between
streams nothing is ordered, except by:
  - an event: `stream.wait_event(event)` orders the stream's later work after the work queued
    before `event` was recorded;
  - the host: after `stream.synchronize()` (or a copy to the host, which synchronizes), work
    the host queues on any stream comes after all of that stream's earlier work;
  - the legacy default stream (`Stream.null`): its work waits for earlier work of every
    blocking stream, and a blocking stream's work waits for its earlier work. A stream made
    with `non_blocking=True` has no such implicit order with it.
Each stream keeps a vector clock (for every stream, how much of its work is known to come
first) and each buffer the last write and the reads since; work that reads or writes a buffer
whose last write (or, for a write, a read since) is not known to come first is refused with a
`StreamOrderError` naming both: on a GPU the two could run in either order.
"""

import dataclasses
import itertools
import time

from .errors import CaptureError, CUDARuntimeError, StreamOrderError


@dataclasses.dataclass(frozen=True)
class Stamp:
    """One piece of work: the stream it was queued on, its number there, and what it was."""

    stream: object
    seq: int
    what: str


class Buffer:
    """One allocation: the NumPy memory behind an array and all its views, and its history."""

    def __init__(self, array, pool):
        self.array = array  # the owner of the memory; views of it share this Buffer
        self.pool = pool  # the allocator it came from (None: the default pool)
        self.captured_in = None  # the capture during which it was allocated, if any
        self.views = 0  # arrays alive over this memory: 0 once all are freed
        self.last_write = None  # a Stamp
        self.reads = []  # Stamps since the last write

    def describe(self):
        return f"a {self.array.dtype}{self.array.shape} buffer"


@dataclasses.dataclass
class Work:
    """Device work as a graph keeps it: what it is, its buffers, and the NumPy code to run."""

    what: str
    run: object
    reads: tuple
    writes: tuple


class Stream:
    """A CUDA stream: its own work in order, an explicit order with others (see the module)."""

    _ids = itertools.count()
    null = None  # the legacy default stream of the current stand-in GPU (set by Device)

    def __init__(self, null=False, non_blocking=False, ptds=False, priority=None, device=None):
        device = device or DEVICE
        self.device = device
        self.non_blocking = non_blocking
        self.legacy = null  # the legacy default stream itself (Stream.null)
        self.name = "Stream.null" if null else f"stream {next(self._ids)}" + (
            " (non_blocking)" if non_blocking else "")
        self.clock = {}  # stream -> how many of its pieces of work come before what is queued next
        self.capture = None  # the list of Work being recorded, while capturing
        self.ptr = 0 if null else id(self)
        device.streams.append(self)

    def __repr__(self):
        return f"<stand-in {self.name}>"

    def __enter__(self):
        self.device.current.append(self)
        return self

    def __exit__(self, *exc):
        self.device.current.pop()
        return False

    def use(self):
        self.device.current[-1] = self
        return self

    def is_capturing(self):
        return self.capture is not None

    def begin_capture(self, mode=None):
        if self.legacy:
            raise RuntimeError("cannot capture on the default (legacy) stream")
        if self.capture is not None:
            raise CUDARuntimeError("cudaErrorIllegalState: the stream is already capturing")
        self.capture = []

    def end_capture(self):
        if self.capture is None:
            raise CUDARuntimeError("cudaErrorIllegalState: the stream is not capturing")
        work, self.capture = self.capture, None
        return Graph(self.device, work)

    def synchronize(self):
        self.device.refuse_while_capturing("stream synchronize", self)
        self.device.host_waits(self.clock)

    @property
    def done(self):
        return True

    def record(self, event=None):
        event = Event() if event is None else event
        event.record(self)
        return event

    def wait_event(self, event):
        _merge(self.clock, event.clock)


class Event:
    """A point in a stream's work: what was queued there before `record`."""

    def __init__(self, block=False, disable_timing=False, interprocess=False):
        self.clock = {}
        self.recorded_at = None

    def record(self, stream=None):
        stream = stream or DEVICE.current_stream
        stream.device.implicit_order(stream)
        self.clock = dict(stream.clock)
        self.recorded_at = time.perf_counter()

    def synchronize(self):
        DEVICE.host_waits(self.clock)

    @property
    def done(self):
        return True


class Graph:
    """The work recorded while a stream captured; `launch` queues all of it on one stream, where
    it reads and writes the memory it recorded, as it is at that moment."""

    def __init__(self, device, work):
        self.device, self.work = device, work

    def launch(self, stream=None):
        stream = stream or self.device.current_stream
        for work in self.work:
            freed = [b for b in work.writes if b.captured_in is self.work and b.pool is None
                     and b.views == 0]
            if freed:
                raise CaptureError(
                    f"a graph replay of {work.what} writes {freed[0].describe()} that was "
                    "allocated while capturing, from CuPy's default memory pool, and has since "
                    "been freed: the pool may have lent it to another array. Capture under "
                    "cupy.cuda.using_allocator(a MemoryPool of the graph's own)"
                )
            self.device.check_order(stream, work.what, work.reads, work.writes)
            work.run()

    def upload(self, stream=None):
        pass


class Device:
    """The stand-in's one GPU: streams, the host's knowledge of them, allocators, hooks."""

    def __init__(self):
        self.streams = []
        self.null = Stream.null = Stream(null=True, device=self)
        self.current = [self.null]
        self.host = {}  # stream -> how much of its work the host has waited for
        self.allocators = [None]  # None: the default pool
        self.hooks = []

    @property
    def current_stream(self):
        return self.current[-1]

    def capturing_stream(self):
        """The stream that captures now, if any (the stand-in captures on one at a time)."""
        return next((s for s in self.streams if s.capture is not None), None)

    def refuse_while_capturing(self, what, stream=None):
        """CUDA's answer to a synchronizing call while a stream captures."""
        capturing = self.capturing_stream()
        if capturing is not None and (stream is None or stream is capturing):
            raise CUDARuntimeError(
                f"cudaErrorStreamCaptureUnsupported: operation not permitted when stream is "
                f"capturing ({what} while {capturing.name} captures)"
            )

    def host_waits(self, clock):
        _merge(self.host, clock)

    def implicit_order(self, stream):
        """What `stream`'s next work waits for without being told: the legacy stream's rule
        and everything the host has waited for (work is queued by the host)."""
        if stream.legacy:
            for other in self.streams:
                if not other.non_blocking and other is not stream:
                    _merge(stream.clock, other.clock)
        elif not stream.non_blocking:
            _merge(stream.clock, self.null.clock)
        _merge(stream.clock, self.host)

    def queue(self, what, run, reads=(), writes=(), stream=None, now=None):
        """Run `run` (NumPy code reading `reads`, writing `writes`) as device work on `stream`
        (the current one): recorded if it captures, else checked for order and run. now: what
        to run instead at once (the caller computed the result already), `run` being kept for
        replays."""
        stream = stream or self.current_stream
        work = Work(what, run, tuple(reads), tuple(writes))
        if stream.capture is not None:
            stream.capture.append(work)
            return
        self.check_order(stream, work.what, work.reads, work.writes)
        (now or run)()

    def check_order(self, stream, what, reads, writes):
        """Refuse work that could overtake work it depends on; then count it on `stream`."""
        self.implicit_order(stream)
        stamp = Stamp(stream, stream.clock.get(stream, 0) + 1, what)
        for buffer in set(reads) | set(writes):
            _ordered(stream, buffer.last_write, what, "written", buffer)
        for buffer in set(writes):
            for read in buffer.reads:
                _ordered(stream, read, what, "read", buffer)
        stream.clock[stream] = stamp.seq
        for buffer in set(reads) - set(writes):
            buffer.reads.append(stamp)
        for buffer in set(writes):
            buffer.last_write, buffer.reads = stamp, []

    def allocate(self, array):
        """A Buffer for new memory holding `array`, from the current allocator (hooks told)."""
        allocator = self.allocators[-1]
        for hook in self.hooks:
            hook.malloc_preprocess(device_id=0, size=array.nbytes, mem_size=array.nbytes)
        if allocator is not None:
            allocator(array.nbytes)
        buffer = Buffer(array, allocator)
        capturing = self.capturing_stream()
        if capturing is not None and capturing is self.current_stream:
            buffer.captured_in = capturing.capture
        return buffer


def _ordered(stream, stamp, what, done, buffer):
    if stamp is None or stamp.stream is stream or stream.clock.get(stamp.stream, 0) >= stamp.seq:
        return
    raise StreamOrderError(
        f"{what} on {stream.name} uses {buffer.describe()} {done} by {stamp.what} on "
        f"{stamp.stream.name}, and nothing orders the two: on a GPU {stream.name} may run "
        f"first. Record an event on {stamp.stream.name} after it and make {stream.name} wait "
        f"for it (stream.wait_event), or queue both on one stream"
    )


def _merge(clock, other):
    for stream, seq in other.items():
        if clock.get(stream, 0) < seq:
            clock[stream] = seq


DEVICE = Device()  # the one GPU; `reset` makes it fresh for each installation of the stand-in


def reset():
    """A fresh GPU: no streams but the null one, no history, the default allocator."""
    DEVICE.__init__()
    return DEVICE
