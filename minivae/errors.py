"""The exceptions minivae raises on bad input.

Every error minivae raises on purpose derives from `MinivaeError`, so the command line can print
its message (which names the op, the shapes, the file or the path searched, and what to do) without
a traceback. Each subclass also derives from the built-in exception a Python reader would expect.
"""


class MinivaeError(Exception):
    """Base class: a message meant for the person at the keyboard."""


class ShapeError(MinivaeError, ValueError):
    """Arrays whose shapes do not fit the op they were given to."""


class DTypeError(MinivaeError, TypeError):
    """Inputs of mixed or unsupported dtypes, or something that is not an array at all."""


class GraphError(MinivaeError, RuntimeError):
    """backward() asked of a graph that cannot be differentiated, or a backward pass that broke."""


class DataError(MinivaeError, ValueError):
    """A dataset or data file that is missing, corrupt, or holds values the model cannot take."""


class ConfigError(MinivaeError, ValueError):
    """A setting of a run (or a count given to a method) outside what it may be: an unknown
    name, a size below 1, a NaN rate; or a setting that contradicts the run being resumed."""


class CheckpointError(MinivaeError):
    """A checkpoint that is missing, truncated, corrupt, holds what minivae never writes, or is of
    another architecture."""


class RunError(MinivaeError):
    """A run directory that cannot be used as asked: it already holds a run, holds nothing to
    resume, is not a directory, or its metrics.jsonl is damaged."""


class WriteError(MinivaeError, OSError):
    """A file that could not be written (the disk full, a file-size limit, a read-only file
    system): the message says which, and what was kept on disk."""


class TrainingError(MinivaeError, RuntimeError):
    """Training that cannot go on, such as a loss that turned NaN."""
