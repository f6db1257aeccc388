"""What the stand-in raises. CuPy's own refusals keep CuPy's types and messages; the mistakes that
CuPy would let through, and a GPU would turn into wrong numbers, get types of their own."""


class CUDARuntimeError(RuntimeError):
    """cupy.cuda.runtime.CUDARuntimeError: a CUDA call that failed."""


class KernelLaunchError(TypeError):
    """A raw kernel launched with arguments its C signature would misread (RawKernel checks
    none: a GPU would run it on the wrong bytes), or with a grid or block CUDA refuses."""


class StreamOrderError(RuntimeError):
    """Work that may run before work it depends on, queued on another stream with nothing
    (an event, a synchronize, the legacy stream's rule) ordering the two."""


class CaptureError(RuntimeError):
    """A captured graph that would write memory it no longer owns."""
