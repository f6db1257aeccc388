"""Every op's hand-written backward agrees with central differences, on shapes from hypothesis.

Ops with a fast form are checked in both forms: the plain one inside plain_forms(), the fast one
as it runs by default."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from support.pickers import HypothesisPicker

from minivae.engine.gradcheck import gradcheck
from minivae.ops.gradcheck_cases import CASES, forms, running

CASE_FORMS = [(case, form) for case in CASES for form in forms(case.function)]


@pytest.mark.parametrize(
    "case, form", CASE_FORMS, ids=[f"{c.name}-{f.label}" for c, f in CASE_FORMS]
)
@settings(max_examples=100, deadline=None)
@given(data=st.data())
def test_backward_matches_finite_differences(case, form, data):
    inputs = case.draw(HypothesisPicker(data))
    with running(form.label):
        report = gradcheck(case.call, inputs, name=f"{case.name} ({form.label})", tol=1e-6)
    assert report.passed, str(report)
