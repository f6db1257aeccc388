"""Grade a folder of handed-in notebooks: every exercise's check, decided where no submission runs.

    python -m minivae.course.grade DIR [--timeout SECONDS] [--cases FILE]

A submission is an exercise notebook as a learner hands it in, a jupytext percent script (.py)
or a Jupyter notebook (.ipynb), anywhere under DIR: one folder per learner, or one file each
with the learner's name in it. Which exercises a file holds comes from its name, as the
notebooks are named: 05_*.py holds the three of notebook 5; a file named otherwise is graded on
the exercises whose functions it defines.

For each exercise of each submission the grader

1. reads the notebook (it runs nothing of it) and plans the statements the exercise's functions
   need, as they stand above its check cell: their definitions, and the constants, helpers,
   lambdas, partials and imports those use (`minivae.course.submission`), so that the grader
   and the notebook's check cell see the same functions, without the notebook's training;
2. starts a worker process that runs those statements and nothing else, and calls the learner's
   functions on the inputs the check sends it, returning the arrays they return
   (`minivae.course.worker`);
3. runs the exercise's check here, in the grader's process, exactly as the notebook's check
   cell runs it: the inputs, the expected values and the verdict never enter the worker, so a
   submission cannot print a verdict or replace the check. A function that runs minivae's own
   code (the implementation it was meant to write) is "flagged".

It prints one row per submission and one column per exercise: right, not yet (a wrong answer),
not done (the blank), flagged (it ran minivae's own code), missing (a function the exercise
needs is not defined), error (the worker failed or timed out), skipped (an optional exercise
left blank, which costs nothing) or . (not an exercise of that notebook); then, below the
table, what each check that was not right said, and any statement that could not be run.

The worker runs the learners' code with your permissions. It is a separate process, not a
sandbox: grade submissions you would run yourself, or inside a container (docs/teachers_guide.md
lists what the grader cannot prevent).
"""

import argparse
import os
import sys
from pathlib import Path

from minivae.course.cases import ENVIRONMENT
from minivae.course.exercises import EXERCISES
from minivae.course.remote import Worker, WorkerFailed
from minivae.course.submission import code_cells, parse, plan, touched
from minivae.errors import MinivaeError

SUFFIXES = (".py", ".ipynb")
TIMEOUT = 60  # seconds for one exercise of one submission: its statements and every call


def expected_exercises(name, parsed):
    """The exercises of the notebook a file is named after; else those whose functions it has."""
    number = name[:2] if name[:2].isdigit() and name[2:3] == "_" else None
    if number and any(e.notebook == number for e in EXERCISES):
        return [e for e in EXERCISES if e.notebook == number]
    names = {name for tree in parsed.trees for node in tree.body for name in touched(node)}
    return [e for e in EXERCISES if names & set(e.functions)]


def grade_exercise(exercise, parsed, timeout=TIMEOUT):
    """(status, message) of one exercise of a submission's Parsed cells, and the problems its
    statements met when the worker ran them."""
    planned = plan(parsed, exercise.functions, exercise.check.__name__)
    try:
        with Worker(planned, exercise.functions, timeout) as worker:
            absent = [f for f, remote in worker.functions.items() if remote is None]
            if absent:
                return ("missing", f"{', '.join(absent)} not defined"), worker.problems
            verdict = exercise.check(*(worker.functions[f] for f in exercise.functions))
            return (verdict.status, verdict.message), worker.problems
    except WorkerFailed as failed:
        return ("error", str(failed)), []


def grade_text(text, suffix, name="submission", timeout=TIMEOUT):
    """{exercise name: (status, message)} for one submission's text, and the problems found."""
    try:
        parsed = parse(code_cells(text, suffix))
    except (ValueError, KeyError, TypeError) as error:  # an .ipynb that is not a notebook
        return {}, [f"not a notebook: {type(error).__name__}: {error}"]
    results, problems = {}, list(parsed.problems)
    for exercise in expected_exercises(name, parsed):
        results[exercise.name], found = grade_exercise(exercise, parsed, timeout)
        problems += [p for p in found if p not in problems]
    return results, problems


def shown(exercise, results):
    """An exercise's cell of the table: its status; "skipped" for an optional one left blank."""
    status = results.get(exercise.name, (".",))[0]
    return "skipped" if exercise.optional and status == "not done" else status


def table(rows):
    """The results as text: one row per submission, one column per exercise, then messages."""
    optional = {e.name for e in EXERCISES if e.optional}
    header = ["submission", *(e.name + " (optional)" * e.optional for e in EXERCISES)]
    body = [[submission, *(shown(e, results) for e in EXERCISES)]
            for submission, (results, _) in rows]
    widths = [max(len(row[i]) for row in [header, *body]) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
             for row in [header, *body]]
    notes = []
    for submission, (results, problems) in rows:
        for name, (status, message) in results.items():
            what, _, why = message.partition("\n")
            if status in ("not yet", "flagged"):  # with the reason: what a teacher may discuss
                notes.append(f"{submission}, {name}: {what}\n    {why}")
            elif status != "right" and not (name in optional and status == "not done"):
                notes.append(f"{submission}, {name}: {what}")
        notes += [f"{submission}: {problem}" for problem in problems]
    return "\n".join(lines + ([""] + notes if notes else []))


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m minivae.course.grade",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("folder", help="the folder of submissions")
    parser.add_argument("--timeout", type=float, default=TIMEOUT,
                        help="seconds for one exercise of one submission")
    parser.add_argument("--cases", help="the teacher's JSON file of extra inputs (default: "
                        f"${ENVIRONMENT}, else ./minivae_cases.json if there is one)")
    args = parser.parse_args(argv)
    if args.cases:
        os.environ[ENVIRONMENT] = args.cases
    folder = Path(args.folder)
    files = sorted(p for p in folder.rglob("*") if p.suffix in SUFFIXES and p.is_file()
                   and ".ipynb_checkpoints" not in p.parts)
    if not files:
        print(f"no .py or .ipynb files under {folder}", file=sys.stderr)
        return 1
    try:
        rows = [(str(p.relative_to(folder)), grade_text(p.read_text(), p.suffix, p.name,
                                                         args.timeout)) for p in files]
    except MinivaeError as error:  # the teacher's cases file: one line, what to mend
        print(f"grade: {error}", file=sys.stderr)
        return 2
    print(table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
