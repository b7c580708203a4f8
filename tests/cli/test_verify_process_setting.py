"""``schoolmesh verify-process``: signature checks in a separate process, ``auto`` by
default (on for a hub of three cores or more: docs/admin.md)."""

from __future__ import annotations

import json
from pathlib import Path

from tests.helpers import run_cli


def test_the_verify_process_setting(tmp_path: Path) -> None:
    data = str(tmp_path / "oak")
    made = run_cli("init", "--name", "Oakfield Primary", "--country", "GB", "--data", data)
    assert made.returncode == 0, made.stderr
    shown = run_cli("verify-process", "--data", data)
    assert shown.returncode == 0, shown.stderr
    assert "in its own process only (this node is not a hub)" in shown.stdout
    on = run_cli("verify-process", "on", "--data", data, "--json")
    assert json.loads(on.stdout) == {"setting": "on", "process": True}
    shown = run_cli("verify-process", "--data", data)
    assert "in a separate process too (it is switched on)" in shown.stdout
    off = run_cli("verify-process", "off", "--data", data, "--json")
    assert json.loads(off.stdout) == {"setting": "off", "process": False}
    auto = run_cli("verify-process", "auto", "--data", data, "--json")
    assert json.loads(auto.stdout) == {"setting": "auto", "process": False}
    wrong = run_cli("verify-process", "maybe", "--data", data)
    assert wrong.returncode != 0
    assert "invalid choice" in wrong.stderr
