"""The API reference: docstrings shown exactly as written, and every module of minivae in it.

minivae's docstrings are plain text: formulas in ASCII laid out by indentation, `*` for a
product, shapes such as (B, L). Read as reStructuredText they would turn into block quotes and
half-open emphasis, each a warning (an error under -W) and a formula no longer as written. So
each docstring becomes one literal block, set in monospace with its line breaks and
indentation kept, as it reads in the source; autodoc still supplies the signatures, the
"Bases:" lines and an anchor for every object, which the rest of the site links to.

Every module of the package (every file but __main__) must appear in an `automodule` on some
page of api/: one that does not is named in a warning, so a new module cannot go undocumented.
"""

import pkgutil

from sphinx.util import logging

import minivae

logger = logging.getLogger(__name__)
NOT_DOCUMENTED = {"minivae.__main__"}  # `python -m minivae`: two lines calling cli.main


def as_literal_block(app, what, name, obj, options, lines):
    if not any(line.strip() for line in lines):
        return
    lines[:] = [".. code-block:: text", "", *(f"   {line}" if line else "" for line in lines)]


def every_module():
    names = {"minivae"}
    for module in pkgutil.walk_packages(minivae.__path__, prefix="minivae."):
        names.add(module.name)
    return names - NOT_DOCUMENTED


def check_every_module_documented(app, env):
    documented = set(env.get_domain("py").data["modules"])
    missing = sorted(every_module() - documented)
    if missing:
        logger.warning(
            "the API reference lacks %s: add an automodule for each to a page of docs/api/",
            ", ".join(missing),
        )


def setup(app):
    app.connect("autodoc-process-docstring", as_literal_block)
    app.connect("env-check-consistency", check_every_module_documented)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
