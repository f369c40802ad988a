"""The shape of bot/ and dialogs/ (issue 18): no import cycles, no file over 500 lines, no function over 60 lines,
no import of a bot/dialogs module inside a function, no SQL on a table outside the module that owns it.

Parts of the code still break these rules; each such place is listed below with the reason. A debt is to be
paid in a later step; a few places are meant (said so). The test fails when a new place breaks a rule and
when a listed one no longer does, so the lists only shrink: when you fix one, delete its line.
`python -m tests.structure` prints where the code stands (see tests/structure.py for how imports are counted).
"""
from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.structure import (
    MAX_FILE_LINES,
    MAX_FUNCTION_LINES,
    ROOT,
    Report,
    created_tables,
    describe_cycle,
    foreign_sql,
    sandbox_imports,
    scan,
    sql_tables,
)

LAZY_HELP = "meant: imported when the command runs, so `python -m bot --help` and the other commands stay fast"

# Imports that close a cycle, (importer, imported). Without them the import graph must have no cycle, and each of
# them must still close one.
KNOWN_CYCLE_IMPORTS = {
}

KNOWN_BIG_FILES = {
}

KNOWN_LONG_FUNCTIONS = {
}

# (file, function, module it imports inside the function)
KNOWN_INNER_IMPORTS = {
    ("bot/cli.py", "_run", "bot.app"): LAZY_HELP,
    ("bot/cli.py", "_run", "bot.runtime.web"): LAZY_HELP,
    ("bot/cli.py", "_run", "bot.webchat.serve"): LAZY_HELP,
    ("bot/cli.py", "_run_with_sandbox", "bot.app"): LAZY_HELP,
    ("bot/cli.py", "_run_with_sandbox", "bot.webchat.serve"): LAZY_HELP,
    ("bot/cli.py", "cmd_backup", "bot.ops.backup"): LAZY_HELP,
    ("bot/cli.py", "cmd_bind_code", "bot.requests.service"): LAZY_HELP,
    ("bot/cli.py", "cmd_bind_code", "bot.storage.db"): LAZY_HELP,
    ("bot/cli.py", "cmd_catalogue", "bot.ops.catalogue_edits.command_line"): LAZY_HELP,
    ("bot/cli.py", "cmd_doctor", "bot.ops.doctor"): LAZY_HELP,
    ("bot/cli.py", "cmd_export", "bot.reports.cli"): LAZY_HELP,
    ("bot/cli.py", "cmd_qr", "bot.app"): LAZY_HELP,
    ("bot/cli.py", "cmd_qr", "bot.links"): LAZY_HELP,
    ("bot/cli.py", "cmd_qr", "bot.qr"): LAZY_HELP,
    ("bot/cli.py", "cmd_restore", "bot.ops.backup"): LAZY_HELP,
    ("bot/cli.py", "cmd_run", "bot.ops.backup"): LAZY_HELP,
    ("bot/cli.py", "cmd_search", "bot.catalogue.search"): LAZY_HELP,
    ("bot/cli.py", "cmd_stats", "bot.consult.stats"): LAZY_HELP,
    ("bot/cli.py", "cmd_stats", "bot.reports.cli"): LAZY_HELP,
    ("bot/cli.py", "cmd_stats", "bot.storage.db"): LAZY_HELP,
    ("bot/cli.py", "cmd_triage", "bot.catalogue.reader"): LAZY_HELP,
    ("bot/cli.py", "cmd_triage", "bot.catalogue.triage"): LAZY_HELP,
    ("bot/cli.py", "cmd_triage_train", "bot.catalogue.reader"): LAZY_HELP,
    ("bot/cli.py", "cmd_triage_train", "bot.catalogue.triage"): LAZY_HELP,
    ("bot/cli.py", "cmd_triage_train", "bot.catalogue.triage_model"): LAZY_HELP,
}


# Who owns each table the migrations create (a module, or a package and all of its modules): only its SQL names the
# table; any other module calls the owner's functions. A new table gets its owner here (test_every_table_has_an_owner).
REQUESTS, CONSULT, GROUPS, CAMPAIGNS = "bot.requests", "bot.consult", "bot.groups", "bot.campaigns"
TABLE_OWNERS: dict[str, tuple[str, ...]] = {
    "residents": ("bot.storage.residents",),
    "consents": ("bot.storage.residents",),
    "fsm_state": ("bot.storage.fsm",),
    "processed_updates": ("bot.storage.updates",),
    "schema_version": ("bot.storage.db",),
    "data_origin": ("bot.storage.origin",),
    "inbox": ("bot.runtime.inbox",),
    **{table: (REQUESTS,) for table in ("requests", "request_events", "request_files", "request_counters",
                                         "request_messages", "guessed_follow_ups", "request_confirmations")},
    **{table: (CONSULT,) for table in ("consultations", "consultation_messages", "bookings")},
    **{table: (GROUPS,) for table in ("groups", "bind_codes", "bind_attempts", "staff", "reply_templates")},
    "outbox": ("bot.delivery.outbox",),
    **{table: (CAMPAIGNS,) for table in ("campaigns", "campaign_recipients", "campaign_tallies", "subscriptions")},
    "link_opens": ("bot.links",),
    **{table: ("bot.webchat.store",) for table in ("web_users", "web_sessions", "web_messages", "web_files",
                                                    "web_links", "web_updates")},
    "admins": ("bot.admins",),
    **{table: ("bot.ops.catalogue_edits.versions",) for table in ("catalogue_versions", "catalogue_imports")},
}

# (file, table) for SQL on a table outside its owner.
KNOWN_FOREIGN_SQL: dict[tuple[str, str], str] = {
}


@pytest.fixture(scope="module")
def report() -> Report:
    return scan()


def _stale(kind: str, keys) -> str:
    if not keys:
        return ""
    return (f"\nno longer {kind}, so delete these from the list in tests/test_structure.py:"
            + "".join(f"\n  {key!r}" for key in sorted(keys)))


def test_no_new_import_cycle(report: Report) -> None:
    cycles = report.cycles(ignore=frozenset(KNOWN_CYCLE_IMPORTS))
    stale = [edge for edge in KNOWN_CYCLE_IMPORTS if not report.on_cycle(*edge)]
    message = ""
    if cycles:
        message += "import cycles (break each by the direction of the dependency, not by an import in a function):\n"
        message += "\n".join(describe_cycle(report, cycle) for cycle in cycles)
    message += _stale("closing a cycle", stale)
    if message:
        pytest.fail(message, pytrace=False)


def test_no_new_big_file(report: Report) -> None:
    big = report.big_files()
    new = {path: lines for path, lines in big.items() if path not in KNOWN_BIG_FILES}
    message = "".join(f"\n  {path}: {lines} lines" for path, lines in new.items())
    if message:
        message = f"files over {MAX_FILE_LINES} lines (split them into modules with one job each):" + message
    message += _stale(f"over {MAX_FILE_LINES} lines", set(KNOWN_BIG_FILES) - set(big))
    if message:
        pytest.fail(message, pytrace=False)


def test_no_new_long_function(report: Report) -> None:
    long = report.long_functions()
    new = {key: lines for key, lines in long.items() if key not in KNOWN_LONG_FUNCTIONS}
    message = "".join(f"\n  {path}: {name}() {lines} lines" for (path, name), lines in new.items())
    if message:
        message = f"functions over {MAX_FUNCTION_LINES} lines:" + message
    message += _stale(f"over {MAX_FUNCTION_LINES} lines", set(KNOWN_LONG_FUNCTIONS) - set(long))
    if message:
        pytest.fail(message, pytrace=False)


def test_no_new_import_inside_a_function(report: Report) -> None:
    inner = report.inner_imports()
    new = {key: line for key, line in inner.items() if key not in KNOWN_INNER_IMPORTS}
    message = "".join(f"\n  {path}:{line} {function}() imports {target}"
                      for (path, function, target), line in sorted(new.items()))
    if message:
        message = "imports of bot/dialogs modules inside a function (put them at the top of the module):" + message
    message += _stale("imported inside a function", set(KNOWN_INNER_IMPORTS) - set(inner))
    if message:
        pytest.fail(message, pytrace=False)


def test_every_table_has_an_owner() -> None:
    tables, owned = created_tables(), set(TABLE_OWNERS)
    assert not tables - owned, f"give these tables an owner in TABLE_OWNERS: {sorted(tables - owned)}"
    assert not owned - tables, f"no migration creates these any more: {sorted(owned - tables)}"


def test_no_new_sql_outside_the_owner_of_the_table(report: Report) -> None:
    found = foreign_sql(report, TABLE_OWNERS, created_tables())
    new = {key: line for key, line in found.items() if key not in KNOWN_FOREIGN_SQL}
    message = "".join(f"\n  {path}:{line} names {table} (owned by {', '.join(TABLE_OWNERS[table])})"
                      for (path, table), line in sorted(new.items()))
    if message:
        message = ("SQL on a table outside the module that owns it (give the owner a function and call it):"
                   + message)
    message += _stale("naming a table it does not own", set(KNOWN_FOREIGN_SQL) - set(found))
    if message:
        pytest.fail(message, pytrace=False)


def test_the_sandbox_imports_nothing_of_the_bot() -> None:
    """sandbox/ is a program of its own (the Telegram side): it may not import bot/ or dialogs/, not even lazily."""
    found = sandbox_imports()
    if found:
        pytest.fail("sandbox/ imports the bot (give the sandbox its own copy, or move the piece to sandbox/):"
                    + "".join(f"\n  {path}:{line} imports {target}" for (path, line), target in sorted(found.items())),
                    pytrace=False)


def test_the_sandbox_starts_without_the_bot() -> None:
    """Importing every sandbox module loads no module of bot/ or dialogs/, and `python -m sandbox` answers."""
    modules = sorted(p.relative_to(ROOT).with_suffix("").as_posix().replace("/", ".").removesuffix(".__init__")
                     for p in (ROOT / "sandbox").rglob("*.py") if p.name != "__main__.py")
    assert "sandbox.server" in modules and "sandbox.client" in modules
    code = ("import importlib, sys\n"
            f"for name in {modules!r}:\n    importlib.import_module(name)\n"
            "print(' '.join(sorted(m for m in sys.modules if m.split('.')[0] in ('bot', 'dialogs'))))")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == ""
    done = subprocess.run([sys.executable, "-m", "sandbox", "--help"], cwd=ROOT, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("usage: python -m sandbox")


# ----- tests/ and benchmarks/ ----------------------------------------------------------------------------------------

MODULE_NAME = re.compile(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)+")


def _is_module(root: Path, name: str) -> bool:
    path = root.joinpath(*name.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def imports_under(folder: str, root: Path = ROOT) -> list[tuple[str, int, str]]:
    """(file, line, module) for each import in folder/, anywhere in a module (relative ones resolved; for
    `from a import b` both a and, when it is a module, a.b), and each dotted module name written out as a string
    (for importlib or `python -m`)."""
    found: list[tuple[str, int, str]] = []
    for path in sorted((root / folder).rglob("*.py")):
        relative = path.relative_to(root).as_posix()
        package = list(path.relative_to(root).parts[:-1])
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), relative)):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = package[: len(package) - node.level + 1] if node.level else []
                module = ".".join([*base, *([node.module] if node.module else [])])
                targets = [module] + [f"{module}.{alias.name}" for alias in node.names
                                      if _is_module(root, f"{module}.{alias.name}")]
            elif isinstance(node, ast.Constant) and isinstance(node.value, str) and MODULE_NAME.fullmatch(node.value):
                targets = [node.value]
            found.extend((relative, node.lineno, target) for target in targets if target)
    return sorted(found)


def _tests_importing_tests(found: list[tuple[str, int, str]]) -> list[str]:
    return [f"{path}:{line} imports {target}" for path, line, target in found
            if target.split(".")[0] == "tests"
            and (target.split(".")[-1] == "conftest" or target.split(".")[-1].startswith("test_"))]


def _benchmarks_importing_tests(found: list[tuple[str, int, str]]) -> list[str]:
    return [f"{path}:{line} imports {target}" for path, line, target in found if target.split(".")[0] == "tests"]


def test_no_test_module_imports_a_test_module_or_a_conftest() -> None:
    """What several test modules share lives in tests/support/ (issue 18); a conftest only holds fixtures."""
    found = _tests_importing_tests(imports_under("tests"))
    if found:
        pytest.fail("test modules import a test module or a conftest (move the shared piece to tests/support/):"
                    + "".join(f"\n  {line}" for line in found), pytrace=False)


def test_the_benchmarks_import_nothing_of_the_tests() -> None:
    """benchmarks/ may be imported by the tests, never the other way round (issue 18)."""
    found = _benchmarks_importing_tests(imports_under("benchmarks"))
    if found:
        pytest.fail("benchmarks/ imports tests/ (move the piece to benchmarks/ and import it from there in the tests):"
                    + "".join(f"\n  {line}" for line in found), pytrace=False)


def test_every_exception_says_why() -> None:
    for known in (KNOWN_CYCLE_IMPORTS, KNOWN_BIG_FILES, KNOWN_LONG_FUNCTIONS, KNOWN_INNER_IMPORTS, KNOWN_FOREIGN_SQL):
        assert all(reason.strip() for reason in known.values())


# ----- the checker itself, on a small made-up tree ------------------------------------------------------------------

def _tree(tmp_path, files: dict[str, str]) -> Report:
    for name, text in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    for package in ("bot", "dialogs"):
        (tmp_path / package).mkdir(exist_ok=True)
        (tmp_path / package / "__init__.py").touch()
    return scan(tmp_path)


def test_a_cycle_through_a_package_init_and_a_function(tmp_path) -> None:
    report = _tree(tmp_path, {
        "dialogs/resident/__init__.py": "from dialogs.resident import start\n",
        "dialogs/resident/start.py": "from . import links\n",  # relative; its own package is no dependency
        "dialogs/resident/links.py": "X = 1\n",
        "dialogs/admin.py": "def f():\n    from dialogs.resident.links import X\n",
        "sandbox/server.py": "import dialogs.admin\n",  # not in the graph: a program of its own
        "bot/services.py": "import dialogs.admin\n",
        "dialogs/resident/mydata.py": "import typing\nif typing.TYPE_CHECKING:\n    from bot import services\n",
    })
    assert report.cycles() == []
    assert report.inner_imports() == {("dialogs/admin.py", "f", "dialogs.resident.links"): 2}
    (tmp_path / "dialogs/resident/links.py").write_text("import bot.services\n", encoding="utf-8")
    report = scan(tmp_path)
    # links -> services -> admin -> links, and admin -> dialogs.resident (its __init__) -> start -> links -> ...
    assert report.cycles() == [
        ["bot.services", "dialogs.admin", "dialogs.resident.links", "bot.services"],
        ["dialogs.admin", "dialogs.resident", "dialogs.resident.start", "dialogs.resident.links", "bot.services",
         "dialogs.admin"],
    ]
    [type_only] = report.import_lines("dialogs.resident.mydata", "bot.services")
    assert type_only.type_only and type_only.function is None
    assert report.on_cycle("dialogs.admin", "dialogs.resident.links")
    assert not report.on_cycle("dialogs.resident.mydata", "bot.services")
    assert report.cycles(ignore=frozenset({("bot.services", "dialogs.admin")})) == []
    assert "dialogs/admin.py:2 imports dialogs.resident.links (in f())" in describe_cycle(report, report.cycles()[0])


def test_sizes(tmp_path) -> None:
    body = "\n".join(f"        x{i} = {i}" for i in range(60))
    report = _tree(tmp_path, {"bot/big.py": f"class A:\n    @staticmethod\n    def long():\n{body}\n" + "\n" * 440})
    assert report.long_functions() == {("bot/big.py", "A.long"): 62}  # the decorator counts
    assert report.big_files() == {"bot/big.py": 503}


def test_the_sql_check_on_a_made_up_tree(tmp_path) -> None:
    (tmp_path / "bot/storage/migrations").mkdir(parents=True)
    (tmp_path / "bot/storage/migrations/0001_a.sql").write_text(
        "CREATE TABLE notes (id INTEGER);\nCREATE TABLE IF NOT EXISTS tags (id INTEGER);\n", encoding="utf-8")
    report = _tree(tmp_path, {
        "bot/storage/meta.py": 'SQL = "CREATE TABLE IF NOT EXISTS versions (v INTEGER)"\n',
        "bot/notes/__init__.py": "",
        "bot/notes/store.py": 'A = "SELECT * FROM notes n JOIN tags t ON t.id = n.id"\n',
        "bot/export.py": ('def f(table):\n'
                          '    """Reads FROM notes."""\n'  # a docstring counts too: it is a string
                          '    return (f"DELETE FROM {table} WHERE 1" "; INSERT OR IGNORE INTO "\n'
                          '            "tags VALUES (1)", "from notes, update notes", "UPDATE versions SET v = 2")\n'),
        "dialogs/view.py": 'TEXT = "FROM nowhere INTO notesbook"\n',
    })
    tables = created_tables(tmp_path)
    assert tables == {"notes", "tags", "versions"}
    assert sql_tables(report, tables) == {
        ("bot/export.py", "notes"): 2, ("bot/export.py", "tags"): 3, ("bot/export.py", "versions"): 4,
        ("bot/notes/store.py", "notes"): 1, ("bot/notes/store.py", "tags"): 1,
    }  # creating a table is not using it: meta.py names none
    owners = {"notes": ("bot.notes",), "tags": ("bot.notes.store",), "versions": ("bot.storage.meta",)}
    assert foreign_sql(report, owners, tables) == {
        ("bot/export.py", "notes"): 2, ("bot/export.py", "tags"): 3, ("bot/export.py", "versions"): 4,
    }


def test_the_sandbox_check_on_a_made_up_tree(tmp_path) -> None:
    for name, text in {
        "sandbox/__init__.py": "from . import server\n",  # its own modules are fine
        "sandbox/server.py": "import json\nimport botanic\ndef f():\n    import dialogs.admin\n",
        "sandbox/sub/__init__.py": "",
        "sandbox/sub/deep.py": "from .. import server\nfrom ...bot import config\n",
        "sandbox/lazy.py": "import importlib\nif False:\n    from bot.services import x\n"
                           "importlib.import_module('bot.app')\n",
    }.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert sandbox_imports(tmp_path) == {
        ("sandbox/server.py", 4): "dialogs.admin",
        ("sandbox/sub/deep.py", 2): "...bot (above sandbox/)",
        ("sandbox/lazy.py", 3): "bot.services",
        ("sandbox/lazy.py", 4): "bot.app",
    }



def test_the_test_and_benchmark_checks_on_a_made_up_tree(tmp_path) -> None:
    for name, text in {
        "tests/__init__.py": "",
        "tests/conftest.py": "from tests.support.world import World\n",
        "tests/support/__init__.py": "",
        "tests/support/world.py": "World = object\n",
        "tests/e2e/__init__.py": "",
        "tests/e2e/conftest.py": "X = 1\n",
        "tests/e2e/test_a.py": "from .conftest import X\nfrom tests.support.world import World\n",
        "tests/e2e/test_b.py": "def test_b():\n    from tests.e2e.test_a import X\nfrom tests.e2e import test_a\n",
        "tests/test_c.py": "import tests.conftest\n",
        "benchmarks/soak.py": "import os\nfrom benchmarks.day import run\nCMD = ['-m', 'tests.support.clock']\n",
        "benchmarks/day.py": "def run():\n    from tests.support.world import World\n",
    }.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert _tests_importing_tests(imports_under("tests", tmp_path)) == [
        "tests/e2e/test_a.py:1 imports tests.e2e.conftest",
        "tests/e2e/test_b.py:2 imports tests.e2e.test_a",
        "tests/e2e/test_b.py:3 imports tests.e2e.test_a",
        "tests/test_c.py:1 imports tests.conftest",
    ]
    assert _benchmarks_importing_tests(imports_under("benchmarks", tmp_path)) == [
        "benchmarks/day.py:2 imports tests.support.world",
        "benchmarks/soak.py:3 imports tests.support.clock",
    ]
