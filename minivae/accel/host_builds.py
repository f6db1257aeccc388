"""The GPU code without a GPU: kernels/ built for the CPU and called through ctypes.

    lib = host_library()        # nvcc: sample_kl.cuh's __host__ __device__ math, for the CPU
    lib.philox(counters, keys)  # Philox4x32-10 words, to compare with minivae.rng.philox4x32
    emu = emulated_kernels()    # g++ -std=c++20: sample_kl.cu's __global__ kernels, each CUDA
    z, kl = emu.forward(mu, logvar, seed, stream)  # thread a host thread (host/emulate.hpp)
    mm = emulated_matmul()      # g++: matmul.cu's and column_sum.cu's kernels, the same way
    c = mm.matmul(a, b, transpose_b=True, tile=32)

Each library is built by `native.build_library` into a cache folder named by the hash of its
source text (headers pasted in) and of the compiler command, so an edited header always builds
a new library and a stale one is never loaded. The tests (tests/accel/) compare both with the
NumPy reference; docs/cuda.md says what each comparison proves. Needs no CuPy and no GPU.
"""

import numpy

from minivae.accel import launches, native, sample_kl
from minivae.accel import matmul as matmul_launcher
from minivae.errors import MinivaeError

# -ffp-contract=off: the host compiler must not fuse a * b + c either (x86-64 builds do not by
# default; other hosts might). nvcc links its static CUDA runtime, which registers the library's
# (empty) device code on loading and needs no GPU for that.
HOST_COMMAND = (
    "nvcc",
    "-shared",
    "-Xcompiler",
    "-fPIC",
    "-Xcompiler",
    "-ffp-contract=off",
    "-O2",
    "-std=c++17",
)
EMULATED_COMMAND = ("g++", "-std=c++20", "-O2", "-ffp-contract=off", "-shared", "-fPIC", "-pthread")


def host_library(cache_dir=None, root=None):
    """kernels/host/sample_kl_host.cu built with nvcc and loaded: a HostLibrary."""
    path = native.build_library("host/sample_kl_host.cu", HOST_COMMAND, cache_dir, root)
    return HostLibrary(path)


def emulated_kernels(cache_dir=None, root=None):
    """kernels/host/sample_kl_emulated.cpp built with g++ and loaded: an EmulatedKernels."""
    path = native.build_library("host/sample_kl_emulated.cpp", EMULATED_COMMAND, cache_dir, root)
    return EmulatedKernels(path)


def emulated_matmul(cache_dir=None, root=None):
    """kernels/host/matmul_emulated.cpp built with g++ and loaded: an EmulatedMatmul."""
    path = native.build_library("host/matmul_emulated.cpp", EMULATED_COMMAND, cache_dir, root)
    return EmulatedMatmul(path)


# The C signatures, in native.load's letters (i int, I unsigned int, q int64, Q uint64,
# P a pointer).
_SIGNATURES = {
    "minivae_philox": "PPqP",
    "minivae_normals": "iQQqqP",
    "minivae_forward_elements": "iPPPqPP",
    "minivae_backward_elements": "iPPPPPqPP",
    "minivae_emulated_forward": "iPPPqqIiPP",
    "minivae_emulated_backward": "iPPPPPqqIPP",
    "minivae_emulated_matmul": "iiPPPqqqiiIP",
    "minivae_emulated_column_sum": "iPqqIP",
}
_EMULATED_SAMPLE_KL = ("minivae_emulated_forward", "minivae_emulated_backward")
_EMULATED_MATMUL = ("minivae_emulated_matmul", "minivae_emulated_column_sum")


def _load(path, names):
    """The library at `path`, its functions `names` given their signatures."""
    return native.load(path, {name: _SIGNATURES[name] for name in names})


def _addresses(op, shape, **arrays):
    """The arrays' addresses, once checked as the GPU launchers check theirs (ctypes checks
    nothing either): one dtype, C-contiguous, each of `shape` (a dict for exceptions)."""
    shapes = shape if isinstance(shape, dict) else {}
    operands = [(n, a, shapes.get(n, shape)) for n, a in arrays.items()]
    launches.check_operands(op, operands, numpy.ndarray)
    return [array.ctypes.data for array in arrays.values()]


def _poisoned(shape, dtype):
    """An output buffer full of NaN, so an element the code forgets to write shows up."""
    return numpy.full(shape, numpy.nan, dtype=dtype)


def _is_double(array):
    return int(array.dtype == numpy.float64)


class KernelLibrary:
    """A built library of kernels/host/, its C functions `names` loaded with their signatures."""

    def __init__(self, path, names):
        self.path = path
        self._lib = _load(path, names)

    def function(self, name):
        """The C function `name`, to call with addresses and integers (the tests' CuPy stand-in
        launches the emulated kernels this way, with the grids it is given)."""
        return getattr(self._lib, name)


class HostLibrary(KernelLibrary):
    """sample_kl.cuh's functions on NumPy arrays, each a loop over elements on the CPU."""

    def __init__(self, path):
        super().__init__(path, [n for n in _SIGNATURES if not n.startswith("minivae_emulated")])

    def philox(self, counters, keys):
        """Philox4x32-10: counters (n, 4) and keys (n, 2), uint32 -> words (n, 4), uint32."""
        counters = numpy.ascontiguousarray(counters, dtype=numpy.uint32)
        keys = numpy.ascontiguousarray(keys, dtype=numpy.uint32)
        n = len(counters)
        if counters.shape != (n, 4) or keys.shape != (n, 2):
            shapes = f"counters {counters.shape}, keys {keys.shape}"
            raise MinivaeError(f"philox: {shapes}: need (n, 4) and (n, 2)")
        words = numpy.zeros((n, 4), dtype=numpy.uint32)
        self._lib.minivae_philox(counters.ctypes.data, keys.ctypes.data, n, words.ctypes.data)
        return words

    def normals(self, shape, seed, stream, dtype):
        """counter_normal(numpy, shape, seed, stream, dtype) for a (rows, length) shape."""
        rows, length = shape
        out = _poisoned(shape, dtype)
        self._lib.minivae_normals(_is_double(out), seed, stream, rows, length, out.ctypes.data)
        return out

    def forward_elements(self, mu, logvar, eps):
        """(z, kl_term) of forward_element, elementwise, for arrays of one shape."""
        z, kl_term = _poisoned(mu.shape, mu.dtype), _poisoned(mu.shape, mu.dtype)
        *inputs, z_at, kl_term_at = _addresses(
            "forward_elements", mu.shape, mu=mu, logvar=logvar, eps=eps, z=z, kl_term=kl_term
        )
        self._lib.minivae_forward_elements(_is_double(mu), *inputs, mu.size, z_at, kl_term_at)
        return z, kl_term

    def backward_elements(self, mu, logvar, eps, gz, gk):
        """(dmu, dlogvar) of backward_element; gk of the same shape as mu (one per element)."""
        dmu, dlogvar = _poisoned(mu.shape, mu.dtype), _poisoned(mu.shape, mu.dtype)
        *inputs, dmu_at, dlogvar_at = _addresses(
            "backward_elements", mu.shape, mu=mu, logvar=logvar, eps=eps, gz=gz, gk=gk,
            dmu=dmu, dlogvar=dlogvar,
        )
        self._lib.minivae_backward_elements(_is_double(mu), *inputs, mu.size, dmu_at, dlogvar_at)
        return dmu, dlogvar


class EmulatedKernels(KernelLibrary):
    """sample_kl.cu's kernels on NumPy arrays, launched with the grids of sample_kl.forward_launch
    and backward_launch.

    max_blocks caps the grid as MAX_BLOCKS does on the GPU; the tests pass a small cap, which
    keeps the host threads few and makes the grid-stride loops go round. Outputs start as NaN.
    """

    def __init__(self, path):
        super().__init__(path, _EMULATED_SAMPLE_KL)

    def forward(self, mu, logvar, seed, stream, max_blocks=4, threads_per_row=None):
        """(z, kl) of the forward kernel.

        threads_per_row: a row's team size in place of forward_launch's choice (a power of two
        up to BLOCK_THREADS), to show the reduction right for any team.
        """
        rows, length = sample_kl.latent_shape("emulated forward", mu)
        z, kl = _poisoned((rows, length), mu.dtype), _poisoned((rows,), mu.dtype)
        shapes = {"mu": mu.shape, "logvar": mu.shape, "z": mu.shape, "kl": (rows,)}
        addresses = _addresses("emulated forward", shapes, mu=mu, logvar=logvar, z=z, kl=kl)
        grid, chosen = sample_kl.forward_launch(rows, length, max_blocks)
        counter = numpy.array([seed, stream], dtype=numpy.uint64)  # the device array's twin
        self._lib.minivae_emulated_forward(
            _is_double(mu), *addresses[:2], counter.ctypes.data, rows, length, grid,
            threads_per_row or chosen, *addresses[2:],
        )
        return z, kl

    def backward(self, mu, logvar, gz, gk, seed, stream, max_blocks=4):
        """(dmu, dlogvar) of the backward kernel."""
        rows, length = sample_kl.latent_shape("emulated backward", mu)
        dmu, dlogvar = _poisoned(mu.shape, mu.dtype), _poisoned(mu.shape, mu.dtype)
        shapes = {n: mu.shape for n in ("mu", "logvar", "gz", "dmu", "dlogvar")} | {"gk": (rows,)}
        addresses = _addresses(
            "emulated backward", shapes, mu=mu, logvar=logvar, gz=gz, gk=gk, dmu=dmu,
            dlogvar=dlogvar,
        )
        counter = numpy.array([seed, stream], dtype=numpy.uint64)
        self._lib.minivae_emulated_backward(
            _is_double(mu), *addresses[:4], counter.ctypes.data, rows, length,
            sample_kl.backward_launch(rows, length, max_blocks), *addresses[4:],
        )
        return dmu, dlogvar


class EmulatedMatmul(KernelLibrary):
    """matmul.cu's and column_sum.cu's kernels on NumPy arrays, with accel.matmul's grids and the
    GPU launchers' checks. Outputs start as NaN, so an element no thread writes shows up."""

    def __init__(self, path):
        super().__init__(path, _EMULATED_MATMUL)

    def matmul(self, a, b, transpose_a=False, transpose_b=False, bias=None, *, tile):
        """C = op(A) op(B) (+ bias) by the kernel with 32 x 32 or 64 x 64 tiles (`tile`)."""
        op = "emulated matmul"
        m, k, n = matmul_launcher.product_shape(op, a, b, transpose_a, transpose_b)
        launches.check_operands(op, matmul_launcher.product_operands(a, b, bias, n), numpy.ndarray)
        c = _poisoned((m, n), a.dtype)
        grid = matmul_launcher.matmul_grid(m, n, matmul_launcher.check_tile(tile))
        if grid:
            self._lib.minivae_emulated_matmul(
                _is_double(a), tile // matmul_launcher.SIDE, a.ctypes.data, b.ctypes.data,
                None if bias is None else bias.ctypes.data, m, n, k, int(transpose_a),
                int(transpose_b), grid, c.ctypes.data,
            )
        return c

    def column_sum(self, g, max_blocks=2):
        """out[j] = sum_i g[i, j]; max_blocks caps the grid, so the grid-stride loop goes round."""
        op = "emulated column_sum"
        launches.check_operands(op, [("g", g, getattr(g, "shape", None))], numpy.ndarray)
        rows, cols = g.shape
        out = _poisoned((cols,), g.dtype)
        grid = matmul_launcher.column_sum_grid(cols, max_blocks)
        if grid:
            self._lib.minivae_emulated_column_sum(_is_double(g), g.ctypes.data, rows, cols, grid,
                                                  out.ctypes.data)
        return out
