"""The test lanes stay honest: a test module that starts a service or runs the graph without a fixture that marks
it (tests/conftest.py) declares its lane itself, so `make test-fast` never starts a server or runs the graph."""

from __future__ import annotations

import ast
import re
from pathlib import Path

TESTS = Path(__file__).resolve().parent

# lane -> what in a module's source shows it belongs to that lane
SIGNS = {
    "emulator": re.compile(r"\bstart_(cosmos|azurite)\("),
    "postgres": re.compile(r"\bpostgres_server\("),
    "browser": re.compile(r"\bsync_playwright\b"),
    "slow": re.compile(r"\bmaterialize(_graph)?\(|\bdagster_processes\b|\bevidently_ui\("),
}


def module_lanes(tree: ast.Module) -> set[str]:
    """The markers of the module's `pytestmark = pytest.mark.x` (or a list of them)."""
    lanes = set()
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "pytestmark" for t in node.targets):
            for sub in ast.walk(node.value):
                if isinstance(sub, ast.Attribute) and getattr(sub.value, "attr", None) == "mark":
                    lanes.add(sub.attr)
    return lanes


def unmarked(path: Path) -> set[str]:
    source = path.read_text(encoding="utf-8")
    needed = {lane for lane, sign in SIGNS.items() if sign.search(source)}
    return needed - module_lanes(ast.parse(source))


def test_modules_that_start_services_or_run_the_graph_declare_their_lane():
    missing = {
        str(path.relative_to(TESTS)): sorted(lanes)
        for path in sorted(TESTS.rglob("test_*.py"))
        if path != Path(__file__).resolve() and (lanes := unmarked(path))
    }
    assert not missing, f"add `pytestmark = pytest.mark.<lane>` to these modules: {missing}"


def test_the_check_sees_a_missing_and_a_declared_lane(tmp_path):
    module = tmp_path / "test_example.py"
    module.write_text("from recsys_assets.cli.local_run import materialize_graph\nmaterialize_graph()\n")
    assert unmarked(module) == {"slow"}
    module.write_text("import pytest\npytestmark = [pytest.mark.slow]\nmaterialize_graph()\n")
    assert unmarked(module) == set()


def test_the_longest_files_listed_first_exist():
    """LONGEST_FIRST (tests/conftest.py) orders `make test`'s files: a renamed file would silently drop out of it."""
    from tests.conftest import LONGEST_FIRST, ROOT

    assert [name for name in LONGEST_FIRST if not (ROOT / name).is_file()] == []
