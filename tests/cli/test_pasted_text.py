"""Text as IT staff paste it on the command line: Windows line ends, several lines.

``--text "$(cat notes.txt)"`` of a file saved on Windows carries CRLF line ends. The web
pages turn every line end into ``\\n`` before a service sees it (node/web/kit.py); the
command must do the same, not refuse the text for its "control characters".
"""

import shutil
from pathlib import Path

import pytest

from tests.cli.test_commands import Made, ok, ok_json
from tests.cli.test_commands import made_node as made_node  # the module-scoped template

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
