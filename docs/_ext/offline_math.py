"""MathJax served from the site itself, so that every page renders its math with no network.

The files come from the PyPI package sphinx-mathjax-offline (in the docs extra), which carries
MathJax 3.2.2 (Apache 2.0). It is used here only as a carrier of files, not as an extension:
its own setup copies all of MathJax's components, 24 MB. This copies what the one component the
site loads needs, about 2.6 MB, into build/docs/_static/mathjax/:

    tex-chtml.js                TeX input and HTML output in one file (the page loads this)
    output/chtml/fonts/woff-v2  the fonts that output draws with
    input/tex/extensions        TeX packages loaded on demand (\\boldsymbol, \\cancel, ...)
    ui                          the right-click menu's lazily loaded parts
"""

import shutil
import sys
from importlib import metadata
from pathlib import Path

PACKAGE = "sphinx-mathjax-offline"
PARTS = ["tex-chtml.js", "output/chtml/fonts/woff-v2", "input/tex/extensions", "ui"]


def mathjax_files():
    """The folder of MathJax's files inside the installed package; one line and exit if none."""
    try:
        distribution = metadata.distribution(PACKAGE)
    except metadata.PackageNotFoundError:
        sys.exit(f'minivae docs: MathJax comes from {PACKAGE}: pip install -e ".[docs]"')
    folder = Path(distribution.locate_file("sphinx-mathjax-offline/static/mathjax"))
    if not (folder / PARTS[0]).exists():
        sys.exit(f"minivae docs: {PACKAGE} is installed but holds no {folder / PARTS[0]}")
    return folder


def use_local_mathjax(app, config):
    mathjax_files()  # fail before reading anything when the package is missing
    config.mathjax_path = "mathjax/tex-chtml.js"  # relative: served from _static/


def copy_mathjax(app, exception):
    if exception is not None or app.builder.format != "html":
        return
    source, target = mathjax_files(), Path(app.outdir) / "_static" / "mathjax"
    for part in PARTS:
        if (source / part).is_dir():
            shutil.copytree(source / part, target / part, dirs_exist_ok=True)
        else:
            (target / part).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source / part, target / part)


def setup(app):
    app.connect("config-inited", use_local_mathjax)
    app.connect("build-finished", copy_mathjax)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
