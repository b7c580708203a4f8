"""``schoolmesh network-search``: the offers page's automatic search of the whole
network, off by default (docs/admin.md)."""

from __future__ import annotations

import json
from pathlib import Path

from tests.helpers import run_cli


def test_the_automatic_network_search_is_off_until_turned_on(tmp_path: Path) -> None:
    data = str(tmp_path / "oak")
    made = run_cli("init", "--name", "Oakfield Primary", "--country", "GB", "--data", data)
    assert made.returncode == 0, made.stderr
    shown = run_cli("network-search", "--data", data)
    assert shown.returncode == 0, shown.stderr
    assert "only when 'Search the whole network' is clicked" in shown.stdout
    on = run_cli("network-search", "on", "--data", data, "--json")
    assert json.loads(on.stdout) == {"automatic": True}
    off = run_cli("network-search", "off", "--data", data, "--json")
    assert json.loads(off.stdout) == {"automatic": False}
    wrong = run_cli("network-search", "maybe", "--data", data)
    assert wrong.returncode != 0
    assert "invalid choice" in wrong.stderr
