"""The real ``schoolmesh match --staff --network``: colleagues' development areas matched
to other schools' offers, from what the node holds, with nothing sent."""

import asyncio
import shutil
import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest

from node.node import Node
from protocol.contents.entries import WithdrawContent
from protocol.entry import Entry, create_entry
from tests.cli.test_commands import Made, cli, error, ok, ok_json
from tests.cli.test_commands import made_node as made_node  # the module-scoped template
from tests.helpers import NOW, key
from tests.network import holding_everything

ASHFIELD = "Ashfield Primary"
QUESTIONING = {
    "activity": "observation",
    "title": "Questioning lessons open to observe",
    "focus": ["questioning"],
    "phases": ["primary"],
}


@pytest.fixture
def node(made_node: Made, tmp_path: Path) -> Path:
    path = tmp_path / "node"
    shutil.copytree(made_node.path, path)
    return path


def receive(path: Path, items: list[tuple[str, Any]]) -> list[str]:
    """Store Ashfield Primary's profile and entries as if they had arrived from a
    partner; ``("withdraw", n)`` withdraws the n-th item. Returns the items' ids."""

    async def go() -> list[str]:
        other, entries = key(11), list[Entry]()
        made = [("profile", {"name": ASHFIELD, "country": "GB"}), *items]
        for seq, (kind, content) in enumerate(made, start=1):
            if kind == "withdraw":
                content = WithdrawContent(entries[content + 1].id, None).to_content()
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
        opened = await Node.open(path)
        try:
            await holding_everything(opened)
            await opened.store.ingest(entries, NOW + 100)
        finally:
            await opened.close()
        return [str(e.id) for e in entries[1:]]

    return asyncio.run(go())


def everything_in(path: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, to show that a command changed nothing at all."""
    with closing(sqlite3.connect(path / "schoolmesh.db")) as db:
        tables = [
            name
            for (name,) in db.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            )
        ]
        return {t: sorted(map(tuple, db.execute(f'SELECT * FROM "{t}"')), key=repr) for t in tables}


def test_development_areas_meet_other_schools_offers_and_nothing_is_sent(node: Path) -> None:
    data = ["--data", str(node)]
    ok("staff", "add", "Ann Baker", *data, "--develop", "questioning", "--phase", "primary",
       "--subject", "maths")  # fmt: skip
    ok("staff", "add", "Ben Carter", *data, "--strength", "questioning")  # no development area
    ok("staff", "add", "Cal Dunn", *data, "--develop", "Évaluation Formative")
    ok("staff", "add", "Dee Evans", *data, "--develop", "oracy")
    ok("offer", "post", *data, "--kind", "observation", "--title", "Our own questioning",
       "--focus", "questioning", "--phase", "primary")  # fmt: skip
    ids = receive(
        node,
        [
            ("offer", QUESTIONING),
            ("offer", {"activity": "training-day", "title": "Formative assessment day",
                       "focus": ["évaluation-formative", "feedback"]}),
            ("offer", {**QUESTIONING, "title": "Withdrawn questioning"}),
            ("withdraw", 2),
            ("offer", {**QUESTIONING, "title": "Past questioning", "closes": "2025-01-10"}),
            ("request", {**QUESTIONING, "title": "A request for questioning"}),
            ("offer", {"activity": "visit", "title": "Maths visit", "subjects": ["maths"],
                       "phases": ["primary"]}),
            ("offer", {"activity": "visit", "title": "Phonics visit", "focus": ["phonics"],
                       "subjects": ["maths"], "phases": ["primary"]}),
        ],
    )  # fmt: skip
    before = everything_in(node)
    shown = ok_json("match", "--staff", "--network", *data)
    text = ok("match", "--staff", "--network", *data)
    assert everything_in(node) == before  # no entry, letter, mail or setting was made

    school_id = shown[0]["matches"][0]["school_id"]  # type: ignore[index]
    assert shown == [
        {
            "for": {"name": "Ann Baker", "develops": ["questioning"]},
            "matches": [
                {
                    "id": ids[0],
                    "side": "offer",
                    "kind": "observation",
                    "school_id": school_id,
                    "school": ASHFIELD,
                    "country": "GB",
                    "title": "Questioning lessons open to observe",
                    "score": 30 + 10 + 15,
                    "reasons": [
                        "Ashfield Primary offers peer observation with a focus on questioning, "
                        "which Ann Baker is developing",
                        "both primary",
                        "both in the United Kingdom",
                    ],
                    "concerns": [],
                    "develops": ["questioning"],
                    "next": f"schoolmesh interest send {ids[0][:12]} --message TEXT "
                    "--by 'Ann Baker'",
                }
            ],
        },
        {
            "for": {"name": "Cal Dunn", "develops": ["evaluation-formative"]},
            "matches": [
                {
                    "id": ids[1],
                    "side": "offer",
                    "kind": "training-day",
                    "school_id": school_id,
                    "school": ASHFIELD,
                    "country": "GB",
                    "title": "Formative assessment day",
                    "score": 30 + 15,
                    "reasons": [
                        "Ashfield Primary offers a training day with a focus on evaluation "
                        "formative, which Cal Dunn is developing",
                        "both in the United Kingdom",
                    ],
                    "concerns": [],
                    "develops": ["evaluation-formative"],
                    "next": f"schoolmesh interest send {ids[1][:12]} --message TEXT "
                    "--by 'Cal Dunn'",
                }
            ],
        },
        {"for": {"name": "Dee Evans", "develops": ["oracy"]}, "matches": []},
    ]
    for never in ("Our own", "Withdrawn", "Past", "A request", "Maths visit", "Phonics visit"):
        assert never not in text
    assert "Ben Carter" not in text
    assert "Ann Baker  (developing questioning)" in text
    assert (
        "Ashfield Primary offers peer observation with a focus on questioning, which Ann Baker "
        "is developing; both primary; both in the United Kingdom" in text
    )
    assert f"next: schoolmesh interest send {ids[0][:12]} --message TEXT --by 'Ann Baker'" in text
    assert "No offer from another school covers it yet" in text  # Dee Evans
    assert "--focus oracy" in text
    assert "nothing was sent" in text

    # The suggested next command is a real one: it names the offer and the colleague.
    sent = ok_json("interest", "send", ids[0][:12], "--message", "May Ann visit?",
                   "--by", "Ann Baker", *data)  # fmt: skip
    assert isinstance(sent, dict)


def test_limit_best_first_and_the_existing_staff_output_unchanged(node: Path) -> None:
    data = ["--data", str(node)]
    ok("staff", "add", "Ann Baker", *data, "--develop", "questioning", "--develop", "oracy",
       "--phase", "primary")  # fmt: skip
    ok("staff", "add", "Ben Carter", *data, "--strength", "questioning")
    ids = receive(
        node,
        [
            ("offer", {"activity": "visit", "title": "Oracy visit", "focus": ["oracy"]}),
            ("offer", QUESTIONING),
            ("offer", {**QUESTIONING, "title": "Both", "focus": ["questioning", "oracy"]}),
        ],
    )
    shown = ok_json("match", "--staff", "--network", "--limit", "2", *data)
    assert isinstance(shown, list)
    assert [(m["id"], m["score"], m["develops"]) for m in shown[0]["matches"]] == [
        (ids[2], 40 + 10 + 15, ["oracy", "questioning"]),
        (ids[1], 30 + 10 + 15, ["questioning"]),
    ]
    assert shown[0]["matches"][0]["reasons"][0] == (
        "Ashfield Primary offers peer observation with a focus on oracy and questioning, "
        "which Ann Baker is developing"
    )
    # Without --network, --staff is what it was: pairs and triads among our own staff.
    pairs = ok_json("match", "--staff", *data)
    assert isinstance(pairs, dict)
    assert set(pairs) == {"pairs", "triads"}


def test_no_development_area_and_network_without_staff(node: Path) -> None:
    data = ["--data", str(node)]
    assert ok_json("match", "--staff", "--network", *data) == []
    assert "No staff profiles yet" in ok("match", "--staff", "--network", *data)
    ok("staff", "add", "Ben Carter", *data, "--strength", "questioning")
    receive(node, [("offer", QUESTIONING)])
    assert ok_json("match", "--staff", "--network", *data) == []
    assert "No colleague has a development area yet" in ok("match", "--staff", "--network", *data)
    assert "--network goes with --staff" in error(cli("match", "--network", *data))


def test_the_suggested_request_command_quotes_the_development_area(node: Path) -> None:
    """A development area is the school's own free text: "pupils' voice & oracy" was
    printed bare, a command the shell could not run as printed (an unclosed quote, a
    background job)."""
    data = ["--data", str(node)]
    ok("staff", "add", "Ann Baker", *data, "--develop", "pupils' voice & oracy")
    text = ok("match", "--staff", "--network", *data)
    assert "--focus 'pupils'\"'\"'-voice-&-oracy'`" in text
