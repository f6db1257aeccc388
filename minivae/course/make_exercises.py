"""The exercise notebooks, made from the solution notebooks, so that the two never drift apart.

A solution notebook (notebooks/NN_name.py, a jupytext percent script) marks the lines a learner
is to write, inside a function in a code cell, the way nbgrader does:

    def kl_gradient(mu, logvar):
        \"\"\"dKL/dmu and dKL/dlogvar, elementwise.\"\"\"
        ### BEGIN SOLUTION
        return mu, (np.exp(logvar) - 1) / 2
        ### END SOLUTION

Its exercise version, exercises/NN_name.py, is the same text with every region, markers
included, replaced by nbgrader's own stub at the region's indentation,

        # YOUR CODE HERE
        raise NotImplementedError()

and a note under the title saying what the file is. A stub that raises, rather than one that
returns a placeholder (zeros, say), is what lets a check tell "not done yet" from a wrong answer:
a placeholder is a wrong answer, and the check would diagnose it as one. The blank cannot break
the rest of the notebook, because nothing after a check uses the learner's function: the
notebook goes on with minivae's own. Only notebooks with a region get an exercise version.

    python -m minivae.course.make_exercises            notebooks/NN_*.py -> exercises/NN_*.py
    python -m minivae.course.make_exercises --check    exit 1 if a committed file differs

Run from the repository's root; tests/course/test_course.py fails when the committed files differ
from what this makes.
"""

import argparse
import re
import sys
import textwrap
from pathlib import Path

BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"
STUB = ("# YOUR CODE HERE", "raise NotImplementedError()")
DEFINITION = re.compile(r"^(\s*)def (\w+)\(")


class RegionError(ValueError):
    """A solution region that is not closed, nested, or outside a function."""


def regions(lines, source="notebook"):
    """(begin, end, function name) of each marked region: line indices of its two markers."""
    found, begin = [], None
    for i, line in enumerate(lines):
        marker = line.strip()
        if marker == BEGIN:
            if begin is not None:
                raise RegionError(f"{source}:{i + 1}: {BEGIN} inside the region from line "
                                  f"{begin + 1}: close that one first with {END}")
            begin = i
        elif marker == END:
            if begin is None:
                raise RegionError(f"{source}:{i + 1}: {END} without a {BEGIN} before it")
            found.append((begin, i, enclosing_function(lines, begin, source)))
            begin = None
    if begin is not None:
        raise RegionError(f"{source}:{begin + 1}: {BEGIN} is never closed by {END}")
    return found


def enclosing_function(lines, begin, source):
    """The name of the function the region at line `begin` is inside."""
    indent = len(lines[begin]) - len(lines[begin].lstrip())
    for line in reversed(lines[:begin]):
        match = DEFINITION.match(line)
        if match and len(match.group(1)) < indent:
            return match.group(2)
        if line.startswith("# %%"):
            break
    raise RegionError(f"{source}:{begin + 1}: a solution region must be inside a function, so "
                      "that the learner's answer is something a check can call")


def exercise_version(text, source="notebooks/NN_name.py"):
    """The exercise notebook's text for the solution notebook's `text`; None without regions."""
    lines = text.split("\n")
    found = regions(lines, source)
    if not found:
        return None
    for begin, end, _ in reversed(found):
        indent = lines[begin][: len(lines[begin]) - len(lines[begin].lstrip())]
        lines[begin : end + 1] = [indent + line for line in STUB]
    title = next(i for i, line in enumerate(lines) if line.startswith("# %% [markdown]"))
    after_title = next(i for i in range(title + 1, len(lines)) if lines[i].startswith("# %%"))
    names = [name for _, _, name in found]
    lines[after_title:after_title] = note(source, names) + [""]
    return "\n".join(lines)


def note(source, names):
    """The markdown cell under the title of an exercise notebook: what it is and how to use it."""
    listed = ", ".join(f"`{name}`" for name in names)
    return [
        "# %% [markdown]",
        f"# **The exercise version of this notebook**, made from `{source}` by",
        "# `python -m minivae.course.make_exercises` (edit that one, not this). The cells marked",
        *textwrap.wrap(f"# **Exercise** leave {len(names)} function{'s' if len(names) > 1 else ''}"
                       f" for you to write: {listed}.", 100, subsequent_indent="# "),
        "# Put your code in place of `raise NotImplementedError()`, run the cell, then the check",
        "# cell below it: it tells you whether your answer is right and, if not, what is wrong",
        '# and why. Until then the check says "Not done yet", and the rest of the notebook runs',
        "# all the same, on minivae's own versions.",
    ]


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m minivae.course.make_exercises",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("--notebooks", default="notebooks", help="the solution notebooks' folder")
    parser.add_argument("--out", default="exercises", help="where the exercise versions go")
    parser.add_argument("--check", action="store_true",
                        help="write nothing; exit 1 if a file in --out differs from what this "
                        "would write")
    args = parser.parse_args(argv)
    out = Path(args.out)
    stale = []
    for source in sorted(Path(args.notebooks).glob("[0-9][0-9]_*.py")):
        made = exercise_version(source.read_text(), f"{Path(args.notebooks).name}/{source.name}")
        if made is None:
            continue
        target = out / source.name
        if target.exists() and target.read_text() == made:
            continue
        stale.append(target)
        if not args.check:
            out.mkdir(parents=True, exist_ok=True)
            target.write_text(made)
            print(f"wrote {target}")
    if args.check and stale:
        print("out of date (run python -m minivae.course.make_exercises): "
              + ", ".join(map(str, stale)), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
