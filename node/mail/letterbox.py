"""Hands each letter that reaches us to the service that owns its kind.

The mail room opens letters and moves the marks; what a letter means belongs to
one service (projects, interests, events, observations). The table of kinds is
written out in :class:`node.node.Node`, so a reader sees every route in one place.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from node.mail.mailroom import LetterHandler
from protocol.sealed import Letter

log = logging.getLogger(__name__)


class Letterbox:
    """A :class:`LetterHandler` that passes each letter on by its kind."""

    def __init__(self, routes: Mapping[str, LetterHandler]) -> None:
        self.routes = dict(routes)

    @property
    def needs_checkpoint(self) -> bool:
        return any(handler.needs_checkpoint for handler in self.routes.values())

    @needs_checkpoint.setter
    def needs_checkpoint(self, value: bool) -> None:
        for handler in self.routes.values():
            handler.needs_checkpoint = value

    async def receive(self, letter: Letter, now: int) -> None:
        handler = self.routes.get(letter.kind)
        if handler is None:
            # A kind from a newer version: the format accepts it, and we ignore it.
            log.info("a %s letter from %s was ignored: unknown kind", letter.kind, letter.author)
            return
        await handler.receive(letter, now)
