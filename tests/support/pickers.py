"""A hypothesis-driven Picker for the gradient-check cases."""

import hypothesis.strategies as st

from minivae.ops.gradcheck_cases import Picker


class HypothesisPicker(Picker):
    """Every size and the value seed come from hypothesis, so failures shrink to small shapes."""

    def __init__(self, data):
        self._data = data

    def integer(self, low, high):
        return self._data.draw(st.integers(low, high))
