"""Reading a handed-in notebook, and choosing which of its statements a check's functions need.

In the notebook, a check cell sees the learner's functions as the cells above it left them: a
function may use a module-level constant, a helper, a lambda or a `functools.partial` assigned at
the top level. The grader gives the same verdict only if it runs those statements too, and it
should not run the rest (the training of notebook 5 takes a minute). So it runs the statements
the exercise's functions depend on, found by their names, as they stand above the check cell:

1. the statements of the code cells above the exercise's check (the first statement that calls
   the check; all of them if none does), IPython's `%` and `!` lines commented out;
2. from the last statement back to the first: a statement is kept if it binds or changes a name
   still needed (assigns it, defines or imports it, assigns to an attribute or item of it, calls
   a method of it, or passes it to a call that stands alone as a statement); a kept statement
   that binds the name for certain (an assignment, a def, an import, not inside an if or a
   loop) settles it, and every name the statement reads, inside its functions too, is needed
   in its turn. At the start the exercise's function names are needed.

Names are read with `symtable`, Python's own analysis of scopes, from the text alone: nothing is
run here. A name bound by `exec`, `globals()[...]` or a star import is not seen (a star import is
always kept).
"""

import ast
import dataclasses
import json
import symtable

MAGIC = ("%", "!")  # IPython's line magics and shell escapes: no Python, commented out


@dataclasses.dataclass(frozen=True)
class Parsed:
    """A notebook's code cells, read: those that parse, and what is wrong with the others."""

    cells: tuple  # ("code cell 3", source) of every code cell that parses, in order
    trees: tuple  # the ast.Module of each
    problems: tuple  # cells that do not parse, as "code cell 3: SyntaxError at line 2: ..."


@dataclasses.dataclass(frozen=True)
class Plan:
    """What the worker runs: the cells' sources, and which statements of which cells."""

    cells: tuple  # Parsed.cells
    run: tuple  # (index into cells, (statement indices, ...)) in order


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


def without_magics(cell):
    return "\n".join("# " + line if line.lstrip().startswith(MAGIC) else line
                     for line in cell.split("\n"))


def calls(tree, name):
    """Whether the code calls a function called `name` (as `name(...)` or `x.name(...)`)."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            if (isinstance(func, ast.Name) and func.id == name) or (
                    isinstance(func, ast.Attribute) and func.attr == name):
                return True
    return False


def parse(cells):
    """The cells as Parsed: each compiled once, here, so that a SyntaxError is told once."""
    kept, trees, problems = [], [], []
    for index, cell in enumerate(cells):
        source, where = without_magics(cell), f"code cell {index}"
        try:
            compile(source, where, "exec", dont_inherit=True)
        except SyntaxError as error:
            problems.append(f"{where}: SyntaxError at line {error.lineno}: {error.msg}")
            continue
        kept.append((where, source))
        trees.append(ast.parse(source))
    return Parsed(tuple(kept), tuple(trees), tuple(problems))


def plan(parsed, functions, check_name):
    """The Plan that defines `functions` as the statements above the first call of `check_name`
    do, in the Parsed cells."""
    statements = [(i, j, node) for i, tree in enumerate(parsed.trees)
                  for j, node in enumerate(tree.body)]
    check = next((k for k, (_, _, node) in enumerate(statements) if calls(node, check_name)),
                 len(statements))
    statements = statements[:check]
    needed, kept = set(functions), []
    for i, j, node in reversed(statements):
        if isinstance(node, ast.ImportFrom) and any(a.name == "*" for a in node.names):
            kept.append((i, j))
            continue
        if not touched(node) & needed:
            continue
        kept.append((i, j))
        needed -= settled(node)
        needed |= read(node)
    run = {}
    for i, j in reversed(kept):
        run.setdefault(i, []).append(j)
    return Plan(parsed.cells, tuple((i, tuple(js)) for i, js in run.items()))


def scopes(node):
    return symtable.symtable(ast.unparse(node), "statement", "exec")


def read(node):
    """The module-level names a statement reads, now or when its functions run."""
    table = scopes(node)
    names = {s.get_name() for s in table.get_symbols() if s.is_referenced()}
    inner = list(table.get_children())
    while inner:
        scope = inner.pop()
        names |= {s.get_name() for s in scope.get_symbols() if s.is_global()}
        inner += scope.get_children()
    return names


def settled(node):
    """The names a statement binds for certain: a plain assignment, def, class or import."""
    if not isinstance(node, ast.Assign | ast.AnnAssign | ast.FunctionDef | ast.AsyncFunctionDef
                      | ast.ClassDef | ast.Import | ast.ImportFrom):
        return set()
    if isinstance(node, ast.AnnAssign) and node.value is None:
        return set()
    table = scopes(node)
    return {s.get_name() for s in table.get_symbols() if s.is_assigned() or s.is_imported()}


def touched(node):
    """The names a statement binds or may change: its bindings, the roots of the attributes and
    items it assigns or deletes, the objects whose methods it calls, a call's bare arguments."""
    table = scopes(node)
    names = {s.get_name() for s in table.get_symbols() if s.is_assigned() or s.is_imported()}
    for sub in ast.walk(node):
        if isinstance(sub, ast.Attribute | ast.Subscript) and isinstance(sub.ctx, ast.Store
                                                                          | ast.Del):
            names.add(root(sub))
    if isinstance(node, ast.Expr) and isinstance(node.value, ast.Call):
        call = node.value
        names.add(root(call.func) if isinstance(call.func, ast.Attribute) else None)
        names |= {a.id for a in [*call.args, *(k.value for k in call.keywords)]
                  if isinstance(a, ast.Name)}
    return names - {None}


def root(node):
    """The name at the root of `a.b[c].d`, or None (a call, a literal)."""
    while isinstance(node, ast.Attribute | ast.Subscript):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None
