"""``schoolmesh holding``: what the node holds, and choosing everything or by horizon."""

from __future__ import annotations

import json
from pathlib import Path

from tests.helpers import key, run_cli

FAR = str(key(9).node_id)


def test_show_choose_follow(tmp_path: Path) -> None:
    data = str(tmp_path / "n")
    init = run_cli("init", "--name", "Oakfield", "--country", "GB", "--data", data)
    assert init.returncode == 0, init.stderr
    shown = json.loads(run_cli("holding", "--data", data, "--json").stdout)
    assert shown["mode"] == "horizon"  # the default
    assert shown["everything"] is False
    assert shown["whole_logs"] == 1  # its own
    assert shown["loose_entries"] == 0
    everything = json.loads(run_cli("holding", "everything", "--data", data, "--json").stdout)
    assert everything["mode"] == "everything"
    assert everything["everything"] is True
    assert everything["horizon"] == []

    chosen = run_cli("holding", "horizon", "--follow", FAR, "--data", data, "--json")
    assert chosen.returncode == 0, chosen.stderr
    held = json.loads(chosen.stdout)
    assert held["mode"] == "horizon"
    assert held["everything"] is False
    assert held["follow"] == [FAR]
    assert FAR in held["horizon"]
    assert len(held["horizon"]) == 2  # itself and the school followed
    assert held["filters"] == [{"countries": ["GB"]}]  # no region yet: its country

    words = run_cli("holding", "--unfollow", FAR, "--data", data)
    assert "followed by hand): 1 in all." in words.stdout, words.stdout
    assert "countries: GB" in words.stdout


def test_a_wrong_node_id_is_refused(tmp_path: Path) -> None:
    data = str(tmp_path / "n")
    run_cli("init", "--name", "Oakfield", "--country", "GB", "--data", data)
    refused = run_cli("holding", "--follow", "not-a-school", "--data", data)
    assert refused.returncode != 0
    assert "is not a node id" in refused.stderr
