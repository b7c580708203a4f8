"""A mistyped option is reported by the command it was typed for, with that command's
usage, the nearest option it does take, and where to read them all.

argparse on its own leaves unknown options to the top-level parser, which prints
``usage: schoolmesh [-h] [--version] COMMAND ...`` and ``schoolmesh: error: unrecognized
arguments: --jsn``: an IT admin who typed ``schoolmesh status --jsn`` is shown the usage
of every command but the one they ran, and no hint of ``--json``.
"""

import pytest

from tests.helpers import run_cli


def test_a_mistyped_option_names_the_command_and_the_nearest_option() -> None:
    result = run_cli("status", "--jsn")
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.startswith("usage: schoolmesh status ")
    assert "schoolmesh status: error: unrecognized arguments: --jsn" in result.stderr
    assert "did you mean --json?" in result.stderr
    assert "`schoolmesh status --help`" in result.stderr


@pytest.mark.parametrize(
    ("typed", "command", "unknown"),
    [
        (("event", "rsvp", "0a1241ed", "--answer", "yes"), "event rsvp", "--answer"),
        (("user", "consent", "Amira", "--name-shown", "initials"), "user consent", "--name-shown"),
        (("schools", "show", "Lycée"), "schools", "show Lycée"),
    ],
)
def test_an_unknown_argument_is_reported_by_the_command_it_was_typed_for(
    typed: tuple[str, ...], command: str, unknown: str
) -> None:
    result = run_cli(*typed)
    assert result.returncode == 2
    assert result.stderr.startswith(f"usage: schoolmesh {command} ")
    assert f"schoolmesh {command}: error: unrecognized arguments: {unknown}" in result.stderr
    assert f"`schoolmesh {command} --help`" in result.stderr


def test_no_guess_when_nothing_is_near() -> None:
    result = run_cli("status", "--zzzzzz")
    assert result.returncode == 2
    assert "did you mean" not in result.stderr
    assert "schoolmesh status: error: unrecognized arguments: --zzzzzz" in result.stderr


def test_the_arguments_that_were_right_still_work() -> None:
    """Only the unknown ones are reported: a good command line parses as before."""
    result = run_cli("status", "--help")
    assert result.returncode == 0
    assert result.stdout.startswith("usage: schoolmesh status ")


def test_an_option_typed_before_its_command_is_not_suggested_as_itself() -> None:
    """``schoolmesh --json status``: the command takes --json, after its name."""
    result = run_cli("--json", "status")
    assert result.returncode == 2
    assert "schoolmesh status: error: unrecognized arguments: --json" in result.stderr
    assert "did you mean" not in result.stderr
    assert "--json goes after the command: `schoolmesh status --json`" in result.stderr
