"""The kinds of limit a value may have, and the counts every part of minivae shares.

    COUNT.problem(0)          # 'must be an integer >= 1, got 0'
    COUNT.problem(5)          # None: fine
    check(COUNT, 0, "VAE.sample: n")   # ConfigError: VAE.sample: n must be an integer >= 1, got 0

A limit is a range of numbers (`Number`), a set of names (`Names`), a flag, layer widths
(`Sizes`) or a path (`Text`); each says in words what is wrong with a value, and gives the plain
Python value of one it takes (`plain`): a NumPy integer, a float32 or a Fraction within the
limit becomes the int or float of the same value, which JSON (and so every checkpoint) can hold.
`minivae.training.config` gives every setting of a run its limit from these; the model checks its
counts (samples, steps, importance samples) with `COUNT`. This module imports nothing of minivae
but its errors, so any module may use it.
"""

import dataclasses
import math
import numbers

from minivae.errors import ConfigError

MAX_WIDTH = 65_536  # units in one layer: a 784 x 65,536 layer alone holds 51 million weights
MAX_SEED = 2**64 - 1  # the noise generator's key holds 64 bits


@dataclasses.dataclass(frozen=True)
class Number:
    """Integers (or finite reals) from `low` to `high`; `*_open` leaves that end itself out."""

    integer: bool
    low: float
    high: float = math.inf
    low_open: bool = False
    high_open: bool = False

    def describe(self):
        kind = "an integer" if self.integer else "a finite number"
        if math.isinf(self.high):
            return f"{kind} {'>' if self.low_open else '>='} {self.low}"
        left, right = "(" if self.low_open else "[", ")" if self.high_open else "]"
        return f"{kind} in {left}{self.low}, {self.high}{right}"

    def problem(self, value):
        """What is wrong with `value` for this setting, in words; None when nothing is."""
        kind = numbers.Integral if self.integer else numbers.Real
        if isinstance(value, bool) or not isinstance(value, kind) or not self._holds(value):
            return f"must be {self.describe()}, got {value!r}"
        return None

    def plain(self, value):
        """An accepted `value` as a Python int (any integer type) or float (any other real)."""
        return int(value) if isinstance(value, numbers.Integral) else float(value)

    def parse(self, text):
        """The number written in `text` (a command-line value): (value, problem or None)."""
        try:
            value = int(text) if self.integer else float(text)
        except ValueError:
            return None, f"must be {self.describe()}, got {text!r}"
        return value, self.problem(value)

    def _holds(self, value):
        if not self.integer and not _finite(value):
            return False
        above = value > self.low if self.low_open else value >= self.low
        below = value < self.high if self.high_open else value <= self.high
        return above and below


def _finite(value):
    """True for a real that is neither NaN nor infinite, nor an integer too large for a float
    (what 1e400 is on the command line: inf)."""
    try:
        return math.isfinite(value)
    except OverflowError:
        return False


@dataclasses.dataclass(frozen=True)
class Names:
    """One of a fixed set of names, spelled exactly (so "VAE" is not "vae")."""

    names: tuple

    def problem(self, value):
        """What is wrong with `value`: not one of the names; None when it is one."""
        if value not in self.names:
            return f"must be one of {', '.join(self.names)}, got {value!r}"
        return None

    def plain(self, value):
        return str(value)


@dataclasses.dataclass(frozen=True)
class Flag:
    """True or False."""

    def problem(self, value):
        return None if isinstance(value, bool) else f"must be True or False, got {value!r}"

    def plain(self, value):
        return value


@dataclasses.dataclass(frozen=True)
class Sizes:
    """A sequence of layer widths, each a `width` Number; () means no hidden layer at all."""

    width: Number

    def problem(self, value):
        """What is wrong with `value`: not a list or tuple of widths; None when it is one."""
        if not isinstance(value, list | tuple) or any(self.width.problem(v) for v in value):
            return (f"must be a tuple of layer widths such as (400,) or (512, 256), each "
                    f"{self.width.describe()}, got {value!r}")
        return None

    def plain(self, value):
        """The widths as a tuple of Python ints."""
        return tuple(self.width.plain(v) for v in value)

    def parse(self, text):
        """'512,256' -> ((512, 256), problem or None)."""
        try:
            value = tuple(int(s) for s in text.split(",") if s.strip())
        except ValueError:
            value = None
        if value is None or self.problem(value):
            widths = self.width.describe()
            return None, f"must be sizes like 400 or 512,256, each {widths}, got {text!r}"
        return value, None


@dataclasses.dataclass(frozen=True)
class Text:
    """A path: a non-empty string without NUL characters (which no file name can hold)."""

    def problem(self, value):
        if not isinstance(value, str) or not value or "\0" in value:
            return f"must be a non-empty path without NUL characters, got {value!r}"
        return None

    def plain(self, value):
        return str(value)


COUNT = Number(integer=True, low=1)  # epochs, batch sizes, examples, samples, draws
SEED = Number(integer=True, low=0, high=MAX_SEED)
WIDTH = Number(integer=True, low=1, high=MAX_WIDTH)


def check(limit, value, what):
    """Raise a ConfigError "<what> <problem>" unless `value` is within `limit`."""
    problem = limit.problem(value)
    if problem:
        raise ConfigError(f"{what} {problem}")
