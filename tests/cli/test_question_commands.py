"""The real ``schoolmesh question ask|list|answer|helpful|show|withdraw`` commands, and
questions in ``search --json``, on the data folders of two running partner nodes."""

from __future__ import annotations

import asyncio
import json
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from protocol.keys import EntryId
from tests.cli.test_commands import cli, error
from tests.network import LYCEE, OAK, LiveNode, network, wait_for


async def run(*args: str) -> subprocess.CompletedProcess[str]:
    return await asyncio.to_thread(cli, *args)


async def run_json(*args: str) -> Any:
    result = await run(*args, "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@pytest.fixture
async def pair(tmp_path: Path) -> AsyncIterator[dict[str, LiveNode]]:
    async with network(tmp_path, (OAK, LYCEE), [("oak", "lycee")]) as nodes:
        yield nodes


def data(school: LiveNode) -> str:
    return str(school.node.data.path)


async def test_ask_answer_mark_show_and_search(pair: dict[str, LiveNode]) -> None:
    oak, lycee = pair["oak"], pair["lycee"]
    asked = await run_json(
        "question", "ask", "--data", data(oak),
        "--title", "Guided reading with mixed-age classes?",
        "--text", "Years 3 and 4 together.\nHow do you group them?",
        "--focus", "reading", "--phase", "primary", "--subject", "English", "--language", "en",
    )  # fmt: skip
    assert set(asked) == {"id"}
    qid = asked["id"]
    await wait_for(lambda: lycee.holds(EntryId.parse(qid)), what="the question at the Lycée")
    listed = await run_json("question", "list", "--data", data(lycee))
    assert [(q["id"], q["school"], q["answer_count"]) for q in listed] == [
        (qid, "Oakfield Primary", 0)
    ]
    answered = await run_json(
        "question", "answer", qid[:10], "--text", "Par niveau de lecture.", "--by", "Amélie",
        "--data", data(lycee),
    )  # fmt: skip
    aid = answered["id"]
    await wait_for(lambda: oak.holds(EntryId.parse(aid)), what="the answer at Oakfield")
    assert (await run("question", "helpful", aid, "--data", data(oak))).returncode == 0
    printed = (await run("question", "list", "--data", data(oak))).stdout
    assert f"{qid[:12]}    1 answer   Guided reading with mixed-age classes?" in printed
    shown = await run_json("question", "show", qid, "--data", data(oak))
    assert shown["title"] == "Guided reading with mixed-age classes?"
    assert shown["text"] == "Years 3 and 4 together.\nHow do you group them?"
    assert [
        (a["id"], a["school_id"], a["school"], a["by"], a["helpful"]) for a in shown["answers"]
    ] == [(aid, str(lycee.node.node_id), "Lycée Jean Moulin", "Amélie", True)]
    found = await run_json("search", "niveau", "--data", data(oak))
    assert [(f["id"], f["side"], f["question_id"]) for f in found] == [(aid, "answer", qid)]
    found = await run_json("search", "guided", "--side", "question", "--data", data(lycee))
    assert [f["id"] for f in found] == [qid]
    text = (await run("question", "show", qid, "--data", data(oak))).stdout
    assert "Amélie, Lycée Jean Moulin" in text
    assert "[helpful]" in text


async def test_mistakes_get_one_clear_line(pair: dict[str, LiveNode]) -> None:
    oak, lycee = pair["oak"], pair["lycee"]
    line = error(await run("question", "ask", "--title", " ", "--text", "x", "--data", data(oak)))
    assert "--title: write the title" in line
    long = "x" * 10_001
    line = error(await run("question", "ask", "--title", "t", "--text", long, "--data", data(oak)))
    assert "10,000 characters" in line
    line = error(await run("question", "answer", "abcdef12", "--text", "x", "--data", data(oak)))
    assert "no entry starts with abcdef12" in line
    asked = await run_json(
        "question", "ask", "--title", "Oracy?", "--text", "Ideas", "--data", data(oak)
    )
    await wait_for(lambda: lycee.holds(EntryId.parse(asked["id"])), what="the question")
    mine = await run_json("question", "answer", asked["id"], "--text", "Me", "--data", data(lycee))
    line = error(await run("question", "helpful", mine["id"], "--data", data(lycee)))
    assert "only the school that asked the question" in line
    line = error(await run("question", "helpful", asked["id"], "--data", data(oak)))
    assert "no answer with id" in line
    line = error(await run("question", "withdraw", asked["id"], "--data", data(lycee)))
    assert "only its school can withdraw it" in line
    assert (await run("question", "withdraw", asked["id"], "--data", data(oak))).returncode == 0
    line = error(await run("question", "show", asked["id"], "--data", data(oak)))
    assert "no question with id" in line
