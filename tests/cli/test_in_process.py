"""The command run in the test process (tests.helpers.run_cli) answers as the installed
program does: same exit code, same standard output, same standard error."""

import shutil
from pathlib import Path

import pytest

from tests.cli.test_commands import Made, post
from tests.cli.test_commands import made_node as made_node  # the module-scoped template
from tests.helpers import run_cli


@pytest.mark.parametrize(
    "args",
    [
        ["--version"],
        ["id"],
        ["id", "--json"],
        ["offer", "list", "--json"],
        ["offer", "show", "zz"],  # an id too short: one line, exit 2
        ["offer", "post", "--kind", "observation"],  # no --title: argparse's usage, exit 2
        ["event", "ics"],  # bytes written to sys.stdout.buffer, CRLF lines
    ],
    ids=lambda args: " ".join(args),
)
def test_in_process_answers_as_the_installed_command(made_node: Made, args: list[str]) -> None:
    full = [*args, "--data", str(made_node.path)] if args[0] != "--version" else args
    here = run_cli(*full)
    there = run_cli(*full, process=True)
    assert (here.returncode, here.stdout, here.stderr) == (
        there.returncode,
        there.stdout,
        there.stderr,
    )


def test_a_missing_node_is_the_same_error_either_way(tmp_path: Path) -> None:
    args = ("offer", "list", "--data", str(tmp_path / "nowhere"))
    here, there = run_cli(*args), run_cli(*args, process=True)
    assert here.returncode == there.returncode == 1
    assert here.stderr == there.stderr
    assert here.stderr.startswith("schoolmesh: error: ")


def test_a_posted_offer_is_listed_by_the_other(made_node: Made, tmp_path: Path) -> None:
    """What one writes, the other reads: the same data folder, the same database."""
    path = tmp_path / "node"
    shutil.copytree(made_node.path, path)
    offer = post(path, "offer")
    listed = run_cli("offer", "list", "--json", "--data", str(path), process=True)
    assert offer in listed.stdout
