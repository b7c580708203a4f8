"""The real ``schoolmesh interest`` commands, on the data folders of two running nodes."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.cli.test_commands import Made, cli, error, ok, ok_json
from tests.cli.test_commands import made_node as made_node  # the module-scoped template
from tests.network import LiveNode, introduced, partner, wait_for


@pytest.fixture
def node(made_node: Made, tmp_path: Path) -> Path:
    path = tmp_path / "node"
    shutil.copytree(made_node.path, path)
    return path


async def run_json(*args: str) -> Any:
    """A command in a subprocess, without blocking the running nodes' event loop."""
    return await asyncio.to_thread(ok_json, *args)


@pytest.fixture
async def pair(tmp_path: Path) -> AsyncIterator[tuple[LiveNode, LiveNode]]:
    oak = await LiveNode.start(tmp_path / "oak", "Oakfield Primary", country="GB")
    lycee = await LiveNode.start(tmp_path / "lycee", "Lycée Jean Moulin", country="FR")
    await partner(oak, lycee)
    await introduced([oak, lycee])
    yield oak, lycee
    await lycee.stop()
    await oak.stop()


async def test_send_list_accept_between_running_nodes(pair: tuple[LiveNode, LiveNode]) -> None:
    oak, lycee = pair
    content = {"activity": "visit", "title": "Visit our forest school", "from": "2030-05-04"}
    entry = await oak.node.offers.post("offer", content)
    await wait_for(lambda: lycee.holds(entry.id), what="the offer at the Lycée")
    at_lycee = ["--data", str(lycee.node.data.path)]
    at_oak = ["--data", str(oak.node.data.path)]

    sent = await run_json(
        "interest", "send", str(entry.id)[:8], *at_lycee,
        "--message", "Ten pupils, in May?", "--by", "Mme Durand",
    )  # fmt: skip
    assert (sent["state"], sent["school"], sent["direction"]) == (
        "open",
        "Oakfield Primary",
        "sent",
    )

    async def received() -> bool:
        return bool(await oak.node.interests.all())

    await wait_for(received, what="the interest at Oakfield")
    (mine,) = await run_json("interest", "list", *at_oak)
    assert (mine["id"], mine["message"], mine["by"], mine["school"]) == (
        sent["id"],
        "Ten pupils, in May?",
        "Mme Durand",
        "Lycée Jean Moulin",
    )
    refused = await asyncio.to_thread(cli, "interest", "accept", sent["id"], *at_lycee)
    assert "only the school that posted" in error(refused, 1)
    accepted = await run_json(
        "interest", "accept", sent["id"][:6], *at_oak, "--by", "Mr Hughes", "--message", "Yes!"
    )
    assert accepted["arrangement"]["from"] == "2030-05-04"

    async def arranged() -> bool:
        return (await lycee.node.interests.get(sent["id"])).state == "accepted"

    await wait_for(arranged, what="the arrangement at the Lycée")
    (item,) = await run_json("interest", "list", *at_lycee)
    assert item["arrangement"]["posting"] == {
        "school_id": str(oak.node.node_id),
        "school": "Oakfield Primary",
        "staff": "Mr Hughes",
    }
    assert item["arrangement"]["interested"]["staff"] == "Mme Durand"
    printed = await asyncio.to_thread(ok, "interest", "list", *at_lycee)
    assert "Arranged: 2030-05-04 to ?" in printed
    assert "Oakfield Primary: Mr Hughes" in printed

    # An agreed date: the Lycée proposes, Oakfield agrees; an event at both.
    bad = await asyncio.to_thread(
        cli, "interest", "propose", sent["id"], *at_lycee,
        "--start", "2030-05-04T14:00", "--end", "2030-05-04T15:00",
    )  # fmt: skip
    assert "has no time zone" in error(bad, 2)
    proposed = await run_json(
        "interest", "propose", sent["id"], *at_lycee, "--start", "2030-05-04T09:30",
        "--end", "2030-05-04T12:00", "--tz", "Europe/Paris", "--where", "Forest gate",
    )  # fmt: skip
    (waiting,) = proposed["bookings"]
    assert (waiting["start"], waiting["proposed_by"], waiting["state"]) == (
        "2030-05-04T09:30+02:00",
        "us",
        "open",
    )

    async def proposal_arrived() -> bool:
        return (await oak.node.interests.get(sent["id"])).proposed is not None

    await wait_for(proposal_arrived, what="the proposal at Oakfield")
    own_one = await asyncio.to_thread(cli, "interest", "agree", sent["id"], *at_lycee)
    assert "no date from the other school" in error(own_one, 2)
    agreed = await run_json(
        "interest", "agree", sent["id"], *at_oak, "--proposal", waiting["id"][:8]
    )
    assert agreed["agreed"]["where"] == "Forest gate"
    printed = await asyncio.to_thread(ok, "interest", "list", *at_oak)
    assert "Agreed date: 2030-05-04T09:30+02:00" in printed
    listed = await run_json("event", "list", *at_oak)
    assert [e["id"][:16] for e in listed] == [agreed["agreed"]["event"][:16]]


def test_bad_input_says_what_to_do(node: Path) -> None:
    data = ["--data", str(node)]
    assert ok_json("interest", "list", *data) == []
    assert "No interests" in ok("interest", "list", *data)
    own = ok_json("offer", "post", *data, "--kind", "visit", "--title", "Come and see")
    assert isinstance(own, dict)
    cases = [
        (("send", own["id"], "--message", "Hi"), "your own school's", 2),
        (("send", "0123abcd", "--message", "Hi"), "no entry starts with", 1),
        (("send", "nothex", "--message", "Hi"), "is not an entry id", 2),
        (("send", own["id"], "--message", " "), "write a short message", 2),
        (("accept", "abcdef12"), "interest list", 1),
        (("decline", "ab"), "interest list", 1),
    ]
    for args, expected, code in cases:
        assert expected in error(cli("interest", *args, *data), code)
