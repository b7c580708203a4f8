"""A sender that reaches a recipient only through a relay still empties its outbox.

B and C are both outbound-only: they never connect to each other, only to the hub
they both name as their relay. Without confirmations passed back by the relay, B
would keep every sealed letter to C for ever.
"""

from __future__ import annotations

from pathlib import Path

from node.clock import now_ms
from protocol import letters
from protocol.mailsync import Mark
from tests.helpers import key
from tests.network import LiveNode, partner, wait_for

PASSWORD = "correct horse battery"


async def outbox(node: LiveNode, recipient: LiveNode) -> int:
    row = await node.node.store.fetch_one(
        "SELECT COUNT(*) FROM mail WHERE sender = ? AND recipient = ?",
        (bytes(node.node.node_id), bytes(recipient.node.node_id)),
    )
    return int(row[0])


async def test_relay_passes_back_confirmations_and_the_outbox_empties(tmp_path: Path) -> None:
    hub = await LiveNode.start(tmp_path / "hub", "Regional hub", country="GB")
    b = await LiveNode.start(tmp_path / "B", "School B", country="FR", listen=False)
    c = await LiveNode.start(tmp_path / "C", "School C", country="ES", listen=False)
    schools = (hub, b, c)
    try:
        for school in (b, c):
            await partner(hub, school)
            await school.node.update_profile(relays=[str(hub.node.node_id)])
        await partner(b, c)  # partners, but neither can dial the other

        async def relays_known() -> bool:
            for school, other in ((b, c), (c, b)):
                named = await school.node.mail.relays_of(other.node.node_id)
                if hub.node.node_id not in named:
                    return False
            return True

        await wait_for(relays_known, what="relays to be known")
        await b.node.accounts.add("Mme Blanc", "staff", PASSWORD, klass=None, now=now_ms())
        project = await b.node.projects.create("Twin towns", [], now_ms())
        await b.node.projects.invite(project.id, c.node.node_id, now_ms())

        async def c_invited() -> bool:
            return bool(await c.node.projects.all())

        await wait_for(c_invited, what="the invitation at C, through the hub")
        await c.node.projects.join(project.id, now_ms())
        posts = []
        for i in range(5):
            draft = await b.node.projects.draft(
                project.id, "Mme Blanc", f"Letter {i}", "Bonjour", theme=None, images=[],
                now=now_ms(),
            )  # fmt: skip
            await b.node.projects.approve(draft.id, "Mme Blanc", now_ms())
            posts.append(draft.id)
        sealed = await b.node.mail._mark((b.node.node_id, c.node.node_id))
        assert sealed >= 6  # the invitation, the member list and five posts

        # C fetched everything from the hub; the hub told B, live, in the same session.
        async def b_outbox_empty() -> bool:
            return await outbox(b, c) == 0

        await wait_for(b_outbox_empty, what="B's outbox to C to empty")
        acked = await b.node.store.fetch_one(
            "SELECT seq FROM mail_acked WHERE recipient = ?", (bytes(c.node.node_id),)
        )
        assert acked[0] == sealed
        status = await b.node.projects.status(posts[-1])
        assert status["delivered"] == {str(c.node.node_id): True}
        for post in posts:
            assert (await c.node.projects.post(post)).body == "Bonjour"
        # Nothing of the pair is left anywhere: not at B, not at the hub.
        held = await hub.node.store.fetch_one(
            "SELECT COUNT(*) FROM mail WHERE sender = ?", (bytes(b.node.node_id),)
        )
        assert held[0] == 0
        orphans = await b.node.store.fetch_one(
            "SELECT COUNT(*) FROM envelopes WHERE id NOT IN (SELECT envelope FROM mail)"
        )
        assert orphans[0] == 0
    finally:
        for school in schools:
            await school.stop()


async def test_confirmations_from_a_node_the_recipient_does_not_name_are_ignored(
    tmp_path: Path,
) -> None:
    """A partner that is not the recipient's relay cannot make a sender drop its letters."""
    a = await LiveNode.start(tmp_path / "A", "School A", country="GB")
    b = await LiveNode.start(tmp_path / "B", "School B", country="FR")
    try:
        await partner(a, b)
        stranger = key(7).node_id  # names no relay, and is never reached
        me = a.node.node_id
        await a.node.mail.send(
            letters.RECEIPT,
            {"p": "0" * 32, "target": "1" * 32},
            [stranger],
            about=None,
            now=now_ms(),
        )
        await a.node.mail.relayed_confirmations(b.node.node_id, [Mark(me, stranger, 1)])
        row = await a.node.store.fetch_one(
            "SELECT COUNT(*) FROM mail WHERE sender = ? AND recipient = ?", (me, stranger)
        )
        assert row[0] == 1  # still held: B is not a relay that the recipient named
    finally:
        await a.stop()
        await b.stop()
