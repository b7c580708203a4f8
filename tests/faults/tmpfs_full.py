"""A node on a disk that really fills up: run inside ``unshare -rm`` (a user and mount
namespace, no privileges needed where the system allows them) by
tests/faults/test_full_disk.py. It mounts a small tmpfs, runs a node there with
the real ``schoolmesh`` command, fills the disk with a file, runs commands,
frees the space, and prints what each step gave as one JSON object.

    unshare -rm python -m tests.faults.tmpfs_full FOLDER
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from tests.helpers import SCHOOLMESH

COMMAND_SECONDS = 60  # a command that takes longer hangs (the bug of issue 20)


def run(*args: str) -> dict[str, Any]:
    """One command: its exit code and output, or "hung" if it did not end in time."""
    try:
        done = subprocess.run(
            [SCHOOLMESH, *args], capture_output=True, text=True, timeout=COMMAND_SECONDS
        )
    except subprocess.TimeoutExpired:
        return {"code": "hung", "out": "", "err": ""}
    return {"code": done.returncode, "out": done.stdout, "err": done.stderr}


def fill(folder: Path) -> Path:
    """Write a file until the disk has no room left; return it."""
    filler = folder / "filler"
    # Unbuffered: a buffered file keeps what did not fit and fails again on close,
    # depending on how the free space falls against the buffer's size.
    with filler.open("wb", buffering=0) as out:
        try:
            while True:
                out.write(b"\0" * 65536)
        except OSError:
            pass
    return filler


def status(data: Path) -> dict[str, Any]:
    result = run("status", "--data", str(data), "--json")
    return json.loads(result["out"]) if result["code"] == 0 else {}


def wait(what: str, condition: Any, seconds: float = 30.0) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if condition():
            return
        time.sleep(0.2)
    raise SystemExit(f"timed out waiting for {what}")


def main(folder: Path) -> dict[str, Any]:
    mount = folder / "disk"
    mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mount)], check=True)
    data = mount / "oak"
    steps: dict[str, Any] = {}
    post = ("offer", "post", "--data", str(data), "--kind", "visit", "--title")
    assert run("init", "--data", str(data), "--name", "Oakfield", "--country", "GB")["code"] == 0
    node = subprocess.Popen(
        [SCHOOLMESH, "run", "--data", str(data), "--port", "0"],
        stdout=subprocess.DEVNULL,
        stderr=(folder / "node.log").open("w"),
    )
    try:
        wait("the node to start", lambda: status(data).get("running"))
        filler = fill(mount)
        steps["post_while_full"] = run(*post, "A visit that does not fit")
        steps["list_while_full"] = run("offer", "list", "--data", str(data))
        steps["status_while_full"] = run("status", "--data", str(data))
        steps["status_json_while_full"] = status(data)
        filler.unlink()
        steps["post_with_room"] = run(*post, "A visit saved once there is room")
        wait("a heartbeat after the disk was full", lambda: status(data).get("running"), 10)
        steps["status_with_room"] = status(data)
    finally:
        node.terminate()
        try:
            node.wait(30)
        except subprocess.TimeoutExpired:
            node.kill()
            node.wait()
            steps["node_hung_on_stop"] = True
    filler = fill(mount)  # full before anything starts: nothing says "restore a backup"
    steps["status_already_full"] = run("status", "--data", str(data))
    filler.unlink()
    steps["list_after"] = run("offer", "list", "--data", str(data))
    steps["node_log"] = (folder / "node.log").read_text()
    return steps


if __name__ == "__main__":
    result = main(Path(sys.argv[1]))
    os.chdir("/")
    print(json.dumps(result))
