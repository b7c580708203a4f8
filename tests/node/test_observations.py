"""Peer observations on a real database: the focus serves a priority, at most two actions."""

from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from node.clock import now_ms
from node.node import Node
from node.observations import service as observations
from node.observations import staff
from node.store import migrations
from protocol import letters, sealed
from protocol.errors import NotAllowedError, NotFoundError, UserInputError
from protocol.keys import NodeId
from tests.helpers import Trips, key, undoing_migrations

TODAY = date(2027, 2, 1)


@pytest.fixture
async def node(tmp_path: Path) -> AsyncIterator[Node]:
    opened = await Node.create(tmp_path / "n", name="Oakfield Primary", country="GB")
    person = staff.member(
        "Ben Carter", strengths=["behaviour"], develops=["questioning"], subjects=[], phase=None
    )
    await opened.staff.add(person)
    yield opened
    await opened.close()


async def add(node: Node, **kw: Any) -> observations.Observation:
    fields: dict[str, Any] = {
        "observer": "Ann Baker",
        "observed": "Ben Carter",
        "focus": "questioning",
        "priority": None,
        "day": date(2027, 1, 20),
        "strengths": ["Generous wait time"],
        "actions": ["Try no hands up in maths"],
        "follow_up": None,
        **kw,
    }
    return await node.observations.add(**fields)


async def test_focus_on_a_development_area_is_linked_to_it(node: Node) -> None:
    made = await add(node)
    assert made.priority == "Ben Carter's development area: questioning"
    assert made.follow_up == date(2027, 3, 3)  # six weeks on by default
    assert not made.shared  # private unless the observed colleague chooses
    assert (await node.observations.get(made.id)) == made
    assert made.as_json()["owner"] == "Ben Carter"


async def test_a_focus_with_no_priority_is_refused(node: Node) -> None:
    with pytest.raises(UserInputError, match="development priority"):
        await add(node, focus="oracy")
    with pytest.raises(UserInputError, match="development priority"):
        await add(node, observed="Dee Evans")  # no profile: name the priority
    made = await add(node, observed="Dee Evans", priority="SDP 2: questioning")
    assert made.priority == "SDP 2: questioning"


@pytest.mark.parametrize("count", [0, 3])
async def test_one_or_two_action_points(node: Node, count: int) -> None:
    with pytest.raises(UserInputError, match="one or two action points"):
        await add(node, actions=[f"step {i}" for i in range(count)])
    assert await node.observations.listing() == []


async def test_due_lists_past_and_coming_week_action_points(node: Node) -> None:
    await add(node, actions=["a", "b"], follow_up=date(2027, 1, 25))  # past
    await add(node, actions=["c"], follow_up=date(2027, 2, 8))  # in 7 days
    await add(node, actions=["d"], follow_up=date(2027, 2, 9))  # in 8 days: not yet
    due = await node.observations.due(TODAY)
    assert [(d.action, d.days) for d in due] == [("a", -7), ("b", -7), ("c", 7)]


async def test_sharing_listing_and_unknown_ids(node: Node) -> None:
    first = await add(node)
    second = await add(node, observer="Ben Carter", observed="Ann Baker", priority="SDP 1")
    assert (await node.observations.share(first.id, True)).shared
    assert [o.id for o in await node.observations.listing()] == [second.id, first.id]
    assert [o.id for o in await node.observations.listing(teacher="ann baker")] == [
        second.id,
        first.id,
    ]
    assert await node.observations.listing(teacher="Nobody") == []
    with pytest.raises(NotFoundError):
        await node.observations.get(99)
    with pytest.raises(UserInputError, match="same person"):
        await add(node, observer="ben carter")
    with pytest.raises(UserInputError, match="before"):
        await add(node, follow_up=date(2027, 1, 1))


async def test_each_operation_is_one_trip_to_the_database(node: Node) -> None:
    """Recording (with the staff profile its priority comes from), reading, sharing
    within the school and saving a profile: one trip each (issue 21, item 2)."""
    counted = {}
    with Trips(node.store) as trips:
        made = await add(node)
    counted["add"] = trips.count
    for name, call in {
        "get": lambda: node.observations.get(made.id),
        "listing": lambda: node.observations.listing(),
        "due": lambda: node.observations.due(TODAY),
        "staff": lambda: node.staff.listing(),
        "profile": lambda: node.staff.get("ben carter"),
    }.items():
        with Trips(node.store) as trips:
            await call()
        counted[name] = trips.count
    with Trips(node.store) as trips:
        await node.staff.add(
            staff.member(
                "Cara Diaz", strengths=["questioning"], develops=[], subjects=[], phase=None
            )
        )
    counted["add profile"] = trips.count
    assert counted == dict.fromkeys(counted, 1)
    with Trips(node.store) as trips:
        assert (await node.observations.share(made.id, True)).shared
    assert trips.count == 1  # read, changed and read back (a copy from elsewhere: by letter)


async def test_a_refused_observation_leaves_nothing(node: Node) -> None:
    with pytest.raises(UserInputError, match="link the focus to a development priority"):
        await add(node, focus="behaviour")
    with pytest.raises(UserInputError, match="1 to 1,000 characters"):
        await add(node, strengths=["x" * 1001])
    assert await node.observations.listing() == []


async def test_each_letter_path_of_a_shared_observation_is_one_trip(node: Node) -> None:
    """Sending to a partner school and taking back (read, checked, sealed and recorded),
    and each letter received (inside the mail room's transaction): one trip each
    (issue 21, item 2). They took 9 (7 for the letter, the record read before and
    after), 6, 4 and 3."""
    partner = key(7)
    await node.peerbook.add(partner.node_id, None, now_ms())
    made = await add(node)
    counted = {}
    with Trips(node.store) as trips:
        assert (await node.observations.share(made.id, True, to=partner.node_id)).shared_with
    counted["send"] = trips.count  # with the record before and after, as the page shows it
    with Trips(node.store) as trips:
        await node.shared_observations.take_back(made.id, now_ms())
    counted["take back"] = trips.count
    assert (await node.observations.get(made.id)).shared_with is None
    sent = await node.store.fetch_all("SELECT kind FROM letters_sent ORDER BY seq")
    assert [kind for (kind,) in sent] == [letters.OBSERVATION, letters.OBSERVATION_UNSHARE]
    theirs = {
        "id": "ab" * 16,
        "observer": "Mme Durand",
        "observed": "Ben Carter",
        "focus": "questioning",
        "priority": "SDP 2: oracy",
        "day": "2027-01-20",
        "strengths": ["Generous wait time"],
        "actions": ["Try think-pair-share"],
        "follow_up": "2027-03-01",
    }
    for name, kind, content in (
        ("receive", letters.OBSERVATION, theirs),
        ("receive unshare", letters.OBSERVATION_UNSHARE, {"id": "ab" * 16}),
    ):
        letter = sealed.write_letter(
            partner, kind=kind, timestamp=now_ms(), recipients=[node.node_id], content=content
        )
        async with node.store.write():  # as the mail room runs a letter's handler
            with Trips(node.store) as trips:
                await node.shared_observations.receive(letter, now_ms())
        counted[name] = trips.count
        copies = [o for o in await node.observations.listing() if o.origin is not None]
        assert len(copies) == (1 if kind == letters.OBSERVATION else 0)
    assert counted == dict.fromkeys(counted, 1)


async def test_a_refused_share_changes_nothing(node: Node) -> None:
    made = await add(node)
    with pytest.raises(UserInputError, match="not a partner school"):
        await node.shared_observations.send(made.id, key(8).node_id, now_ms())
    with pytest.raises(NotFoundError, match="no observation 99"):
        await node.shared_observations.send(99, key(8).node_id, now_ms())
    assert (await node.observations.get(made.id)).shared_with is None
    assert await node.store.fetch_all("SELECT 1 FROM letters_sent") == []


# -- the follow-up, done: recorded by the observed colleague, reopened -----------------

NOTE = "Il a essayé « pas de mains levées » : ça marche.\r\nNext: Émile's group\r\n\tand wait time"


async def test_a_followed_up_observation_is_no_longer_due(node: Node) -> None:
    made = await add(node, actions=["a", "b"], follow_up=date(2027, 1, 25))
    other = await add(node, actions=["c"], follow_up=date(2027, 1, 26))
    assert not made.followed_up
    assert made.as_json()["followed_up"] is False
    before = now_ms()
    done = await node.observations.follow_up(made.id, by="ben  CARTER", note=NOTE)
    assert done.followed_up
    assert before <= (done.followed_up_at or 0) <= now_ms()
    assert done.followed_up_by == "ben CARTER"  # as typed, spaces collapsed
    # Kept as typed: accents, quotes and tabs; the browser's CRLF as one line break.
    assert done.follow_up_note == NOTE.replace("\r\n", "\n")
    assert [d.action for d in await node.observations.due(TODAY)] == ["c"]
    shown = (await node.observations.get(made.id)).as_json()
    assert shown["followed_up"] is True
    assert shown["followed_up_by"] == "ben CARTER"
    assert shown["follow_up_note"] == NOTE.replace("\r\n", "\n")
    assert str(shown["followed_up_at"]).endswith("Z")
    assert {o.id: o.followed_up for o in await node.observations.listing()} == {
        made.id: True,
        other.id: False,
    }
    reopened = await node.observations.follow_up(made.id, by="Ben Carter", done=False)
    assert not reopened.followed_up
    assert (reopened.followed_up_by, reopened.follow_up_note) == (None, None)
    assert [d.action for d in await node.observations.due(TODAY)] == ["a", "b", "c"]
    # Without a note; again replaces the time and the note.
    again = await node.observations.follow_up(made.id, by="Ben Carter", note="  \r\n ")
    assert again.followed_up
    assert again.follow_up_note is None


@pytest.mark.parametrize(
    ("note", "words"),
    [
        ("x" * 2001, "2,000 characters"),
        ("é" * 2000 + "\r\n" + "é", "2,000 characters"),  # 2,002 once CRLF is one break
        ("Fine\x1b[2Jthen", "control characters"),
        ("Fine\x00", "control characters"),
    ],
)
async def test_a_refused_note_changes_nothing(node: Node, note: str, words: str) -> None:
    made = await add(node, follow_up=date(2027, 1, 25))
    with pytest.raises(UserInputError, match=words):
        await node.observations.follow_up(made.id, by="Ben Carter", note=note)
    assert not (await node.observations.get(made.id)).followed_up
    assert len(await node.observations.due(TODAY)) == 1


async def test_a_note_of_2000_characters_with_crlf_is_kept(node: Node) -> None:
    made = await add(node)
    note = "é" * 1000 + "\r\n" + "ü" * 999  # 2,001 as sent, 2,000 as kept
    done = await node.observations.follow_up(made.id, by="Ben Carter", note=note)
    assert done.follow_up_note == "é" * 1000 + "\n" + "ü" * 999


async def test_only_the_observed_colleague_records_the_follow_up(node: Node) -> None:
    """The observer, another teacher (shared or not), a name in other accents, and a
    partner school's copy (even named as its observed colleague) are refused, and
    nothing changes; the observation stays due."""
    made = await add(node, follow_up=date(2027, 1, 25))
    await node.observations.share(made.id, True)  # other staff can read it now
    for by in ("Ann Baker", "Cara Diaz", "Bén Carter", "Ben Carter Jr"):
        with pytest.raises(NotAllowedError, match="only the observed colleague"):
            await node.observations.follow_up(made.id, by=by)
    with pytest.raises(UserInputError, match="up to 100 characters"):
        await node.observations.follow_up(made.id, by="  ")
    with pytest.raises(NotFoundError, match="no observation 99"):
        await node.observations.follow_up(99, by="Ben Carter")
    with pytest.raises(UserInputError, match="--note and --off"):
        await node.observations.follow_up(made.id, by="Ben Carter", note="x", done=False)
    partner = key(7)
    await node.peerbook.add(partner.node_id, None, now_ms())
    theirs = {
        "id": "cd" * 16,
        "observer": "Mme Durand",
        "observed": "Ben Carter",
        "focus": "questioning",
        "priority": "SDP 2: oracy",
        "day": "2027-01-20",
        "strengths": [],
        "actions": ["Try think-pair-share"],
        "follow_up": "2027-01-25",
    }
    letter = sealed.write_letter(
        partner,
        kind=letters.OBSERVATION,
        timestamp=now_ms(),
        recipients=[node.node_id],
        content=theirs,
    )
    async with node.store.write():
        await node.shared_observations.receive(letter, now_ms())
    (copy,) = [o for o in await node.observations.listing() if o.origin is not None]
    for by in ("Ben Carter", "Mme Durand", "Ann Baker"):
        for done in (True, False):
            with pytest.raises(NotAllowedError, match="came from a partner school"):
                await node.observations.follow_up(copy.id, by=by, done=done)
    assert not (await node.observations.get(copy.id)).followed_up
    assert not (await node.observations.get(made.id)).followed_up
    assert [d.observation.id for d in await node.observations.due(TODAY)] == [made.id]
    # Recording it sends nothing to anyone: the follow-up stays in the school.
    await node.observations.follow_up(made.id, by="Ben Carter")
    assert await node.store.fetch_all("SELECT 1 FROM letters_sent") == []


async def test_recording_the_follow_up_is_one_trip(node: Node) -> None:
    made = await add(node)
    for done in (True, False):
        with Trips(node.store) as trips:
            await node.observations.follow_up(made.id, by="Ben Carter", done=done)
        assert trips.count == 1


async def test_observations_from_before_the_follow_up_columns_are_still_due(
    tmp_path: Path,
) -> None:
    """A database from before this version: its observations open with their follow-up
    to do (still due), and it can be recorded."""
    made = await Node.create(tmp_path / "n", name="Oakfield Primary", country="GB")
    first = migrations.MIGRATIONS.index(_FOLLOW_UP)
    try:
        async with made.store.write():
            for statement in undoing_migrations(first):
                await made.store.execute(statement)
            await made.store.execute("UPDATE schema_version SET version = ?", (first,))
            await made.store.execute(
                "INSERT INTO observations (observer, observed, focus, priority, day, strengths, "
                "actions, follow_up, shared, created_at) VALUES ('Ann Baker', 'Ben Carter', "
                "'questioning', 'SDP 1', '2027-01-20', '[]', '[\"Try it\"]', '2027-01-25', 0, 0)"
            )
    finally:
        await made.close()
    opened = await Node.open(tmp_path / "n")
    try:
        (old,) = await opened.observations.listing()
        assert not old.followed_up
        assert [d.action for d in await opened.observations.due(TODAY)] == ["Try it"]
        await opened.observations.follow_up(old.id, by="Ben Carter", note="Ça va")
        assert await opened.observations.due(TODAY) == []
    finally:
        await opened.close()


_FOLLOW_UP = next(m for m in migrations.MIGRATIONS if "followed_up_at" in m)


@pytest.mark.parametrize(
    ("origin", "name", "refused"),
    [
        (None, "Ben Carter", None),  # the observed colleague
        (None, "ben   carter", None),  # in other ASCII capitals and spacing
        (None, "BEN CARTER", None),
        (None, "Ann Baker", observations.NotYours.NOT_OBSERVED),  # the observer
        (None, "Cara Diaz", observations.NotYours.NOT_OBSERVED),  # another teacher here
        (None, "Bén Carter", observations.NotYours.NOT_OBSERVED),  # another account
        (None, "", observations.NotYours.NOT_OBSERVED),
        (key(7).node_id, "Ben Carter", observations.NotYours.PARTNERS_COPY),  # their copy
        (key(7).node_id, "Ann Baker", observations.NotYours.PARTNERS_COPY),
        (key(7).node_id, "Cara Diaz", observations.NotYours.PARTNERS_COPY),
    ],
)
@pytest.mark.parametrize("shared", [False, True])
def test_who_may_record_the_follow_up(
    origin: NodeId | None, name: str, refused: observations.NotYours | None, shared: bool
) -> None:
    """A pure rule (node/observations/service.py, ``may_follow_up``): sharing with
    colleagues lets them read it, not close it."""
    made = observations.Observation(
        1,
        "Ann Baker",
        "Ben Carter",
        "questioning",
        "SDP 1",
        date(2027, 1, 20),
        (),
        ("Try it",),
        date(2027, 1, 25),
        shared,
        origin,
        None,
    )
    assert observations.may_follow_up(made, name) == refused
