"""docs/cuda.md's bounds for the fused kernels are derived from the maths functions' documented
errors (CUDA's programming guide, NumPy's accuracy tests), not from a measurement: the table the
tests read must be what that derivation gives (tests/support/agreement.py repeats the docs'
arithmetic), so an edit to either is caught."""

from support.agreement import bounds, derived_bounds, documented_ulps


def test_the_table_is_the_derivation_from_the_documented_ulp_errors():
    derived = derived_bounds()
    assert {output: bounds()[output] for output in derived} == derived


def test_the_derivation_reads_the_documented_errors():
    assert documented_ulps() == {"exp32": (2, 3), "exp64": (1, 1), "log64": (1, 1),
                                 "trig64": (2, 1)}
