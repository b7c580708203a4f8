"""Hostile schools and moderation clusters: each test is a school signing, with its own
valid key, a cluster letter that follows docs/protocol.md but breaks a rule of
protocol/rules/clusters.py; the receiver refuses it and nothing changes.

Oak makes a cluster with the lycée and the colegio; the Gesamtschule is a partner of
Oak (and of the lycée) but not in the cluster. All four are partners of Oak.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from node.clock import now_ms
from protocol import letters
from protocol.errors import SchemaError
from protocol.keys import content_hash
from protocol.rules import clusters as rules
from tests.hostile.harness import judged, send_as
from tests.network import COLEGIO, GESAMT, LYCEE, OAK, LiveNode, network, wait_for
from tests.node.test_clusters import cluster_everywhere, pdf_by
from tests.node.test_projects import photo

Schools = dict[str, LiveNode]
PDF = b"%PDF-1.4\n% a forged sample\n"


@pytest.fixture
async def schools(tmp_path: Path) -> AsyncIterator[Schools]:
    async with network(
        tmp_path,
        [OAK, LYCEE, COLEGIO, GESAMT],
        [
            ("oak", "lycee"),
            ("oak", "colegio"),
            ("lycee", "colegio"),
            ("oak", "gesamt"),
            ("lycee", "gesamt"),
        ],
    ) as nodes:
        yield nodes


def sample_letter(cluster: str, data: bytes = PDF, **extra: Any) -> dict[str, Any]:
    content: dict[str, Any] = {
        "c": cluster,
        "id": os.urandom(16).hex(),
        "title": "Forged",
        "type": "application/pdf",
        "hash": content_hash(data),
        "data": data,
        "at": now_ms(),
    }
    content.update(extra)
    return content


async def samples(school: LiveNode) -> list[Any]:
    return await school.node.store.fetch_all("SELECT id, origin FROM cluster_samples")


async def grades(school: LiveNode) -> list[Any]:
    return await school.node.store.fetch_all(
        "SELECT school, grade FROM cluster_grades ORDER BY school"
    )


async def test_a_school_outside_the_cluster_cannot_share_a_sample_or_grade(
    schools: Schools,
) -> None:
    oak, lycee, gesamt = schools["oak"], schools["lycee"], schools["gesamt"]
    cid, sid = await cluster_everywhere(schools)
    before = {k: await samples(schools[k]) for k in ("oak", "lycee")}
    numbers = await send_as(gesamt, letters.CLUSTER_SAMPLE, sample_letter(cid), [oak, lycee])
    await judged(gesamt, numbers)
    numbers = await send_as(
        gesamt,
        letters.CLUSTER_COMMIT,
        {"c": cid, "sample": sid, "commitment": os.urandom(32)},
        [oak, lycee],
    )
    await judged(gesamt, numbers)
    for key in ("oak", "lycee"):
        assert await samples(schools[key]) == before[key]
        assert await grades(schools[key]) == []
    # Oak grades: nothing goes to the outsider, whose commitment was refused.
    await oak.node.clusters.grade(sid, "6", "Good", now=now_ms())
    sent = await oak.node.store.fetch_all(
        "SELECT kind FROM letters_sent WHERE recipient = ?", (bytes(gesamt.node.node_id),)
    )
    assert [k for (k,) in sent if k.startswith("cluster")] == []


async def test_a_sample_of_a_type_not_allowed_is_refused(schools: Schools) -> None:
    oak, lycee = schools["oak"], schools["lycee"]
    cid, _ = await cluster_everywhere(schools)
    before = await samples(oak)
    zip_file = b"PK\x03\x04" + b"word/document.xml" * 10
    html = b"<html><script>alert(1)</script></html>"
    # Said to be a PDF, but not one; a JPEG that is not; and a hash that lies.
    for content in (
        sample_letter(cid, zip_file),
        sample_letter(cid, html, type="image/jpeg"),
        sample_letter(cid, PDF, hash=content_hash(b"something else")),
    ):
        await judged(lycee, await send_as(lycee, letters.CLUSTER_SAMPLE, content, [oak]))
    assert await samples(oak) == before
    # A type outside the schema cannot even be written (and is refused before any rule).
    with pytest.raises(SchemaError, match="type"):
        letters.validate(letters.CLUSTER_SAMPLE, sample_letter(cid, html, type="text/html"))


async def test_only_the_maker_changes_who_is_in_the_cluster(schools: Schools) -> None:
    oak, lycee, colegio, gesamt = (schools[k] for k in ("oak", "lycee", "colegio", "gesamt"))
    cid, _ = await cluster_everywhere(schools)
    ids = {k: bytes(schools[k].node.node_id) for k in schools}
    before = await colegio.node.clusters.get(cid)
    # The lycée lists the Gesamtschule in and Oak out; then lists Oak first as if Oak wrote it.
    for listed in (
        [ids["lycee"], ids["colegio"], ids["gesamt"]],
        [ids["oak"], ids["lycee"], ids["colegio"], ids["gesamt"]],
    ):
        content = {"c": cid, "title": "Taken over", "schools": listed, "rev": 9}
        await judged(lycee, await send_as(lycee, letters.CLUSTER, content, [oak, colegio]))
    for school in (oak, colegio):
        got = await school.node.clusters.get(cid)
        assert (got.title, got.maker, got.schools) == (before.title, before.maker, before.schools)
    assert gesamt.node.node_id not in {s.node_id for s in before.schools}


async def test_a_reveal_that_does_not_match_its_commitment_is_refused(schools: Schools) -> None:
    oak, lycee = schools["oak"], schools["lycee"]
    cid, sid = await cluster_everywhere(schools)
    await oak.node.clusters.grade(sid, "Working towards", "", now=now_ms())
    await lycee.node.clusters.grade(sid, "Expected", "Clear", now=now_ms())

    async def revealed() -> bool:
        got = await oak.node.clusters.sample(sid)
        return [g.grade for g in got.others] == ["Expected"]

    await wait_for(revealed, what="the lycée's grade at Oak")
    # The lycée, having seen Oak's grade, sends a different one: refused, the first stays.
    (salt,) = await lycee.node.store.fetch_one(
        "SELECT salt FROM cluster_grades WHERE school = ?", (bytes(lycee.node.node_id),)
    )
    for grade, comment, pepper in (
        ("Expected", "Clear", os.urandom(32)),
        ("Working towards", "Clear", salt),
    ):
        content = {"c": cid, "sample": sid, "grade": grade, "comment": comment, "salt": pepper}
        await judged(lycee, await send_as(lycee, letters.CLUSTER_REVEAL, content, [oak]))
    got = await oak.node.clusters.sample(sid)
    assert [(g.grade, g.comment) for g in got.others] == [("Expected", "Clear")]
    kept = await oak.node.store.fetch_one(
        "SELECT salt FROM cluster_grades WHERE school = ?", (bytes(lycee.node.node_id),)
    )
    assert bytes(kept[0]) == bytes(salt)
    # Nor can it send a new commitment for the same sample.
    content = {"c": cid, "sample": sid, "commitment": os.urandom(32)}
    await judged(lycee, await send_as(lycee, letters.CLUSTER_COMMIT, content, [oak]))
    row = await oak.node.store.fetch_one(
        "SELECT commitment FROM cluster_grades WHERE school = ?", (bytes(lycee.node.node_id),)
    )
    assert bytes(row[0]) == rules.commitment(
        cid, sid, lycee.node.node_id, "Expected", "Clear", bytes(salt)
    )


async def test_a_member_that_has_not_committed_gets_no_grade(schools: Schools) -> None:
    oak, lycee, colegio = schools["oak"], schools["lycee"], schools["colegio"]
    cid, sid = await cluster_everywhere(schools)
    await oak.node.clusters.grade(sid, "Greater depth", "Strong voice", now=now_ms())

    def reveals_to(school: LiveNode) -> Any:
        return oak.node.store.fetch_all(
            "SELECT 1 FROM letters_sent WHERE kind = ? AND recipient = ?",
            (letters.CLUSTER_REVEAL, bytes(school.node.node_id)),
        )

    # Oak graded, but holds no commitment from the lycée: it sent the lycée none of it.
    assert await reveals_to(lycee) == []
    assert await reveals_to(colegio) == []

    # A reveal sent to a school before it gave its own grade is refused there.
    row = await oak.node.store.fetch_one(
        "SELECT grade, comment, salt FROM cluster_grades WHERE school = ?",
        (bytes(oak.node.node_id),),
    )
    content = {"c": cid, "sample": sid, "grade": row[0], "comment": row[1], "salt": row[2]}
    await judged(oak, await send_as(oak, letters.CLUSTER_REVEAL, content, [colegio]))
    assert [g for (_, g) in await grades(colegio)] == [None]

    # The colegio replays Oak's own commitment as its own: Oak's grade goes to it (a
    # commitment is opaque), but the colegio can never show a grade of its own, since
    # no reveal of it matches (the school's id is in the hash).
    (commitment,) = await colegio.node.store.fetch_one(
        "SELECT commitment FROM cluster_grades WHERE school = ?", (bytes(oak.node.node_id),)
    )
    content = {"c": cid, "sample": sid, "commitment": bytes(commitment)}
    await judged(colegio, await send_as(colegio, letters.CLUSTER_COMMIT, content, [oak]))
    await wait_for(lambda: _has(reveals_to(colegio)), what="Oak's reveal to the colegio")
    content = {"c": cid, "sample": sid, "grade": row[0], "comment": row[1], "salt": row[2]}
    await judged(colegio, await send_as(colegio, letters.CLUSTER_REVEAL, content, [oak]))
    got = await oak.node.clusters.sample(sid)
    assert got.others == ()
    assert [w.name for w in got.waiting] == [COLEGIO[1]]


async def _has(rows: Any) -> bool:
    return bool(await rows)


async def test_blocking_a_school_erases_its_samples_and_grades(schools: Schools) -> None:
    oak, lycee = schools["oak"], schools["lycee"]
    cid, sid = await cluster_everywhere(schools)
    await lycee.node.clusters.share(
        cid, pdf_by("Someone"), title="Sample B", name="b.pdf", now=now_ms()
    )

    async def two() -> bool:
        return len(await samples(oak)) == 2

    await wait_for(two, what="the lycée's sample at Oak")
    await lycee.node.clusters.grade(sid, "6", "", now=now_ms())
    (theirs,) = [s for (s, o) in await samples(oak) if bytes(o) == bytes(lycee.node.node_id)]
    # Oak grades the lycée's sample, and the colegio's commitment for it reaches Oak.
    await oak.node.clusters.grade(theirs, "5", "", now=now_ms())
    colegio = schools["colegio"]
    await wait_for(
        lambda: _has(
            colegio.node.store.fetch_all(
                "SELECT 1 FROM cluster_samples WHERE id = ? AND clean = 1", (theirs,)
            )
        ),
        what="the lycée's sample at the colegio",
    )
    await colegio.node.clusters.grade(theirs, "4", "", now=now_ms())

    async def all_in() -> bool:
        rows = await oak.node.store.fetch_all("SELECT sample, school FROM cluster_grades")
        return {(s, bytes(o)) for s, o in rows} >= {
            (sid, bytes(lycee.node.node_id)),
            (theirs, bytes(oak.node.node_id)),
            (theirs, bytes(colegio.node.node_id)),
        }

    await wait_for(all_in, what="the grades at Oak")
    await oak.node.peerbook.block(lycee.node.node_id, oak.node.node_id, now_ms())
    assert [bytes(o) for (_, o) in await samples(oak)] == [bytes(oak.node.node_id)]
    # None of the lycée's grades, nor any grade (ours, the colegio's) of its sample.
    assert await grades(oak) == []
    # And the lycée, blocking Oak, forgets the cluster Oak made, with all in it.
    await lycee.node.peerbook.block(oak.node.node_id, lycee.node.node_id, now_ms())
    assert await lycee.node.clusters.all() == []
    assert await samples(lycee) == []


async def test_a_members_sample_is_cleaned_again_on_arrival(schools: Schools) -> None:
    """The lycée's node skips the cleaning: a PDF naming its author and a photo with a
    GPS position arrive; neither detail is stored, and an unreadable PDF is refused."""
    oak, lycee = schools["oak"], schools["lycee"]
    cid, _ = await cluster_everywhere(schools)
    raw_pdf = pdf_by("Jane Pupil")
    raw_photo = photo(gps=True)
    assert b"Jane" in raw_pdf
    assert b"PhoneMaker" in raw_photo
    letters_sent = [
        sample_letter(cid, raw_pdf),
        sample_letter(cid, raw_photo, type="image/jpeg"),
        sample_letter(cid, b"%PDF-1.4 not a document at all"),
    ]
    before = len(await samples(oak))
    for content in letters_sent:
        await judged(lycee, await send_as(lycee, letters.CLUSTER_SAMPLE, content, [oak]))

    async def cleaned() -> bool:
        return not await oak.node.store.fetch_all("SELECT 1 FROM cluster_samples WHERE clean = 0")

    await wait_for(cleaned, what="the samples cleaned at Oak")
    rows = await oak.node.store.fetch_all(
        "SELECT id, type, data FROM cluster_samples WHERE origin = ?",
        (bytes(lycee.node.node_id),),
    )
    assert len(rows) == 2
    assert len(await samples(oak)) == before + 2
    assert sorted(kind for _id, kind, _data in rows) == ["application/pdf", "image/jpeg"]
    for _id, _kind, data in rows:
        assert b"Jane" not in bytes(data)
        assert b"PhoneMaker" not in bytes(data)
