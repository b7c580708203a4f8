"""A school that has shared its day's budget of public entries (protocol/budget.py) is
told on the command line when it may post again, and nothing is signed."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

from node.node import Node
from protocol import budget
from tests.cli.test_commands import cli, error, init, listing
from tests.helpers import offer_content


async def _use_the_budget(path: Path) -> None:
    async with await Node.open(path) as node:
        for i in range(budget.RULE.count - 1):  # with the profile: the whole budget
            await node.publish("offer", offer_content(f"Offer {i}"))


def test_offer_post_past_the_budget_says_when_to_try_again(tmp_path: Path) -> None:
    path = tmp_path / "node"
    assert init(path).returncode == 0
    asyncio.run(_use_the_budget(path))
    result = cli("offer", "post", "--data", str(path), "--kind", "visit", "--title", "One too many")
    line = error(result)
    assert "schoolmesh shares at most 200 public entries a day per school" in line
    assert "Nothing was saved" in line
    found = re.search(r"try again after (\d\d):(\d\d)", line)
    assert found is not None, line
    assert len(listing(path, "offer")) == budget.RULE.count - 1
