"""Typed contents (protocol/contents/): every kind has a class, every field a home,
and content maps round-trip through them unchanged."""

from __future__ import annotations

from typing import Any

import pytest

from protocol import kinds, letters
from protocol.contents.entries import (
    ENTRY_TYPES,
    AnswerContent,
    ContinueContent,
    EventContent,
    HelpfulContent,
    OfferContent,
    ProfileContent,
    QuestionContent,
    entry_content,
)
from protocol.contents.letters import LETTER_TYPES, PostLetter, TeamsLetter, letter_content
from protocol.entry import EPOCH_MS, Entry, create_entry, decode_entry
from protocol.keys import EntryId, NodeId, NodeKey
from protocol.log import fork_of
from protocol.sealed import read_letter, write_letter

KEY = NodeKey(bytes(range(32)))
OTHER = NodeKey(bytes(range(1, 33)))
SCHOOL = bytes(KEY.node_id)
ID = bytes(range(32))
LOCAL = "0123456789abcdef0123456789abcdef"
LOCAL2 = "fedcba9876543210fedcba9876543210"
START = "2027-03-04T09:00+01:00"
END = "2027-03-04T16:00+01:00"

#: One content per entry kind, with every field its schema defines.
ENTRIES: dict[str, dict[str, Any]] = {
    kinds.PROFILE: {
        "name": "Ecole Jules Ferry",
        "country": "FR",
        "url": "https://example.org/",
        "region": "Bretagne",
        "languages": ["fr", "en"],
        "phases": ["primary"],
        "about": "",
        "relays": [str(OTHER.node_id)],
        "hub": {"countries": ["FR"], "phases": ["primary", "secondary"]},
    },
    kinds.OFFER: {
        "activity": "observation",
        "title": "Watch a phonics lesson",
        "text": "",
        "focus": ["phonics"],
        "subjects": ["english"],
        "phases": ["primary"],
        "ages": [5, 7],
        "languages": ["en"],
        "country": "GB",
        "region": "Leeds",
        "mode": "in-person",
        "from": "2027-03-01",
        "to": "2027-03-31",
        "capacity": 3,
        "closes": "2027-02-20",
    },
    kinds.EVENT: {
        "title": "TeachMeet",
        "start": START,
        "end": END,
        "tz": "Europe/Paris",
        "where": "Hall",
        "text": "Come along",
        "audience": "public",
        "capacity": 80,
        "replaces": ID,
        "format": "teachmeet",
        "slots": [[8, 2], [4, 7]],
        "talks": [{"slot": 2, "title": "Oracy", "speaker": "Ms Lee", "school": str(KEY.node_id)}],
    },
    kinds.WITHDRAW: {"target": ID, "reason": ""},
    kinds.CONTINUE: {"fork": 4, "keep": ID},
    kinds.QUESTION: {
        "title": "Reading at home?",
        "text": "How do you get parents reading?",
        "focus": ["reading"],
        "subjects": ["english"],
        "phases": ["primary"],
        "languages": ["en"],
    },
    kinds.ANSWER: {"question": ID, "text": "Book bags", "by": "Mr Khan"},
    kinds.HELPFUL: {"answer": ID},
}
ENTRIES[kinds.REQUEST] = dict(ENTRIES[kinds.OFFER], activity="mentoring")

#: One content per letter kind, with every field its schema defines.
LETTERS: dict[str, dict[str, Any]] = {
    letters.PROJECT: {
        "p": LOCAL,
        "title": "Rivers",
        "themes": ["water"],
        "members": [[SCHOOL, "member"], [bytes(OTHER.node_id), "invited"]],
        "rev": 3,
    },
    letters.PROJECT_JOIN: {"p": LOCAL},
    letters.PROJECT_LEAVE: {"p": LOCAL},
    letters.POST: {
        "p": LOCAL,
        "id": LOCAL2,
        "title": "Our river",
        "body": "",
        "by": "Class 4",
        "theme": "water",
        "images": [[ID, "image/jpeg"]],
        "at": 1_800_000_000_000,
    },
    letters.COMMENT: {"p": LOCAL, "post": LOCAL2, "id": LOCAL, "by": "Sam", "body": "Hi", "at": 1},
    letters.IMAGE: {"p": LOCAL, "post": LOCAL2, "hash": ID, "type": "image/jpeg", "data": b"\xff"},
    letters.TAKEDOWN: {"p": LOCAL, "target": LOCAL2, "reason": ""},
    letters.RECEIPT: {"p": LOCAL, "target": LOCAL2},
    letters.INTEREST: {"id": LOCAL, "entry": ID, "title": "T", "message": "Hello", "by": "Jo"},
    letters.INTEREST_ANSWER: {
        "id": LOCAL,
        "answer": "accepted",
        "message": "",
        "by": "Jo",
        "from": "2027-03-01",
        "to": "2027-03-02",
    },
    letters.RSVP: {"event": ID, "answer": "maybe", "by": "Jo", "at": 5},
    letters.EVENT: {
        "id": ID,
        "rev": 2,
        "audience": "project",
        "p": LOCAL,
        "cancelled": True,
        "title": "Visit",
        "start": START,
        "end": END,
        "tz": "Europe/Paris",
        "where": "Museum",
        "text": "",
        "capacity": 30,
        "reason": "Snow",
        "format": "debate",
    },
    letters.OBSERVATION: {
        "id": LOCAL,
        "observer": "A",
        "observed": "B",
        "focus": "questioning",
        "priority": "wait time",
        "day": "2027-03-01",
        "strengths": ["clear"],
        "actions": ["slower"],
        "follow_up": "2027-04-01",
    },
    letters.OBSERVATION_UNSHARE: {"id": LOCAL},
    letters.BOOKING: {
        "id": LOCAL,
        "b": LOCAL2,
        "start": START,
        "end": END,
        "tz": "Europe/Paris",
        "where": "Room 4",
        "online": True,
        "note": "",
        "by": "Jo",
    },
    letters.BOOKING_ACCEPT: {"id": LOCAL, "b": LOCAL2, "by": "Jo"},
    letters.PARTNER_REQUEST: {
        "id": LOCAL,
        "message": "Partner with us?",
        "by": "Jo",
        "address": "https://school.example.org:8443",
    },
    letters.PARTNER_ANSWER: {
        "id": LOCAL,
        "answer": "accepted",
        "address": "https://other.example.org",
    },
    letters.TEAM: {
        "event": ID,
        "at": 9,
        "pupils": 4,
        "roles": {"speaker": 2, "researcher": 2},
        "withdrawn": True,
    },
    letters.TEAMS: {"event": ID, "at": 9, "teams": [[SCHOOL, 4, {"speaker": 4}]]},
    letters.TALK: {"event": ID, "slot": 3, "title": "Oracy", "speaker": "Ms Lee", "at": 9},
    letters.TALK_CANCEL: {"event": ID, "slot": 3, "at": 9},
    letters.CLUSTER: {
        "c": LOCAL,
        "title": "Year 6 writing",
        "subject": "English",
        "schools": [SCHOOL, bytes(OTHER.node_id)],
        "rev": 1,
    },
    letters.CLUSTER_SAMPLE: {
        "c": LOCAL,
        "id": LOCAL2,
        "title": "Sample 1",
        "type": "application/pdf",
        "hash": ID,
        "data": b"%PDF",
        "at": 9,
    },
    letters.CLUSTER_COMMIT: {"c": LOCAL, "sample": LOCAL2, "commitment": ID},
    letters.CLUSTER_REVEAL: {
        "c": LOCAL,
        "sample": LOCAL2,
        "grade": "Greater depth",
        "comment": "",
        "salt": ID,
    },
}


def required_only(schema: tuple[kinds.Field, ...], content: dict[str, Any]) -> dict[str, Any]:
    return {f.name: content[f.name] for f in schema if f.required}


def test_every_entry_kind_has_a_class() -> None:
    assert set(ENTRY_TYPES) == set(kinds.SCHEMAS)
    assert set(ENTRIES) == set(kinds.SCHEMAS), "add a full example for the new kind above"


def test_every_letter_kind_has_a_class() -> None:
    assert set(LETTER_TYPES) == set(letters.SCHEMAS)
    assert set(LETTERS) == set(letters.SCHEMAS), "add a full example for the new kind above"


@pytest.mark.parametrize("kind", sorted(kinds.SCHEMAS))
def test_entry_contents_round_trip(kind: str) -> None:
    schema = kinds.SCHEMAS[kind]
    full = ENTRIES[kind]
    assert set(full) == {f.name for f in schema}, "the example must give every field"
    for content in (full, required_only(schema, full)):
        kinds.validate_content(kind, content)
        typed = ENTRY_TYPES[kind].from_content(content)
        assert typed.to_content() == content
        assert type(typed).from_content(typed.to_content()) == typed


@pytest.mark.parametrize("kind", sorted(letters.SCHEMAS))
def test_letter_contents_round_trip(kind: str) -> None:
    schema = letters.SCHEMAS[kind]
    full = LETTERS[kind]
    assert set(full) == {f.name for f in schema}, "the example must give every field"
    for content in (full, required_only(schema, full)):
        letters.validate(kind, content)
        typed = LETTER_TYPES[kind].from_content(content)
        assert typed.to_content() == content
        assert type(typed).from_content(typed.to_content()) == typed


def test_unknown_fields_are_ignored_as_the_schema_ignores_them() -> None:
    content = dict(ENTRIES[kinds.HELPFUL], later="a newer node's field")
    kinds.validate_content(kinds.HELPFUL, content)
    assert ENTRY_TYPES[kinds.HELPFUL].from_content(content).to_content() == ENTRIES[kinds.HELPFUL]


def test_a_signed_entry_reads_typed_and_ids_are_value_objects() -> None:
    entry = create_entry(
        KEY, seq=1, prev=None, timestamp=EPOCH_MS, kind=kinds.EVENT, content=ENTRIES[kinds.EVENT]
    )
    received = decode_entry(entry.encode(), now_ms=EPOCH_MS)
    event = EventContent.of(received)
    assert event == entry_content(received)
    assert event.replaces == EntryId(ID)
    assert event.talks[0].school == KEY.node_id
    assert event.slots == ((8, 2), (4, 7))
    with pytest.raises(ValueError, match="not read as OfferContent"):
        OfferContent.of(received)
    assert entry_content(received.without_content()) is None
    with pytest.raises(ValueError, match="erased"):
        EventContent.of(received.without_content())


def test_offers_and_requests_share_one_class_and_wire_names_are_kept() -> None:
    offer = OfferContent.from_content(ENTRIES[kinds.REQUEST])
    assert (offer.start, offer.end, offer.ages) == ("2027-03-01", "2027-03-31", (5, 7))
    profile = ProfileContent.from_content(ENTRIES[kinds.PROFILE])
    assert profile.relays == (OTHER.node_id,)


def test_a_kind_from_a_newer_version_reads_as_nothing() -> None:
    entry = create_entry(KEY, seq=1, prev=None, timestamp=EPOCH_MS, kind="poll", content={"q": "?"})
    assert entry_content(entry) is None
    letter = write_letter(
        KEY, kind="poll", timestamp=1, recipients=[OTHER.node_id], content={"q": "?"}
    )
    assert letter_content(letter) is None


def test_a_signed_letter_reads_typed() -> None:
    letter = read_letter(
        write_letter(
            KEY,
            kind=letters.TEAMS,
            timestamp=1,
            recipients=[OTHER.node_id],
            content=LETTERS[letters.TEAMS],
        ).encode()
    )
    teams = TeamsLetter.of(letter)
    assert teams == letter_content(letter)
    assert teams.teams[0].school == NodeId(SCHOOL)
    assert dict(teams.teams[0].roles) == {"speaker": 4}
    with pytest.raises(ValueError, match="not read as PostLetter"):
        PostLetter.of(letter)


def test_stored_content_with_a_field_an_older_version_kept_unchecked_still_reads() -> None:
    """An older version kept ``talks`` and ``replaces`` unchecked, not knowing them yet:
    the event reads without them, not at all would hide every event."""
    entry = create_entry(
        KEY, seq=1, prev=None, timestamp=EPOCH_MS, kind=kinds.EVENT, content=ENTRIES[kinds.EVENT]
    )
    older = dict(ENTRIES[kinds.EVENT], talks=[["a", "list"]], replaces="not an id")
    stored = Entry(entry.payload, entry.payload_bytes, entry.signature, entry.content_bytes, older)
    event = EventContent.of(stored)
    assert (event.talks, event.replaces) == ((), None)
    assert event.title == "TeachMeet"
    assert event.slots == ((8, 2), (4, 7))
    damaged = {k: v for k, v in older.items() if k != "title"}
    broken = Entry(
        entry.payload, entry.payload_bytes, entry.signature, entry.content_bytes, damaged
    )
    with pytest.raises(KeyError):  # a required field missing is damage, not age
        EventContent.of(broken)


def _kept_unchecked(kind: str, content: dict[str, Any]) -> Entry:
    """An entry of ``kind`` as a node that did not know the kind yet stored it."""
    entry = create_entry(
        KEY, seq=1, prev=None, timestamp=EPOCH_MS, kind=kind, content=ENTRIES[kind]
    )
    return Entry(entry.payload, entry.payload_bytes, entry.signature, entry.content_bytes, content)


@pytest.mark.parametrize("fork", ["4", 4.0])
def test_a_stored_continuation_reads_its_fork_as_a_number_as_before(fork: Any) -> None:
    """protocol/log.py read ``int(content["fork"])``: a continuation kept unchecked by
    a node that did not know the kind yet still names its fork by number."""
    stored = _kept_unchecked(kinds.CONTINUE, {"fork": fork, "keep": ID})
    read = ContinueContent.of(stored)
    assert (type(read.fork), read.fork) == (int, 4)
    named = fork_of(stored)
    assert named is not None
    assert (type(named.seq), named.seq) == (int, 4)


def test_stored_reads_only_content_that_fits_todays_schema() -> None:
    """``stored`` leaves out (None) what today's schema refuses: a field missing, a
    field of the wrong type (which ``of`` would read as it is), erased content."""
    fine = _kept_unchecked(kinds.QUESTION, ENTRIES[kinds.QUESTION])
    assert QuestionContent.stored(fine) == QuestionContent.of(fine)
    for content in ({"title": "No text"}, {"title": 5, "text": "A number"}):
        assert QuestionContent.stored(_kept_unchecked(kinds.QUESTION, content)) is None
    assert QuestionContent.stored(fine.without_content()) is None
    assert AnswerContent.stored(_kept_unchecked(kinds.ANSWER, {"question": ID})) is None
    assert HelpfulContent.stored(_kept_unchecked(kinds.HELPFUL, {"answer": "x"})) is None
    with pytest.raises(ValueError, match="not read as AnswerContent"):
        AnswerContent.stored(fine)


@pytest.mark.parametrize(
    ("kind", "older"),
    [
        (kinds.PROFILE, {"hub": "every"}),
        (kinds.PROFILE, {"hub": ["countries"]}),
        (kinds.PROFILE, {"relays": [5]}),
        (kinds.EVENT, {"talks": [{"slot": 1, "title": "T", "speaker": "S", "school": 5}]}),
    ],
)
def test_a_field_an_older_version_kept_that_fails_on_an_attribute_is_left_out(
    kind: str, older: dict[str, Any]
) -> None:
    """A text where a map is read (``hub.items()``), a number where a node id's text is
    (``NodeId.parse``): AttributeError, not only TypeError, is a field in another shape.
    The entry reads without it, as for any other (the directory, a network search's
    hubs and a withdrawal's kept title read these)."""
    stored = _kept_unchecked(kind, {**ENTRIES[kind], **older})
    without = {k: v for k, v in ENTRIES[kind].items() if k not in older}
    assert ENTRY_TYPES[kind].of(stored) == ENTRY_TYPES[kind].of(_kept_unchecked(kind, without))
