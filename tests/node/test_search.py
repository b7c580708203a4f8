"""Full-text search with filters over offers and requests, on a real database."""

from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from node.node import Node
from node.store import search
from node.store.migrations import _LISTING_SCHOOLS, MIGRATIONS
from node.store.search import Filters
from protocol.entry import create_entry
from tests.helpers import NOW, key, undoing_migrations
from tests.network import holding_everything

TODAY = date(2026, 11, 23)


@pytest.fixture
async def node(tmp_path: Path) -> AsyncIterator[Node]:
    opened = await Node.create(tmp_path / "n", name="Oakfield Primary", country="GB")
    await holding_everything(opened)  # made-up schools' entries, whole
    yield opened
    await opened.close()


async def post(node: Node, title: str, side: str = "offer", **fields: Any) -> str:
    content = {"activity": fields.pop("activity", "observation"), "title": title, **fields}
    return str((await node.offers.post(side, content)).id)  # type: ignore[arg-type]


async def titles(node: Node, query: str, **filters: Any) -> list[str]:
    found = await node.offers.search(query, Filters(**filters), today=TODAY)
    return [item.as_json()["title"] for item in found]


async def test_accents_and_case_do_not_matter(node: Node) -> None:
    await post(node, "Leçon de phonics à l'École Jules Verne")
    await post(node, "Maths mastery in Year 5")
    assert await titles(node, "ecole") == ["Leçon de phonics à l'École Jules Verne"]
    assert await titles(node, "LECON") == ["Leçon de phonics à l'École Jules Verne"]
    assert await titles(node, "école") == ["Leçon de phonics à l'École Jules Verne"]


async def test_every_word_must_match_and_the_last_may_be_a_prefix(node: Node) -> None:
    await post(node, "Maths mastery in Year 5")
    await post(node, "Maths moderation cluster")
    assert await titles(node, "maths mast") == ["Maths mastery in Year 5"]
    assert sorted(await titles(node, "maths")) == [
        "Maths mastery in Year 5",
        "Maths moderation cluster",
    ]


async def test_non_latin_scripts(node: Node) -> None:
    await post(node, "数学の授業を見学したい", side="request")
    await post(node, "Урок математики в пятом классе")
    assert await titles(node, "数学") == ["数学の授業を見学したい"]
    assert await titles(node, "математики") == ["Урок математики в пятом классе"]


async def test_relevance_first_then_newest(node: Node) -> None:
    await post(node, "Phonics phonics phonics: a whole morning", text="phonics")
    await post(node, "Reading lesson A", text="some phonics too")
    await post(node, "Reading lesson B", text="some phonics too")  # posted later
    found = await titles(node, "phonics")
    assert found[0] == "Phonics phonics phonics: a whole morning"
    assert found[1:] == ["Reading lesson B", "Reading lesson A"]


async def test_only_the_newest_matches_are_ranked_and_filters_apply_first(
    node: Node, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(search, "RANKED_MATCHES", 3)
    await post(node, "Phonics phonics phonics", text="phonics", phases=["primary"])
    for n in range(4):
        await post(node, f"Reading lesson {n}", text="some phonics", phases=["secondary"])
    # The oldest match is the most relevant, but only the newest three are ranked.
    assert await titles(node, "phonics") == [
        "Reading lesson 3",
        "Reading lesson 2",
        "Reading lesson 1",
    ]
    # A filter is applied before the cap, so an older match that passes it is found.
    assert await titles(node, "phonics", phase="primary") == ["Phonics phonics phonics"]


async def test_filters(node: Node) -> None:
    await post(node, "Primary phonics", phases=["primary"], focus=["phonics"], languages=["en"])
    await post(
        node,
        "Secondary leadership",
        activity="shadowing",
        phases=["secondary"],
        focus=["leadership"],
        languages=["fr"],
    )
    await post(node, "Looking for phonics", side="request", phases=["primary"])
    assert await titles(node, "", phase="secondary") == ["Secondary leadership"]
    assert await titles(node, "", focus="phonics") == ["Primary phonics"]
    assert await titles(node, "", language="fr") == ["Secondary leadership"]
    assert await titles(node, "", activity="shadowing") == ["Secondary leadership"]
    assert await titles(node, "phonics", side="request") == ["Looking for phonics"]
    assert await titles(node, "", country="GB") != []
    assert await titles(node, "", country="FR") == []


async def test_offers_only_with_a_kind_a_subject_and_online_or_in_person(node: Node) -> None:
    await post(node, "Maths online", subjects=["Maths"], mode="online")
    await post(node, "Maths either way", subjects=["maths", "Science"], mode="either")
    await post(node, "Maths in our school", subjects=["maths"], mode="in-person")
    await post(node, "Français en classe", activity="visit", subjects=["Français"])
    await post(node, "Wanted: maths online", side="request", subjects=["maths"], mode="online")

    async def found(**given: Any) -> list[str]:
        listed = await node.offers.search("", Filters.of(**given), today=TODAY)
        return sorted(item.as_json()["title"] for item in listed)

    assert await found(kind="observation", side="offer", subject="MATHS", mode="online") == [
        "Maths either way",
        "Maths online",
    ]
    assert await found(side="request", kind="observation") == ["Wanted: maths online"]
    assert await found(kind="offer", mode="in-person") == [  # the old way: kind=offer
        "Maths either way",
        "Maths in our school",
    ]
    assert await found(subject="francais") == ["Français en classe"]
    assert await found(subject="science", kind="visit") == []
    assert Filters.of(mode="by-pigeon").mode is None  # not a filter: ignored


async def test_an_older_index_is_made_again_with_subjects_modes_and_schools(tmp_path: Path) -> None:
    made = await Node.create(tmp_path / "n", name="Oakfield Primary", country="GB")
    await post(made, "Maths online", subjects=["maths"], mode="online")
    # As an older node left it: no school words in its index, and its listings gone.
    async with made.store.write():
        await made.store.execute("ALTER TABLE listings DROP COLUMN school")
        await made.store.execute("DELETE FROM listings")
        await made.store.execute("DELETE FROM listing_text")
        await made.store.execute(
            "UPDATE schema_version SET version = ?",
            (MIGRATIONS.index(_LISTING_SCHOOLS),),
        )
        for statement in undoing_migrations(MIGRATIONS.index(_LISTING_SCHOOLS) + 1):
            await made.store.execute(statement)
    await made.close()
    opened = await Node.open(tmp_path / "n")
    try:
        listed = await opened.offers.search("", Filters.of(subject="maths", mode="online"))
        assert [item.as_json()["title"] for item in listed] == ["Maths online"]
        listed = await opened.offers.search("oakfield", Filters())
        assert [item.as_json()["title"] for item in listed] == ["Maths online"]
    finally:
        await opened.close()


async def test_withdrawn_and_past_ones_are_left_out(node: Node) -> None:
    gone = await post(node, "Withdrawn visit", activity="visit")
    await post(node, "Closed visit", activity="visit", closes="2026-11-22")
    await post(node, "Past visit", activity="visit", **{"from": "2026-01-01", "to": "2026-02-01"})
    await post(node, "Open visit", activity="visit", closes="2026-11-23")
    await node.offers.withdraw("offer", gone)
    assert await titles(node, "visit") == ["Open visit"]


async def test_entries_from_other_schools_are_found(node: Node) -> None:
    other = create_entry(
        key(5),
        seq=1,
        prev=None,
        timestamp=NOW - 3,
        kind="request",
        content={"activity": "moderation", "title": "Year 6 writing moderation"},
    )
    await node.store.ingest([other], NOW - 2)
    assert await titles(node, "moderation") == ["Year 6 writing moderation"]


async def test_a_query_fts_cannot_parse_is_a_clear_error_or_empty(node: Node) -> None:
    await post(node, "Anything")
    for query in ['"', "AND", "*", "NEAR(", "a:b", "-", "OR OR"]:
        assert await titles(node, query) in ([], ["Anything"])


async def test_the_school_name_and_country_are_searched(tmp_path: Path) -> None:
    made = await Node.create(tmp_path / "n", name="École Jules Verne", country="FR")
    try:
        await post(made, "Phonics lessons")
        assert await titles(made, "ecole") == ["Phonics lessons"]
        assert await titles(made, "Jules verne") == ["Phonics lessons"]
        assert await titles(made, "jules phonics") == ["Phonics lessons"]
        assert await titles(made, "france") == ["Phonics lessons"]
        assert await titles(made, "oakfield") == []
        # A new name replaces the old one in what is searched.
        await made.update_profile(name="Collège Victor Hugo")
        assert await titles(made, "hugo phonics") == ["Phonics lessons"]
        assert await titles(made, "jules") == []
        # A school whose name is written without spaces: a substring of it.
        await made.update_profile(name="北京市第一小学")
        assert await titles(made, "第一小学") == ["Phonics lessons"]
    finally:
        await made.close()


async def test_a_school_whose_profile_arrives_after_its_offer_is_found_by_name(
    node: Node,
) -> None:
    offer = create_entry(
        key(5),
        seq=1,
        prev=None,
        timestamp=NOW - 3,
        kind="offer",
        content={"activity": "visit", "title": "Come and see us"},
    )
    await node.store.ingest([offer], NOW - 2)
    assert await titles(node, "escuela") == []
    profile = create_entry(
        key(5),
        seq=2,
        prev=offer.id,
        timestamp=NOW - 1,
        kind="profile",
        content={"name": "Escuela Río Duero", "country": "ES"},
    )
    await node.store.ingest([profile], NOW)
    assert await titles(node, "escuela rio") == ["Come and see us"]
    assert await titles(node, "spain") == ["Come and see us"]
