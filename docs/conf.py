"""Sphinx configuration of minivae's documentation site.

Build it (after the notebook test and the gallery, whose outputs it renders):

    pip install -e ".[docs]"
    pytest tests/test_notebooks.py      # executes the notebooks into build/notebooks/
    python docs/make_gallery.py         # trains three short runs into build/gallery/
    sphinx-build -W --keep-going -b html docs build/docs

Nothing here reaches the network: no intersphinx, MathJax served from the site itself
(_ext/offline_math.py), notebooks rendered from their executed copies, never executed here.
"""

import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
sys.path.insert(0, str(DOCS / "_ext"))

project = "minivae"
author = "the minivae authors"
copyright = "the minivae authors, MIT licence"

extensions = [
    "myst_nb",  # MyST Markdown for the .md pages and the notebooks (it brings myst_parser)
    "sphinx.ext.autodoc",
    "sphinx.ext.mathjax",
    "site_inputs",  # the executed notebooks and the gallery, copied in from build/
    "offline_math",  # MathJax 3 copied into the site
    "api_docstrings",  # docstrings shown as written; every module documented
    "module_imports",  # the architecture page's table of who imports whom
]

nitpicky = True  # a reference to a function that does not exist is an error, not a plain word
# ... except to NumPy's classes, named by the dataclasses' field types: without intersphinx
# (no network) there is nothing to link them to.
nitpick_ignore_regex = [("py:class", r"numpy\..*"), ("py:class", r"collections\.abc\..*")]

# MyST: $...$ and $$...$$ for math (GitHub renders the same), {py:func}`...` roles for links,
# anchors on headings so that [text](cuda.md#a-heading) works as on GitHub.
myst_enable_extensions = ["dollarmath", "colon_fence"]
myst_heading_anchors = 3
myst_dmath_double_inline = True

# Notebooks: shown with the outputs of tests/test_notebooks.py's run, not executed again.
nb_execution_mode = "off"
nb_merge_streams = True

# API: members in the order of the source file, which is the order a reader meets them.
autodoc_member_order = "bysource"
autodoc_typehints = "none"  # the docstrings state shapes and types in words
autodoc_default_options = {"members": True, "undoc-members": True, "show-inheritance": True}

html_theme = "furo"
html_title = "minivae"
html_static_path = ["_static"]
html_show_sourcelink = False
html_last_updated_fmt = None
highlight_language = "none"  # indented blocks are shell commands and formulas, not Python
smartquotes = False  # "--epochs" stays two hyphens, as typed in a shell
