"""A name finds its account in any capitals (the users table compares ``COLLATE
NOCASE``), so who wrote a post is compared the same way everywhere, never with ``==``
(docs/decisions.md, "Small consistency fixes (2026-12-08)"). A table test of the rule,
then a real node and its real database: a pupil's account removed and added again in
other capitals is the same pupil, and one whose name differs beyond the ASCII
capitals is someone else."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path

import pytest

from node import needs
from node.accounts.service import same_name
from node.clock import now_ms
from node.node import Node
from node.observations import service as observations
from node.observations import staff
from protocol.errors import NotAllowedError, NotFoundError
from tests.node.test_project_drafts import PASSWORD


@pytest.mark.parametrize(
    ("one", "other", "same"),
    [
        ("Amira", "Amira", True),
        ("Amira", "AMIRA", True),
        ("  sam   k ", "Sam K", True),
        ("Amélie Rose", "amélie rose", True),  # only A and R differ: ASCII
        # The table folds ASCII only: these are two accounts, and one never acts as the other.
        ("Émile", "émile", False),
        ("Zoë", "ZOË", False),
        ("Amira", "Amir", False),
        (None, "Amira", False),  # a partner's post has no author here
    ],
)
def test_names_compare_as_the_users_table_does(one: str | None, other: str, same: bool) -> None:
    assert same_name(one, other) is same


@pytest.fixture
async def school(tmp_path: Path) -> AsyncIterator[tuple[Node, str]]:
    async with await Node.create(tmp_path / "n", name="Oakfield", country="GB") as node:
        await node.accounts.add("Ms Patel", "staff", PASSWORD, klass=None, now=now_ms())
        await node.accounts.add("Amira", "pupil", PASSWORD, klass="5B", now=now_ms())
        await node.accounts.add("Émile", "pupil", PASSWORD, klass="5B", now=now_ms())
        project = await node.projects.create("Rivers of Europe", ["rivers"], now_ms())
        await node.projects.rosters.replace(project.id, classes=["5B"], pupils=[], now=0)
        yield node, project.id


async def test_a_pupil_added_again_in_other_capitals_still_owns_her_drafts(
    school: tuple[Node, str],
) -> None:
    """Before, every check compared the post's author with ``==``: the pupil could not
    see, change or delete her drafts, nor a teacher delete them (her account exists),
    and her returned post was not on her list."""
    node, project = school
    draft = await node.projects.draft(
        project, "Amira", "Walk", "A heron.", theme=None, images=[], now=now_ms()
    )
    returned = await node.projects.draft(
        project, "Amira", "Pond", "Frogs.", theme=None, images=[], now=now_ms()
    )
    await node.projects.return_(returned.id, "Ms Patel", "Which pond?")
    await node.accounts.remove("Amira")
    await node.accounts.add("AMIRA", "pupil", PASSWORD, klass="5B", now=now_ms())
    pupil = await node.accounts.get("amira")

    assert await node.projects.may_see(pupil, await node.projects.post(draft.id))
    changed = await node.projects.revise(draft.id, "amira", "Walk", "A grey heron.", theme=None)
    assert changed.body == "A grey heron."
    mine = await needs.for_pupil(node, pupil.name, now_ms())
    assert [i.href for i in mine] == [f"/posts/{returned.id}"]
    # Hers again: a teacher may not delete it, she may (named in any capitals).
    with pytest.raises(NotAllowedError, match="only the pupil who wrote a draft"):
        await node.projects.discard(draft.id, "Ms Patel")
    await node.projects.discard(draft.id, "Amira")
    with pytest.raises(NotFoundError):
        await node.projects.post(draft.id)


async def test_a_name_that_differs_beyond_ascii_capitals_is_another_pupil(
    school: tuple[Node, str],
) -> None:
    """'émile' is another account than 'Émile' in the users table: a comparison that
    folded more than the table (``casefold``) would let one delete the other's draft."""
    node, project = school
    draft = await node.projects.draft(
        project, "Émile", "Walk", "A heron.", theme=None, images=[], now=now_ms()
    )
    await node.accounts.add("émile", "pupil", PASSWORD, klass="5B", now=now_ms())
    other = await node.accounts.get("émile")
    assert other.name == "émile"
    assert not await node.projects.may_see(other, await node.projects.post(draft.id))
    with pytest.raises(NotAllowedError):
        await node.projects.discard(draft.id, "émile")
    with pytest.raises(NotAllowedError):
        await node.projects.revise(draft.id, "émile", "Walk", "Mine now.", theme=None)
    assert (await node.projects.post(draft.id)).body == "A heron."


async def test_withdrawn_consent_takes_down_what_the_pupil_sent_before_her_account_was_added_again(
    school: tuple[Node, str],
) -> None:
    """The takedown found the pupil's sent posts by her name compared exactly: added
    again in other capitals (initials only, as every new pupil), the post that names
    her in full stayed out."""
    node, project = school
    await node.accounts.set_consent("Amira", show_name="full", work_photos=None, face_photos=None)
    draft = await node.projects.draft(
        project, "Amira", "Walk", "A heron.", theme=None, images=[], now=now_ms()
    )
    await node.projects.approve(draft.id, "Ms Patel", now_ms())
    assert (await node.projects.post(draft.id)).by_name == "Amira"
    await node.accounts.remove("Amira")
    await node.accounts.add("amira", "pupil", PASSWORD, klass="5B", now=now_ms())
    pupil = await node.accounts.get("amira")
    assert pupil.show_name == "initials"
    assert await node.projects.enforce_consent(pupil, now_ms()) == [draft.id]


async def test_a_teacher_added_again_in_other_capitals_sees_and_stops_her_old_feed(
    school: tuple[Node, str],
) -> None:
    """The feed's address works for the account found in any capitals (render finds
    it): before, the project page did not show it (``of`` compared exactly) and "stop
    my feed" stopped nothing, so a working address could only be revoked by an admin."""
    node, project = school
    feed = await node.feeds.create("Ms Patel", project, now_ms())
    await node.accounts.remove("Ms Patel")
    await node.accounts.add("MS PATEL", "staff", PASSWORD, klass=None, now=now_ms())
    await node.feeds.render(feed.token, "http://school.example")  # still works
    assert await node.feeds.of("MS PATEL", project) == feed
    assert await node.feeds.revoke_own("MS PATEL", project, now_ms()) == 1
    with pytest.raises(NotFoundError):
        await node.feeds.render(feed.token, "http://school.example")


async def test_a_pupil_typed_in_other_capitals_joins_a_project_as_the_account_she_is(
    school: tuple[Node, str],
) -> None:
    """Before, the roster matched typed names with ``casefold``: of 'Émile' and
    'émile', typing either added whichever came last."""
    node, project = school
    await node.accounts.add("émile", "pupil", PASSWORD, klass="6C", now=now_ms())
    for typed, added in (("Émile", "Émile"), ("émile", "émile"), (" AMIRA ", "Amira")):
        roster = await node.projects.rosters.replace(project, classes=[], pupils=[typed], now=0)
        assert roster.pupils == (added,), typed


async def test_a_staff_profile_is_found_as_the_table_compares_names(
    school: tuple[Node, str],
) -> None:
    """Before, ``casefold`` found whichever of 'Ms Émile' and 'Ms émile' came first."""
    node, _project = school
    for name, strength in (("Ms Émile", "phonics"), ("Ms émile", "oracy")):
        await node.staff.add(
            staff.member(name, strengths=[strength], develops=[], subjects=[], phase=None)
        )
    for typed, strength in (
        ("Ms Émile", "phonics"),
        (" ms  émile", "oracy"),
        ("MS émile", "oracy"),
    ):
        found = await node.staff.get(typed)
        assert found is not None
        assert found.strengths == (strength,), typed


async def test_a_private_observation_is_read_and_shared_only_by_its_two_colleagues(
    school: tuple[Node, str],
) -> None:
    """Names in records compare as accounts do. Before, ``casefold`` let 'Ms émile' (an
    account of her own) read 'Ms Émile''s private record and share it."""
    node, _project = school
    await node.staff.add(
        staff.member("Ms Émile", strengths=[], develops=["questioning"], subjects=[], phase=None)
    )
    made = await node.observations.add(
        observer="Mr Jones",
        observed="Ms Émile",
        focus="questioning",
        priority=None,
        day=date(2027, 1, 20),
        strengths=["Generous wait time"],
        actions=["Try no hands up in maths"],
        follow_up=None,
    )
    assert observations.owned_by(made, "ms  Émile")
    assert observations.visible_to(made, "MR JONES")
    assert not observations.owned_by(made, "Ms émile")
    assert not observations.visible_to(made, "Ms émile")
    assert [o.id for o in await node.observations.listing(teacher="ms émile")] == []
    assert [o.id for o in await node.observations.listing(teacher="MS Émile")] == [made.id]
