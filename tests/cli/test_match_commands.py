"""The real ``schoolmesh match``, ``staff`` and ``observation`` commands, end to end."""

import asyncio
import shutil
import sqlite3
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from node.node import Node
from protocol.entry import Entry, create_entry
from tests.cli.test_commands import Made, cli, error, ok, ok_json
from tests.cli.test_commands import made_node as made_node  # the module-scoped template
from tests.helpers import NOW, key
from tests.network import holding_everything

LEADERSHIP = {
    "activity": "shadowing",
    "title": "Shadow our proviseure adjointe",
    "focus": ["leadership"],
    "phases": ["secondary"],
    "languages": ["fr"],
}


@pytest.fixture
def node(made_node: Made, tmp_path: Path) -> Path:
    path = tmp_path / "node"
    shutil.copytree(made_node.path, path)
    return path


def receive_from_another_school(path: Path, *contents: tuple[str, dict[str, Any]]) -> list[str]:
    """Store a French school's profile and entries as if they had arrived from a partner."""

    async def go() -> list[str]:
        other, entries = key(7), list[Entry]()
        items = [("profile", {"name": "Lycée Jean Moulin", "country": "FR"}), *contents]
        for seq, (kind, content) in enumerate(items, start=1):
            entries.append(
                create_entry(
                    other,
                    seq=seq,
                    prev=entries[-1].id if entries else None,
                    timestamp=NOW + seq,
                    kind=kind,
                    content=content,
                )
            )
        node = await Node.open(path)
        try:
            await holding_everything(node)  # a made-up school's log, whole
            await node.store.ingest(entries, NOW + 100)
        finally:
            await node.close()
        return [str(e.id) for e in entries[1:]]

    return asyncio.run(go())


def test_match_json_explains_why(node: Path) -> None:
    data = ["--data", str(node)]
    request = ok_json(
        "request", "post", *data, "--kind", "shadowing", "--title", "Shadow a deputy head",
        "--focus", "leadership", "--phase", "secondary", "--language", "fr",
    )  # fmt: skip
    assert isinstance(request, dict)
    good, unrelated = receive_from_another_school(
        node,
        ("offer", LEADERSHIP),
        ("offer", {"activity": "visit", "title": "Science labs", "focus": ["science-practicals"]}),
    )
    shown = ok_json("match", *data)
    assert shown == [
        {
            "for": {
                "id": request["id"],
                "side": "request",
                "kind": "shadowing",
                "title": "Shadow a deputy head",
            },
            "matches": [
                {
                    "id": good,
                    "side": "offer",
                    "kind": "shadowing",
                    "school_id": shown[0]["matches"][0]["school_id"],  # type: ignore[index]
                    "school": "Lycée Jean Moulin",
                    "country": "FR",
                    "title": "Shadow our proviseure adjointe",
                    "score": 30 + 10 + 10 + 10 + 10,
                    "reasons": [
                        "same focus: leadership",
                        "both work shadowing",
                        "both secondary",
                        "shared language: French",
                        "neighbours: the United Kingdom and France",
                    ],
                    "concerns": [],
                }
            ],
        }
    ]
    assert unrelated not in str(shown)
    text = ok("match", *data)
    assert "same focus: leadership; both work shadowing; both secondary" in text
    assert "(Lycée Jean Moulin, FR)" in text

    ok("request", "withdraw", request["id"], *data)
    assert ok_json("match", *data) == []
    assert "no open offers or requests" in ok("match", *data)


def test_staff_profiles_and_pairs(node: Path) -> None:
    data = ["--data", str(node)]
    ok("staff", "add", "Ann Baker", *data, "--strength", "behaviour", "--develop", "questioning")
    ok("staff", "add", "Ben Carter", *data, "--strength", "Questioning", "--phase", "primary")
    ok("staff", "add", "Cal Dunn", *data, "--strength", "oracy", "--develop", "phonics")
    assert ok_json("staff", "list", *data) == [
        {
            "name": "Ann Baker",
            "strengths": ["behaviour"],
            "develops": ["questioning"],
            "subjects": [],
            "phase": None,
        },
        {
            "name": "Ben Carter",
            "strengths": ["questioning"],
            "develops": [],
            "subjects": [],
            "phase": "primary",
        },
        {"name": "Cal Dunn", "strengths": ["oracy"], "develops": ["phonics"], "subjects": [],
         "phase": None},
    ]  # fmt: skip
    suggested = ok_json("match", "--staff", *data)
    assert suggested == {
        "pairs": [
            {
                "members": ["Ann Baker", "Ben Carter"],
                "visits": [
                    {"observer": "Ann Baker", "observed": "Ben Carter", "focus": ["questioning"]}
                ],
                "score": 10,
                "reasons": ["Ben Carter is strong in questioning, which Ann Baker is developing"],
            }
        ],
        "triads": [],
    }
    message = error(cli("staff", "add", "ann baker", *data, "--strength", "x"), 2)
    assert "Ann Baker already has a profile: add --replace" in message
    ok("staff", "add", "ann baker", *data, "--strength", "x", "--replace")
    assert ok_json("match", "--staff", *data) == {"pairs": [], "triads": []}
    ok("staff", "remove", "Cal Dunn", *data)
    names = [person["name"] for person in ok_json("staff", "list", *data)]  # type: ignore[attr-defined]
    assert names == ["ann baker", "Ben Carter"]
    assert "no staff profile named" in error(cli("staff", "remove", "Cal Dunn", *data), 1)


@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        ((), "give at least one --strength or --develop"),
        (("--strength", "oracy", "--develop", "Oracy"), "both as a strength and as a development"),
    ],
    ids=["empty", "both"],
)
def test_staff_add_refuses_what_cannot_be_paired(
    node: Path, flags: tuple[str, ...], expected: str
) -> None:
    message = error(cli("staff", "add", "Ann", "--data", str(node), *flags), 2)
    assert expected in message
    with closing(sqlite3.connect(node / "schoolmesh.db")) as db:
        assert db.execute("SELECT COUNT(*) FROM staff").fetchone() == (0,)


def test_observation_add_show_due_and_share(node: Path) -> None:
    data = ["--data", str(node)]
    soon = (datetime.now(UTC).date() + timedelta(days=3)).isoformat()
    made = ok_json(
        "observation", "add", *data, "--observer", "Ann Baker", "--observed", "Ben Carter",
        "--focus", "oracy", "--priority", "SDP 2: oracy", "--strength", "Talk partners used well",
        "--action", "Model full-sentence answers", "--follow-up", soon,
    )  # fmt: skip
    assert isinstance(made, dict)
    assert (made["id"], made["shared"], made["owner"]) == (1, False, "Ben Carter")
    assert ok_json("observation", "show", "1", *data) == made
    due = ok_json("observation", "due", *data)
    assert due == [
        {
            "observation": 1,
            "observed": "Ben Carter",
            "observer": "Ann Baker",
            "focus": "oracy",
            "action": "Model full-sentence answers",
            "follow_up": soon,
            "days": 3,
        }
    ]
    assert "in 3 days" in ok("observation", "due", *data)
    assert ok_json("observation", "list", "--shared", *data) == []
    ok("observation", "share", "1", *data)
    shared = ok_json("observation", "list", "--shared", *data)
    assert isinstance(shared, list)
    assert [o["id"] for o in shared] == [1]
    three = ("--action", "a", "--action", "b", "--action", "c")
    result = cli(
        "observation", "add", *data, "--observer", "A", "--observed", "B", "--focus", "x",
        "--priority", "p", *three,
    )  # fmt: skip
    assert "one or two action points" in error(result, 2)


def test_observation_done_leaves_due_and_off_reopens_it(node: Path) -> None:
    data = ["--data", str(node)]
    soon = (datetime.now(UTC).date() + timedelta(days=3)).isoformat()
    ok(
        "observation", "add", *data, "--observer", "Ann Baker", "--observed", "Ben Carter",
        "--focus", "oracy", "--priority", "SDP 2: oracy", "--action", "Model full sentences",
        "--follow-up", soon,
    )  # fmt: skip
    # Only the observed colleague: the observer and another teacher are refused.
    for by in ("Ann Baker", "Cara Diaz"):
        refused = error(cli("observation", "done", "1", "--by", by, *data), 1)
        assert "only the observed colleague records the follow-up" in refused
    missing = cli("observation", "done", "1", *data)
    assert missing.returncode == 2
    assert "required: --by" in missing.stderr
    owner = ("--by", "Ben Carter")
    refused = error(cli("observation", "done", "1", *owner, "--note", "x" * 2001, *data), 2)
    assert "2,000 characters" in refused
    assert due_count(data) == 1

    note = "Les phrases complètes : « oui » !\r\nNext: Zoë's group"
    done = ok_json("observation", "done", "1", "--by", "ben carter", "--note", note, *data)
    assert isinstance(done, dict)
    assert (done["followed_up"], done["followed_up_by"]) == (True, "ben carter")
    assert done["follow_up_note"] == "Les phrases complètes : « oui » !\nNext: Zoë's group"
    today = datetime.now(UTC).date().isoformat()
    assert str(done["followed_up_at"]).startswith(today)
    assert ok_json("observation", "show", "1", *data) == done
    assert ok_json("observation", "list", *data) == [done]
    assert due_count(data) == 0
    assert "No action points to follow up" in ok("observation", "due", *data)
    assert f"followed up {today}" in ok("observation", "list", *data)
    shown = ok("observation", "show", "1", *data)
    assert f"Followed up on {today} (recorded by ben carter)" in shown
    assert "  Les phrases complètes : « oui » !\n  Next: Zoë's group\n" in shown

    refused = error(cli("observation", "done", "1", *owner, "--off", "--note", "x", *data), 2)
    assert "--note and --off together" in refused
    assert "open again" in ok("observation", "done", "1", *owner, "--off", *data)
    reopened = ok_json("observation", "show", "1", *data)
    assert isinstance(reopened, dict)
    assert [reopened[k] for k in ("followed_up", "followed_up_at", "followed_up_by")] == [
        False,
        None,
        None,
    ]
    assert due_count(data) == 1
    assert f"follow up {soon}" in ok("observation", "list", *data)


def due_count(data: list[str]) -> int:
    due = ok_json("observation", "due", *data)
    assert isinstance(due, list)
    return len(due)
