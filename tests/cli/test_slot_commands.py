"""The real ``schoolmesh event create --slots``, ``slots``, ``speak``, ``unspeak``,
``accept``, ``move`` and ``order`` commands, at the organising school."""

import shutil
from pathlib import Path

import icalendar
import pytest

from tests.cli.test_commands import Made, cli, error, ok, ok_json
from tests.cli.test_commands import made_node as made_node  # the module-scoped template


@pytest.fixture
def node(made_node: Made, tmp_path: Path) -> Path:
    path = tmp_path / "node"
    shutil.copytree(made_node.path, path)
    return path


def teachmeet(data: list[str], slots: str = "2x2,1x7") -> str:
    created = ok_json(
        "event", "create", *data, "--title", "TeachMeet: oracy", "--start",
        "2030-10-21T16:00+01:00", "--end", "2030-10-21T18:00+01:00", "--slots", slots,
    )  # fmt: skip
    assert isinstance(created, dict)
    return str(created["id"])


def test_slots_speak_move_unspeak_and_the_calendar(node: Path) -> None:
    data = ["--data", str(node)]
    event = teachmeet(data)
    shown = ok_json("event", "slots", event, *data)
    assert isinstance(shown, dict)
    assert [(s["slot"], s["minutes"], s["title"]) for s in shown["slots"]] == [
        (1, 2, None),
        (2, 2, None),
        (3, 7, None),
    ]
    told = ok("event", "speak", event[:10], *data, "--slot", "1", "--title", "Talk partners",
              "--speaker", "Ms Patel")  # fmt: skip
    assert "running order" in told
    ok("event", "move", event, *data, "--slot", "1", "--to", "3")
    shown = ok_json("event", "slots", event, *data)
    assert isinstance(shown, dict)
    third = shown["slots"][2]
    assert {k: third[k] for k in ("slot", "minutes", "title", "speaker", "school", "state")} == {
        "slot": 3,
        "minutes": 7,
        "title": "Talk partners",
        "speaker": "Ms Patel",
        "school": "Oakfield Primary",
        "state": "accepted",
    }
    assert shown["unpublished"] is False
    listed = ok("event", "slots", event, *data)
    assert "3.   7 min  Talk partners (Ms Patel, Oakfield Primary)" in listed
    shown_text = ok("event", "show", event, *data)
    assert "kind:      TeachMeet" in shown_text
    assert "slots:     2 of 2 min, 1 of 7 min (1 of 3 taken: `event slots" in shown_text
    (item,) = icalendar.Calendar.from_ical(ok("event", "ics", *data)).walk("VEVENT")
    assert "3. 7 min: Talk partners (Ms Patel, Oakfield Primary)" in str(item["description"])
    assert "Slot 3 is free" in ok("event", "unspeak", event, *data, "--slot", "3")
    shown = ok_json("event", "slots", event, *data)
    assert isinstance(shown, dict)
    assert [s["title"] for s in shown["slots"]] == [None, None, None]


@pytest.mark.parametrize(
    ("slots", "expected"),
    [
        ("8", "such as 8x2,4x7"),
        ("8x2,fourx7", "such as 8x2,4x7"),
        ("0x2", "how many slots"),
        ("101x2", "how many slots"),
        ("2x500", "minutes each"),
    ],
)
def test_create_refuses_unclear_slots(node: Path, slots: str, expected: str) -> None:
    result = cli(
        "event", "create", "--data", str(node), "--title", "T", "--start",
        "2030-10-21T16:00Z", "--end", "2030-10-21T18:00Z", "--slots", slots,
    )  # fmt: skip
    assert result.returncode == 2
    assert expected in result.stderr


def test_clear_errors_for_slots_that_are_wrong(node: Path) -> None:
    data = ["--data", str(node)]
    event = teachmeet(data)
    speak = ["--title", "Mine", "--speaker", "Ms Patel"]
    assert "slots 1 to 3" in error(cli("event", "speak", event, *data, "--slot", "4", *speak))
    ok("event", "speak", event, *data, "--slot", "2", *speak)
    assert "already has a talk" in error(cli("event", "speak", event, *data, "--slot", "2", *speak))
    assert "has no talk" in error(cli("event", "unspeak", event, *data, "--slot", "1"))
    assert "give 1 to 200" in error(
        cli("event", "speak", event, *data, "--slot", "1", "--title", " ", "--speaker", "X")
    )
    plain = ok_json(
        "event", "create", *data, "--title", "INSET", "--start", "2030-10-21T09:00Z",
        "--end", "2030-10-21T15:00Z",
    )  # fmt: skip
    assert isinstance(plain, dict)
    assert "no speaker slots" in error(cli("event", "slots", plain["id"], *data))
    private = cli(
        "event", "create", *data, "--title", "T", "--start", "2030-10-21T16:00Z",
        "--end", "2030-10-21T18:00Z", "--slots", "2x2", "--audience", "partners",
    )  # fmt: skip
    assert "public events" in error(private)


def test_kind_teachmeet_makes_one_with_its_slots_and_asks_for_them(node: Path) -> None:
    """``--kind teachmeet`` (the issue's word) with ``--slots`` is a TeachMeet; without
    slots it is refused, saying what to add, and nothing is made."""
    times = ["--start", "2030-10-21T16:00Z", "--end", "2030-10-21T18:00Z"]
    refused = cli(
        "event", "create", "--data", str(node), "--title", "T", *times, "--kind", "teachmeet"
    )
    assert "add --slots, such as 8x2,4x7" in error(refused)
    assert ok_json("event", "list", "--data", str(node)) == []
    made = ok_json(
        "event", "create", "--data", str(node), "--title", "TeachMeet: oracy", *times,
        "--kind", "teachmeet", "--slots", "2x2",
    )  # fmt: skip
    assert isinstance(made, dict)
    shown = ok_json("event", "slots", str(made["id"]), "--data", str(node))
    assert isinstance(shown, dict)
    assert [s["minutes"] for s in shown["slots"]] == [2, 2]


@pytest.mark.parametrize("kind", ["debate", "conference"])
def test_a_debate_or_conference_with_speaker_slots_is_refused_saying_what_to_type(
    node: Path, kind: str
) -> None:
    """Speaker slots make a TeachMeet; a conference or debate takes pupils' teams
    (`event team`) instead. Both at once was taken without a word."""
    times = ["--start", "2030-10-21T16:00Z", "--end", "2030-10-21T18:00Z"]
    refused = cli(
        "event", "create", "--data", str(node), "--title", "Rivers", *times,
        "--kind", kind, "--slots", "8x2",
    )  # fmt: skip
    assert refused.returncode == 2
    assert f"a {kind} takes teams of pupils" in error(refused)
    assert "leave out --slots, or use --kind teachmeet" in error(refused)
    assert ok_json("event", "list", "--data", str(node)) == []
