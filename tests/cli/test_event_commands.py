"""The real ``schoolmesh event`` commands, end to end."""

import os
import pty
import shutil
import subprocess
from pathlib import Path

import icalendar
import pytest

from tests.cli.test_commands import Made, cli, error, ok, ok_json
from tests.cli.test_commands import made_node as made_node  # the module-scoped template
from tests.helpers import SCHOOLMESH


@pytest.fixture
def node(made_node: Made, tmp_path: Path) -> Path:
    path = tmp_path / "node"
    shutil.copytree(made_node.path, path)
    return path


def test_create_list_export_and_cancel(node: Path, tmp_path: Path) -> None:
    data = ["--data", str(node)]
    created = ok_json(
        "event", "create", *data, "--title", "Kaizen INSET day: lesson study",
        "--start", "2030-10-21T09:00", "--end", "2030-10-21T15:30", "--tz", "Europe/London",
        "--where", "Oakfield Primary", "--capacity", "120",
    )  # fmt: skip
    assert isinstance(created, dict)
    event_id = created["id"]
    listed = ok_json("event", "list", *data)
    assert isinstance(listed, list)
    assert len(listed) == 1
    shown = listed[0]
    assert {k: shown[k] for k in ("id", "title", "start", "end", "tz", "status", "rsvp")} == {
        "id": event_id,
        "title": "Kaizen INSET day: lesson study",
        "start": "2030-10-21T09:00+01:00",  # London in summer time, from --tz
        "end": "2030-10-21T15:30+01:00",
        "tz": "Europe/London",
        "status": "confirmed",
        "rsvp": None,
    }
    assert shown["sequence"] == 0

    out = tmp_path / "events.ics"
    assert "Wrote" in ok("event", "ics", *data, "--out", str(out))
    calendar = icalendar.Calendar.from_ical(out.read_bytes())
    (event,) = calendar.walk("VEVENT")
    assert str(event["uid"]) == f"{event_id}@schoolmesh"
    assert event["dtstart"].params["TZID"] == "Europe/London"
    assert calendar.walk("VTIMEZONE")[0]["tzid"] == "Europe/London"

    ok("event", "update", event_id[:8], *data, "--start", "2030-10-21T09:30")
    ok("event", "withdraw", event_id[:8], *data, "--reason", "Snow: the school is closed")
    assert ok_json("event", "list", *data) == []
    told = ok("event", "show", event_id, *data)
    assert "(cancelled) Kaizen INSET day: lesson study" in told
    assert "reason:    Snow: the school is closed" in told
    gone = ok_json("event", "show", event_id, *data)
    assert isinstance(gone, dict)
    assert (gone["status"], gone["title"], gone["reason"]) == (
        "cancelled",
        "Kaizen INSET day: lesson study",
        "Snow: the school is closed",
    )
    assert gone["cancelled_at"].endswith("Z")
    printed = ok("event", "ics", *data)  # standard output this time
    (cancelled,) = icalendar.Calendar.from_ical(printed).walk("VEVENT")
    assert str(cancelled["uid"]) == f"{event_id}@schoolmesh"
    assert (cancelled["status"], cancelled["sequence"]) == ("CANCELLED", 2)
    assert "withdrawn" in error(cli("event", "withdraw", event_id, *data), 2)


@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        (("--start", "2030-10-21T09:00", "--end", "2030-10-21T15:00"), "has no time zone"),
        (("--start", "2030-10-21T09:00Z", "--end", "2030-10-21T08:00Z"), "--end: must not be"),
        (("--start", "21/10/2030", "--end", "2030-10-21T08:00Z"), "--start '21/10/2030'"),
        (("--start", "2030-10-21T09:00", "--end", "2030-10-21T10:00", "--tz", "Nowhere"), "--tz"),
    ],
    ids=["no-zone", "end-first", "not-iso", "bad-tz"],
)
def test_create_refuses_unclear_times(node: Path, flags: tuple[str, ...], expected: str) -> None:
    result = cli("event", "create", "--data", str(node), "--title", "T", *flags)
    assert expected in error(result, 2)


def test_rsvp_help_says_the_answer_goes_to_the_organiser_only() -> None:
    assert "organising school only" in " ".join(ok("event", "rsvp", "--help").split())


def test_audience_and_show(node: Path) -> None:
    data = ["--data", str(node)]
    times = ("--start", "2030-10-21T09:00Z", "--end", "2030-10-21T10:00Z")
    bad = cli("event", "create", *data, "--title", "T", *times, "--audience", "everyone")
    assert bad.returncode == 2
    assert "choose public, partners, or project:ID" in bad.stderr
    lonely = cli("event", "create", *data, "--title", "T", *times, "--audience", "partners")
    assert "no partners yet" in error(lonely, 2)
    unknown = cli("event", "create", *data, "--title", "T", *times, "--audience", "project:abcdef")
    assert "project list" in error(unknown, 1)
    made = ok_json("event", "create", *data, "--title", "Moderation day", *times)
    assert isinstance(made, dict)
    shown = ok_json("event", "show", made["id"][:10], *data)
    assert isinstance(shown, dict)
    assert (shown["audience"], shown["counts"], shown["answers"]) == (
        "public",
        {"yes": 0, "no": 0, "maybe": 0},
        [],
    )
    printed = ok("event", "show", made["id"][:10], *data)
    assert "Moderation day" in printed
    assert "answers:   0 yes, 0 no, 0 maybe" in printed


def test_the_calendar_on_a_terminal_shows_control_characters_escaped(node: Path) -> None:
    """``event ics`` writes the file's bytes to a pipe or a file, as they are; on a
    terminal a person reads it, and other schools' text in it goes through
    cli/screen.py like every other listing (run on a real pseudo-terminal)."""
    data = ["--data", str(node)]
    ok("event", "create", *data, "--title", "Forest \x9b2J day",
       "--start", "2030-10-21T09:00Z", "--end", "2030-10-21T15:00Z")  # fmt: skip
    piped = ok("event", "ics", *data)
    assert "SUMMARY:Forest \x9b2J day" in piped
    leader, follower = pty.openpty()
    with subprocess.Popen(
        [SCHOOLMESH, "event", "ics", *data],
        stdout=follower,
        stderr=subprocess.DEVNULL,
        env={k: v for k, v in os.environ.items() if not k.startswith("SCHOOLMESH")},
    ) as command:
        os.close(follower)
        seen = b""
        while chunk := _read(leader):
            seen += chunk
        assert command.wait(timeout=60) == 0
    os.close(leader)
    shown = seen.decode("utf-8")
    assert "SUMMARY:Forest \\u009b2J day" in shown
    assert "\x9b" not in shown
    assert "\\u000d" not in shown  # the file's CRLF line ends are line ends on screen


def _read(fd: int) -> bytes:
    try:
        return os.read(fd, 65536)
    except OSError:  # EIO: the command closed the terminal
        return b""
