"""The real ``schoolmesh schools`` and ``partner request|requests|accept|decline`` commands,
on the data folders of running nodes that reach each other only through a hub."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from node.partners.peerbook import PeerBook
from tests.cli.test_commands import cli, error
from tests.helpers import key
from tests.hostile.test_block import dialled, relay_named
from tests.network import LiveNode, wait_for
from tests.node.test_partner_requests import HUB, LYCEE, OAK


async def run_json(*args: str) -> Any:
    """A command in a subprocess, without blocking the running nodes' event loop."""
    result = await asyncio.to_thread(cli, *args, "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@pytest.fixture
async def schools(tmp_path: Path) -> AsyncIterator[dict[str, LiveNode]]:
    async with dialled(tmp_path, (HUB, OAK, LYCEE), [("oak", "hub"), ("lycee", "hub")]) as nodes:
        hub = str(nodes["hub"].node.node_id)
        await nodes["oak"].node.update_profile(relays=[hub], phases=["primary"])
        await nodes["lycee"].node.update_profile(relays=[hub], languages=["fr"])
        await relay_named(nodes["oak"], nodes["lycee"], nodes["hub"])
        await relay_named(nodes["lycee"], nodes["oak"], nodes["hub"])
        yield nodes


def data(school: LiveNode) -> str:
    return str(school.node.data.path)


async def test_find_a_school_ask_it_and_become_partners(schools: dict[str, LiveNode]) -> None:
    oak, lycee, hub = schools["oak"], schools["lycee"], schools["hub"]
    found = await run_json("schools", "--data", data(oak), "--language", "fr")
    assert [s["name"] for s in found] == ["Lycée Jean Moulin"]
    school = found[0]
    assert {"node_id", "name", "country", "languages", "phases", "partner"} <= set(school)
    assert (school["country"], school["languages"], school["partner"]) == ("FR", ["fr"], False)
    listed = await run_json("schools", "--data", data(oak))
    assert [s["partner"] for s in listed if s["node_id"] == str(hub.node.node_id)] == [True]
    assert [s["name"] for s in await run_json("schools", "--data", data(oak), "--age", "7")] == [
        "Oakfield Primary"
    ]

    lycee_id = str(lycee.node.node_id)
    sent = await run_json(
        "partner", "request", lycee_id, "--message", "Shall we twin?", "--data", data(oak)
    )
    assert (sent["node_id"], sent["state"], sent["direction"]) == (lycee_id, "open", "sent")

    async def arrived() -> bool:
        return bool(await lycee.node.directory.requests(now=0))

    await wait_for(arrived, what="the request at the Lycée")
    got = await run_json("partner", "requests", "--data", data(lycee))
    assert [(r["id"], r["node_id"], r["message"], r["state"]) for r in got] == [
        (sent["id"], str(oak.node.node_id), "Shall we twin?", "open")
    ]
    done = await run_json("partner", "accept", sent["id"][:8], "--data", data(lycee))
    assert done["state"] == "accepted"

    async def partners() -> bool:
        record = await PeerBook(oak.node.store).get(lycee.node.node_id)
        return record is not None and record.state == "partner"

    await wait_for(partners, what="the acceptance at Oakfield")
    mine = await run_json("partner", "requests", "--data", data(oak))
    assert [r["state"] for r in mine] == ["accepted"]


async def test_bad_input_gets_a_clear_error(schools: dict[str, LiveNode]) -> None:
    oak = schools["oak"]
    result = await asyncio.to_thread(
        cli, "partner", "request", str(oak.node.node_id), "--message", "Hi", "--data", data(oak)
    )
    assert "own node id" in error(result)
    result = await asyncio.to_thread(cli, "partner", "accept", "zz", "--data", data(oak))
    assert "request id" in error(result)
    result = await asyncio.to_thread(cli, "schools", "--age", "40", "--data", data(oak))
    assert "--age 40" in error(result)


def test_a_country_that_is_not_a_code_is_refused_as_init_refuses_it(tmp_path: Path) -> None:
    folder = str(tmp_path / "oak")
    refused_by_init = error(cli("init", "--data", folder, "--name", "Oak", "--country", "XX"), 2)
    assert "ISO 3166-1 alpha-2" in refused_by_init
    assert cli("init", "--data", folder, "--name", "Oak", "--country", "GB").returncode == 0
    for typed in ("XX", "England", "UK"):
        assert error(cli("schools", "--data", folder, "--country", typed), 2) == refused_by_init
    # A code in small letters is still understood, as before.
    listed = cli("schools", "--data", folder, "--country", "gb", "--json")
    assert [s["name"] for s in json.loads(listed.stdout)] == ["Oak"]


async def test_relay_list_names_the_schools_it_knows(schools: dict[str, LiveNode]) -> None:
    oak, hub = schools["oak"], schools["hub"]
    stranger = str(key(77).node_id)  # a node whose profile never reached Oakfield
    added = await asyncio.to_thread(cli, "relay", "add", stranger, "--data", data(oak))
    assert added.returncode == 0, added.stderr
    listed = await asyncio.to_thread(cli, "relay", "list", "--data", data(oak))
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.splitlines() == [
        f"{hub.node.node_id}  Regional hub",
        f"{stranger}  (name not received yet)",
    ]
    # --json is as it was: the node ids.
    assert await run_json("relay", "list", "--data", data(oak)) == [
        str(hub.node.node_id),
        stranger,
    ]
