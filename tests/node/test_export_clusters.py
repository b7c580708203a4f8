"""Moderation clusters are in the school's data export: each cluster the school is
in (or invited to) with its schools and samples, our grades, and the other schools'
grades we may show (docs/admin.md, "Exporting the school's data")."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from node.clock import now_ms
from tests.network import LiveNode, partner, wait_for
from tests.node.test_clusters import pdf_by
from tests.node.test_export import export_from, read


@pytest.fixture
async def pair(tmp_path: Path) -> AsyncIterator[tuple[LiveNode, LiveNode]]:
    lycee = await LiveNode.start(tmp_path / "lycee", "Lycée Jean Moulin", country="FR")
    oak = await LiveNode.start(tmp_path / "oak", "Oakfield Primary", country="GB")
    try:
        await partner(lycee, oak)
        yield lycee, oak
    finally:
        await oak.stop()
        await lycee.stop()


async def test_the_export_holds_the_clusters_with_their_samples_and_grades(
    pair: tuple[LiveNode, LiveNode], tmp_path: Path
) -> None:
    lycee, oak = pair
    made = await lycee.node.clusters.create("Écriture", [str(oak.node.node_id)], now=now_ms())
    shared = await lycee.node.clusters.share(
        made.id, pdf_by("Someone"), title="Sample A", name="a.pdf", now=now_ms()
    )
    await lycee.node.clusters.grade(shared.id, "Expected", "Clear", now=now_ms())
    invited = await oak.node.clusters.create("Maths", [str(lycee.node.node_id)], now=now_ms())

    async def arrived() -> bool:
        return len(await lycee.node.clusters.all()) == 2

    await wait_for(arrived, what="Oakfield's cluster at the Lycée")
    summary = await export_from(lycee, tmp_path / "out")
    assert summary["counts"]["clusters"] == 2
    clusters = {c["id"]: c for c in read(tmp_path / "out", "clusters.json")}
    ours = clusters[made.id]
    assert (ours["title"], ours["state"]) == ("Écriture", "member")
    (sample,) = ours["samples"]
    assert (sample["title"], sample["our_grade"]) == (
        "Sample A",
        {"grade": "Expected", "comment": "Clear"},
    )
    assert clusters[invited.id]["state"] == "invited"
    index = (tmp_path / "out" / "index.html").read_text(encoding="utf-8")
    assert 'href="data/clusters.json"' in index
