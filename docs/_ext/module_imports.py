"""The directive `module-imports`: a table, read from the source at build time, of what each
module of minivae imports from the others.

The README lists the modules in reading order (its table between `<!-- modules:start -->` and
`<!-- modules:end -->`) and says that each imports only from the ones above it. This directive
takes that order from the README, parses every module with `ast` (nothing is imported), and
shows for each module what it imports when it is loaded and what it imports only inside a
function, when that is called. An import of a module further down the list is set in bold and
marked "(further down)": it goes against the reading order, and the page says why it is there.
A module that the README's table does not name is listed after the others, unjudged.
"""

import ast
import re
from pathlib import Path

from docutils import nodes
from sphinx.util.docutils import SphinxDirective

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "minivae"
SKIPPED = {"minivae", "minivae.__main__"}  # the front door (it re-exports) and `python -m`


def reading_order(readme):
    """{module or folder name: rank} from the README's module table, in reading order.

    A cell "`nn`, `model`, `autoencoder`" gives three consecutive ranks; "`ops/`" one rank
    shared by every module in minivae/ops/.
    """
    text = readme.read_text()
    table = text.split("<!-- modules:start -->")[1].split("<!-- modules:end -->")[0]
    ranks = {}
    for line in table.splitlines()[2:]:  # past the header and the |---| line
        first_cell = line.split("|")[1]
        for name in re.findall(r"`([a-z_/]+)`", first_cell):
            ranks[name.rstrip("/")] = len(ranks)
    return ranks


def module_names():
    """Every module's dotted name -> its file, from the files under minivae/."""
    names = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        names[name] = path
    return names


def imports(path, known):
    """(at load, inside functions): the minivae modules that the file at `path` imports."""
    at_load, when_called = set(), set()

    def visit(node, inside_function):
        for child in ast.iter_child_nodes(node):
            nested = inside_function or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef)
            targets = at_load if not nested else when_called
            if isinstance(child, ast.ImportFrom) and (child.module or "").startswith("minivae"):
                for alias in child.names:  # `from minivae import ops` imports a module
                    dotted = f"{child.module}.{alias.name}"
                    targets.add(dotted if dotted in known else child.module)
            elif isinstance(child, ast.Import):
                targets.update(a.name for a in child.names if a.name.startswith("minivae"))
            visit(child, nested)

    visit(ast.parse(path.read_text()), False)
    return at_load, when_called - at_load


def rank_of(name, ranks):
    """The README rank of a dotted module name (a folder's rank for its modules), or None."""
    short = name.removeprefix("minivae.")
    return ranks.get(short, ranks.get(short.split(".")[0]) if "." in short else None)


class ModuleImports(SphinxDirective):
    has_content = False

    def run(self):
        readme = ROOT / "README.md"
        self.env.note_dependency(str(readme))
        ranks, known = reading_order(readme), module_names()
        rows, unlisted = [], []
        for name, path in known.items():
            if name in SKIPPED:
                continue
            self.env.note_dependency(str(path))
            rank = rank_of(name, ranks)
            (unlisted if rank is None else rows).append((rank, name, *imports(path, known)))
        rows.sort(key=lambda row: (row[0], row[1]))
        unlisted.sort(key=lambda row: row[1])
        table = self.table(rows + unlisted, ranks)
        note = nodes.paragraph(text=self.summary(rows, unlisted, ranks))
        return [table, note]

    def table(self, rows, ranks):
        headers = ("module", "imports when loaded", "imports inside a function, when called")
        group = nodes.tgroup(cols=3)
        for width in (20, 50, 30):
            group += nodes.colspec(colwidth=width)
        group += nodes.thead("", self.row([[nodes.Text(h)] for h in headers]))
        body = nodes.tbody()
        for rank, name, at_load, when_called in rows:
            module = [nodes.literal(text=name.removeprefix("minivae."))]
            if rank is None:
                module.append(nodes.emphasis(text=" (not in the README's table)"))
            body += self.row(
                [module, self.names(at_load, rank, ranks), self.names(when_called, rank, ranks)]
            )
        group += body
        return nodes.table("", group, classes=["module-imports"])

    @staticmethod
    def row(cells):
        """A table row; each cell a list of inline nodes."""
        row = nodes.row()
        for cell in cells:
            row += nodes.entry("", nodes.paragraph("", "", *cell))
        return row

    @staticmethod
    def names(targets, rank, ranks):
        """The imported modules as code; one further down the reading order in bold."""
        out = []
        for target in sorted(targets):
            if out:
                out.append(nodes.Text(", "))
            code = nodes.literal(text=target.removeprefix("minivae."))
            target_rank = rank_of(target, ranks)
            later = rank is not None and target_rank is not None and target_rank > rank
            out.append(nodes.strong("", "", code, nodes.Text(" (further down)")) if later else code)
        return out or [nodes.Text("nothing of minivae")]

    @staticmethod
    def summary(rows, unlisted, ranks):
        def later(rank, targets):
            return [t for t in targets if (rank_of(t, ranks) or -1) > rank]

        load = sum(len(later(r, a)) for r, _, a, _ in rows)
        called = sum(len(later(r, c)) for r, _, _, c in rows)
        text = (
            f"{len(rows)} modules in the README's order. Of a module further down the list: "
            f"{load} imports at load time, {called} inside functions."
        )
        if unlisted:
            names = ", ".join(name.removeprefix("minivae.") for _, name, _, _ in unlisted)
            text += f" Not in the README's table: {names}."
        return text


def setup(app):
    app.add_directive("module-imports", ModuleImports)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
