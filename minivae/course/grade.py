"""Grade a folder of handed-in notebooks: every exercise's check, run on what each one defines.

    python -m minivae.course.grade DIR [--timeout SECONDS]

A submission is an exercise notebook as a learner hands it in, a jupytext percent script (.py)
or a Jupyter notebook (.ipynb), anywhere under DIR: one folder per learner, or one file each
with the learner's name in it. For each one the grader starts a fresh Python process (so that an
answer that hangs or crashes stops only its own row), runs the top-level imports and the
function and class definitions of its code cells (nothing else: no training, no figures, so a
submission takes a second or two) and calls each exercise's check on the functions named in
`minivae.course.EXERCISES`, exactly as the notebook's check cells do. Which exercises a file
holds comes from its name, as the notebooks are named: 04_*.py holds the three of notebook 4; a
file named otherwise is graded on the exercises whose functions it defines.

It prints one row per submission and one column per exercise: right, not yet (a wrong answer),
not done (the blank), missing (a function the exercise needs is not defined), error (the
process failed or timed out) or . (not an exercise of that notebook); then, below the table,
what each check that was not right said, and any cell that could not be run.

The grader runs the learners' code with your permissions. The separate process is a time
limit, not a sandbox: grade submissions you would run yourself, or inside a container.
"""

import argparse
import ast
import json
import subprocess
import sys
from pathlib import Path

from minivae.course.exercises import EXERCISES

SUFFIXES = (".py", ".ipynb")
KEPT = (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


def code_cells(text, suffix):
    """The code cells of a notebook's text: a jupytext percent script or an .ipynb file."""
    if suffix == ".ipynb":
        cells = json.loads(text)["cells"]
        return ["".join(c["source"]) if isinstance(c["source"], list) else c["source"]
                for c in cells if c["cell_type"] == "code"]
    cells, current, is_code = [], [], True
    for line in text.split("\n"):
        if line.startswith("# %%"):
            if is_code:
                cells.append("\n".join(current))
            current, is_code = [], "[markdown]" not in line and "[md]" not in line
        else:
            current.append(line)
    if is_code:
        cells.append("\n".join(current))
    return cells


def run_definitions(cells, label):
    """A namespace holding every cell's imports and definitions, and what could not be run."""
    namespace, problems = {"__name__": "submission"}, []
    for index, cell in enumerate(cells):
        lines = ["# " + line if line.lstrip().startswith(("%", "!")) else line  # IPython magics
                 for line in cell.split("\n")]
        where = f"code cell {index}"
        try:
            tree = ast.parse("\n".join(lines), filename=f"{label}, {where}")
        except SyntaxError as error:
            problems.append(f"{where}: SyntaxError at line {error.lineno}: {error.msg}")
            continue
        kept = ast.Module(body=[node for node in tree.body if isinstance(node, KEPT)],
                          type_ignores=[])
        try:
            exec(compile(kept, f"{label}, {where}", "exec"), namespace)  # the learner's code
        except Exception as error:  # an import that fails, a default argument that raises
            problems.append(f"{where}: {type(error).__name__}: {error}")
    return namespace, problems


def expected_exercises(name, namespace):
    """The exercises of the notebook a file is named after; else those whose functions it has."""
    number = name[:2] if name[:2].isdigit() and name[2:3] == "_" else None
    if number and any(e.notebook == number for e in EXERCISES):
        return [e for e in EXERCISES if e.notebook == number]
    return [e for e in EXERCISES if any(f in namespace for f in e.functions)]


def grade_text(text, suffix, name="submission"):
    """{exercise name: (status, message)} for one submission's text, and the problems found."""
    namespace, problems = run_definitions(code_cells(text, suffix), name)
    results = {}
    for exercise in expected_exercises(name, namespace):
        absent = [f for f in exercise.functions if not callable(namespace.get(f))]
        if absent:
            results[exercise.name] = ("missing", f"{', '.join(absent)} not defined")
            continue
        verdict = exercise.check(*[namespace[f] for f in exercise.functions])
        results[exercise.name] = (verdict.status, verdict.message)
    return results, problems


def grade_in_subprocess(path, timeout):
    """grade_text of one file, run by a fresh Python; an "error" row if that fails."""
    command = [sys.executable, "-m", "minivae.course.grade", "--one", str(path)]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
        return json.loads(done.stdout)
    except subprocess.TimeoutExpired:
        why = f"timed out after {timeout} s (an answer that never returns?)"
    except json.JSONDecodeError:
        lines = (done.stderr.strip() or f"exit status {done.returncode}").split("\n")
        why = f"the grading process failed: {lines[-1]}"
    return {"results": {}, "problems": [why], "error": True}


def table(rows):
    """The results as text: one row per submission, one column per exercise, then messages."""
    names = [e.name for e in EXERCISES]
    header = ["submission", *names]
    body = []
    for submission, graded in rows:
        cells = [("error" if graded.get("error") else graded["results"].get(n, (".",))[0])
                 for n in names]
        body.append([submission, *cells])
    widths = [max(len(row[i]) for row in [header, *body]) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
             for row in [header, *body]]
    notes = []
    for submission, graded in rows:
        for name, (status, message) in graded["results"].items():
            what, _, why = message.partition("\n")
            if status == "not yet":  # the misconception too: what a teacher may want to discuss
                notes.append(f"{submission}, {name}: {what}\n    {why}")
            elif status != "right":
                notes.append(f"{submission}, {name}: {what}")
        notes += [f"{submission}: {problem}" for problem in graded["problems"]]
    return "\n".join(lines + ([""] + notes if notes else []))


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m minivae.course.grade",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("folder", nargs="?", help="the folder of submissions")
    parser.add_argument("--timeout", type=float, default=120, help="seconds per submission")
    parser.add_argument("--one", help=argparse.SUPPRESS)  # one file, as JSON: what a row runs
    args = parser.parse_args(argv)
    if args.one:
        path = Path(args.one)
        results, problems = grade_text(path.read_text(), path.suffix, path.name)
        print(json.dumps({"results": results, "problems": problems}))
        return 0
    if not args.folder:
        parser.error("name the folder of submissions")
    folder = Path(args.folder)
    files = sorted(p for p in folder.rglob("*") if p.suffix in SUFFIXES and p.is_file()
                   and ".ipynb_checkpoints" not in p.parts)
    if not files:
        print(f"no .py or .ipynb files under {folder}", file=sys.stderr)
        return 1
    rows = [(str(p.relative_to(folder)), grade_in_subprocess(p, args.timeout)) for p in files]
    print(table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
