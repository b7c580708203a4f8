"""Moderation clusters across real nodes: three schools grade the same sample, and
each sees the others' grades only after giving its own (commit-then-reveal)."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from pypdf import PdfReader, PdfWriter
from pypdf.annotations import Text
from pypdf.generic import NameObject, StreamObject, TextStringObject

from node.clock import now_ms
from node.clusters.files import clean_sample
from protocol.errors import UserInputError
from tests.hostile.test_block import relay_named
from tests.network import COLEGIO, LYCEE, OAK, LiveNode, network, wait_for

Schools = dict[str, LiveNode]


def pdf_by(author: str, text: str = "") -> bytes:
    """A one-page PDF that names ``author`` in its information dictionary, in its XMP
    metadata, and as the author of a comment (an annotation) on its page."""
    writer = PdfWriter()
    writer.add_blank_page(300, 300)
    writer.add_metadata({"/Author": author, "/Title": f"Essay by {author}", "/Subject": text})
    xmp = StreamObject()
    xmp.set_data(
        b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf='
        b'"http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description xmlns:dc='
        b'"http://purl.org/dc/elements/1.1/"><dc:creator>' + author.encode() + b"</dc:creator>"
        b"</rdf:Description></rdf:RDF></x:xmpmeta>"
    )
    xmp[NameObject("/Type")] = NameObject("/Metadata")
    xmp[NameObject("/Subtype")] = NameObject("/XML")
    writer.root_object[NameObject("/Metadata")] = writer._add_object(xmp)
    note = Text(text=f"Well done, {author}!", rect=(10, 10, 60, 60))
    note[NameObject("/T")] = TextStringObject(f"Teacher of {author}")
    writer.add_annotation(0, note)
    out = io.BytesIO()
    writer.write(out)
    data = out.getvalue()
    assert data.count(author.encode()) >= 4  # Info, XMP, the note's text and author
    assert PdfReader(io.BytesIO(data)).xmp_metadata is not None
    return data


@pytest.fixture
async def schools(tmp_path: Path) -> AsyncIterator[Schools]:
    """Oak is the partner of both; the lycée and the colegio are not partners of each
    other, and reach each other through Oak, the relay each names in its profile."""
    async with network(
        tmp_path, [OAK, LYCEE, COLEGIO], [("oak", "lycee"), ("oak", "colegio")]
    ) as nodes:
        hub = str(nodes["oak"].node.node_id)
        for key in ("lycee", "colegio"):
            await nodes[key].node.update_profile(relays=[hub])
        await relay_named(nodes["lycee"], nodes["colegio"], nodes["oak"])
        await relay_named(nodes["colegio"], nodes["lycee"], nodes["oak"])
        yield nodes


async def cluster_everywhere(schools: Schools) -> tuple[str, str]:
    """Oak makes a cluster with the two others and shares one sample; both arrive."""
    oak = schools["oak"].node
    cluster = await oak.clusters.create(
        "Year 6 writing",
        [str(schools["lycee"].node.node_id), str(schools["colegio"].node.node_id)],
        now=now_ms(),
    )
    sample = await oak.clusters.share(
        cluster.id,
        pdf_by("Jane Pupil"),
        title="Sample A: a persuasive letter",
        name="a.pdf",
        now=now_ms(),
    )
    for key in ("lycee", "colegio"):
        node = schools[key].node

        async def arrived(node=node) -> bool:
            try:
                await node.clusters.sample(sample.id)
            except Exception:
                return False
            return True

        await wait_for(arrived, what=f"the sample at {key}")
        assert (await node.clusters.get(cluster.id)).state == "invited"
        await node.clusters.accept(cluster.id, now=now_ms())
    return cluster.id, sample.id


async def test_three_schools_see_grades_only_after_giving_their_own(schools: Schools) -> None:
    cid, sid = await cluster_everywhere(schools)
    oak, lycee, colegio = (schools[k].node for k in ("oak", "lycee", "colegio"))
    view = await lycee.clusters.show(cid)
    assert next(s.name for s in view.cluster.schools) == OAK[1]
    assert len(view.cluster.schools) == 3
    assert (await oak.clusters.get(cid)).maker.name == OAK[1]  # our own name, not a fingerprint

    # Oak grades first: its commitment reaches both, its grade reaches neither.
    await oak.clusters.grade(sid, "Working towards", "Paragraphs, but few reasons.", now=now_ms())

    async def committed(node, school) -> bool:
        got = await node.clusters.sample(sid)
        return school.node_id in {s.node_id for s in got.graded_by}

    await wait_for(lambda: committed(lycee, oak), what="Oak's commitment at the lycée")
    await wait_for(lambda: committed(colegio, oak), what="Oak's commitment at the colegio")
    for node in (lycee, colegio):
        got = await node.clusters.sample(sid)
        assert got.ours is None
        assert got.others == ()
        # Not even the database holds Oak's grade: only its hash.
        rows = await node.store.fetch_all("SELECT grade FROM cluster_grades")
        assert rows == [(None,)]

    # The lycée grades: it sees Oak's grade (Oak held its commitment and sent it), and
    # Oak sees the lycée's; the colegio still sees nothing.
    await lycee.clusters.grade(sid, "Expected", "Clear structure.", now=now_ms())

    async def sees(node, school, grade) -> bool:
        got = await node.clusters.sample(sid)
        return any(g.school.node_id == school.node_id and g.grade == grade for g in got.others)

    await wait_for(lambda: sees(lycee, oak, "Working towards"), what="Oak's grade at the lycée")
    await wait_for(lambda: sees(oak, lycee, "Expected"), what="the lycée's grade at Oak")
    await wait_for(lambda: committed(colegio, lycee), what="the lycée's commitment at the colegio")
    got = await colegio.clusters.sample(sid)
    assert got.others == ()
    assert await colegio.store.fetch_all("SELECT grade FROM cluster_grades") == [(None,), (None,)]

    # The colegio grades last and sees both; both see its grade.
    await colegio.clusters.grade(sid, "Expected", "", now=now_ms())
    await wait_for(lambda: sees(colegio, oak, "Working towards"), what="Oak's grade at colegio")
    await wait_for(lambda: sees(colegio, lycee, "Expected"), what="the lycée's at colegio")
    await wait_for(lambda: sees(oak, colegio, "Expected"), what="the colegio's grade at Oak")
    await wait_for(lambda: sees(lycee, colegio, "Expected"), what="the colegio's at the lycée")
    final = await oak.clusters.show(cid)
    (sample,) = final.samples
    assert sample.ours is not None
    assert sample.ours.comment == "Paragraphs, but few reasons."
    assert {g.school.name for g in sample.others} == {LYCEE[1], COLEGIO[1]}

    # A grade, once given, cannot be changed.
    with pytest.raises(UserInputError, match="already graded"):
        await oak.clusters.grade(sid, "Greater depth", None, now=now_ms())


async def test_the_shared_pdf_has_no_metadata_anywhere(schools: Schools) -> None:
    _cid, sid = await cluster_everywhere(schools)
    for key in ("oak", "lycee"):
        kind, data = await schools[key].node.clusters.file(sid)
        assert kind == "application/pdf"
        assert b"Jane" not in data
        reader = PdfReader(io.BytesIO(data))
        assert not reader.metadata
        assert reader.xmp_metadata is None
        assert len(reader.pages) == 1


def test_only_pdfs_and_photos_are_taken() -> None:
    with pytest.raises(UserInputError, match="neither a PDF nor a photo"):
        clean_sample(b"PK\x03\x04 a word document", name="essay.docx")
    with pytest.raises(UserInputError, match="cannot be read as a PDF"):
        clean_sample(b"%PDF-1.4 garbage", name="broken.pdf")
    with pytest.raises(UserInputError, match="larger than 20 MB"):
        clean_sample(b"%PDF-" + bytes(21 * 2**20), name="huge.pdf")
    kind, data, _ = clean_sample(pdf_by("Tom Pupil"), name="ok.pdf")
    assert kind == "application/pdf"
    assert b"Tom" not in data


async def test_a_cluster_is_made_with_partner_schools_only(
    schools: Schools, tmp_path: Path
) -> None:
    stranger = await LiveNode.start(tmp_path / "stranger", "Stranger School", country="IT")
    try:
        with pytest.raises(UserInputError, match="not a partner school"):
            await schools["oak"].node.clusters.create(
                "Maths", [str(stranger.node.node_id)], now=now_ms()
            )
        with pytest.raises(UserInputError, match="at least one partner school"):
            await schools["oak"].node.clusters.create("Maths", [], now=now_ms())
    finally:
        await stranger.stop()
