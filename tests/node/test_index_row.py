"""``index_row`` reads an offer's or a request's fields from its map (not through
``OfferContent``, for speed: docs/performance.md, issue 23 item 6, fourth step): the
row must be the one the typed reader gives, field for field, and an entry today's
schema refuses must still be left out."""

from __future__ import annotations

from typing import Any

import pytest

from node.clock import now_ms
from node.store.search import _tags, fold, index_row, subject_tag
from protocol import kinds
from protocol.contents.entries import OfferContent
from protocol.entry import Entry, create_entry
from tests.helpers import key, unchecked_entry


def typed_row(n: int, entry: Entry, school: str) -> tuple[Any, ...] | None:
    """The row as index_row built it before, through ``OfferContent.stored``."""
    offer = OfferContent.stored(entry)
    if offer is None:
        return None
    words = " ".join(
        [
            offer.title,
            offer.text or "",
            offer.activity,
            offer.region or "",
            *offer.focus,
            *offer.subjects,
        ]
    )
    return (
        n,
        bytes(entry.author),
        entry.kind,
        offer.activity,
        offer.country,
        _tags(offer.phases),
        _tags(offer.focus),
        _tags(offer.languages),
        _tags([subject_tag(s) for s in offer.subjects]),
        offer.mode,
        min(filter(None, [offer.closes, offer.end]), default=None),
        entry.payload.timestamp,
        fold(words),
        school,
    )


CONTENTS: list[dict[str, Any]] = [
    {"activity": "observation", "title": "Tuesday slots"},
    {
        "activity": "visit",
        "title": "Échange à Lyon",
        "text": "Une semaine, élèves de Seconde.",
        "focus": ["oracy", "languages"],
        "subjects": ["Français", "Modern_Languages"],
        "phases": ["secondary"],
        "ages": [14, 16],
        "languages": ["fr", "en"],
        "country": "FR",
        "region": "Auvergne-Rhône-Alpes",
        "mode": "in-person",
        "from": "2027-03-01",
        "to": "2027-03-08",
        "capacity": 20,
        "closes": "2027-01-15",
    },
    {"activity": "observation", "title": "Ends only", "to": "2027-06-30", "mode": "online"},
    {"activity": "observation", "title": "Closes only", "closes": "2027-02-01"},
    {
        "activity": "observation",
        "title": "Closes after",
        "to": "2027-02-01",
        "closes": "2027-05-01",
    },
    {"activity": "observation", "title": "Empty lists", "text": "", "focus": [], "subjects": []},
]


@pytest.mark.parametrize("kind", [kinds.OFFER, kinds.REQUEST])
@pytest.mark.parametrize("content", CONTENTS)
def test_the_row_is_the_typed_readers(kind: str, content: dict[str, Any]) -> None:
    entry = create_entry(key(3), seq=1, prev=None, timestamp=now_ms(), kind=kind, content=content)
    row = index_row(7, entry, "oakfield gb")
    assert row is not None
    assert row == typed_row(7, entry, "oakfield gb")


@pytest.mark.parametrize(
    "content",
    [
        {"activity": "juggling", "title": "An activity today's schema does not know"},
        {"activity": "observation"},  # no title
        {
            "activity": "observation",
            "title": "Dates backwards",
            "from": "2027-05-01",
            "to": "2027-04-01",
        },
        {"activity": "observation", "title": "x", "phases": ["university"]},
    ],
)
def test_what_todays_schema_refuses_is_left_out(content: dict[str, Any]) -> None:
    entry = unchecked_entry(key(4), kinds.OFFER, content)
    assert typed_row(1, entry, "") is None
    assert index_row(1, entry, "") is None


def test_an_erased_offer_is_left_out() -> None:
    entry = create_entry(
        key(5), seq=1, prev=None, timestamp=now_ms(), kind=kinds.OFFER, content=CONTENTS[0]
    )
    erased = Entry(entry.payload, entry.payload_bytes, entry.signature, None, None)
    assert index_row(1, erased, "") is None
