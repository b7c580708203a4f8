"""A partner cannot put us in moderation clusters without our consent or without limit
(review of issue 22 item 4): a cluster arrives as an invitation that our staff accept
or leave, nothing of ours goes to a cluster we have not accepted, a maker has at most
10 open clusters here, a cluster at most 50 MB of samples, our samples and grades go
only to schools we know (partners, or schools whose profile we hold), and a partner's
file is cleaned outside the mail room's transaction, never served before."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from node.clock import now_ms
from node.clusters import files, service
from node.keyfile import generate_key
from protocol import letters
from protocol.errors import NotFoundError, UserInputError
from protocol.rules import clusters as rules
from tests.hostile.harness import judged, send_as
from tests.hostile.test_clusters import sample_letter
from tests.hostile.test_clusters_files import scanned_pdf
from tests.network import COLEGIO, GESAMT, LYCEE, OAK, LiveNode, network, wait_for
from tests.node.test_clusters import pdf_by

Schools = dict[str, LiveNode]


@pytest.fixture
async def schools(tmp_path: Path) -> AsyncIterator[Schools]:
    async with network(
        tmp_path,
        [OAK, LYCEE, COLEGIO, GESAMT],
        [("oak", "lycee"), ("oak", "colegio"), ("lycee", "colegio"), ("oak", "gesamt")],
    ) as nodes:
        yield nodes


def cluster_letter(maker: LiveNode, *others: bytes, cid: str | None = None) -> dict[str, Any]:
    return {
        "c": cid or os.urandom(16).hex(),
        "title": "Year 6 writing",
        "schools": [bytes(maker.node.node_id), *others],
        "rev": 1,
    }


async def sent_to(school: LiveNode, recipient: bytes) -> list[str]:
    rows = await school.node.store.fetch_all(
        "SELECT kind FROM letters_sent WHERE recipient = ?", (recipient,)
    )
    return [k for (k,) in rows if k.startswith("cluster")]


async def test_a_cluster_arrives_as_an_invitation_and_nothing_of_ours_goes_before_we_accept(
    schools: Schools,
) -> None:
    oak, lycee, gesamt = schools["oak"], schools["lycee"], schools["gesamt"]
    content = cluster_letter(gesamt, bytes(oak.node.node_id))
    await judged(gesamt, await send_as(gesamt, letters.CLUSTER, content, [oak]))
    (invited,) = await oak.node.clusters.all()
    assert invited.state == "invited"
    sample = sample_letter(content["c"], pdf_by("Someone"))
    await judged(gesamt, await send_as(gesamt, letters.CLUSTER_SAMPLE, sample, [oak]))
    commit = {"c": content["c"], "sample": sample["id"], "commitment": os.urandom(32)}
    await judged(gesamt, await send_as(gesamt, letters.CLUSTER_COMMIT, commit, [oak]))
    with pytest.raises(UserInputError, match="accept"):
        await oak.node.clusters.share(
            content["c"], pdf_by("Ours"), title="Ours", name="o.pdf", now=now_ms()
        )

    async def cleaned() -> bool:
        return (await oak.node.clusters.get(content["c"])).samples == 1

    await wait_for(cleaned, what="the Gesamtschule's sample cleaned at Oak")
    with pytest.raises(UserInputError, match="accept"):
        await oak.node.clusters.grade(sample["id"], "6", "", now=now_ms())
    assert await sent_to(oak, bytes(gesamt.node.node_id)) == []

    # Accepted: Oak may grade, and its grade goes to the maker, which committed.
    accepted = await oak.node.clusters.accept(content["c"], now=now_ms())
    assert accepted.state == "member"
    await oak.node.clusters.grade(sample["id"], "6", "", now=now_ms())
    assert sorted(await sent_to(oak, bytes(gesamt.node.node_id))) == [
        letters.CLUSTER_COMMIT,
        letters.CLUSTER_REVEAL,
    ]

    # Left: its samples and grades are erased here, and its letters change nothing more.
    left = await oak.node.clusters.leave(content["c"], now=now_ms())
    assert left.state == "left"
    assert (
        await oak.node.store.fetch_all(
            "SELECT id FROM cluster_samples WHERE cluster = ?", (content["c"],)
        )
        == []
    )
    assert (
        await oak.node.store.fetch_all(
            "SELECT sample FROM cluster_grades WHERE cluster = ?", (content["c"],)
        )
        == []
    )
    again = sample_letter(content["c"], pdf_by("Again"))
    await judged(gesamt, await send_as(gesamt, letters.CLUSTER_SAMPLE, again, [oak]))
    assert await oak.node.store.fetch_all("SELECT id FROM cluster_samples") == []
    assert [c.id for c in await oak.node.clusters.all()] == []
    del lycee


async def test_a_partner_cannot_put_us_in_more_than_ten_open_clusters(schools: Schools) -> None:
    oak, gesamt = schools["oak"], schools["gesamt"]
    made = [cluster_letter(gesamt, bytes(oak.node.node_id)) for _ in range(rules.MAX_OPEN + 1)]
    for content in made:
        await judged(gesamt, await send_as(gesamt, letters.CLUSTER, content, [oak]))
    held = {c.id for c in await oak.node.clusters.all()}
    assert len(held) == rules.MAX_OPEN
    assert made[-1]["c"] not in held
    # Leaving one makes room for another.
    await oak.node.clusters.leave(made[0]["c"], now=now_ms())
    await judged(gesamt, await send_as(gesamt, letters.CLUSTER, made[-1], [oak]))
    assert made[-1]["c"] in {c.id for c in await oak.node.clusters.all()}


async def test_a_cluster_holds_a_bounded_number_of_bytes(schools: Schools) -> None:
    oak, gesamt = schools["oak"], schools["gesamt"]
    content = cluster_letter(gesamt, bytes(oak.node.node_id))
    await judged(gesamt, await send_as(gesamt, letters.CLUSTER, content, [oak]))
    file = files.clean_pdf(pdf_by("Someone"))  # the same size once cleaned again
    oak.node.clusters.max_bytes = 2 * len(file) + 10  # the node's setting, as budgets are
    for _ in range(3):
        sample = sample_letter(content["c"], file)
        await judged(gesamt, await send_as(gesamt, letters.CLUSTER_SAMPLE, sample, [oak]))
    rows = await oak.node.store.fetch_all(
        "SELECT id FROM cluster_samples WHERE cluster = ?", (content["c"],)
    )
    assert len(rows) == 2


async def test_our_samples_and_grades_go_only_to_schools_we_know(schools: Schools) -> None:
    """The Gesamtschule lists a throwaway key in its cluster: once Oak accepts, Oak's
    sample, commitment and grade go to the Gesamtschule but never to the throwaway."""
    oak, gesamt = schools["oak"], schools["gesamt"]
    throwaway = bytes(generate_key().node_id)
    content = cluster_letter(gesamt, bytes(oak.node.node_id), throwaway)
    await judged(gesamt, await send_as(gesamt, letters.CLUSTER, content, [oak]))
    await oak.node.clusters.accept(content["c"], now=now_ms())
    shared = await oak.node.clusters.share(
        content["c"], pdf_by("Ours"), title="Ours", name="o.pdf", now=now_ms()
    )
    await oak.node.clusters.grade(shared.id, "6", "", now=now_ms())
    commit = {"c": content["c"], "sample": shared.id, "commitment": os.urandom(32)}
    await judged(gesamt, await send_as(gesamt, letters.CLUSTER_COMMIT, commit, [oak]))
    assert await sent_to(oak, throwaway) == []
    assert sorted(await sent_to(oak, bytes(gesamt.node.node_id))) == [
        letters.CLUSTER_COMMIT,
        letters.CLUSTER_REVEAL,
        letters.CLUSTER_SAMPLE,
    ]


async def test_a_partners_file_is_cleaned_outside_the_mail_transaction(
    schools: Schools, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The real cleaning runs, watched: the database's write lock is free meanwhile,
    and until it is done no page or command can read the file."""
    oak, gesamt = schools["oak"], schools["gesamt"]
    content = cluster_letter(gesamt, bytes(oak.node.node_id))
    await judged(gesamt, await send_as(gesamt, letters.CLUSTER, content, [oak]))
    locked: list[bool] = []
    real = files.clean_received

    def watched(kind: str, data: bytes) -> bytes:
        locked.append(oak.node.store.write_locked())
        return real(kind, data)

    monkeypatch.setattr(service, "clean_received", watched)
    sample = sample_letter(content["c"], scanned_pdf())
    await judged(gesamt, await send_as(gesamt, letters.CLUSTER_SAMPLE, sample, [oak]))

    async def cleaned() -> bool:
        return (await oak.node.clusters.get(content["c"])).samples == 1

    await wait_for(cleaned, what="the sample cleaned at Oak")
    assert locked == [False]
    kind, data = await oak.node.clusters.file(sample["id"])
    assert b"Pupil Jane Doe" not in data
    assert b"Exif" not in data
    assert kind == "application/pdf"


async def test_a_file_waiting_to_be_cleaned_is_served_by_no_page_or_command(
    schools: Schools,
) -> None:
    """A sample stored as sent (as one is, between taking its letter and cleaning it,
    or when the node stopped in between) is not listed, shown or served."""
    oak, gesamt = schools["oak"], schools["gesamt"]
    content = cluster_letter(gesamt, bytes(oak.node.node_id))
    await judged(gesamt, await send_as(gesamt, letters.CLUSTER, content, [oak]))
    await oak.node.clusters.accept(content["c"], now=now_ms())
    sid = os.urandom(16).hex()
    async with oak.node.store.write():
        await oak.node.store.execute(
            "INSERT INTO cluster_samples (id, cluster, origin, title, type, hash, data, at, "
            "clean) VALUES (?, ?, ?, 'Raw', 'application/pdf', ?, ?, ?, 0)",
            (sid, content["c"], bytes(gesamt.node.node_id), b"h" * 32, scanned_pdf(), now_ms()),
        )
    assert (await oak.node.clusters.show(content["c"])).samples == ()
    with pytest.raises(NotFoundError):
        await oak.node.clusters.file(sid)
    with pytest.raises(NotFoundError):
        await oak.node.clusters.grade(sid, "6", "", now=now_ms())
    # Listing the clusters starts the cleaning of what was left; then it is served, clean.
    await oak.node.clusters.all()

    async def cleaned() -> bool:
        return (await oak.node.clusters.get(content["c"])).samples == 1

    await wait_for(cleaned, what="the left-over sample cleaned")
    _kind, data = await oak.node.clusters.file(sid)
    assert b"Pupil Jane Doe" not in data
