"""The real ``schoolmesh cluster`` commands on the data folders of three running nodes:
make a cluster, share a sample, grade it, and see the others' grades only after ours."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from protocol.keys import NodeId
from tests.cli.test_commands import cli, error
from tests.network import LiveNode, wait_for
from tests.node.test_clusters import Schools, pdf_by, schools  # noqa: F401 (the fixture)


def data(school: LiveNode) -> str:
    return str(school.node.data.path)


async def run(*args: str) -> str:
    result = await asyncio.to_thread(cli, *args)
    assert result.returncode == 0, result.stderr
    return result.stdout


async def run_json(*args: str) -> Any:
    return json.loads(await run(*args, "--json"))


async def test_make_share_grade_and_show(schools: Schools, tmp_path: Path) -> None:  # noqa: F811
    oak, lycee, colegio = schools["oak"], schools["lycee"], schools["colegio"]
    made = await run_json(
        "cluster", "create", "--title", "Year 6 writing",
        "--school", str(lycee.node.node_id), "--school", str(colegio.node.node_id),
        "--data", data(oak),
    )  # fmt: skip
    assert made["title"] == "Year 6 writing"
    assert next(s["node_id"] for s in made["schools"]) == str(oak.node.node_id)
    assert len(made["schools"]) == 3
    listed = await run_json("cluster", "list", "--data", data(oak))
    assert [(c["id"], c["samples"]) for c in listed] == [(made["id"], 0)]

    work = tmp_path / "letter.pdf"
    work.write_bytes(pdf_by("Jane Pupil"))
    shared = await run_json(
        "cluster", "sample", made["id"][:8], "--file", str(work), "--title", "Sample A",
        "--data", data(oak),
    )  # fmt: skip
    assert (shared["title"], shared["type"], shared["our_grade"]) == (
        "Sample A",
        "application/pdf",
        None,
    )

    async def arrived() -> bool:
        return bool(await lycee.node.clusters.all()) and (
            (await lycee.node.clusters.get(made["id"])).samples == 1
        )

    await wait_for(arrived, what="the cluster and its sample at the lycée")
    out = await run(
        "cluster", "grade", shared["id"][:8], "--grade", "Expected", "--comment", "Clear",
        "--data", data(oak),
    )  # fmt: skip
    assert "Expected" in out

    async def committed() -> bool:
        got = await lycee.node.clusters.sample(shared["id"])
        return len(got.graded_by) == 1

    await wait_for(committed, what="Oak's commitment at the lycée")
    before = await run_json("cluster", "show", made["id"], "--data", data(lycee))
    (sample,) = before["samples"]
    assert sample["our_grade"] is None
    assert sample["grades"] == []
    assert sample["graded_by"] == [str(oak.node.node_id)]
    assert "Expected" not in json.dumps(before)

    # The lycée was invited: it grades only once it has accepted.
    (invited,) = await run_json("cluster", "list", "--data", data(lycee))
    assert invited["state"] == "invited"
    assert "invited" in await run("cluster", "list", "--data", data(lycee))
    refused = error(
        await asyncio.to_thread(
            cli, "cluster", "grade", shared["id"], "--grade", "6", "--data", data(lycee)
        )
    )
    assert f"schoolmesh cluster accept {made['id'][:8]}" in refused
    assert "accepted" in await run("cluster", "accept", made["id"][:8], "--data", data(lycee))
    await run("cluster", "grade", shared["id"], "--grade", "Working towards", "--data", data(lycee))

    async def revealed() -> bool:
        got = await lycee.node.clusters.sample(shared["id"])
        return bool(got.others)

    await wait_for(revealed, what="Oak's grade at the lycée")
    after = await run_json("cluster", "show", made["id"][:10], "--data", data(lycee))
    (sample,) = after["samples"]
    assert sample["our_grade"] == {"grade": "Working towards", "comment": ""}
    assert [(g["node_id"], g["school"], g["grade"], g["comment"]) for g in sample["grades"]] == [
        (str(oak.node.node_id), "Oakfield Primary", "Expected", "Clear")
    ]
    text = await run("cluster", "show", made["id"], "--data", data(lycee))
    assert "Oakfield Primary: Expected" in text

    # The lycée leaves: the cluster, its sample and the grades are gone from its node.
    left = await run_json("cluster", "leave", made["id"][:8], "--data", data(lycee))
    assert left["state"] == "left"
    assert await run_json("cluster", "list", "--data", data(lycee)) == []
    assert await lycee.node.store.fetch_all("SELECT 1 FROM cluster_samples") == []
    message = error(
        await asyncio.to_thread(cli, "cluster", "leave", made["id"], "--data", data(oak))
    )
    assert "made cluster" in message


async def test_bad_input_gets_a_clear_error(schools: Schools, tmp_path: Path) -> None:  # noqa: F811
    oak, lycee = schools["oak"], schools["lycee"]
    stranger = str(NodeId(b"\x07" * 32))
    message = error(
        await asyncio.to_thread(
            cli, "cluster", "create", "--title", "Maths", "--school", stranger, "--data", data(oak)
        )
    )
    assert "not a partner school" in message
    made = await run_json(
        "cluster", "create", "--title", "Maths", "--school", str(lycee.node.node_id),
        "--data", data(oak),
    )  # fmt: skip
    doc = tmp_path / "essay.docx"
    doc.write_bytes(b"PK\x03\x04 word")
    message = error(
        await asyncio.to_thread(
            cli,
            "cluster",
            "sample",
            made["id"],
            "--file",
            str(doc),
            "--title",
            "A",
            "--data",
            data(oak),
        )
    )
    assert "neither a PDF nor a photo" in message
    message = error(
        await asyncio.to_thread(
            cli,
            "cluster",
            "sample",
            made["id"],
            "--file",
            str(tmp_path / "missing.pdf"),
            "--title",
            "A",
            "--data",
            data(oak),
        )
    )
    assert "cannot be read" in message
    message = error(await asyncio.to_thread(cli, "cluster", "show", "zz", "--data", data(oak)))
    assert "is not a cluster id" in message
    message = error(
        await asyncio.to_thread(
            cli, "cluster", "grade", "abcdef12", "--grade", "6", "--data", data(oak)
        )
    )
    assert "no sample abcdef12" in message
    assert await oak.node.clusters.show(made["id"]) is not None
