"""A reader that goes away (``schoolmesh status --json | head``) ends the command quietly."""

import os
import subprocess
from pathlib import Path

import pytest

from tests.helpers import SCHOOLMESH, run_cli


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("node") / "data"
    made = run_cli("init", "--name", "Oakfield Primary", "--country", "GB", "--data", str(folder))
    assert made.returncode == 0, made.stderr
    return folder


def env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("SCHOOLMESH")}


def test_output_into_a_closed_pipe_ends_quietly(data: Path) -> None:
    read, write = os.pipe()
    os.close(read)  # the reader is gone before the first byte: every write meets EPIPE
    try:
        done = subprocess.run(
            [SCHOOLMESH, "status", "--json", "--data", str(data)],
            stdout=write,
            stderr=subprocess.PIPE,
            text=True,
            env=env(),
            timeout=60,
            check=False,
        )
    finally:
        os.close(write)
    assert done.stderr == ""
    assert done.returncode == 1


def test_status_json_piped_into_head_prints_no_error(data: Path) -> None:
    done = subprocess.run(
        ["bash", "-c", f"'{SCHOOLMESH}' status --json --data '{data}' | head -c 10"],
        capture_output=True,
        text=True,
        env=env(),
        timeout=60,
        check=False,
    )
    assert len(done.stdout) == 10
    assert "Traceback" not in done.stderr
    assert "error" not in done.stderr


@pytest.mark.parametrize("closed", ["1>&-", "2>&-", "1>&- 2>&-"])
def test_a_command_started_with_its_output_closed_still_does_its_work(
    data: Path, closed: str
) -> None:
    """Started with standard output (or error) closed (`schoolmesh status 1>&-` in a
    script), Python has no stream there: what would be printed is dropped, as Python's
    own print does, instead of "unexpected AttributeError"."""
    done = subprocess.run(
        f'"{SCHOOLMESH}" status --data "{data}" {closed}',
        shell=True,
        capture_output=True,
        text=True,
        env=env(),
        timeout=60,
        check=False,
        executable="/bin/bash",
    )
    assert "AttributeError" not in done.stderr
    assert done.returncode == 0, done.stderr
