"""How closely the kernels must agree with NumPy: read from docs/cuda.md, which states it once.

The tables "What is equal and what only close" (sample_kl) and "Matrix products: what is equal
and what only close" give, for each output and dtype, one of
    equal      bit for bit
    N ulp      at most N units in the last place apart
    c = N      |kernel - numpy| <= N * machine epsilon * scale, elementwise,
with each output's scale defined below (and in the docs): the sizes of what went into it, so a
bound holds where the result itself cancels to nearly 0.
"""

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
