"""The shape of the code: import cycles, big files, long functions, imports hidden in functions, and SQL on a
table outside the module that owns it.

It reads bot/ and dialogs/ with ``ast`` and never imports them. The local Bot API sandbox (sandbox/) is a program of
its own: it is only checked for imports of bot/ or dialogs/, which it must not have (``sandbox_imports``).
tests/test_structure.py holds the rules and the list of known exceptions; ``python -m tests.structure``
prints the same report for a reader who wants to see where the code stands.

How SQL is found (``sql_tables``): in every string literal of a module (adjacent literals are one; an f-string
counts by its fixed parts), each name after FROM, INTO, UPDATE or JOIN (so DELETE FROM and INSERT OR … INTO too),
written in capitals as the code writes SQL, that is a table the migrations (or a CREATE TABLE in bot/) create.

How imports are counted:

* every ``import`` and ``from … import`` counts, at the top of a module, inside a function or inside an
  ``if``/``try``; one under ``if TYPE_CHECKING:`` never runs, but it still says that one module needs
  the other, so it counts too (marked "type only" in the report);
* relative imports are resolved against the module's package;
* importing ``a.b.c`` runs ``a/__init__.py`` and ``a/b/__init__.py`` first, so a package counts as a
  node of the graph (its ``__init__.py``), and the importer depends on each of them — except on its own
  packages, which Python has always started before the module itself runs;
* ``from a.b import c`` depends on ``a.b.c`` when ``c`` is a module, otherwise on ``a.b``.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("bot", "dialogs")
SEPARATE = ("sandbox",)  # programs of their own that must not import PACKAGES
MAX_FILE_LINES = 500
MAX_FUNCTION_LINES = 60
MIGRATIONS = Path("bot/storage/migrations")
CREATE_TABLE = re.compile(r"\bCREATE\s+TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?([A-Za-z_]\w*)")
SQL_TABLE = re.compile(r"\b(?:FROM|INTO|UPDATE|JOIN)\s+([A-Za-z_]\w*)")


@dataclass(frozen=True)
class Import:
    """One import statement's dependency of ``source`` on ``target`` (both dotted module names)."""

    source: str
    target: str
    line: int
    function: str | None  # the qualified name of the enclosing function, None at module level
    type_only: bool  # under `if TYPE_CHECKING:`
    direct: bool  # the module named, not one of the packages Python runs on the way to it


@dataclass(frozen=True)
class Function:
    path: str  # relative to the project root, with forward slashes
    name: str  # qualified: Class.method, outer.<locals>.inner
    line: int
    lines: int


@dataclass
class Module:
    name: str
    path: str
    is_package: bool
    lines: int
    tree: ast.Module = field(repr=False)


@dataclass
class Report:
    modules: dict[str, Module]
    imports: list[Import]
    functions: list[Function]

    @property
    def edges(self) -> dict[str, set[str]]:
        graph: dict[str, set[str]] = {name: set() for name in self.modules}
        for item in self.imports:
            graph[item.source].add(item.target)
        return graph

    def big_files(self, limit: int = MAX_FILE_LINES) -> dict[str, int]:
        return {m.path: m.lines for m in sorted(self.modules.values(), key=lambda m: m.path) if m.lines > limit}

    def long_functions(self, limit: int = MAX_FUNCTION_LINES) -> dict[tuple[str, str], int]:
        return {(f.path, f.name): f.lines for f in self.functions if f.lines > limit}

    def inner_imports(self) -> dict[tuple[str, str, str], int]:
        """(file, function, imported module) -> line, for imports of bot/dialogs inside a function."""
        found: dict[tuple[str, str, str], int] = {}
        for item in self.imports:
            if item.function is not None and item.direct:
                found.setdefault((self.modules[item.source].path, item.function, item.target), item.line)
        return found

    def cycles(self, ignore: frozenset[tuple[str, str]] = frozenset()) -> list[list[str]]:
        """Cycles that together use every import between modules that import each other (a strongly
        connected component), each written as a path that ends where it starts; ``ignore`` leaves out
        imports (source, target) as if they were not there."""
        graph = {source: {t for t in targets if (source, t) not in ignore} for source, targets in self.edges.items()}
        found: list[list[str]] = []
        for group in strongly_connected(graph):
            if len(group) < 2:
                continue
            covered: set[tuple[str, str]] = set()
            for source in sorted(group):
                for target in sorted(graph[source] & group):
                    if (source, target) not in covered:
                        cycle = [source, *shortest_path(graph, target, source)]
                        found.append(cycle)
                        covered.update(zip(cycle, cycle[1:]))
        return found

    def on_cycle(self, source: str, target: str) -> bool:
        """Whether the import of ``target`` by ``source`` closes a cycle (``target`` leads back)."""
        return target in self.edges.get(source, ()) and bool(shortest_path(self.edges, target, source))

    def import_lines(self, source: str, target: str) -> list[Import]:
        return [i for i in self.imports if i.source == source and i.target == target]


def _literals(tree: ast.AST):
    """(line, text) of each string literal; an f-string's fixed parts joined around ``{}``."""
    in_fstring: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr):
            in_fstring.update(id(part) for part in node.values)
            yield node.lineno, "".join(part.value if isinstance(part, ast.Constant) else "{}" for part in node.values)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in in_fstring:
            yield node.lineno, node.value


def created_tables(root: Path = ROOT) -> set[str]:
    """The tables the migrations create, and any a CREATE TABLE in a string of bot/ creates (schema_version)."""
    tables = {name for path in (root / MIGRATIONS).glob("*.sql")
              for name in CREATE_TABLE.findall(path.read_text(encoding="utf-8"))}
    for path in (root / "bot").rglob("*.py"):
        for _, text in _literals(ast.parse(path.read_text(encoding="utf-8"))):
            tables.update(CREATE_TABLE.findall(text))
    return tables


def sql_tables(report: Report, tables: set[str]) -> dict[tuple[str, str], int]:
    """(file, table) -> first line, for each table of ``tables`` that SQL in a module's strings names."""
    found: dict[tuple[str, str], int] = {}
    for module in sorted(report.modules.values(), key=lambda m: m.path):
        for line, text in sorted(_literals(module.tree)):
            for table in SQL_TABLE.findall(text):
                if table in tables:
                    found.setdefault((module.path, table), line)
    return found


def owns(module: str, table: str, owners: dict[str, tuple[str, ...]]) -> bool:
    """Whether ``module`` (dotted) is, or is inside, one of the owners of ``table``."""
    return any(module == owner or module.startswith(owner + ".") for owner in owners.get(table, ()))


def foreign_sql(report: Report, owners: dict[str, tuple[str, ...]],
                tables: set[str]) -> dict[tuple[str, str], int]:
    """(file, table) -> line, for SQL on a table outside the modules that own it."""
    by_path = {m.path: m.name for m in report.modules.values()}
    return {(path, table): line for (path, table), line in sql_tables(report, tables).items()
            if not owns(by_path[path], table, owners)}


def module_name(path: Path, root: Path = ROOT) -> tuple[str, bool]:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        return ".".join(parts[:-1]), True
    return ".".join(parts), False


def scan(root: Path = ROOT) -> Report:
    modules: dict[str, Module] = {}
    for package in PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            relative = path.relative_to(root).as_posix()
            text = path.read_text(encoding="utf-8")
            name, is_package = module_name(path, root)
            modules[name] = Module(name, relative, is_package, len(text.splitlines()), ast.parse(text, relative))
    imports: list[Import] = []
    functions: list[Function] = []
    for module in modules.values():
        visitor = _Visitor(module, modules)
        visitor.visit(module.tree)
        imports.extend(visitor.imports)
        functions.extend(visitor.functions)
    return Report(modules, imports, functions)


class _Visitor(ast.NodeVisitor):
    def __init__(self, module: Module, modules: dict[str, Module]) -> None:
        self.module = module
        self.modules = modules
        self.scope: list[str] = []
        self.functions_open = 0
        self.type_only = 0
        self.imports: list[Import] = []
        self.functions: list[Function] = []

    # scopes ---------------------------------------------------------------------------------------
    def _function(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        name = ".".join([*self.scope, node.name])
        first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
        lines = (node.end_lineno or node.lineno) - first + 1
        self.functions.append(Function(self.module.path, name, node.lineno, lines))
        self.scope.extend([node.name, "<locals>"])
        self.functions_open += 1
        self.generic_visit(node)
        self.functions_open -= 1
        del self.scope[-2:]

    visit_FunctionDef = _function
    visit_AsyncFunctionDef = _function

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        self.scope.append(node.name)
        self.generic_visit(node)
        self.scope.pop()

    def visit_If(self, node: ast.If) -> None:
        if not _is_type_checking(node.test):
            self.generic_visit(node)
            return
        self.visit(node.test)
        self.type_only += 1
        for child in node.body:
            self.visit(child)
        self.type_only -= 1
        for child in node.orelse:  # the else branch does run
            self.visit(child)

    # imports --------------------------------------------------------------------------------------
    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self._depend(alias.name, node.lineno)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        base = self._absolute(node)
        if base is None:
            return
        for alias in node.names:
            submodule = f"{base}.{alias.name}"
            self._depend(submodule if submodule in self.modules else base, node.lineno)

    def _absolute(self, node: ast.ImportFrom) -> str | None:
        if not node.level:
            return node.module
        package = self.module.name.split(".")
        if not self.module.is_package:
            package = package[:-1]
        if node.level > 1:
            package = package[: len(package) - (node.level - 1)]
        return ".".join([*package, *([node.module] if node.module else [])])

    def _depend(self, target: str, line: int) -> None:
        parts = target.split(".")
        if parts[0] not in PACKAGES:
            return
        own = self.module.name.split(".")
        own_packages = {".".join(own[:i]) for i in range(1, len(own) + (1 if self.module.is_package else 0))}
        function = ".".join(self.scope[:-1]) if self.functions_open else None
        for i in range(1, len(parts) + 1):
            name = ".".join(parts[:i])
            if name in self.modules and name not in own_packages and name != self.module.name:
                direct = i == len(parts)
                self.imports.append(Import(self.module.name, name, line, function, self.type_only > 0, direct))


def sandbox_imports(root: Path = ROOT, separate: tuple[str, ...] = SEPARATE) -> dict[tuple[str, int], str]:
    """(file, line) -> module, for each place in the separate programs (sandbox/) that imports bot/ or dialogs/:
    an ``import``/``from … import`` anywhere (in a function, under ``if TYPE_CHECKING:``, a relative one that climbs
    out of the package) or ``importlib.import_module``/``__import__`` with the module's name written out."""
    found: dict[tuple[str, int], str] = {}
    for package in separate:
        for path in sorted((root / package).rglob("*.py")):
            relative = path.relative_to(root).as_posix()
            name, is_package = module_name(path, root)
            own = name.split(".") if is_package else name.split(".")[:-1]
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), relative)):
                targets: list[str] = []
                if isinstance(node, ast.Import):
                    targets = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom):
                    base = own[: len(own) - node.level + 1] if node.level else []
                    targets = [".".join([*base, *([node.module] if node.module else [])]) or "."]
                    if node.level > len(own):
                        targets = [f"{'.' * node.level}{node.module or ''} (above {package}/)"]
                elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
                    called = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
                    if called in ("import_module", "__import__") and isinstance(node.args[0].value, str):
                        targets = [node.args[0].value]
                for target in targets:
                    if target.split(".")[0] in PACKAGES or target.endswith(f"(above {package}/)"):
                        found.setdefault((relative, node.lineno), target)
    return found


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def strongly_connected(graph: dict[str, set[str]]) -> list[set[str]]:
    """Tarjan's algorithm, iterative, in a stable order."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[set[str]] = []
    counter = 0
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            for child in children:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    group = set()
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        group.add(member)
                        if member == node:
                            break
                    groups.append(group)
    return sorted(groups, key=lambda g: sorted(g))


def shortest_path(graph: dict[str, set[str]], start: str, goal: str) -> list[str]:
    """The modules from ``start`` to ``goal`` along imports, both included; [] when there is no way."""
    previous: dict[str, str] = {start: start}
    frontier = [start]
    while frontier and goal not in previous:
        following = []
        for node in frontier:
            for child in sorted(graph.get(node, ())):
                if child not in previous:
                    previous[child] = node
                    following.append(child)
        frontier = following
    if goal not in previous:
        return []
    path = [goal]
    while path[-1] != start:
        path.append(previous[path[-1]])
    return path[::-1]


def describe_cycle(report: Report, cycle: list[str]) -> str:
    """A cycle with the file and line of each import in it."""
    lines = ["  " + " -> ".join(cycle)]
    for source, target in zip(cycle, cycle[1:]):
        for item in report.import_lines(source, target)[:1]:
            where = f"in {item.function}()" if item.function else "at module level"
            if item.type_only:
                where += ", type only"
            lines.append(f"    {report.modules[source].path}:{item.line} imports {target} ({where})")
    return "\n".join(lines)


def render(report: Report) -> str:
    out: list[str] = []
    total = sum(m.lines for m in report.modules.values())
    out.append(f"{len(report.modules)} modules in {', '.join(PACKAGES)}, "
               f"{total} lines, {len(report.functions)} functions")
    cycles = report.cycles()
    out.append(f"\nImport cycles: {len(cycles)}")
    out.extend(describe_cycle(report, cycle) for cycle in cycles)
    big = report.big_files()
    out.append(f"\nFiles over {MAX_FILE_LINES} lines: {len(big)}")
    out.extend(f"  {path}: {lines}" for path, lines in sorted(big.items(), key=lambda kv: -kv[1]))
    long = report.long_functions()
    out.append(f"\nFunctions over {MAX_FUNCTION_LINES} lines: {len(long)}")
    out.extend(f"  {path}: {name}() {lines}" for (path, name), lines in sorted(long.items(), key=lambda kv: -kv[1]))
    inner = report.inner_imports()
    out.append(f"\nImports of bot/dialogs inside functions: {len(inner)}")
    out.extend(f"  {path}:{line} {function}() imports {target}"
               for (path, function, target), line in sorted(inner.items()))
    uses: dict[str, list[str]] = {}
    for path, table in sql_tables(report, created_tables()):
        uses.setdefault(table, []).append(path)
    out.append(f"\nTables and the files whose SQL names them (owners: TABLE_OWNERS in tests/test_structure.py): "
               f"{len(uses)}")
    out.extend(f"  {table}: {', '.join(paths)}" for table, paths in sorted(uses.items()))
    foreign = sandbox_imports()
    out.append(f"\nImports of {'/'.join(PACKAGES)} in {', '.join(SEPARATE)}: {len(foreign)}")
    out.extend(f"  {path}:{line} imports {target}" for (path, line), target in sorted(foreign.items()))
    return "\n".join(out)


if __name__ == "__main__":
    print(render(scan()))
