"""docs/cli.md is generated from the commands' --help (scripts/cli_docs.py) and kept current."""

import difflib
from datetime import date
from pathlib import Path

import pytest

from cli.main import main
from node.observations import service as observations
from scripts import cli_docs
from tests.helpers import run_cli

COMMANDS = cli_docs.commands()


def test_docs_are_up_to_date() -> None:
    current = cli_docs.DOC_PATH.read_text(encoding="utf-8")
    generated = cli_docs.generate()
    diff = "".join(
        difflib.unified_diff(
            current.splitlines(keepends=True),
            generated.splitlines(keepends=True),
            "docs/cli.md",
            "generated",
        )
    )
    assert current == generated, (
        f"docs/cli.md is out of date: run .venv/bin/python scripts/cli_docs.py\n{diff}"
    )


def test_docs_cover_every_command() -> None:
    names = [command.name for command in COMMANDS]
    assert {"schoolmesh init", "schoolmesh offer withdraw", "schoolmesh request list"} <= set(names)
    text = cli_docs.DOC_PATH.read_text(encoding="utf-8")
    for name in names:
        assert f"## `{name}`" in text


@pytest.mark.parametrize("command", COMMANDS, ids=lambda command: command.name)
def test_every_command_has_help(command: cli_docs.Command, capsys: pytest.CaptureFixture[str]):
    with pytest.raises(SystemExit) as exited:
        main([*command.path, "--help"])
    assert exited.value.code == 0
    assert capsys.readouterr().out.startswith(f"usage: {command.name} ")


def test_real_command_help_is_what_the_docs_show() -> None:
    """The generator captures help in-process: the installed command prints the same."""
    result = run_cli("--help", env={"COLUMNS": cli_docs.COLUMNS})
    assert result.returncode == 0
    assert f"```text\n{result.stdout.rstrip()}\n```" in cli_docs.DOC_PATH.read_text("utf-8")


def test_check_fails_on_a_stale_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    doc = tmp_path / "cli.md"
    assert cli_docs.main(["--output", str(doc)]) == 0
    assert cli_docs.main(["--check", "--output", str(doc)]) == 0
    doc.write_text(doc.read_text("utf-8").replace("--title TITLE", "--title T"), "utf-8")
    assert cli_docs.main(["--check", "--output", str(doc)]) == 1
    assert "out of date" in capsys.readouterr().err


def test_docs_do_not_depend_on_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SCHOOLMESH_DATA", "/somewhere/else")
    monkeypatch.setenv("COLUMNS", "40")
    assert cli_docs.generate() == cli_docs.DOC_PATH.read_text(encoding="utf-8")


def test_every_json_field_of_an_observation_is_documented() -> None:
    """cli.md's "JSON output" names each field `observation show --json` prints, and
    `observation done --json` (a field added to the code and not to the docs is one a
    script writer cannot find)."""
    made = observations.Observation(
        1, "Ann Baker", "Ben Carter", "oracy", "SDP 1", date(2027, 1, 20), (), ("a",),
        date(2027, 3, 3), False,
    )  # fmt: skip
    (section,) = [
        item
        for item in cli_docs.PREAMBLE.split("\n- ")
        if item.startswith(f"`{cli_docs.PROG} observation add --json`")
    ]
    for field in made.as_json():
        assert f"`{field}`" in section, field
    assert "`observation done --json`" in section
