"""The README's test command is the one CI runs (they must not drift apart)."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_ci_runs_the_readmes_test_command() -> None:
    readme = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```sh\n(.*?)\n```", readme, re.S)
    test_command = next(b for b in blocks if b.rstrip().endswith(".venv/bin/pytest"))
    ci = (ROOT / ".ci" / "run").read_text()
    assert test_command.strip() in ci.splitlines()
