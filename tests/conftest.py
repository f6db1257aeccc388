"""What every test shares: a data search the suite controls, and the `cupy` fixture.

MINIVAE_HIDE_INSTALLED_DATA is removed from each test's environment: a person who set it in
their shell would otherwise change what the data tests find; the tests that hide the data (the
notebooks run both ways, tests/data/test_sources.py) set it themselves.

The `cupy` fixture of the GPU tests: each runs twice, on the real GPU where there is one
(marked `gpu`: the GPU check selects these with `-m gpu`; skipped, saying why, elsewhere) and
on the CuPy stand-in of tests/support/cupy_stand_in, everywhere, CI included. The stand-in is a
test aid that catches launch, capture and stream-order mistakes before the rare GPU run; it is
never a substitute for that run (its docstring says what it cannot show)."""

import pytest
from support import cupy_stand_in

from minivae import backend


@pytest.fixture(autouse=True)
def data_search_as_installed(monkeypatch):
    monkeypatch.delenv("MINIVAE_HIDE_INSTALLED_DATA", raising=False)


ON_THE_GPU = pytest.param("gpu", marks=[
    pytest.mark.gpu,
    pytest.mark.skipif(backend.why_no_gpu() is not None, reason=f"no GPU: {backend.why_no_gpu()}"),
])


@pytest.fixture(params=["stand_in", ON_THE_GPU])
def cupy(request, monkeypatch):
    """CuPy as minivae sees it (backend.cupy): the real one on a GPU, or the stand-in."""
    if request.param == "gpu":
        yield backend.cupy
        return
    yield cupy_stand_in.install(monkeypatch)
    cupy_stand_in.forget_compiled()
