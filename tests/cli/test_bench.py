"""The benchmarks start: each answers ``--help`` (they are run by hand, never timed here)."""

import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"


@pytest.mark.parametrize("script", ["sync_throughput", "propagation", "memory", "simulate"])
def test_benchmark_answers_help(script: str) -> None:
    out = subprocess.run(
        [sys.executable, str(BENCH / f"{script}.py"), "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    assert "--quick" in out.stdout
