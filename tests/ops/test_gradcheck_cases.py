"""A meta-test: every op that exists is gradient-checked, because a case really calls it.

Each case is run in each of its forms, and the Function classes that appear in the graph it
builds are collected: a case counts as covering an op only if that op's class ran.
"""

import inspect

from minivae import Tensor, ops
from minivae.engine.function import Function
from minivae.ops.gradcheck_cases import CASES, RandomPicker, forms, running


def all_op_functions():
    """Every Function class in minivae.ops that runs on NumPy: plain forms and NumPy fast forms."""
    found = set()
    for module in (getattr(ops, name) for name in dir(ops)):
        if inspect.ismodule(module) and module.__name__.startswith("minivae.ops."):
            for _, obj in inspect.getmembers(module, inspect.isclass):
                if issubclass(obj, Function) and obj is not Function:
                    found.add(obj)
    other_backends = {
        form for f in found for name, form in f.fast_forms.items() if name != "numpy"
    }
    return found - other_backends


def functions_in_graph(outputs):
    """The Function classes of every node that produced `outputs`, walking back to the leaves."""
    outputs = outputs if isinstance(outputs, tuple) else (outputs,)
    seen, stack = set(), [t._node for t in outputs if t._node is not None]
    while stack:
        node = stack.pop()
        if node in seen:
            continue
        seen.add(node)
        stack += [t._node for t in node.inputs if t._node is not None]
    return {node.function for node in seen}


def run_case(case, form, seed=0):
    inputs = [Tensor(v, requires_grad=True) if hasattr(v, "dtype") and v.dtype.kind == "f" else v
              for v in case.draw(RandomPicker(seed))]
    with running(form.label):
        return functions_in_graph(case.call(*inputs))


def test_each_case_runs_its_own_op_in_each_form():
    for case in CASES:
        for form in forms(case.function):
            ran = run_case(case, form)
            assert form.function in ran, (
                f"case {case.name!r} ({form.label}) names {form.function.__name__} but its call "
                f"ran {sorted(f.__name__ for f in ran)}"
            )


def test_every_op_is_covered_by_a_gradient_case():
    covered = set()
    for case in CASES:
        for form in forms(case.function):
            covered |= run_case(case, form)
    missing = sorted(f.__name__ for f in all_op_functions() - covered)
    assert not missing, f"ops with no gradient check in ops.gradcheck_cases.CASES: {missing}"


def test_every_public_op_is_called_by_a_case():
    names = {case.name for case in CASES}
    assert set(ops.__all__) <= names, sorted(set(ops.__all__) - names)


def test_meta_test_finds_the_op_families_and_the_fast_forms():
    found = all_op_functions()
    assert len(found) >= len(ops.__all__)
    assert ops.likelihoods.BernoulliNLLNumPy in found


def test_each_op_names_the_case_that_checks_it():
    """A reader of an op finds its check: the Function's docstring names its case."""
    for case in CASES:
        note = f'Gradient-checked: case "{case.name}" in ops/gradcheck_cases.py.'
        assert note in case.function.__doc__, f"{case.function.__name__} does not say: {note}"
