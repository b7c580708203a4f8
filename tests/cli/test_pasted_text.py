"""Text as IT staff paste it on the command line: Windows line ends, several lines.

``--text "$(cat notes.txt)"`` of a file saved on Windows carries CRLF line ends. The web
pages turn every line end into ``\\n`` before a service sees it (node/web/kit.py); the
command must do the same, not refuse the text for its "control characters".
"""

import argparse
import asyncio
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from cli.main import build_parser
from tests.cli.test_commands import Made, ok, ok_json
from tests.cli.test_commands import made_node as made_node  # the module-scoped template
from tests.cli.test_interest_commands import pair as pair  # two partnered running nodes
from tests.network import LiveNode, wait_for

PASTED = "Two Year 1 teachers.\r\nAny morning in May.\r\n\r\nTea provided: café or thé."
STORED = "Two Year 1 teachers.\nAny morning in May.\n\nTea provided: café or thé."
TIMES = ("--start", "2030-10-21T09:00", "--end", "2030-10-21T10:00", "--tz", "Europe/London")


@pytest.fixture
def node(made_node: Made, tmp_path: Path) -> Path:
    path = tmp_path / "node"
    shutil.copytree(made_node.path, path)
    return path


@pytest.mark.parametrize("side", ["offer", "request"])
def test_windows_line_ends_are_taken_as_line_ends(node: Path, side: str) -> None:
    data = ["--data", str(node)]
    ok(side, "post", *data, "--kind", "visit", "--title", "Come and see", "--text", PASTED)
    listed = ok_json(side, "list", *data)
    assert isinstance(listed, list)
    assert [posted["text"] for posted in listed] == [STORED]


def test_an_event_takes_a_pasted_description(node: Path) -> None:
    data = ["--data", str(node)]
    made = ok_json("event", "create", *data, "--title", "Moderation day", *TIMES, "--text", PASTED)
    assert isinstance(made, dict)
    shown = ok_json("event", "show", made["id"], *data)
    assert isinstance(shown, dict)
    assert shown["text"] == STORED


def test_an_old_mac_line_end_is_a_line_end_too(node: Path) -> None:
    data = ["--data", str(node)]
    ok("offer", "post", *data, "--kind", "visit", "--title", "Come", "--text", "one\rtwo")
    listed = ok_json("offer", "list", *data)
    assert isinstance(listed, list)
    assert [posted["text"] for posted in listed] == ["one\ntwo"]


def record_lines(printed: str) -> list[str]:
    """The lines after a record's first: each is indented, or blank, under it."""
    return printed.splitlines()[1:]


def test_event_show_keeps_a_several_line_description_under_its_label(node: Path) -> None:
    data = ["--data", str(node)]
    made = ok_json("event", "create", *data, "--title", "Moderation day", *TIMES, "--text", PASTED)
    assert isinstance(made, dict)
    printed = ok("event", "show", made["id"], *data)
    assert "  text:      Two Year 1 teachers.\n             Any morning in May.\n\n" in printed
    assert all(line == "" or line.startswith(" ") for line in record_lines(printed)), printed


async def test_interest_list_keeps_a_several_line_message_in_its_record(
    pair: tuple[LiveNode, LiveNode],
) -> None:
    oak, lycee = pair
    entry = await oak.node.offers.post("offer", {"activity": "visit", "title": "Forest school"})
    await wait_for(lambda: lycee.holds(entry.id), what="the offer at the Lycée")
    at_lycee = ["--data", str(lycee.node.data.path)]
    await asyncio.to_thread(
        ok, "interest", "send", str(entry.id), *at_lycee, "--message", PASTED, "--by", "Léa"
    )
    printed = await asyncio.to_thread(ok, "interest", "list", *at_lycee)
    assert "    Léa wrote: Two Year 1 teachers.\n        Any morning in May.\n" in printed
    assert all(line == "" or line.startswith(" ") for line in record_lines(printed)), printed


def test_a_carriage_return_in_a_file_name_is_kept(node: Path, tmp_path: Path) -> None:
    """Only text is read for line ends: a file or folder name is the user's, byte for byte.

    A CR is a legal character in a POSIX file name (macOS names its custom folder icons
    ``Icon\\r``); turned into LF, ``--data`` would open another folder and ``--out``
    would write a file the admin did not name.
    """
    folder = tmp_path / "oak\rfield"
    node.rename(folder)
    out = tmp_path / "week\r12.backup"
    ok("backup", "--data", str(folder), "--out", str(out))
    assert out.is_file()
    assert not (tmp_path / "week\n12.backup").exists()


def test_every_file_or_folder_option_is_parsed_into_a_path() -> None:
    """Line ends are read only in string values: a FILE or DIR must stay a ``Path``."""

    def actions(parser: argparse.ArgumentParser) -> Iterator[argparse.Action]:
        for action in parser._actions:
            yield action
            if isinstance(action, argparse._SubParsersAction):
                for sub in action.choices.values():
                    yield from actions(sub)

    named = [a for a in actions(build_parser()) if a.metavar in ("FILE", "DIR")]
    assert len(named) >= 8
    assert [a.dest for a in named if a.type is not Path] == []
