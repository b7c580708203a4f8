"""The benchmarks start: each answers ``--help`` (they are run by hand, never timed here)."""

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"


SCRIPTS = [
    "sync_throughput",
    "propagation",
    "memory",
    "simulate",
    "clock_size",
    "web_latency",
    "flood",
    "session_start",
    "store_ingest",
    "id_index",
]

#: Runs each script as ``python bench/NAME.py --help`` would (its own ``__main__``, its
#: own argv), in one interpreter for all of them: a Python process and its imports cost a
#: second or two each on a busy machine, the scripts' own start a few milliseconds.
#: Prints, per script, its exit code and what it wrote, as JSON.
_RUN_ALL = """
import contextlib, io, json, runpy, sys, traceback
results = {}
for path in sys.argv[1:]:
    out, err = io.StringIO(), io.StringIO()
    code = 0
    sys.argv = [path, "--help"]
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            runpy.run_path(path, run_name="__main__")
        except SystemExit as exit:
            code = exit.code if isinstance(exit.code, int) else (0 if exit.code is None else 1)
        except BaseException:
            traceback.print_exc()
            code = 1
    results[path] = {"code": code, "stdout": out.getvalue(), "stderr": err.getvalue()}
sys.stdout.write(json.dumps(results))
"""


@pytest.fixture(scope="module")
def helps() -> dict[str, dict[str, Any]]:
    paths = [str(BENCH / f"{script}.py") for script in SCRIPTS]
    out = subprocess.run(
        [sys.executable, "-c", _RUN_ALL, *paths],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    results: dict[str, dict[str, Any]] = json.loads(out.stdout)
    return {Path(path).stem: result for path, result in results.items()}


@pytest.mark.parametrize("script", SCRIPTS)
def test_benchmark_answers_help(script: str, helps: dict[str, dict[str, Any]]) -> None:
    out = helps[script]
    assert out["code"] == 0, out["stderr"]
    assert "--quick" in out["stdout"]


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


@pytest.mark.parametrize("schools", ["3000", "20000", "0"])
def test_sync_throughput_refuses_schools_that_do_not_divide_its_entries(schools: str) -> None:
    """Each school gets the entries divided by N, whole: 3,000 schools of 10,000 entries
    would send 9,000 while every figure is per 10,000, and 20,000 would send none."""
    out = subprocess.run(
        [sys.executable, str(BENCH / "sync_throughput.py"), "--quick", "--schools", schools],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert out.returncode == 2, out.stdout
    assert "--schools must divide the 10,000 entries" in out.stderr
