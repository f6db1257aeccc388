"""cupy.RawModule on the stand-in: each kernel's C signature read from its source, every launch
checked against it, and the kernel itself run by its CPU emulation (kernels/host/, one host
thread per CUDA thread) on the arrays' memory, with the grid the launch gave.

CuPy's RawKernel passes what it is given: an array as its address, whatever its dtype or
strides; a Python int as a 64-bit integer and a float as a double, whatever the parameter's
type. A wrong argument is read as the wrong bytes on a GPU, silently. Here it is refused, naming
the parameter: a pointer must be a C-contiguous device array of the pointee's dtype (or None, or
a 0 of 8 bytes: a null pointer, where the kernel allows one), a value must arrive in the
parameter's own C type, two __restrict__ pointers of which one is written must not overlap, each
array must hold as many elements as the kernel indexes (the table EMULATIONS states them), and
grid and block must be tuples within CUDA's limits, the block exactly the threads the kernel is
written for (its __launch_bounds__: every kernel of kernels/ assumes blockDim.x is that).
"""

import dataclasses
import math
import re

import numpy

from .. import builds
from .arrays import ndarray
from .device import DEVICE
from .errors import CUDARuntimeError, KernelLaunchError

C_TYPES = {
    "bool": numpy.bool_, "char": numpy.int8, "unsigned char": numpy.uint8, "short": numpy.int16,
    "int": numpy.int32, "unsigned": numpy.uint32, "unsigned int": numpy.uint32,
    "long": numpy.int64, "long long": numpy.int64, "unsigned long long": numpy.uint64,
    "size_t": numpy.uint64, "float": numpy.float32, "double": numpy.float64,
}
MAX_BLOCK, MAX_THREADS = (1024, 1024, 64), 1024  # CUDA's limits on every GPU since sm_20
MAX_GRID = (2**31 - 1, 65535, 65535)
_KERNEL = re.compile(
    r"(?:template\s*<([^>]*)>\s*)?__global__\s+void\s+"
    r"(?:__launch_bounds__\s*\(([^)]*)\)\s*)?(\w+)\s*\(([^)]*)\)"
)
_TYPEDEF = re.compile(r"\btypedef\s+([\w\s]+?)\s+(\w+)\s*;")
_CONSTANT = re.compile(r"\bconstexpr\s+int\s+(\w+)\s*=\s*([\w\s+\-*/()]+);")


@dataclasses.dataclass(frozen=True)
class Emulation:
    """How a kernel of kernels/ runs on the CPU: the library (a `support.builds` function), its C
    wrapper, where the grid size goes among the kernel's arguments, how many elements each
    pointer must hold (products of the kernel's integer arguments), and which may be null."""

    library: object
    function: str
    grid_at: int
    extents: dict
    nullable: tuple = ()


EMULATIONS = {
    "sample_kl_forward": Emulation(
        builds.emulated_kernels, "minivae_emulated_forward", 5,
        {"mu": "rows*length", "logvar": "rows*length", "seed_stream": "2", "z": "rows*length",
         "kl": "rows"}),
    "sample_kl_backward": Emulation(
        builds.emulated_kernels, "minivae_emulated_backward", 7,
        {"mu": "rows*length", "logvar": "rows*length", "gz": "rows*length", "gk": "rows",
         "seed_stream": "2", "dmu": "rows*length", "dlogvar": "rows*length"}),
    "matmul": Emulation(
        builds.emulated_matmul, "minivae_emulated_matmul", 8,
        {"a": "m*k", "b": "k*n", "bias": "n", "c": "m*n"}, nullable=("bias",)),
    "column_sum": Emulation(
        builds.emulated_matmul, "minivae_emulated_column_sum", 3,
        {"g": "rows*cols", "out": "cols"}),
}


@dataclasses.dataclass(frozen=True)
class Parameter:
    name: str
    ctype: str  # after template arguments and typedefs: "float", "long long", ...
    pointer: bool
    const: bool
    restrict: bool

    @property
    def dtype(self):
        return numpy.dtype(C_TYPES[self.ctype])

    def declaration(self):
        const, star = "const " if self.const else "", "*" if self.pointer else ""
        return f"{const}{self.ctype}{star} {self.name}"


class RawModule:
    """The kernels of `code`, instantiated for `name_expressions`, as CuPy's RawModule holds
    them; `get_function` gives one of them as a RawKernel."""

    def __init__(self, code=None, options=(), name_expressions=None, **kwargs):
        self.typedefs = dict(_resolved_typedefs(code))
        self.constants = _constants(code)
        kernels = {m[3]: m for m in _KERNEL.finditer(code)}
        self.functions = {}
        for expression in name_expressions or ():
            name, arguments = _split_expression(expression)
            if name not in kernels:
                raise CUDARuntimeError(f"NVRTC: name expression {expression!r}: no __global__ "
                                       f"function {name} in the source")
            template, bound, _, parameters = kernels[name].groups()
            self.functions[expression] = RawKernel(
                expression, name, self._instantiate(template, arguments, parameters),
                self._bound(bound), _template_values(template, arguments))

    def get_function(self, name):
        if name not in self.functions:
            raise CUDARuntimeError(f"CUDA_ERROR_NOT_FOUND: named symbol not found: {name!r} is "
                                   f"not among the name expressions {list(self.functions)}")
        return self.functions[name]

    def _instantiate(self, template, arguments, parameters):
        names = [p.split()[-1] for p in template.split(",")] if template else []
        substitute = dict(zip(names, arguments, strict=True))
        return [self._parameter(text, substitute) for text in parameters.split(",")]

    def _parameter(self, text, substitute):
        words = re.findall(r"\w+|\*", text)
        name = words[-1]
        base = [w for w in words[:-1] if w not in ("const", "__restrict__", "*")]
        ctype = " ".join(substitute.get(w, w) for w in base)
        return Parameter(name, self.typedefs.get(ctype, ctype), "*" in words,
                         "const" in words[: words.index("*")] if "*" in words else False,
                         "__restrict__" in words)

    def _bound(self, bound):
        return None if bound is None else _evaluate(bound, self.constants)


class RawKernel:
    """One instantiated kernel: launched as kernel(grid, block, args), checked, then emulated."""

    def __init__(self, expression, name, parameters, bound, template_values):
        self.expression, self.name = expression, name
        self.parameters, self.bound, self.template_values = parameters, bound, template_values

    def __call__(self, grid, block, args, shared_mem=0, stream=None, **kwargs):
        grid, block = self._shape("grid", grid, MAX_GRID), self._shape("block", block, MAX_BLOCK)
        if math.prod(block) > MAX_THREADS:
            self._refuse(f"a block of {block} is {math.prod(block)} threads, more than CUDA's "
                         f"{MAX_THREADS} (CUDA_ERROR_INVALID_VALUE)")
        if self.bound is not None and block != (self.bound, 1, 1):
            self._refuse(f"block {block}: the kernel is written for blocks of exactly "
                         f"{self.bound} threads (its __launch_bounds__), so ({self.bound},)")
        if len(args) != len(self.parameters):
            self._refuse(f"{len(args)} arguments for its {len(self.parameters)} parameters "
                         f"({self._signature()})")
        values = [self._argument(p, a) for p, a in zip(self.parameters, args, strict=True)]
        emulation = EMULATIONS[self.name]
        self._check_memory(emulation, values)
        memory = [v._a for v in values if isinstance(v, ndarray)]  # not the array objects
        reads = [v._buffer for p, v in zip(self.parameters, values, strict=True)
                 if isinstance(v, ndarray) and p.const]
        writes = [v._buffer for p, v in zip(self.parameters, values, strict=True)
                  if isinstance(v, ndarray) and not p.const]
        c_args = [_c_value(v) for v in values]
        c_args.insert(emulation.grid_at, grid[0])
        function = emulation.library().function(emulation.function)

        def run():
            function(*self.template_values, *c_args)
            return memory  # the memory the addresses point into lives as long as this closure

        DEVICE.queue(f"kernel {self.expression}", run, reads, writes, stream=stream)

    def _shape(self, what, value, limits):
        if not isinstance(value, tuple):
            raise KernelLaunchError(f"{self.expression}: {what} must be a tuple (CuPy's launch "
                                    f"takes (x,), (x, y) or (x, y, z)), not {value!r}")
        sizes = tuple(max(1, int(v)) for v in (value + (1, 1))[:3])  # CuPy's max(1, ...)
        for axis, size, limit in zip("xyz", sizes, limits, strict=True):
            if size > limit:
                self._refuse(f"{what}.{axis} = {size} is over CUDA's limit {limit} "
                             "(CUDA_ERROR_INVALID_VALUE)")
        return sizes

    def _argument(self, parameter, value):
        """The argument as the kernel would read it; refused where it would misread it."""
        where = f"parameter {parameter.declaration()}"
        if isinstance(value, numpy.ndarray) and value.size != 1:
            raise TypeError(f"You are trying to pass a numpy.ndarray of shape {value.shape} as a "
                            f"kernel parameter ({where})")
        if parameter.pointer:
            if isinstance(value, ndarray):
                if value.dtype != parameter.dtype:
                    self._refuse(f"{where} gets a {value.dtype} array: its elements would be "
                                 f"read as {parameter.ctype}")
                if not value.flags.c_contiguous:
                    self._refuse(f"{where} gets a strided view {value.strides}: the kernel reads "
                                 "dense memory from its first element")
                return value
            if value is None or (_c_dtype(value).itemsize == 8 and value == 0):
                return None  # a null pointer
            self._refuse(f"{where} gets {value!r}: only a device array, or a null pointer "
                         "(None, a 0 of 8 bytes) can stand for an address")
        if isinstance(value, ndarray):
            self._refuse(f"{where} gets a device array: its address would be read as the value")
        dtype = _c_dtype(value)
        if dtype != parameter.dtype:
            self._refuse(f"{where} gets {type(value).__name__} {value!r}, which CuPy passes as "
                         f"{dtype} ({dtype.itemsize} bytes): pass numpy.{parameter.dtype}(...)")
        return value

    def _check_memory(self, emulation, values):
        """Each pointer covers the elements the kernel indexes; no written __restrict__ pointer
        overlaps another one."""
        pairs = list(zip(self.parameters, values, strict=True))
        sizes = {p.name: int(v) for p, v in pairs if not p.pointer}
        for parameter, value in pairs:
            if not parameter.pointer:
                continue
            if value is None:
                if parameter.name not in emulation.nullable:
                    self._refuse(f"parameter {parameter.name} gets a null pointer, which the "
                                 "kernel dereferences")
                continue
            extent = emulation.extents[parameter.name]
            need = math.prod(int(sizes.get(factor, factor)) for factor in extent.split("*"))
            if value.size < need:
                self._refuse(f"parameter {parameter.name} holds {value.size} elements; the "
                             f"kernel indexes {need} ({extent})")
        arrays = [(p, v) for p, v in pairs if isinstance(v, ndarray)]
        for p, v in arrays:
            for q, w in arrays:
                if q is not p and not p.const and p.restrict and q.restrict and _overlap(v, w):
                    self._refuse(f"{p.name} and {q.name} share memory, but both are "
                                 f"__restrict__ and the kernel writes {p.name}")

    def _signature(self):
        return ", ".join(p.declaration() for p in self.parameters)

    def _refuse(self, message):
        raise KernelLaunchError(f"kernel {self.expression}: {message}")


def _c_dtype(value):
    """The C type CuPy passes a scalar as (cupy/_core/_scalar.pyx)."""
    if type(value) is bool:
        return numpy.dtype(numpy.bool_)
    if type(value) is int:
        return numpy.dtype(numpy.uint64 if value >= 2**63 else numpy.int64)
    if type(value) is float:
        return numpy.dtype(numpy.float64)
    return numpy.asarray(value).dtype


def _c_value(value):
    if isinstance(value, ndarray):
        return value._a.__array_interface__["data"][0]
    return None if value is None else numpy.asarray(value).item()


def _overlap(a, b):
    start_a, start_b = a.data.ptr, b.data.ptr
    return max(start_a, start_b) < min(start_a + a.nbytes, start_b + b.nbytes)


def _split_expression(expression):
    """"minivae::matmul<float,2>" -> ("matmul", ["float", "2"])."""
    head, _, arguments = expression.partition("<")
    name = head.split("::")[-1].strip()
    return name, [a.strip() for a in arguments.rstrip(">").split(",")] if arguments else []


def _template_values(template, arguments):
    """The emulation wrappers' leading arguments: is_double, then each int template argument."""
    values = []
    kinds = [p.split()[0] for p in template.split(",")] if template else []
    for kind, argument in zip(kinds, arguments, strict=True):
        values.append(int(argument == "double") if kind == "typename" else int(argument))
    return values


def _resolved_typedefs(code):
    aliases = {alias: " ".join(target.split()) for target, alias in _TYPEDEF.findall(code)}
    for alias, target in aliases.items():
        while target in aliases:
            target = aliases[target]
        yield alias, target


def _constants(code):
    constants = {}
    for name, expression in _CONSTANT.findall(code):
        try:
            constants[name] = _evaluate(expression, constants)
        except KeyError:  # a constant of a template (TILE = SIDE * PER_THREAD)
            continue
    return constants


def _evaluate(expression, constants):
    """An integer expression of literals and known constants (+ - * / and parentheses)."""
    tokens = re.findall(r"\w+|[-+*/()]", expression)
    text = " ".join(str(constants[t]) if t.isidentifier() else t for t in tokens)
    return int(eval(text, {"__builtins__": {}}))  # noqa: S307 - digits and operators only
