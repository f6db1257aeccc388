"""Every op's hand-written backward agrees with central differences, on shapes from hypothesis."""

import pytest
from conftest import HypothesisPicker
from hypothesis import given, settings
from hypothesis import strategies as st

from minivae.catalog import CASES
from minivae.gradcheck import gradcheck


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.name)
@settings(max_examples=100, deadline=None)
@given(data=st.data())
def test_backward_matches_finite_differences(case, data):
    inputs = case.draw(HypothesisPicker(data))
    report = gradcheck(case.call, inputs, name=case.name, tol=1e-6)
    assert report.passed, str(report)
