"""The benchmarks start: each answers ``--help`` (they are run by hand, never timed here)."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"


@pytest.mark.parametrize(
    "script",
    [
        "sync_throughput",
        "propagation",
        "memory",
        "simulate",
        "clock_size",
        "web_latency",
        "flood",
        "session_start",
    ],
)
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


def test_clock_size_quick_run_ends_with_its_result() -> None:
    """The one benchmark cheap enough to run here (about a second): its figures, not its
    speed, are checked."""
    out = subprocess.run(
        [sys.executable, str(BENCH / "clock_size.py"), "--quick"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    last = out.stdout.strip().splitlines()[-1]
    assert last.startswith("RESULT ")
    sizes = json.loads(last.removeprefix("RESULT "))["sizes"]
    assert [sizes[n]["authors"] for n in ("10", "100", "1000", "10000")] == [10, 100, 1000, 10000]
    assert 60 < sizes["10000"]["bytes_per_author"] < 80  # [author, seq, id]: 3 + 34 + 1..5 + 34
