"""How closely the kernels must agree with NumPy: read from docs/cuda.md, which states it once.

The tables "What is equal and what only close" (sample_kl) and "Matrix products: what is equal
and what only close" give, for each output and dtype, one of
    equal      bit for bit
    N ulp      at most N units in the last place apart
    c = N      |kernel - numpy| <= N * machine epsilon * scale, elementwise,
with each output's scale defined below (and in the docs): the sizes of what went into it, so a
bound holds where the result itself cancels to nearly 0.
"""

import math
import pathlib
import re

import numpy as np

DOCS = pathlib.Path(__file__).resolve().parents[2] / "docs" / "cuda.md"
TABLES = {  # a section of docs/cuda.md -> {a row's first cell: the output's name in the tests}
    "What is equal and what only close": {
        "Philox words": "words",
        "eps": "eps",
        "z": "z",
        "kl": "kl",
        "dmu": "dmu",
        "dlogvar": "dlogvar",
    },
    "Matrix products: what is equal and what only close": {
        "C, against the sum in order": "matmul in order",
        "C, against a BLAS": "matmul",
        "column sums, against the sum in order": "column_sum in order",
        "column sums, against a BLAS": "column_sum",
    },
}


def bounds():
    """{output: {"float32": spec, "float64": spec}} from the docs' tables; spec as above."""
    text = DOCS.read_text()
    found = {}
    for heading, rows in TABLES.items():
        section = text.split(f"\n## {heading}\n", 1)[1].split("\n## ", 1)[0]
        for line in section.splitlines():
            cells = [c.strip().strip("`") for c in line.strip().strip("|").split("|")]
            if len(cells) >= 3 and cells[0] in rows:
                found[rows[cells[0]]] = {"float32": cells[1], "float64": cells[2]}
    wanted = {name for rows in TABLES.values() for name in rows.values()}
    assert set(found) == wanted, f"docs/cuda.md's tables lack rows: {wanted - set(found)}"
    return found


FUNCTIONS = {  # a row of docs/cuda.md's table of maths functions -> the names used below
    "`exp`, float32 (`expf`)": "exp32", "`exp`, float64": "exp64", "`log`, float64": "log64",
    "`sin`, `cos`, float64": "trig64",
}
SUM_DEPTH = 24  # the most additions on one path of either order of a row's KL sum, L <= 4096


def documented_ulps():
    """{function: (GPU, NumPy)}: the ulp errors docs/cuda.md's "Where the bounds come from"
    states for CUDA's and NumPy's maths functions."""
    section = DOCS.read_text().split("\n## Where the bounds come from\n", 1)[1]
    found = {}
    for line in section.split("\n\n")[1].splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if cells[0] in FUNCTIONS:
            found[FUNCTIONS[cells[0]]] = (int(cells[1]), int(cells[2]))
    missing = set(FUNCTIONS.values()) - set(found)
    assert not missing, f"docs/cuda.md's table of maths functions lacks {missing}"
    return found


def derived_bounds():
    """The sample-KL table's bounds as docs/cuda.md derives them from `documented_ulps`: every
    error on the GPU's way and on NumPy's added, in epsilons of the output's scale."""
    ulps = documented_ulps()

    def both(error):  # error(side): one side's relative error, in epsilons; side 0 GPU, 1 NumPy
        return error(0) + error(1)

    def function(name):  # k ulp of the correctly rounded value: k + 1/2 of the exact one
        return lambda side: ulps[name][side] + 0.5

    log, trig = function("log64"), function("trig64")
    eps64 = both(lambda side: log(side) / 2 + 0.5 + trig(side) + 0.5)  # log, sqrt, cos, product
    eps = {"float32": 1, "float64": eps64}  # float32: the same double rounded, 1 ulp at most
    sigma = {"float32": both(function("exp32")), "float64": both(function("exp64"))}
    bounds = {"words": {"float32": "equal", "float64": "equal"},
              "dmu": {"float32": "equal", "float64": "equal"},
              "eps": {"float32": "1 ulp", "float64": f"{math.ceil(2 * eps64)} ulp"}}
    for dtype in ("float32", "float64"):
        var = 2 * sigma[dtype] + 1  # sigma * sigma: twice sigma's error, a rounding a side
        spread = {
            "z": max(sigma[dtype] + eps[dtype] + 1, 1),  # of |sigma eps|; the sum's, of |z|
            "dlogvar": max(eps[dtype] + sigma[dtype] + 2, var + 2) + 1,
            "kl": var + 3 + SUM_DEPTH,  # the terms' roundings, then the two orders of the sum
        }
        for output, c in spread.items():
            bounds.setdefault(output, {})[dtype] = f"c = {math.ceil(c)}"
    return bounds


def ulp_distance(a, b):
    """How many representable numbers apart a and b are, elementwise (same dtype)."""
    a, b = np.ascontiguousarray(a), np.ascontiguousarray(b)
    signed = {4: np.int32, 8: np.int64}[a.dtype.itemsize]

    def ordered(x):  # the bit patterns of floats, made monotonic across the sign
        bits = x.view(signed).astype(np.int64)
        return np.where(bits < 0, np.iinfo(signed).min - bits, bits)

    return np.abs(ordered(a) - ordered(b))


def scales(mu, logvar, eps, gz=None, gk=None):
    """The scale of each output (float64), from the inputs: see the docs."""
    mu, logvar, eps = (np.asarray(v, np.float64) for v in (mu, logvar, eps))
    sigma = np.exp(logvar / 2)
    out = {
        "z": np.abs(mu + sigma * eps) + np.abs(sigma * eps),
        "kl": 0.5 * (mu**2 + sigma**2 + 1 + np.abs(logvar)).sum(axis=1),
    }
    if gz is not None:
        gz, gk = np.asarray(gz, np.float64), np.asarray(gk, np.float64)[:, None]
        out["dlogvar"] = np.abs(gz * eps * sigma / 2) + np.abs(gk * (sigma**2 + 1) / 2)
    return out


def product_scale(op_a, op_b, bias=None):
    """C's scale (M, N): K (sum_k |op(A)[i, k]| |op(B)[k, j]| + |bias_j|), in float64."""
    op_a, op_b = (np.abs(np.asarray(x, np.float64)) for x in (op_a, op_b))
    size = op_a @ op_b + (0 if bias is None else np.abs(np.asarray(bias, np.float64)))
    return max(op_a.shape[1], 1) * size


def column_sum_scale(g):
    """The column sums' scale (O,): B sum_i |g_ij|, in float64."""
    g = np.abs(np.asarray(g, np.float64))
    return max(g.shape[0], 1) * g.sum(axis=0)


def assert_agrees(output, actual, expected, scale=None):
    """Assert the docs' bound for `output` at actual's dtype; returns the measured figure."""
    spec = bounds()[output][np.dtype(actual.dtype).name]
    assert actual.dtype == expected.dtype and actual.shape == expected.shape
    if spec == "equal":
        np.testing.assert_array_equal(actual, expected, err_msg=output)
        return 0
    if spec.endswith("ulp"):
        worst = int(ulp_distance(actual, expected).max(initial=0))
        assert worst <= int(spec.split()[0]), f"{output}: {worst} ulp apart, bound {spec}"
        return worst
    c = float(re.fullmatch(r"c = (\d+)", spec)[1])
    measured = np.abs(actual.astype(np.float64) - expected) / (np.finfo(actual.dtype).eps * scale)
    worst = float(measured.max(initial=0))
    assert worst <= c, f"{output}: {worst:.2f} epsilon times its scale apart, bound {spec}"
    return worst
