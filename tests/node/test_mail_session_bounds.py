"""What a peer's mail clocks can make a session remember is bounded (node/mail/session.py)."""

from pathlib import Path

import pytest

from node.mail import session as mail_session
from node.mail.session import MailExchange
from node.node import Node
from protocol import frames
from protocol.errors import ProtocolError
from protocol.keys import NodeId
from tests.helpers import key

PEER = key(73)


async def test_marks_of_new_pairs_past_the_bound_are_not_remembered(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(mail_session, "MAX_VIEW_PAIRS", 3)
    node = await Node.create(tmp_path / "oak", name="Oakfield Primary", country="GB")
    try:
        sent: list[frames.Frame] = []

        async def send(frame: frames.Frame) -> None:
            sent.append(frame)

        async def refuse(exc: ProtocolError) -> None:
            raise AssertionError(exc)

        exchange = MailExchange(node.mail, PEER.node_id, send, refuse)
        senders = [NodeId(bytes([i]) * 32) for i in range(6)]
        me = node.node_id
        for sender in senders:  # a mail clock may come in any number of frames (ids as bytes)
            await exchange.handle(frames.MailClock([[bytes(sender), bytes(me), 1]], final=False))
        assert set(exchange.view) == {(s, me) for s in senders[:3]}
        await exchange.handle(frames.MailClock([[bytes(senders[0]), bytes(me), 7]], final=True))
        assert exchange.view[(senders[0], me)] == 7  # a pair already known still moves
    finally:
        await node.close()
