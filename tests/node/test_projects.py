"""Partnership projects across real nodes: who gets a pupil's post, and who never does.

Four schools A, B, C, D, all partnered with A. A's project includes B and C, not D.
"""

from __future__ import annotations

import io
import logging
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from PIL import Image

from node.clock import now_ms
from node.projects.records import Post
from tests.network import LiveNode, files_contain, partner, wait_for

SECRET = "Zebracrossing-7731 by the river"
PASSWORD = "correct horse battery"


def photo(*, gps: bool = True, colour: tuple[int, int, int] = (200, 30, 30)) -> bytes:
    image = Image.new("RGB", (64, 48), colour)
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # camera make
    exif[0x0131] = "Camera app 1.0"
    if gps:
        exif[0x8825] = {1: "N", 2: (51.0, 30.0, 0.0), 3: "W", 4: (0.0, 7.0, 0.0)}
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=exif)
    return out.getvalue()


async def has_post(node: LiveNode, project: str, post_id: str) -> bool:
    try:
        posts = await node.node.projects.posts(project)
    except Exception:
        return False
    return any(p.id == post_id and p.body for p in posts)


@pytest.fixture
async def schools(tmp_path: Path) -> AsyncIterator[dict[str, LiveNode]]:
    nodes = {
        name: await LiveNode.start(tmp_path / name, f"School {name}", country=cc)
        for name, cc in (("A", "GB"), ("B", "FR"), ("C", "ES"), ("D", "DE"))
    }
    for other in "BCD":
        await partner(nodes["A"], nodes[other])
    a = nodes["A"].node
    now = now_ms()
    await a.accounts.add("Ms Patel", "staff", PASSWORD, klass=None, now=now)
    await a.accounts.add("Amélie Rose", "pupil", PASSWORD, klass="5B", now=now)
    for name in "BC":
        await nodes[name].node.accounts.add("Mr Roux", "staff", PASSWORD, klass=None, now=now)
    try:
        yield nodes
    finally:
        for live in nodes.values():
            await live.stop()


async def start_project(nodes: dict[str, LiveNode], members: str = "BC") -> str:
    a = nodes["A"].node
    project = await a.projects.create("Rivers of Europe", ["rivers", "food"], now_ms())
    await a.projects.rosters.replace(project.id, classes=["5B"], pupils=[], now=now_ms())
    for name in members:
        await a.projects.invite(project.id, nodes[name].node.node_id, now_ms())
    for name in members:
        member = nodes[name].node

        async def invited(member=member) -> bool:
            return any(p.id == project.id for p in await member.projects.all())

        await wait_for(invited, what=f"{name} to get the invitation")
        await member.projects.join(project.id, now_ms())

    async def all_joined() -> bool:
        got = await a.projects.get(project.id)
        return all(got.members.get(nodes[n].node.node_id) == "member" for n in members)

    await wait_for(all_joined, what="members to join")
    return project.id


async def test_an_approved_post_reaches_members_only(
    schools: dict[str, LiveNode], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    a = schools["A"].node
    project = await start_project(schools)
    draft = await a.projects.draft(
        project, "Amélie Rose", "Our river walk", SECRET, theme="rivers", images=[], now=now_ms()
    )
    # A draft does not leave the school: nothing is even queued for the partners.
    assert await a.store.fetch_all("SELECT 1 FROM letters_sent WHERE about = ?", (draft.id,)) == []
    # Hold B and C back so the sealed copy waits in A's outbox where we can look at it.
    await schools["B"].stop()
    await schools["C"].stop()
    await a.projects.approve(draft.id[:8], "Ms Patel", now_ms())
    rows = await a.store.fetch_all(
        "SELECT e.wire FROM envelopes e JOIN mail m ON m.envelope = e.id"
    )
    ciphertext = max((bytes(r[0]) for r in rows), key=len)[-200:-100]
    assert SECRET.encode() not in b"".join(bytes(r[0]) for r in rows)
    await schools["B"].restart()
    await schools["C"].restart()
    for name in "BC":
        live = schools[name]

        async def arrived(live: LiveNode = live) -> bool:
            return await has_post(live, project, draft.id)

        await wait_for(arrived, what=f"post at {name}")
        got: Post = await schools[name].node.projects.post(draft.id)
        assert got.by_name == "A. R."  # no consent recorded for the full name
        assert got.title == "Our river walk"
    # D is A's partner but not in the project: it never holds the text or the ciphertext.
    d_folder = tmp_path / "D"
    assert files_contain(d_folder, SECRET.encode()) == []
    assert files_contain(d_folder, ciphertext) == []
    assert await schools["D"].node.store.fetch_all("SELECT * FROM posts") == []
    assert SECRET not in caplog.text  # no node logs pupil text

    # Takedown: every member deletes it physically and sends a receipt.
    await a.projects.takedown(draft.id, now_ms())

    async def confirmed() -> bool:
        status = await a.projects.status(draft.id)
        return bool(status["takedown"]["waiting"] == [])

    await wait_for(confirmed, what="takedown receipts")
    status = await a.projects.status(draft.id)
    assert set(status["takedown"]["confirmed"]) == {str(schools[n].node.node_id) for n in "BC"}
    for name in "ABC":
        assert files_contain(tmp_path / name, SECRET.encode()) == [], name
        post = await schools[name].node.projects.post(draft.id)
        assert post.state == "removed"
        assert post.body is None


async def test_consent_decides_what_leaves_and_photos_lose_metadata(
    schools: dict[str, LiveNode],
) -> None:
    a = schools["A"].node
    project = await start_project(schools, "B")
    await a.accounts.set_consent(
        "Amélie Rose", show_name="full", work_photos=True, face_photos=False
    )
    draft = await a.projects.draft(
        project,
        "Amélie Rose",
        "Bread from Lyon",
        "We baked *bread*.",
        theme="food",
        images=[
            ("work.jpg", photo(), False),
            ("class.jpg", photo(gps=False, colour=(20, 90, 200)), True),
        ],
        now=now_ms(),
    )
    _, notes = await a.projects.approve(draft.id, "Ms Patel", now_ms())
    assert any("faces" in n for n in notes)
    b = schools["B"].node

    async def photo_arrived() -> bool:
        if not await has_post(schools["B"], project, draft.id):
            return False
        post = await b.projects.post(draft.id)
        return all([await b.projects.image(draft.id, h) for h, _f, _held in post.images])

    await wait_for(photo_arrived, what="post and photo at B")
    post = await b.projects.post(draft.id)
    assert post.by_name == "Amélie Rose"
    assert len(post.images) == 1  # the photo showing faces was held back
    jpeg = await b.projects.image(draft.id, post.images[0][0])
    assert jpeg is not None
    with Image.open(io.BytesIO(jpeg)) as seen:
        assert dict(seen.getexif()) == {}
    assert b"PhoneMaker" not in jpeg
    assert b"Exif" not in jpeg

    # Withdrawn consent for photos of work takes the post down everywhere.
    _before, after = await a.accounts.set_consent(
        "Amélie Rose", show_name=None, work_photos=False, face_photos=None
    )
    taken = await a.projects.enforce_consent(after, now_ms())
    assert taken == [draft.id]

    async def gone_at_b() -> bool:
        return (await b.projects.post(draft.id)).state == "removed"

    await wait_for(gone_at_b, what="takedown at B")
    assert await b.projects.image(draft.id, post.images[0][0]) is None


async def test_a_late_joiner_receives_earlier_posts(schools: dict[str, LiveNode]) -> None:
    a = schools["A"].node
    project = await start_project(schools, "B")
    draft = await a.projects.draft(
        project, "Ms Patel", "Welcome", "Hello partners", theme=None, images=[], now=now_ms()
    )
    await a.projects.approve(draft.id, "Ms Patel", now_ms())
    await wait_for(lambda: has_post(schools["B"], project, draft.id), what="post at B")
    # B comments; C joins later and gets the post and the comment.
    await schools["B"].node.projects.comment(draft.id, "Mr Roux", "Bonjour !", now_ms())
    await a.projects.invite(project, schools["C"].node.node_id, now_ms())
    c = schools["C"].node

    async def invited() -> bool:
        return bool(await c.projects.all())

    await wait_for(invited, what="invitation at C")
    await c.projects.join(project, now_ms())
    await wait_for(lambda: has_post(schools["C"], project, draft.id), what="earlier post at C")

    async def comment_at_c() -> bool:
        return bool(await c.projects.comments(draft.id))

    await wait_for(comment_at_c, what="B's comment at C")
    # B learns C joined (a new revision of the member list from the owner).
    b_view = await schools["B"].node.projects.get(project)

    async def b_knows() -> bool:
        got = await schools["B"].node.projects.get(project)
        return got.members.get(c.node_id) == "member"

    await wait_for(b_knows, what="B to see C join")
    assert b_view.owner == a.node_id


async def test_outbound_only_members_exchange_posts_through_a_relay_that_cannot_read(
    tmp_path: Path,
) -> None:
    hub = await LiveNode.start(tmp_path / "hub", "Regional hub", country="GB")
    b = await LiveNode.start(tmp_path / "B", "School B", country="FR", listen=False)
    c = await LiveNode.start(tmp_path / "C", "School C", country="ES", listen=False)
    try:
        await partner(hub, b)
        await partner(hub, c)
        await partner(b, c)  # partners, but neither can dial the other
        hub_id = str(hub.node.node_id)
        for school in (b, c):
            await school.node.update_profile(relays=[hub_id])
        for school, other in ((b, c), (c, b)):

            async def knows_relay(school=school, other=other) -> bool:
                relays = await school.node.mail.relays_of(other.node.node_id)
                return hub.node.node_id in relays

            await wait_for(knows_relay, what="relays to be known")
        now = now_ms()
        await b.node.accounts.add("Mme Blanc", "staff", PASSWORD, klass=None, now=now)
        await b.node.accounts.add("Noé", "pupil", PASSWORD, klass="CM1", now=now)
        project = await b.node.projects.create("Twin towns", [], now)
        await b.node.projects.rosters.replace(project.id, classes=["CM1"], pupils=[], now=now)
        await b.node.projects.invite(project.id, c.node.node_id, now_ms())

        async def invited() -> bool:
            return bool(await c.node.projects.all())

        await wait_for(invited, what="invitation through the relay")
        await c.node.projects.join(project.id, now_ms())

        async def joined() -> bool:
            got = await b.node.projects.get(project.id)
            return got.members.get(c.node.node_id) == "member"

        await wait_for(joined, what="join through the relay")
        draft = await b.node.projects.draft(
            project.id, "Noé", "Notre marché", SECRET, theme=None, images=[], now=now_ms()
        )
        await b.node.projects.approve(draft.id, "Mme Blanc", now_ms())
        await wait_for(lambda: has_post(c, project.id, draft.id), what="post through the relay")
        held = await hub.node.store.fetch_one("SELECT COUNT(*) FROM letters_sent")
        assert held[0] == 0  # the hub wrote no letters: it only carried sealed ones
        assert await hub.node.store.fetch_all("SELECT * FROM projects") == []
        assert files_contain(tmp_path / "hub", SECRET.encode()) == []
    finally:
        for school in (hub, b, c):
            await school.stop()
