"""The course as an nbgrader course directory, made from the solution notebooks.

    python -m minivae.course.make_course COURSE [--notebooks 01 04] [--cases FILE]

writes, for each solution notebook with exercises (or those named),

    COURSE/nbgrader_config.py                      the course's id, a cell time limit for notebook 5
    COURSE/source/NN_name/NN_name.ipynb            the notebook, with nbgrader's cell metadata
    COURSE/source/NN_name/minivae_cases.json       the teacher's extra inputs, if --cases is given

so that, in COURSE, `nbgrader generate_assignment NN_name` makes the learners' version (each
solution replaced by nbgrader's stub, `# YOUR CODE HERE` / `raise NotImplementedError()`, the
same stub as exercises/) and `nbgrader autograde NN_name` grades what they hand in. Each
notebook is one assignment. In it:

- a cell that holds an exercise's solution regions (`### BEGIN SOLUTION` ... `### END SOLUTION`)
  is an nbgrader solution cell, grade_id "<exercise>_answer";
- an exercise's check cell, `minivae.course.check_kl(kl_closed_form, kl_gradient)`, is an
  autograded test cell, locked, grade_id "<exercise>_check", worth the exercise's points
  (`Exercise.points`); it becomes `minivae.course.check_kl(...).points(2)`, which prints the
  check's message and outputs 2.0 or 0.0. An optional exercise's check cell (Adam's update) stays
  as it is, ungraded: it shows the learner its message and counts for nothing. nbgrader gives a
  test cell whose output is one number that many points (partial credit), so the cell grades the
  exercise without raising, and the notebook runs on past a wrong answer for the learner, as the
  check cells of exercises/ do.

The check runs inside the learner's kernel there, which nbgrader executes with the learner's
code: docs/teachers_guide.md says what that means for forged grades, and how
`python -m minivae.course.grade` grades the same folder with the verdict decided outside it.
"""

import argparse
import json
import shutil
import sys
from pathlib import Path

from minivae.course.exercises import EXERCISES
from minivae.course.make_exercises import regions
from minivae.errors import MinivaeError

CONFIG = '''"""nbgrader's settings for the minivae course (minivae.course.make_course)."""

c = get_config()  # noqa: F821 (nbgrader defines it)
c.CourseDirectory.course_id = "minivae"
c.Execute.timeout = 300  # seconds for one cell: notebook 5 trains a VAE in one
'''


def nbgrader_metadata(**fields):
    return {"nbgrader": {"schema_version": 3, "solution": False, "grade": False,
                         "locked": False, **fields}}


def graded(cell, by_check, by_function):
    """A notebook cell (a dict, as nbformat keeps it) with nbgrader's metadata where it is an
    exercise's solution cell or check cell; other cells as they are."""
    if cell["cell_type"] != "code":
        return cell
    source = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
    call = source.strip()
    if call in by_check and not by_check[call].optional:
        exercise = by_check[call]
        return {**cell, "source": f"{call}.points({exercise.points})",
                "metadata": {**cell.get("metadata", {}), **nbgrader_metadata(
                    grade=True, locked=True, points=exercise.points,
                    grade_id=f"{exercise.name}_check")}}
    functions = {name for _, _, name in regions(source.split("\n"))}
    answered = [by_function[f] for f in sorted(functions) if f in by_function]
    if answered:
        return {**cell, "metadata": {**cell.get("metadata", {}), **nbgrader_metadata(
            solution=True, grade_id=f"{answered[0].name}_answer")}}
    return cell


def assignment(notebook):
    """The nbgrader version of a solution notebook (a jupytext percent script) as a dict."""
    try:
        import jupytext  # the notebooks extra and the nbgrader extra hold it
    except ImportError:
        raise MinivaeError('make_course needs jupytext: pip install -e ".[nbgrader]"') from None
    made = json.loads(jupytext.writes(jupytext.read(notebook), fmt="ipynb"))
    by_check = {f"minivae.course.{e.check.__name__}({', '.join(e.functions)})": e
                for e in EXERCISES}
    by_function = {f: e for e in EXERCISES for f in e.functions}
    made["cells"] = [graded(cell, by_check, by_function) for cell in made["cells"]]
    return made


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m minivae.course.make_course",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("course", help="the course directory to write (made if need be)")
    parser.add_argument("--notebooks", nargs="*", help="their numbers, e.g. 01 04 (default: "
                        "every notebook with exercises)")
    parser.add_argument("--source", default="notebooks", help="the solution notebooks' folder")
    parser.add_argument("--cases", help="a JSON file of extra inputs (minivae.course.cases), "
                        "copied into each assignment as minivae_cases.json")
    args = parser.parse_args(argv)
    numbers = args.notebooks or sorted({e.notebook for e in EXERCISES})
    course = Path(args.course)
    try:
        for number in numbers:
            found = sorted(Path(args.source).glob(f"{number}_*.py"))
            if len(found) != 1 or not any(e.notebook == number for e in EXERCISES):
                raise MinivaeError(f"no notebook {number}_*.py with exercises in {args.source}: "
                                   "the notebooks with exercises are "
                                   f"{', '.join(sorted({e.notebook for e in EXERCISES}))}")
            folder = course / "source" / found[0].stem
            folder.mkdir(parents=True, exist_ok=True)
            (folder / f"{found[0].stem}.ipynb").write_text(
                json.dumps(assignment(found[0]), indent=1) + "\n")
            if args.cases:
                shutil.copyfile(args.cases, folder / "minivae_cases.json")
            print(f"wrote {folder / found[0].stem}.ipynb")
    except (MinivaeError, OSError) as error:
        print(f"make_course: {error}", file=sys.stderr)
        return 2
    (course / "nbgrader_config.py").write_text(CONFIG)
    return 0


if __name__ == "__main__":
    sys.exit(main())
