"""The shape of the house (issue 13, GUIDE.md): no import loops, arrows one way, short modules.

The rules, for every module of ``sgdlab/``:

1. no import loop (below: which imports count and what they depend on);
2. the arrows of GUIDE.md go one way: the core imports only the core; vision, animate and
   exercises import the core and themselves; cli imports everything (:data:`AREAS` says which
   module is in which area, :data:`ALLOWED` what each may import);
3. in animate only the scene builders import the training code ("record first, draw later");
4. no module is longer than 400 lines.

Everything here reads the source with :mod:`ast`; nothing from sgdlab is imported, so these
tests run even when importing sgdlab would fail (a syntax error stops them with its file and
line). Each check is a function of a package folder, and is shown to fail on a small fake
package in ``tmp_path`` before it is trusted on ``sgdlab/``.

Which imports count
    Every ``import`` and ``from ... import`` statement anywhere in a module: at the top, inside
    functions and methods, in ``try`` blocks. The one exception is the body of an
    ``if TYPE_CHECKING:`` block (also ``typing.TYPE_CHECKING``), which Python never runs; its
    ``else:`` branch does run and counts. Imports by string (``importlib.import_module``) are
    not statements and are not seen.

What an import depends on
    ``import a.b.c`` and ``from a.b.c import name`` name the module ``a.b.c``;
    ``from a.b import c`` names the module ``a.b.c`` when that is a file, else the package
    ``a.b`` (``c`` is then a name its ``__init__`` defines). Relative imports are resolved
    against the importing module's package. The importer depends on what the statement names,
    and also on every package Python runs on the way there (``a``, ``a.b``), except its own
    packages: Python starts those before the importer runs, so the package ``a.b`` importing
    its submodule ``a.b.x``, and ``a.b.x`` importing ``a.b.y``, is no loop. A module that names
    its own package (``from a.b import name`` inside ``a.b.x``) does depend on that package's
    ``__init__``; if the ``__init__`` imports ``a.b.x`` (directly or not), that is a real loop:
    importing ``a.b.x`` first finds ``a.b`` half-built. A module importing itself is ignored.
    The fake-package tests check these rules against what Python does.
"""

from __future__ import annotations

import ast
import subprocess
import sys
import textwrap
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / "sgdlab"
MAX_LINES = 400

#: The areas of sgdlab (GUIDE.md, "The arrows go one way"). A key names a module and
#: everything under it; the longest key that matches wins.
#:
#: * core: the package itself, every top-level module ``sgdlab/*.py`` and ``sgdlab.diagnose``
#:   (a module or a package) — except the two entry points below;
#: * cli: ``sgdlab.cli`` and ``sgdlab.demo`` (the ``sgdlab demo`` command, which runs the
#:   lessons and renders the lecture animations) — "cli → everything";
#: * vision, animate, exercises: their subpackages, each area's own ``cli.py`` included.
AREAS = {
    "sgdlab": "core",
    "sgdlab.cli": "cli",
    "sgdlab.demo": "cli",
    "sgdlab.diagnose": "core",
    "sgdlab.vision": "vision",
    "sgdlab.animate": "animate",
    "sgdlab.exercises": "exercises",
}

#: What each area may import. ``vision → core``, ``animate → core`` (GUIDE: "animate →
#: history"; its scenes also record runs with the core's training functions, see
#: :data:`RECORDERS`), exercises → core (they teach the core's functions), cli → everything;
#: nothing in the core imports vision, animate, exercises or cli, not even inside a function.
ALLOWED = {
    "core": {"core"},
    "vision": {"core", "vision"},
    "animate": {"core", "animate"},
    "exercises": {"core", "exercises"},
    "cli": {"core", "vision", "animate", "exercises", "cli"},
}

#: "Record first, draw later": in animate only the scene builders (which record their runs
#: before building the picture) import the code that trains; the panels, the movie, the
#: writers and the player only read a History.
TRAINING = ("sgdlab.train", "sgdlab.optim")
RECORDERS = {"sgdlab.animate": {"sgdlab.animate.scenes"}}


# -- reading the imports ----------------------------------------------------------------------
@dataclass(frozen=True)
class Import:
    """``source`` depends on ``target`` because of the statement at ``path:line``.

    ``explicit`` is False for a package Python runs on the way to what the statement names
    (``via``).
    """

    source: str
    target: str
    path: Path
    line: int
    explicit: bool = True
    in_function: bool = False
    via: str = ""
    type_only: bool = False

    def describe(self, root: Path) -> str:
        where = f"{self.path.relative_to(root.parent)}:{self.line}"
        inside = (" (inside a function)" if self.in_function else "") + (
            " (under TYPE_CHECKING)" if self.type_only else "")
        if self.explicit:
            return f"{where} imports {self.target}{inside}"
        return f"{where} runs the package {self.target} on the way to {self.via}{inside}"


@dataclass
class ImportGraph:
    """The modules of one package folder and the imports between them."""

    root: Path
    modules: dict[str, Path]
    imports: list[Import] = field(default_factory=list)
    #: ``path:line name`` of every import of the package that names no file in it
    unresolved: list[str] = field(default_factory=list)

    def __repr__(self) -> str:
        return (f"ImportGraph({self.root}: {len(self.modules)} modules, "
                f"{len(self.imports)} imports)")

    def edges(self) -> dict[str, dict[str, Import]]:
        """``source -> target -> the first import that makes the edge``."""
        out: dict[str, dict[str, Import]] = {name: {} for name in self.modules}
        for imp in self.imports:
            out[imp.source].setdefault(imp.target, imp)
        return out


def find_modules(root: Path) -> dict[str, Path]:
    """Every module under the package folder ``root`` by dotted name; a package is its
    ``__init__.py``. Folders without one (and their contents) are not modules."""
    modules = {}
    for path in sorted(root.rglob("*.py")):
        parts = path.relative_to(root.parent).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        if all((root.parent.joinpath(*parts[:i]) / "__init__.py").is_file()
               for i in range(1, len(parts))):
            modules[".".join(parts)] = path
    return modules


def _is_type_checking(test: ast.expr) -> bool:
    return ((isinstance(test, ast.Name) and test.id == "TYPE_CHECKING")
            or (isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"))


class _ImportFinder(ast.NodeVisitor):
    """Collects ``(statement, inside a function)`` for every import Python may run (and,
    with ``type_checking=True``, those in ``if TYPE_CHECKING:`` blocks too)."""

    def __init__(self, type_checking: bool = False) -> None:
        self.found: list[tuple[ast.Import | ast.ImportFrom, bool, bool]] = []
        self.depth = 0
        self.type_checking = type_checking
        self.type_only = False

    def visit_If(self, node: ast.If) -> None:
        if not _is_type_checking(node.test):
            self.generic_visit(node)
            return
        if self.type_checking:
            outer, self.type_only = self.type_only, True
            for child in node.body:
                self.visit(child)
            self.type_only = outer
        for child in node.orelse:  # the body never runs; an else branch does
            self.visit(child)

    def _function(self, node: ast.AST) -> None:
        self.depth += 1
        self.generic_visit(node)
        self.depth -= 1

    visit_FunctionDef = visit_AsyncFunctionDef = visit_Lambda = _function

    def visit_Import(self, node: ast.Import) -> None:
        self.found.append((node, self.depth > 0, self.type_only))

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        self.found.append((node, self.depth > 0, self.type_only))


def _named_modules(name: str, path: Path, node: ast.Import | ast.ImportFrom,
                   package: str) -> list[str]:
    """The dotted names a statement in module ``name`` (file ``path``) asks Python for."""
    def inside(module: str) -> bool:
        return module == package or module.startswith(package + ".")

    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names if inside(alias.name)]
    if node.level:
        base = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
        if node.level - 1 >= len(base):
            raise ValueError(f"{path}:{node.lineno}: relative import beyond the top package")
        base = base[: len(base) - (node.level - 1)]
        module = ".".join([*base, node.module] if node.module else base)
    else:
        module = node.module or ""
    if not inside(module):
        return []
    return [module] + [f"{module}.{alias.name}" for alias in node.names if alias.name != "*"]


def import_graph(root: Path, type_checking: bool = False) -> ImportGraph:
    """Read every module under ``root`` (a package folder) and the imports between them.

    The rules are in this file's docstring; ``type_checking=True`` also counts the imports
    in ``if TYPE_CHECKING:`` blocks (a loop of names used only in annotations, for a look at
    which modules know about each other; the tests do not require its absence).
    """
    package = root.name
    graph = ImportGraph(root, find_modules(root))
    for name, path in graph.modules.items():
        own_packages = {".".join(name.split(".")[:i]) for i in range(1, name.count(".") + 1)}
        if path.name == "__init__.py":
            own_packages.add(name)
        finder = _ImportFinder(type_checking)
        finder.visit(ast.parse(path.read_text(encoding="utf-8"), filename=str(path)))
        for node, in_function, type_only in finder.found:
            asked = _named_modules(name, path, node, package)
            if not asked:
                continue
            if isinstance(node, ast.ImportFrom):
                # `from m import a, b`: a submodule m.a if there is one, else a name in m
                base, names = asked[0], asked[1:]
                targets = [n if n in graph.modules else base for n in names] or [base]
            else:
                targets = asked
            for target in dict.fromkeys(targets):
                if target not in graph.modules:
                    graph.unresolved.append(f"{path.relative_to(root.parent)}:{node.lineno} "
                                            f"{target}")
                    continue
                if target != name:
                    graph.imports.append(Import(name, target, path, node.lineno,
                                                in_function=in_function, type_only=type_only))
                parts = target.split(".")
                for i in range(1, len(parts)):
                    above = ".".join(parts[:i])
                    if above not in own_packages and above in graph.modules:
                        graph.imports.append(Import(name, above, path, node.lineno,
                                                    explicit=False, in_function=in_function,
                                                    via=target, type_only=type_only))
    return graph


# -- the checks -------------------------------------------------------------------------------
def find_cycles(graph: ImportGraph) -> list[list[Import]]:
    """One shortest loop through each knot of mutually importing modules (Tarjan's strongly
    connected components, then a breadth-first search inside each)."""
    edges = graph.edges()
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    knots: list[list[str]] = []

    def connect(v: str) -> None:  # recursion depth is at most the number of modules
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(edges[v]):
            if w not in index:
                connect(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            knot = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                knot.append(w)
                if w == v:
                    break
            if len(knot) > 1:
                knots.append(sorted(knot))

    for v in sorted(edges):
        if v not in index:
            connect(v)
    cycles = []
    for knot in sorted(knots):
        start, members = knot[0], set(knot)
        came_from: dict[str, Import] = {}
        frontier = [start]
        while frontier and start not in came_from:
            following = []
            for v in frontier:
                for w, imp in sorted(edges[v].items()):
                    if w in members and w not in came_from:
                        came_from[w] = imp
                        following.append(w)
            frontier = following
        loop = [came_from[start]]
        while loop[-1].source != start:
            loop.append(came_from[loop[-1].source])
        cycles.append(loop[::-1])
    return cycles


def describe_cycle(cycle: list[Import], root: Path) -> str:
    chain = " -> ".join([cycle[0].source, *(imp.target for imp in cycle)])
    return "\n".join([f"import loop: {chain}", *(f"    {imp.describe(root)}" for imp in cycle)])


def area_of(module: str, areas: Mapping[str, str]) -> str | None:
    """The area of the longest key of ``areas`` that is ``module`` or a package above it."""
    parts = module.split(".")
    for i in range(len(parts), 0, -1):
        if ".".join(parts[:i]) in areas:
            return areas[".".join(parts[:i])]
    return None


def layer_violations(graph: ImportGraph, areas: Mapping[str, str],
                     allowed: Mapping[str, set[str]]) -> list[str]:
    """Every import (named by a statement) from one area into an area it may not import."""
    found = []
    for imp in graph.imports:
        source, target = area_of(imp.source, areas), area_of(imp.target, areas)
        if imp.explicit and target not in allowed.get(source, set()):
            found.append(f"{source} -> {target}: {imp.describe(graph.root)}")
    return found


def forbidden_imports(graph: ImportGraph, importers: str, targets: tuple[str, ...],
                      exempt: set[str]) -> list[str]:
    """Imports of ``targets`` (or modules under them) by modules under ``importers``, other
    than the ``exempt`` ones."""
    def under(module: str, top: str) -> bool:
        return module == top or module.startswith(top + ".")

    return [imp.describe(graph.root) for imp in graph.imports
            if imp.explicit and under(imp.source, importers) and imp.source not in exempt
            and any(under(imp.target, t) for t in targets)]


def long_modules(root: Path, limit: int = MAX_LINES) -> list[tuple[str, int]]:
    """``(path, lines)`` of every ``.py`` file under ``root`` longer than ``limit`` lines."""
    lengths = ((path, len(path.read_text(encoding="utf-8").splitlines()))
               for path in sorted(root.rglob("*.py")))
    return [(str(path.relative_to(root.parent)), n) for path, n in lengths if n > limit]


# -- the rules, on sgdlab ------------------------------------------------------------------------
@pytest.fixture(scope="module")
def sgdlab_graph() -> ImportGraph:
    return import_graph(PACKAGE)


def test_no_import_loops_in_sgdlab(sgdlab_graph):
    cycles = find_cycles(sgdlab_graph)
    if cycles:
        pytest.fail(f"{len(cycles)} import loop(s) in sgdlab/ (break each by moving what both "
                    f"need into a module that both import):\n"
                    + "\n".join(describe_cycle(c, PACKAGE) for c in cycles), pytrace=False)


def test_every_import_of_sgdlab_names_a_module_of_it(sgdlab_graph):
    assert sgdlab_graph.imports, "the walker found no imports at all"
    if sgdlab_graph.unresolved:
        pytest.fail("imports of sgdlab modules that do not exist:\n"
                    + "\n".join(sgdlab_graph.unresolved), pytrace=False)


def test_every_subpackage_has_an_area(sgdlab_graph):
    packages = [name for name, path in sgdlab_graph.modules.items()
                if path.name == "__init__.py" and name.count(".") == 1]
    missing = [name for name in packages if name not in AREAS]
    if missing:
        pytest.fail(f"new subpackage(s) {missing}: add each to AREAS (and ALLOWED) in "
                    f"tests/test_architecture.py, and to GUIDE.md's picture of the house",
                    pytrace=False)


def test_the_arrows_go_one_way(sgdlab_graph):
    wrong = layer_violations(sgdlab_graph, AREAS, ALLOWED)
    if wrong:
        pytest.fail("imports against GUIDE.md's arrows (vision -> core, animate -> core, "
                    "exercises -> core, cli -> everything):\n" + "\n".join(wrong),
                    pytrace=False)


def test_animate_draws_without_training(sgdlab_graph):
    wrong = [line for top, exempt in RECORDERS.items()
             for line in forbidden_imports(sgdlab_graph, top, TRAINING, exempt)]
    if wrong:
        pytest.fail("record first, draw later: only the scene builders record runs; these "
                    "animate modules import training code:\n" + "\n".join(wrong),
                    pytrace=False)


def test_no_module_over_400_lines():
    long = long_modules(PACKAGE)
    if long:
        pytest.fail(f"modules over {MAX_LINES} lines (split each by job):\n"
                    + "\n".join(f"    {path}: {n} lines" for path, n in long), pytrace=False)


# -- the checks can fail: small fake packages ------------------------------------------------------
def write_package(folder: Path, files: Mapping[str, str]) -> Path:
    """Write ``files`` (relative path -> source) under ``folder``; returns the package root."""
    for relative, source in files.items():
        path = folder / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(source), encoding="utf-8")
    return folder / next(iter(files)).split("/")[0]


def python_imports(folder: Path, module: str) -> bool:
    """Whether a fresh Python can ``import module`` from ``folder`` (the oracle)."""
    result = subprocess.run([sys.executable, "-c", f"import {module}"], cwd=folder,
                            capture_output=True, text=True, check=False)
    return result.returncode == 0


def chains(root: Path) -> list[str]:
    return [describe_cycle(c, root).splitlines()[0] for c in find_cycles(import_graph(root))]


def test_a_loop_through_an_import_inside_a_function_is_found(tmp_path):
    root = write_package(tmp_path, {
        "pkg/__init__.py": "",
        "pkg/a.py": "from pkg.b import helper\n",
        "pkg/b.py": "def helper():\n    from pkg import a\n    return a\n",
        "pkg/c.py": "import pkg.a\n",
    })
    (cycle,) = find_cycles(import_graph(root))
    assert describe_cycle(cycle, root) == (
        "import loop: pkg.a -> pkg.b -> pkg.a\n"
        "    pkg/a.py:1 imports pkg.b\n"
        "    pkg/b.py:2 imports pkg.a (inside a function)")


def test_type_checking_imports_do_not_count_but_their_else_does(tmp_path):
    root = write_package(tmp_path, {
        "pkg/__init__.py": "",
        "pkg/a.py": "from pkg.b import B\n",
        "pkg/b.py": """\
            import typing
            from typing import TYPE_CHECKING
            if TYPE_CHECKING:
                from pkg.a import A
            if typing.TYPE_CHECKING:
                import pkg.a
            class B: ...
            """,
    })
    assert chains(root) == []
    (cycle,) = find_cycles(import_graph(root, type_checking=True))
    assert describe_cycle(cycle, root).splitlines()[1:] == [
        "    pkg/a.py:1 imports pkg.b", "    pkg/b.py:4 imports pkg.a (under TYPE_CHECKING)"]
    with (root / "b.py").open("a") as f:
        f.write("if TYPE_CHECKING:\n    pass\nelse:\n    from .a import A\n")
    assert chains(root) == ["import loop: pkg.a -> pkg.b -> pkg.a"]


def test_relative_imports_resolve_to_modules(tmp_path):
    root = write_package(tmp_path, {
        "pkg/__init__.py": "from . import a\nfrom .sub import c\n",
        "pkg/a.py": "from .sub.c import name\nfrom . import missing\n",
        "pkg/sub/__init__.py": "from .. import a\n",
        "pkg/sub/c.py": "from ..a import x\nfrom .. import b\nname = 1\n",
        "pkg/b.py": "",
        "pkg/notes/loose.py": "import pkg.nowhere\n",  # no __init__.py: not a module
    })
    graph = import_graph(root)
    explicit = sorted((i.source, i.target) for i in graph.imports if i.explicit)
    assert explicit == [("pkg", "pkg.a"), ("pkg", "pkg.sub.c"), ("pkg.a", "pkg"),
                        ("pkg.a", "pkg.sub.c"), ("pkg.sub", "pkg.a"), ("pkg.sub.c", "pkg.a"),
                        ("pkg.sub.c", "pkg.b")]
    assert graph.unresolved == []
    assert "pkg.notes.loose" not in graph.modules
    (root / "a.py").write_text("from .sub.nothing import name\n")
    assert import_graph(root).unresolved == ["pkg/a.py:1 pkg.sub.nothing"]


def test_a_package_and_its_submodules_loop_only_as_python_says(tmp_path):
    """Python is the oracle: a loop is reported exactly when ``import pkg.<module>`` fails."""
    root = write_package(tmp_path, {
        "pkg/__init__.py": "from pkg.a import f\n",
        # a submodule importing a sibling: its own package is started, not a dependency
        "pkg/a.py": "from pkg.b import g\nfrom pkg import b\ndef f(): return g()\n",
        "pkg/b.py": "def g(): return 1\n",
    })
    assert chains(root) == []
    assert python_imports(tmp_path, "pkg.b") and python_imports(tmp_path, "pkg.a")
    # a submodule taking a name its package's __init__ gets from that same submodule
    (root / "b.py").write_text("from pkg import f\ndef g(): return 1\n")
    assert chains(root) == ["import loop: pkg -> pkg.a -> pkg.b -> pkg"]
    assert not python_imports(tmp_path, "pkg.b")


def test_a_package_run_on_the_way_is_a_dependency(tmp_path):
    root = write_package(tmp_path, {
        "pkg/__init__.py": "",
        "pkg/other/__init__.py": "from pkg.other.x import X\n",
        "pkg/other/x.py": "from pkg.y import Y\nX = 1\n",
        "pkg/other/z.py": "Z = 2\n",
        "pkg/y.py": "from pkg.other.z import Z\nY = Z\n",
    })
    (cycle,) = find_cycles(import_graph(root))
    assert describe_cycle(cycle, root).splitlines() == [
        "import loop: pkg.other -> pkg.other.x -> pkg.y -> pkg.other",
        "    pkg/other/__init__.py:1 imports pkg.other.x",
        "    pkg/other/x.py:1 imports pkg.y",
        "    pkg/y.py:1 runs the package pkg.other on the way to pkg.other.z",
    ]
    assert not python_imports(tmp_path, "pkg.y")


def test_layer_violations_name_the_import(tmp_path):
    root = write_package(tmp_path, {
        "pkg/__init__.py": "",
        "pkg/core.py": "def later():\n    import pkg.vision.model\n",
        "pkg/vision/__init__.py": "",
        "pkg/vision/model.py": "from pkg import core\n",
        "pkg/cli.py": "from pkg.vision import model\n",
    })
    areas = {"pkg": "core", "pkg.vision": "vision", "pkg.cli": "cli"}
    allowed = {"core": {"core"}, "vision": {"core", "vision"}, "cli": {"core", "vision", "cli"}}
    assert layer_violations(import_graph(root), areas, allowed) == [
        "core -> vision: pkg/core.py:2 imports pkg.vision.model (inside a function)"]
    assert forbidden_imports(import_graph(root), "pkg.vision", ("pkg.core",), set()) == [
        "pkg/vision/model.py:1 imports pkg.core"]
    assert forbidden_imports(import_graph(root), "pkg.vision", ("pkg.core",),
                             {"pkg.vision.model"}) == []


def test_long_modules_are_listed_with_their_length(tmp_path):
    root = write_package(tmp_path, {"pkg/__init__.py": "", "pkg/ok.py": "x = 1\n" * 400,
                                    "pkg/sub/long.py": "x = 1\n" * 401})
    assert long_modules(root) == [("pkg/sub/long.py", 401)]


def test_the_real_areas_cover_the_guide():
    assert area_of("sgdlab.history", AREAS) == "core"
    assert area_of("sgdlab.diagnose.rules", AREAS) == "core"
    assert area_of("sgdlab.vision.learner", AREAS) == "vision"
    assert area_of("sgdlab.animate.cli", AREAS) == "animate"
    assert area_of("sgdlab.cli", AREAS) == "cli"
    assert "animate" not in ALLOWED["core"] and "vision" not in ALLOWED["core"]
    assert "cli" not in ALLOWED["core"] and "animate" not in ALLOWED["vision"]
