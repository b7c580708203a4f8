"""docs/architecture.md names every module, and names none that is gone (issue 21);
and the directions it states hold: pages import the kit, not the application or each
other; invites do not import the network; bench/ does not import tests/.

Each package's section has a table whose first column names its modules, by path
inside the package (`store.py`, `export/collect.py`), by folder (`rules/`), or by a
pattern (`web/pages/*.py`)."""

from __future__ import annotations

import ast
import re
from fnmatch import fnmatch
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "architecture.md"
PACKAGES = ("protocol", "node", "cli")


def named_in_table(package: str) -> set[str]:
    """What the first column of the package's table names (backticked, may be several)."""
    text = DOC.read_text()
    section = re.search(rf"^## {package}/.*?(?=^## |\Z)", text, re.S | re.M)
    assert section, f"docs/architecture.md has no section '## {package}/'"
    names: set[str] = set()
    for line in section.group(0).splitlines():
        if line.startswith("| ") and not line.startswith("| module") and "---" not in line:
            first_cell = line.split("|")[1]
            names.update(re.findall(r"`([^`]+)`", first_cell))
    return names


def modules(package: str) -> list[str]:
    """Every module of the package, by path inside it (packages' __init__ left out)."""
    base = ROOT / package
    return sorted(
        str(path.relative_to(base))
        for path in base.rglob("*.py")
        if path.name != "__init__.py" and "__pycache__" not in path.parts
    )


def covers(name: str, module: str) -> bool:
    if name.endswith("/"):
        return module.startswith(name)
    return module == name or ("*" in name and fnmatch(module, name))


@pytest.mark.parametrize("package", PACKAGES)
def test_every_module_is_in_the_table(package: str) -> None:
    names = named_in_table(package)
    missing = [m for m in modules(package) if not any(covers(n, m) for n in names)]
    assert missing == [], f"add these to docs/architecture.md, '## {package}/': {missing}"


@pytest.mark.parametrize("package", PACKAGES)
def test_the_table_names_only_what_exists(package: str) -> None:
    found = modules(package)
    base = ROOT / package
    gone = [
        n
        for n in named_in_table(package)
        if not (base / n).exists() and not any(covers(n, m) for m in found)
    ]
    assert gone == [], f"docs/architecture.md, '## {package}/' names what is not there: {gone}"


def test_a_missing_module_would_be_found() -> None:
    assert not any(covers(n, "nowhere.py") for n in named_in_table("node"))


def imported_modules(path: Path) -> set[str]:
    """Every module a file imports, anywhere in it (inside functions too), by full name."""
    tree = ast.parse(path.read_text())
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def test_pages_import_the_kit_not_the_application_nor_each_other() -> None:
    pages = ROOT / "node" / "web" / "pages"
    wrong = {
        str(path.relative_to(ROOT)): sorted(
            m
            for m in imported_modules(path)
            if m == "node.web.app" or m.startswith("node.web.pages.")
        )
        for path in pages.glob("*.py")
        if path.name != "__init__.py"
    }
    assert {k: v for k, v in wrong.items() if v} == {}


def test_the_application_imports_its_pages_at_the_top() -> None:
    tree = ast.parse((ROOT / "node" / "web" / "app.py").read_text())
    top = {n.module for n in tree.body if isinstance(n, ast.ImportFrom)}
    inner = {
        n.module
        for n in ast.walk(tree)
        if isinstance(n, ast.ImportFrom) and n.module and n.module not in top
    }
    assert "node.web.pages" in top
    assert inner == set(), "no import hidden in a function of node/web/app.py"


def test_invites_do_not_import_the_network_and_bench_does_not_import_tests() -> None:
    invites = imported_modules(ROOT / "node" / "partners" / "invites.py")
    assert not any(m.startswith(("node.net", "aiohttp")) for m in invites)
    for path in (ROOT / "bench").glob("*.py"):
        assert not any(m.startswith("tests") for m in imported_modules(path)), path


def test_one_peer_book_made_by_the_node() -> None:
    """Services are handed `node.peerbook`; none makes a partner book of its own."""
    makers = sorted(
        str(path.relative_to(ROOT))
        for path in (ROOT / "node").rglob("*.py")
        if "PeerBook(" in path.read_text() and path.name != "peerbook.py"
    )
    assert makers == ["node/node.py"]
