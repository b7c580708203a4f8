"""``schoolmesh demo``: the README's first command."""

import json
import re
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.helpers import SCHOOLMESH, run_cli


def start_demo(*args: str) -> tuple[subprocess.Popen[str], list[Path]]:
    proc = subprocess.Popen(
        [SCHOOLMESH, "demo", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    folders: list[Path] = []
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        if match := re.match(r"\s+data:\s+(\S+)", line):
            folders.append(Path(match[1]))
        if line.startswith("Press Ctrl-C"):
            return proc, folders
    proc.kill()
    proc.communicate()
    pytest.fail("the demo did not start")


def stop(proc: subprocess.Popen[str]) -> int:
    proc.send_signal(signal.SIGINT)
    try:
        proc.communicate(timeout=20)  # also closes the pipes
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
    return proc.returncode


def test_demo_runs_a_network_and_cleans_up() -> None:
    proc, folders = start_demo()
    try:
        assert len(folders) == 3
        countries = set()
        for folder in folders:
            ident = json.loads(run_cli("id", "--data", str(folder), "--json").stdout)
            countries.add(ident["country"])
        assert len(countries) == 3
        # Offers of the first school reach the last through the middle one.
        deadline = time.monotonic() + 20
        schools: set[str] = set()
        while time.monotonic() < deadline and len(schools) < 3:
            listed = json.loads(
                run_cli("offer", "list", "--data", str(folders[-1]), "--json").stdout
            )
            schools = {item["school"] for item in listed}
            time.sleep(0.3)
        assert len(schools) == 3
    finally:
        code = stop(proc)
    assert code == 0
    assert not folders[0].parent.exists()


def test_demo_keep_leaves_the_data() -> None:
    proc, folders = start_demo("--keep")
    code = stop(proc)
    assert code == 0
    assert (folders[0] / "schoolmesh.db").exists()
    run = run_cli("offer", "list", "--data", str(folders[0]), "--json")
    assert run.returncode == 0
    assert json.loads(run.stdout)
