"""Every notebook runs top to bottom in a fresh kernel, within its time limits.

The notebooks are jupytext percent scripts, notebooks/NN_name.py. Each test turns one into a
notebook, executes it with nbclient in notebooks/ (as Jupyter would) with MPLBACKEND=Agg and
one BLAS thread, and writes the executed copy, outputs and per-cell timings included, to
build/notebooks/NN_name.ipynb for the docs to render without running the notebooks a second
time. The notebooks assert what their prose claims, so a notebook that stops showing what it
says fails here.

The exercise versions, exercises/NN_name.py (made from the notebooks by
`python -m minivae.course.make_exercises`), run the same way, into build/exercises/. Every check
cell (one that calls `minivae.course.check_...`) must then have said "Right:" in a solution
notebook and "Not done yet:" in an exercise notebook, whose blanks are untouched.

Notebooks that look for Fashion-MNIST (their code names "fashion-mnist") run twice: as this
machine has it, and with it hidden (MINIVAE_HIDE_INSTALLED_DATA=1, MINIVAE_DATA unset: see
minivae.data.sources), as on a learner's machine after the README's commands, where they fall
back to the sprites. That copy goes to build/notebooks-without-fashion-mnist/; the docs render
the first. Each run must have taken the branch it was meant to (the fallback's note printed, or
not). The other notebooks never look for the dataset, so a second run of them would repeat the
first to the last bit; they, and the exercise versions (which differ from their notebooks only
in the blanks, which touch no data), run once. On a machine without Fashion-MNIST the hidden run
would repeat the first, so it is skipped, except where MINIVAE_REQUIRE_REAL_DATA=1 (CI), where a
missing dataset is a failure.

A failure names the notebook and the cell (its index and first line): a cell that raises, one
that runs past CELL_LIMIT seconds, one that takes the notebook past NOTEBOOK_LIMIT seconds, or a
kernel that dies. The tools come with the dev extra (`pip install -e ".[dev]"`); without them
these tests skip, except in CI (CI=true), where a missing tool is a failure.
"""

import importlib
import math
import os
import re
import time

import pytest
from support import ROOT

from minivae.data import sources

NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.py"))
EXERCISES = sorted((ROOT / "exercises").glob("[0-9][0-9]_*.py"))
BUILD = ROOT / "build" / "notebooks"
BUILD_HIDDEN = ROOT / "build" / "notebooks-without-fashion-mnist"
BUILD_EXERCISES = ROOT / "build" / "exercises"
CHECK_CALL = "minivae.course.check_"  # what a check cell calls
FALLBACK_NOTE = "Fashion-MNIST is not installed"  # what a notebook prints when it falls back
REQUIRE_REAL = os.environ.get("MINIVAE_REQUIRE_REAL_DATA") == "1"


def looks_for_real_data(source):
    """True for a notebook whose code names Fashion-MNIST (and falls back to the sprites)."""
    return re.search(r"""["']fashion-mnist["']""", source.read_text()) is not None


LOOKING = [source for source in NOTEBOOKS if looks_for_real_data(source)]
RUNS = (
    [(source, BUILD, "Right:", False) for source in NOTEBOOKS]
    + [(source, BUILD_HIDDEN, "Right:", True) for source in LOOKING]
    + [(source, BUILD_EXERCISES, "Not done yet:", False) for source in EXERCISES]
)
CELL_LIMIT = 60  # seconds for any one cell
NOTEBOOK_LIMIT = 120  # seconds for a whole notebook, kernel start included
TOOLS = ("jupytext", "nbclient", "nbformat", "ipykernel")


def import_tools():
    """The notebook tools as modules, by name; a skip (a failure in CI) if one is missing."""
    modules = {}
    for name in TOOLS:
        try:
            modules[name] = importlib.import_module(name)
        except ImportError:
            message = f'the notebook tests need {name}: pip install -e ".[dev]"'
            if os.environ.get("CI", "").lower() in ("1", "true"):
                pytest.fail(f"{message} (missing in CI, so this is a failure)", pytrace=False)
            pytest.skip(message)
    return modules


def run_notebook(source, executed_path, cell_limit=CELL_LIMIT, notebook_limit=NOTEBOOK_LIMIT,
                 hide_data=False):
    """Execute the percent script `source` as a notebook; write the executed copy.

    hide_data=True runs it as on a machine without the real datasets: the kernel gets
    MINIVAE_HIDE_INSTALLED_DATA=1 and no MINIVAE_DATA.

    Returns None when every cell ran, else one message saying which cell failed and how.
    The executed copy is written either way, with the run's seconds in its metadata.
    """
    tools = import_tools()
    errors = importlib.import_module("nbclient.exceptions")
    notebook = tools["jupytext"].read(source)
    started = time.monotonic()
    deadline = started + notebook_limit
    current = {"index": None, "line": "", "by_notebook": False}

    def on_cell_start(cell, cell_index):
        current.update(index=cell_index, line=cell.source.strip().split("\n")[0])

    def cell_timeout(cell):  # asked once per code cell, just before it runs
        remaining = deadline - time.monotonic()
        current["by_notebook"] = remaining < cell_limit
        return max(1, math.ceil(min(cell_limit, remaining)))

    client = tools["nbclient"].NotebookClient(
        notebook,
        kernel_name="python3",
        timeout=cell_limit,
        timeout_func=cell_timeout,
        on_cell_start=on_cell_start,
        shutdown_kernel="immediate",
        resources={"metadata": {"path": str(source.parent)}},
    )

    def where():
        return f"{source.stem}, cell {current['index']} ({current['line']!r})"

    # One BLAS thread unless told otherwise: on a loaded 2-core machine OpenBLAS's two threads
    # spin waiting for each other, and 3 epochs of a sprites VAE took 14 to 20 s instead of 2.4 s
    # with one thread (measured at load 4). A notebook's time should not depend on that.
    env = {"OPENBLAS_NUM_THREADS": "1", **os.environ, "MPLBACKEND": "Agg"}
    if hide_data:
        env.pop("MINIVAE_DATA", None)
        env[sources.HIDE_VARIABLE] = "1"
    try:
        client.execute(env=env)
    except errors.CellTimeoutError:
        limit = (
            f"the notebook's limit of {notebook_limit} s"
            if current["by_notebook"]
            else f"the per-cell limit of {cell_limit} s"
        )
        return f"{where()}: timed out, taking the run past {limit}"
    except errors.DeadKernelError:
        return f"{where()}: the kernel died (out of memory, a crash in native code, or an exit)"
    except errors.CellExecutionError as error:
        traceback = re.sub(r"\x1b\[[0-9;]*m", "", str(error))  # without the terminal colours
        return f"{where()}: raised {error.ename}: {error.evalue}\n{traceback}"
    finally:
        notebook.metadata["minivae"] = {"seconds": round(time.monotonic() - started, 1)}
        executed_path.parent.mkdir(parents=True, exist_ok=True)
        tools["nbformat"].write(notebook, executed_path)
    return None


def test_the_notebooks_are_there():
    assert len(NOTEBOOKS) >= 6, f"expected the notebooks in notebooks/NN_*.py, found {NOTEBOOKS}"


def test_saving_a_notebook_from_jupyter_leaves_its_source_unchanged():
    """Each source is as jupytext writes it (JupyterLab saves a .py through jupytext), so that
    opening and saving a notebook makes no diff; its header keeps jupytext's version out."""
    jupytext = import_tools()["jupytext"]
    for source in NOTEBOOKS + EXERCISES:
        rewritten = jupytext.writes(jupytext.read(source), fmt="py:percent")
        assert rewritten == source.read_text(), f"{source.name}: jupytext would rewrite it"


def test_the_notebooks_that_look_for_fashion_mnist_are_found():
    """The notebooks run twice are found by what their code says; 5 and 7 train on it."""
    names = [source.stem[:2] for source in LOOKING]
    assert names == ["05", "07"], names


def run_id(source, hide_data):
    return f"{source.parent.name}/{source.stem}" + ("-without-fashion-mnist" if hide_data else "")


@pytest.mark.parametrize(
    "source, build, verdict, hide_data", RUNS, ids=[run_id(s, h) for s, _, _, h in RUNS]
)
def test_notebook_runs_top_to_bottom(source, build, verdict, hide_data):
    installed = real_data_installed()
    if hide_data and not installed:
        pytest.skip("Fashion-MNIST is not installed here, so the run as this machine is "
                    "already ran without it")
    executed = build / f"{source.stem}.ipynb"
    problem = run_notebook(source, executed, hide_data=hide_data)
    if problem:
        pytest.fail(problem, pytrace=False)
    for index, said in cell_outputs(executed, CHECK_CALL).items():
        assert said.startswith(verdict), (
            f"{source.parent.name}/{source.stem}, cell {index}: the check said {said!r}, "
            f"expected {verdict!r} ..."
        )
    if looks_for_real_data(source):
        fell_back = any(FALLBACK_NOTE in said for said in cell_outputs(executed).values())
        assert fell_back == (hide_data or not installed), (
            f"{run_id(source, hide_data)}: {'no' if not fell_back else 'a'} fallback note "
            f"({FALLBACK_NOTE!r}) printed, though Fashion-MNIST was "
            f"{'hidden' if hide_data else 'installed' if installed else 'missing'}"
        )


def real_data_installed():
    """Whether Fashion-MNIST is found without downloading; a failure if not where it must be."""
    try:
        sources.locate("fashion-mnist", download=False)
        return True
    except sources.DatasetNotFoundError as error:
        if REQUIRE_REAL:
            pytest.fail(f"MINIVAE_REQUIRE_REAL_DATA=1, but {error}", pytrace=False)
        return False


def cell_outputs(executed, containing=""):
    """What each code cell whose source contains `containing` showed, by cell index."""
    notebook = import_tools()["nbformat"].read(executed, as_version=4)
    said = {}
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type == "code" and containing in cell.source:
            outputs = cell.get("outputs", [])
            said[index] = "".join(
                o.get("data", {}).get("text/plain", "") or o.get("text", "") for o in outputs
            )
    return said


# -- the runner itself: a timeout and a dead kernel are failures that name the cell ---------


def write_script(folder, name, *cells):
    path = folder / f"{name}.py"
    path.write_text("".join(f"# %%\n{cell}\n\n" for cell in cells))
    return path


def test_a_slow_cell_fails_naming_the_notebook_the_cell_and_the_limit(tmp_path):
    source = write_script(tmp_path, "slow", "x = 1", "import time\ntime.sleep(30)")
    problem = run_notebook(source, tmp_path / "slow.ipynb", cell_limit=2)
    assert problem.startswith("slow, cell 1 ('import time'): timed out"), problem
    assert "per-cell limit of 2 s" in problem
    assert (tmp_path / "slow.ipynb").exists()


def test_a_notebook_past_its_limit_fails_at_the_cell_that_crossed_it(tmp_path):
    sleep = "import time\ntime.sleep(3)"
    source = write_script(tmp_path, "long", sleep, sleep, sleep)
    problem = run_notebook(source, tmp_path / "long.ipynb", cell_limit=10, notebook_limit=7)
    # which cell crosses the limit depends on how long the kernel took to start
    assert re.match(r"long, cell \d \('import time'\): timed out", problem), problem
    assert "the notebook's limit of 7 s" in problem


def test_a_dead_kernel_fails_naming_the_cell(tmp_path):
    source = write_script(tmp_path, "dies", "x = 1", "import os\nos._exit(1)")
    problem = run_notebook(source, tmp_path / "dies.ipynb", cell_limit=20)
    assert problem.startswith("dies, cell 1 ('import os'): the kernel died"), problem
