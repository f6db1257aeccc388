"""The grader's worker: the only process that runs a submission's code.

    python -m minivae.course.worker      (started by minivae.course.remote, never by hand)

It reads a `submission.Plan` from the grader, runs the planned statements of the submission's cells
in a fresh namespace, as a notebook would (`__name__` is "__main__"), says which of the exercise's
functions they defined and with which parameters, then answers calls: for each one, `invoke` the
named function on the given arguments and send back its Outcome, plain values and nothing else. An
argument the grader describes as a `built.Built` (a model, an optimizer) is built here by `invoke`,
and comes back read as plain values (its parameters, gradients, state). It never sees a check, an
expected value or a verdict: the grader keeps those.

Messages travel on the pipes that were its stdin and stdout (`minivae.course.wire`); the
submission's own prints go to stderr, which the grader keeps for its messages, and its stdin
reads nothing.
"""

import ast
import os
import sys

from minivae.course import wire
from minivae.course.invoke import invoke, parameters


def protocol_streams():
    """(requests, replies): the pipes of stdin and stdout, moved out of the submission's way."""
    requests = os.fdopen(os.dup(0), "rb")
    replies = os.fdopen(os.dup(1), "wb")
    nothing = os.open(os.devnull, os.O_RDONLY)
    os.dup2(nothing, 0)
    os.dup2(2, 1)  # what the submission prints, from Python or C, goes to stderr
    sys.stdin, sys.stdout = open(os.devnull), sys.stderr
    return requests, replies


def run_plan(setup, namespace):
    """Run the planned statements; the problems, as "code cell 3: NameError: ..."."""
    problems = []
    cells = setup["cells"]
    for index, statements in setup["run"]:
        where, source = cells[index]
        body = ast.parse(source).body
        for j in statements:
            code = compile(ast.Module(body=[body[j]], type_ignores=[]), where, "exec")
            try:
                exec(code, namespace)  # the learner's code: this process exists to run it
            except (Exception, SystemExit) as error:
                problems.append(f"{where}: {type(error).__name__}: {error}")
    return problems


def described(value):
    """What the grader learns of a name: None if it is not callable, else its parameters."""
    if not callable(value):
        return None
    return {"parameters": parameters(value)}


def main():
    requests, replies = protocol_streams()
    setup = wire.receive(requests)
    namespace = {"__name__": "__main__"}
    problems = run_plan(setup, namespace)
    wire.send(replies, {"problems": problems,
                        "functions": {name: described(namespace.get(name))
                                      for name in setup["functions"]}})
    while (request := wire.receive(requests)) is not None:
        outcome = invoke(namespace[request["function"]], request["args"],
                         request.get("backward"))
        wire.send(replies, {"result": outcome.result, "error": outcome.error,
                            "mutated": outcome.mutated, "ran": outcome.ran,
                            "profiler_replaced": outcome.profiler_replaced,
                            "built": outcome.built, "backward": outcome.backward,
                            "strays": outcome.strays})
    return 0


if __name__ == "__main__":
    sys.exit(main())
