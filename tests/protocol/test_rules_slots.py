"""TeachMeet speaker slots: the rule table, row by row, and the schema of slots and talks."""

from __future__ import annotations

from typing import Any

import pytest

from protocol import kinds, letters
from protocol.entry import MAX_CLOCK_SKEW_MS
from protocol.errors import SchemaError
from protocol.keys import NodeId
from protocol.rules import OUT_OF_BOUNDS, REFUSED
from protocol.rules import slots as rules
from protocol.rules.slots import MAX_OFFERED, MAX_TALKS_PER_SCHOOL, Speaker, TeachMeet

ME, THEM, OTHER = (NodeId(bytes([n]) * 32) for n in (1, 2, 3))
NOW = 1_800_000_000_000
AHEAD = NOW + MAX_CLOCK_SKEW_MS + 1
OURS = TeachMeet(ME, 12)


@pytest.mark.parametrize(
    ("recipients", "event", "slot", "holder", "held", "author", "at", "code"),
    [
        ((ME,), OURS, 1, None, 0, THEM, NOW, None),  # a free slot: first come, first served
        ((ME,), OURS, 12, None, 0, THEM, NOW, None),  # the last slot
        ((ME,), OURS, 1, THEM, 1, THEM, NOW, None),  # its own talk, changed
        ((ME,), OURS, 1, THEM, MAX_TALKS_PER_SCHOOL, THEM, NOW, None),  # changed, at the cap
        ((ME,), OURS, 2, None, MAX_TALKS_PER_SCHOOL, THEM, NOW, REFUSED),  # a flood
        ((ME,), OURS, 1, OTHER, 0, THEM, NOW, REFUSED),  # another school's slot
        ((ME,), OURS, 13, None, 0, THEM, NOW, OUT_OF_BOUNDS),  # no such slot
        ((ME,), TeachMeet(ME, 0), 1, None, 0, THEM, NOW, REFUSED),  # no slots at all
        ((ME,), TeachMeet(ME, 12, cancelled=True), 1, None, 0, THEM, NOW, REFUSED),
        ((ME,), TeachMeet(OTHER, 12), 1, None, 0, THEM, NOW, REFUSED),  # not our event
        ((ME,), None, 1, None, 0, THEM, NOW, REFUSED),  # an event we do not hold
        ((ME, OTHER), OURS, 1, None, 0, THEM, NOW, REFUSED),  # copied to another school
        ((ME,), OURS, 1, None, 0, ME, NOW, REFUSED),  # from ourselves
        ((ME,), OURS, 1, None, 0, THEM, AHEAD, OUT_OF_BOUNDS),
    ],
)
def test_talk(
    recipients: tuple[NodeId, ...],
    event: TeachMeet | None,
    slot: int,
    holder: NodeId | None,
    held: int,
    author: NodeId,
    at: int,
    code: str | None,
) -> None:
    speaker = Speaker(profile_held=True, held=held, offered=held)
    verdict = rules.talk(author, ME, recipients, event, slot, holder, speaker, at, NOW)
    assert (verdict and verdict.code) == code


ON_THE_15TH = 1_800_000_000_000  # 2027-01-15 08:00 UTC


@pytest.mark.parametrize(
    ("event", "holder", "speaker", "code"),
    [
        (OURS, None, Speaker(True, 0, MAX_OFFERED - 1), None),  # the last one that may wait
        (OURS, None, Speaker(True, 0, MAX_OFFERED), REFUSED),  # too many wait already
        (OURS, THEM, Speaker(True, 1, MAX_OFFERED), None),  # its own talk, changed
        (OURS, None, Speaker(False, 0, 0), REFUSED),  # a key made for the purpose
        (OURS, THEM, Speaker(False, 1, 1), REFUSED),
        (TeachMeet(ME, 12, end="2027-01-15T18:00+00:00"), None, Speaker(True, 0, 0), None),
        (TeachMeet(ME, 12, end="2027-01-14T18:00+00:00"), None, Speaker(True, 0, 0), REFUSED),
        (TeachMeet(ME, 12, end="2027-01-14T18:00+00:00"), THEM, Speaker(True, 1, 1), REFUSED),
    ],
)
def test_talk_places_and_time(
    event: TeachMeet, holder: NodeId | None, speaker: Speaker, code: str | None
) -> None:
    verdict = rules.talk(THEM, ME, (ME,), event, 1, holder, speaker, ON_THE_15TH, ON_THE_15TH)
    assert (verdict and verdict.code) == code


@pytest.mark.parametrize(
    ("recipients", "event", "holder", "at", "code"),
    [
        ((ME,), OURS, THEM, NOW, None),  # its own talk
        ((ME,), OURS, None, NOW, None),  # already free: nothing changes
        ((ME,), OURS, OTHER, NOW, REFUSED),  # another school's talk
        ((ME,), TeachMeet(OTHER, 12), THEM, NOW, REFUSED),  # not our event
        ((ME,), None, THEM, NOW, REFUSED),
        ((ME, OTHER), OURS, THEM, NOW, REFUSED),
        ((ME,), OURS, THEM, AHEAD, OUT_OF_BOUNDS),
    ],
)
def test_cancel(
    recipients: tuple[NodeId, ...],
    event: TeachMeet | None,
    holder: NodeId | None,
    at: int,
    code: str | None,
) -> None:
    verdict = rules.cancel(THEM, ME, recipients, event, holder, at, NOW)
    assert (verdict and verdict.code) == code


def test_minutes_numbers_the_slots_in_the_order_given() -> None:
    assert rules.minutes([[2, 2], [1, 7]]) == [2, 2, 7]
    assert rules.minutes(None) == []


EVENT = {"title": "TeachMeet", "start": "2027-03-04T16:00Z", "end": "2027-03-04T18:00Z"}
TALK = {"slot": 1, "title": "Oracy", "speaker": "Ms Patel", "school": str(THEM)}


@pytest.mark.parametrize(
    ("more", "field"),
    [
        ({"slots": [[8, 2], [4, 7]]}, None),
        ({"slots": [[8, 2]], "talks": [TALK]}, None),
        ({"slots": [[8, 2]], "talks": []}, None),
        ({"slots": []}, "slots"),
        ({"slots": [[0, 2]]}, "slots"),
        ({"slots": [[2, 0]]}, "slots"),
        ({"slots": [[2, 121]]}, "slots"),
        ({"slots": [[60, 2], [41, 7]]}, "slots"),  # 101 slots
        ({"slots": [[2]]}, "slots"),
        ({"slots": [[True, 2]]}, "slots"),
        ({"slots": "8x2"}, "slots"),
        ({"talks": [TALK]}, "talks"),  # talks without slots
        ({"slots": [[1, 2]], "talks": [{**TALK, "slot": 2}]}, "talks"),  # out of range
        ({"slots": [[8, 2]], "talks": [TALK, TALK]}, "talks"),  # one slot twice
        ({"slots": [[8, 2]], "talks": [{**TALK, "school": "nobody"}]}, "talks"),
        ({"slots": [[8, 2]], "talks": [{**TALK, "title": ""}]}, "talks"),
        (
            {"slots": [[8, 2]], "talks": [{k: v for k, v in TALK.items() if k != "speaker"}]},
            "talks",
        ),
        ({"slots": [[8, 2]], "talks": ["Oracy"]}, "talks"),
    ],
)
def test_event_slots_and_talks_schema(more: dict[str, Any], field: str | None) -> None:
    if field is None:
        kinds.validate_content(kinds.EVENT, {**EVENT, **more})
        return
    with pytest.raises(SchemaError) as caught:
        kinds.validate_content(kinds.EVENT, {**EVENT, **more})
    assert caught.value.field == field


@pytest.mark.parametrize(
    ("kind", "content", "ok"),
    [
        (
            letters.TALK,
            {"event": b"e" * 32, "slot": 1, "title": "T", "speaker": "S", "at": 1},
            True,
        ),
        (
            letters.TALK,
            {"event": b"e" * 32, "slot": 0, "title": "T", "speaker": "S", "at": 1},
            False,
        ),
        (letters.TALK, {"event": b"e" * 32, "slot": 1, "title": "T", "at": 1}, False),
        (letters.TALK_CANCEL, {"event": b"e" * 32, "slot": 1, "at": 1}, True),
        (letters.TALK_CANCEL, {"event": b"e" * 31, "slot": 1, "at": 1}, False),
    ],
)
def test_talk_letter_schemas(kind: str, content: dict[str, Any], ok: bool) -> None:
    if ok:
        letters.validate(kind, content)
    else:
        with pytest.raises(SchemaError):
            letters.validate(kind, content)
