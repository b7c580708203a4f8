"""``schoolmesh hub``: the hub filter in the school's signed profile."""

from __future__ import annotations

import json
from pathlib import Path

from tests.helpers import run_cli


def test_hub_on_off_and_show(tmp_path: Path) -> None:
    data = str(tmp_path / "n")
    assert run_cli("init", "--name", "Lycée Hub", "--country", "FR", "--data", data).returncode == 0
    shown = run_cli("hub", "--data", data, "--json")
    assert json.loads(shown.stdout) == {"hub": False, "filter": None}

    on = run_cli("hub", "on", "--country", "fr", "--phase", "primary", "--data", data, "--json")
    assert on.returncode == 0, on.stderr
    assert json.loads(on.stdout) == {
        "hub": True,
        "filter": {"countries": ["FR"], "phases": ["primary"]},
    }
    everything = run_cli("hub", "on", "--data", data)
    assert "every offer and request" in everything.stdout
    off = run_cli("hub", "off", "--data", data, "--json")
    assert json.loads(off.stdout) == {"hub": False, "filter": None}


def test_a_filter_without_on_is_refused(tmp_path: Path) -> None:
    data = str(tmp_path / "n")
    run_cli("init", "--name", "Lycée Hub", "--country", "FR", "--data", data)
    refused = run_cli("hub", "--country", "FR", "--data", data)
    assert refused.returncode != 0
    assert "goes with `hub on`" in refused.stderr
