"""Matching across a crafted network of five real schools on loopback, real SQLite.

About thirty offers and requests travel from England, France, Spain, Germany and
Japan to Oakfield (England), whose matches must put the sensible pair first and
say why, and must drop withdrawn and expired entries.
"""

from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from node.offers.matching import Match
from tests.network import EVERYTHING, LiveNode, partner, wait_for

TODAY = date(2027, 1, 15)
MARCH = {"from": "2027-03-01", "to": "2027-03-31"}

SCHOOLS = {
    "oak": ("Oakfield Primary", "GB"),
    "lycee": ("Lycée Jean Moulin", "FR"),
    "colegio": ("Colegio San Marcos", "ES"),
    "gesamt": ("Gesamtschule Nord", "DE"),
    "sakura": ("Sakura Gakuen", "JP"),
}


def shadowing(title: str, **kw: Any) -> dict[str, Any]:
    return {"activity": "shadowing", "title": title, "focus": ["leadership"], **kw}


#: (school, side, content); titles are unique so tests can name entries by them.
POSTS: list[tuple[str, str, dict[str, Any]]] = [
    # Oakfield's own requests and offer.
    (
        "oak",
        "request",
        shadowing(
            "Shadow a secondary deputy head",
            phases=["secondary"],
            languages=["en", "fr"],
            mode="in-person",
            **MARCH,
        ),
    ),
    (
        "oak",
        "request",
        {
            "activity": "moderation",
            "title": "Year 6 writing moderation partners",
            "focus": ["assessment-and-moderation", "writing"],
            "phases": ["primary"],
            "languages": ["en"],
            "mode": "online",
        },
    ),
    (
        "oak",
        "offer",
        {
            "activity": "observation",
            "title": "Phonics lessons open to observe",
            "focus": ["phonics"],
            "phases": ["primary"],
            "languages": ["en"],
            "mode": "in-person",
        },
    ),
    # The sensible pair for the shadowing request.
    (
        "lycee",
        "offer",
        shadowing(
            "Shadow our proviseure adjointe in March",
            phases=["secondary"],
            languages=["fr"],
            mode="in-person",
            **{"from": "2027-03-08", "to": "2027-03-19"},
        ),
    ),
    # Close, but weaker: no common language, dates apart, far away, online only.
    (
        "sakura",
        "offer",
        shadowing(
            "Leadership shadowing in Osaka",
            phases=["secondary"],
            languages=["ja"],
            mode="in-person",
            **MARCH,
        ),
    ),
    (
        "gesamt",
        "offer",
        shadowing(
            "Schulleitung hospitieren",
            phases=["secondary"],
            languages=["de"],
            mode="in-person",
            **{"from": "2027-05-03", "to": "2027-05-14"},
        ),
    ),
    (
        "colegio",
        "offer",
        {
            "activity": "observation",
            "title": "Leadership team meetings online",
            "focus": ["leadership"],
            "phases": ["secondary"],
            "languages": ["es", "en"],
            "mode": "online",
        },
    ),
    # Better on paper than the sensible pair, but withdrawn or expired.
    (
        "lycee",
        "offer",
        shadowing(
            "WITHDRAWN deputy head shadowing",
            phases=["secondary"],
            languages=["fr", "en"],
            subjects=["french"],
            mode="in-person",
            **MARCH,
        ),
    ),
    (
        "colegio",
        "offer",
        shadowing(
            "EXPIRED leadership shadowing",
            phases=["secondary"],
            languages=["en"],
            mode="in-person",
            closes="2027-01-10",
            **MARCH,
        ),
    ),
    # Moderation: Gesamtschule's online English cluster fits best.
    (
        "gesamt",
        "offer",
        {
            "activity": "moderation",
            "title": "Online writing moderation cluster (English)",
            "focus": ["assessment-and-moderation", "writing"],
            "phases": ["primary"],
            "languages": ["en", "de"],
            "mode": "online",
        },
    ),
    (
        "sakura",
        "offer",
        {
            "activity": "moderation",
            "title": "作文のモデレーション",
            "focus": ["assessment-and-moderation"],
            "phases": ["primary"],
            "languages": ["ja"],
            "mode": "online",
        },
    ),
    (
        "lycee",
        "offer",
        {
            "activity": "moderation",
            "title": "Modération en mathématiques",
            "focus": ["assessment-and-moderation"],
            "subjects": ["maths"],
            "phases": ["secondary"],
            "languages": ["fr"],
            "mode": "in-person",
        },
    ),
    # Requests that Oakfield's phonics offer could answer.
    (
        "colegio",
        "request",
        {
            "activity": "observation",
            "title": "Observe phonics taught in English",
            "focus": ["phonics", "eal"],
            "phases": ["primary"],
            "languages": ["es", "en"],
            "mode": "in-person",
        },
    ),
    (
        "lycee",
        "request",
        {
            "activity": "observation",
            "title": "Phonics for our English section, online",
            "focus": ["phonics"],
            "phases": ["primary"],
            "languages": ["fr", "en"],
            "mode": "online",
        },
    ),
    (
        "sakura",
        "request",
        {
            "activity": "visit",
            "title": "Visit an English primary school",
            "focus": ["phonics"],
            "phases": ["primary"],
            "languages": ["ja", "en"],
            "mode": "in-person",
        },
    ),
]
# Filler: offers and requests that match nothing of Oakfield's.
for n, (school, focus) in enumerate(
    [
        ("lycee", "science-practicals"),
        ("lycee", "digital-learning"),
        ("colegio", "wellbeing"),
        ("colegio", "oracy"),
        ("colegio", "languages"),
        ("gesamt", "send"),
        ("gesamt", "behaviour"),
        ("gesamt", "curriculum-design"),
        ("sakura", "questioning"),
        ("sakura", "feedback"),
        ("lycee", "eal"),
        ("gesamt", "early-years"),
        ("sakura", "digital-learning"),
        ("colegio", "feedback"),
        ("lycee", "reading"),
    ]
):
    side = "offer" if n % 2 else "request"
    POSTS.append(
        (school, side, {"activity": "teachmeet", "title": f"TeachMeet on {focus} {n}",
                        "focus": [focus]})
    )  # fmt: skip


@pytest.fixture
async def network(tmp_path: Path) -> AsyncIterator[dict[str, LiveNode]]:
    nodes: dict[str, LiveNode] = {}
    try:
        for short, (name, country) in SCHOOLS.items():
            nodes[short] = await LiveNode.start(
                tmp_path / short, name, country=country, holding=EVERYTHING
            )
        # Oakfield knows Lycée only; the rest arrives by relay.
        for a, b in (("oak", "lycee"), ("lycee", "colegio"), ("lycee", "gesamt"),
                     ("gesamt", "sakura")):  # fmt: skip
            await partner(nodes[a], nodes[b])
        yield nodes
    finally:
        for live in nodes.values():
            await live.stop()


async def post_all(nodes: dict[str, LiveNode]) -> dict[str, str]:
    """Post every entry; return entry ids by title, once Oakfield holds them all."""
    ids = {}
    for school, side, content in POSTS:
        entry = await nodes[school].node.offers.post(side, content)  # type: ignore[arg-type]
        ids[content["title"]] = str(entry.id)
    oak = nodes["oak"]

    async def arrived() -> bool:
        held = [
            *await oak.node.offers.listing("offer"),
            *await oak.node.offers.listing("request"),
        ]
        names = {item.school for item in held}
        return len(held) == len(POSTS) and len(names) == len(SCHOOLS)

    await wait_for(arrived, within=30, what="Oakfield to hold all thirty entries")
    return ids


def by_title(found: list[tuple[Any, list[Match]]]) -> dict[str, list[Match]]:
    return {posting.title: matches for posting, matches in found}


async def test_matching_ranks_the_sensible_pair_first_and_says_why(
    network: dict[str, LiveNode],
) -> None:
    assert len(POSTS) >= 30
    ids = await post_all(network)
    await network["lycee"].node.offers.withdraw("offer", ids["WITHDRAWN deputy head shadowing"])

    oak = network["oak"].node

    async def gone() -> bool:
        titles = [item.as_json()["title"] for item in await oak.offers.listing("offer")]
        return "WITHDRAWN deputy head shadowing" not in titles

    await wait_for(gone, what="the withdrawal to reach Oakfield")
    found = by_title(await oak.offers.matches(today=TODAY, limit=10))
    assert list(found) == [
        "Year 6 writing moderation partners",
        "Shadow a secondary deputy head",
        "Phonics lessons open to observe",
    ]  # requests first, newest first; then offers

    shadow = found["Shadow a secondary deputy head"]
    best = shadow[0]
    assert best.posting.title == "Shadow our proviseure adjointe in March"
    assert (best.posting.school, best.posting.country) == ("Lycée Jean Moulin", "FR")
    assert best.reasons == (
        "same focus: leadership",
        "both work shadowing",
        "both secondary",
        "shared language: French",
        "both in person",
        "dates overlap in March",
        "neighbours: the United Kingdom and France",
    )
    assert best.concerns == ()
    weaker = {m.posting.title: m for m in shadow[1:]}
    assert "no language in common" in weaker["Leadership shadowing in Osaka"].concerns[0]
    # No common language and dates apart take it below the floor: not suggested at all.
    assert "Schulleitung hospitieren" not in weaker
    assert all(best.score > m.score for m in weaker.values())

    moderation = found["Year 6 writing moderation partners"]
    assert moderation[0].posting.title == "Online writing moderation cluster (English)"
    assert "same focus: assessment and moderation and writing" in moderation[0].reasons

    phonics = found["Phonics lessons open to observe"]
    assert phonics[0].posting.title == "Observe phonics taught in English"
    assert all(m.posting.side == "request" for m in phonics)
    online_only = [m for m in phonics if m.posting.title.endswith("online")]
    assert online_only[0].concerns == ("one is in person only, the other online only",)

    every = {m.posting.title for matches in found.values() for m in matches}
    assert "WITHDRAWN deputy head shadowing" not in every
    assert "EXPIRED leadership shadowing" not in every
    assert not any(title.startswith("TeachMeet") for title in every)  # nothing in common


async def test_an_expired_request_of_ours_and_a_later_withdrawal_drop_out(
    network: dict[str, LiveNode],
) -> None:
    ids = await post_all(network)
    oak = network["oak"].node
    found = by_title(await oak.offers.matches(today=TODAY))
    # Before its withdrawal the better-on-paper offer comes first.
    assert found["Shadow a secondary deputy head"][0].posting.title.startswith("WITHDRAWN")

    # After March, the shadowing request itself has expired and is not matched.
    later = by_title(await oak.offers.matches(today=date(2027, 4, 1)))
    assert "Shadow a secondary deputy head" not in later
    assert "Year 6 writing moderation partners" in later

    title = "WITHDRAWN deputy head shadowing"
    await network["lycee"].node.offers.withdraw("offer", ids[title])

    async def replaced() -> bool:
        now = by_title(await oak.offers.matches(today=TODAY))
        return now["Shadow a secondary deputy head"][0].posting.title.startswith("Shadow our")

    await wait_for(replaced, what="the withdrawn offer to leave Oakfield's matches")
