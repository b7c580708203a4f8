"""Helpers for the hostile-school tests: send what a rogue school would, wait until
the receiver has judged it, then look at what changed (nothing, we hope)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from node.clock import now_ms
from tests.network import LiveNode, wait_for


async def send_as(
    sender: LiveNode, kind: str, content: dict[str, Any], to: Iterable[LiveNode]
) -> dict[LiveNode, int]:
    """Seal a letter with ``sender``'s real key, going round its node's own checks.

    Returns, for each recipient, the letter's number in the pair, for
    :func:`judged`. The content must still fit the kind's schema (a letter that
    does not is refused by any node before any rule is asked)."""
    recipients = list(to)
    await sender.node.mail.send(
        kind, content, [r.node.node_id for r in recipients], about=None, now=now_ms()
    )
    me = sender.node.node_id
    return {r: await sender.node.mail._mark((me, r.node.node_id)) for r in recipients}


async def judged(sender: LiveNode, numbers: dict[LiveNode, int], *, within: float = 15.0) -> None:
    """Wait until each recipient has taken (accepted or refused) ``sender``'s letter."""
    me = sender.node.node_id

    async def all_taken() -> bool:
        for receiver, seq in numbers.items():
            mark = await receiver.node.mail._mark((me, receiver.node.node_id))
            if mark < seq:
                return False
        return True

    await wait_for(all_taken, within=within, what="the letter to be opened and judged")
