"""A meta-test: every op that exists is gradient-checked, because it is listed in the catalog."""

import inspect

from minivae import ops
from minivae.catalog import CASES
from minivae.function import Function


def all_op_functions():
    found = set()
    for module in (getattr(ops, name) for name in dir(ops)):
        if inspect.ismodule(module) and module.__name__.startswith("minivae.ops."):
            for _, obj in inspect.getmembers(module, inspect.isclass):
                if issubclass(obj, Function) and obj is not Function:
                    found.add(obj)
    return found


def test_every_op_is_covered_by_a_gradient_case():
    covered = {function for case in CASES for function in case.functions}
    missing = sorted(f.__name__ for f in all_op_functions() - covered)
    assert not missing, f"ops with no gradient check in minivae.catalog.CASES: {missing}"


def test_every_public_op_is_called_by_a_case():
    names = {case.name for case in CASES}
    assert set(ops.__all__) <= names, sorted(set(ops.__all__) - names)


def test_meta_test_finds_the_op_families():
    assert len(all_op_functions()) >= len(ops.__all__)
