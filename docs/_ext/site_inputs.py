"""What the site shows but does not make: the executed notebooks and the gallery's figures.

Both are made before the docs build, by commands that CI runs first (.ci/run):

    build/notebooks/NN_name.ipynb   tests/test_notebooks.py's executed copies, outputs included
                                    (`pytest tests/test_notebooks.py`, part of the README's pytest)
    build/gallery/<run>/*.png       the figures of three short training runs, and runs.csv, their
                                    final numbers (`python docs/make_gallery.py`)

When the build starts they are copied into docs/notebooks/ and docs/gallery/ (ignored by git), so
that Sphinx reads them as sources; nothing is executed here. An executed copy must be complete
(every code cell ran, none raised) and match its source cell for cell; otherwise, or when an input
is missing, the build stops with one line naming the command that makes it (a plain exit,
not a Sphinx error: Sphinx would wrap the line in a crash report addressed to its developers).

Optional pages: a page in OPTIONAL_PAGES (the teacher's guide, written elsewhere) appears in
index.md's table of contents only once its file exists; until then its line there is dropped,
so the build passes either way.
"""

import filecmp
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
EXECUTED = ROOT / "build" / "notebooks"
GALLERY = ROOT / "build" / "gallery"
NOTEBOOK_COMMAND = 'pip install -e ".[dev]" && pytest tests/test_notebooks.py'
GALLERY_COMMAND = "python docs/make_gallery.py"
OPTIONAL_PAGES = ["teachers_guide"]


def stop(message):
    """End the build with one line on stderr and exit status 1."""
    sys.exit(f"minivae docs: {message}")


def sync(source_files, target_dir, keep=()):
    """Make target_dir hold copies of source_files (and the names in keep), nothing else.

    Unchanged files are left alone (copy2 keeps their times), so Sphinx rebuilds only what
    changed.
    """
    target_dir.mkdir(parents=True, exist_ok=True)
    wanted = {path.name: path for path in source_files}
    for existing in target_dir.iterdir():
        if existing.name in wanted or existing.name in keep:
            continue
        if existing.is_dir():
            shutil.rmtree(existing)
        else:
            existing.unlink()
    for name, path in wanted.items():
        target = target_dir / name
        if path.is_dir():
            sync(sorted(path.iterdir()), target)
        elif not (target.exists() and filecmp.cmp(path, target, shallow=False)):
            shutil.copy2(path, target)


def problem_with_executed_copy(source, executed):
    """None if `executed` is a complete run of the notebook `source`, else what is wrong."""
    import jupytext  # noqa: PLC0415 - only the docs build needs it
    import nbformat  # noqa: PLC0415

    if not executed.exists():
        return "has no executed copy"
    run = nbformat.read(executed, as_version=4)
    cells = [(cell.cell_type, cell.source) for cell in jupytext.read(source).cells]
    if [(cell.cell_type, cell.source) for cell in run.cells] != cells:
        return "has changed since its executed copy was made"
    for index, cell in enumerate(run.cells):
        if cell.cell_type != "code":
            continue
        if any(output.output_type == "error" for output in cell.outputs):
            return f"raised in cell {index} of its executed copy"
        if cell.execution_count is None and cell.source.strip():
            return f"stopped before cell {index} in its executed copy (a time-out or a crash)"
    return None


def copy_notebooks(srcdir):
    sources = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.py"))
    problems = []
    for source in sources:
        problem = problem_with_executed_copy(source, EXECUTED / f"{source.stem}.ipynb")
        if problem:
            problems.append(f"notebooks/{source.name} {problem}")
    if problems:
        stop(
            "; ".join(problems) + f". The executed copies are made by `{NOTEBOOK_COMMAND}` "
            "(the README's `pytest` makes them too); run it, then build the docs again."
        )
    # every executed copy there, so that notebooks written by other tests appear as well
    sync(sorted(EXECUTED.glob("*.ipynb")), srcdir / "notebooks", keep=("index.md",))


def copy_gallery(srcdir):
    if not (GALLERY / "runs.csv").exists():  # written last, after every run's figures
        stop(
            f"{GALLERY.relative_to(ROOT)}/ holds no finished gallery: run `{GALLERY_COMMAND}` "
            "(about 40 s), then build the docs again."
        )
    sync(sorted(GALLERY.iterdir()), srcdir / "gallery")


def copy_inputs(app):
    srcdir = Path(app.srcdir)
    copy_notebooks(srcdir)
    copy_gallery(srcdir)


def drop_missing_optional_pages(app, docname, source):
    """index.md lists every optional page; drop the lines of those whose file is not there."""
    if docname != "index":
        return
    missing = [name for name in OPTIONAL_PAGES if not (Path(app.srcdir) / f"{name}.md").exists()]
    lines = source[0].split("\n")
    source[0] = "\n".join(line for line in lines if line.strip() not in missing)


def setup(app):
    app.connect("builder-inited", copy_inputs)
    app.connect("source-read", drop_missing_optional_pages)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
