"""What a teacher approves: the version of a pupil's post they were shown.

A teacher reads a draft, then presses Approve (or Return); the pupil may change the
draft in between. The page and the command carry the *version* the teacher read, and
the write that approves compares it with the post as it is in that same transaction
(docs/decisions.md, "Approving what was read"). The version is a hash of everything
the teacher is shown and that decides what leaves the school: title, text, theme,
each photo (its hash, its marking as showing faces, its description, in order), the
author's name and the author's consent, and whether it waits as a draft or was
returned with a note (so that an approval does not undo another teacher's return
unseen: returning is the only way a draft becomes "returned"). Being a hash, it
cannot miss a change made by any path (a new way to edit a draft need not remember to
count), and a pupil who changes a draft and changes it back has the version the
teacher read.

Pure functions of values: no database here (node/projects/moderation.py reads the post
and its author in the write and calls :func:`check`).
"""

from __future__ import annotations

import dataclasses
import enum
import hashlib
import itertools
import json
from typing import TYPE_CHECKING

from node.accounts.service import same_name
from protocol.errors import (
    AuthorRemovedError,
    AuthorTakenOffError,
    NotFoundError,
    PostChangedError,
    PostDeletedError,
    UserInputError,
    said,
)
from protocol.rules.projects import COMMENT_WAITING, WAITING, PostState

if TYPE_CHECKING:
    from node.accounts.service import User
    from node.projects.records import Post
    from node.projects.rosters import ProjectPupils

#: Hex characters of a version: 64 bits, short enough to copy into a command, and
#: far beyond what a pupil could search for a changed post with the same version.
VERSION_CHARS = 16
#: Every consent a pupil can have (node/accounts/service.py: name shown, photos of
#: work, photos showing faces), to tell a changed consent from a changed post.
_DONE = {"approve": "approved", "return": "returned"}
_CONSENTS = tuple(itertools.product(("full", "initials"), (False, True), (False, True)))


def version(post: Post, author: User | None) -> str:
    """The version of ``post`` as a teacher reads it, with ``author``'s consent now."""
    consent = (
        ("", False, False)
        if author is None
        else (author.show_name, author.work_photos, author.face_photos)
    )
    return _digest(post, name_of(author), consent)


def name_of(author: User | None) -> str | None:
    return author.name if author else None


def _digest(post: Post, name: str | None, consent: tuple[str, bool, bool]) -> str:
    shown = [
        2,  # the form of this list, should it ever change (2: with the state)
        post.state,
        post.title,
        post.body,
        post.theme,
        name,
        list(consent),
        [[digest.hex(), faces, post.alts.get(digest, "")] for digest, faces, _held in post.images],
    ]
    data = json.dumps(shown, ensure_ascii=False, separators=(",", ":")).encode()
    return hashlib.sha256(data).hexdigest()[:VERSION_CHARS]


def check(read: str, post: Post, author: User | None, *, action: str) -> None:
    """Refuse to ``action`` ("approve" or "return") ``post`` unless it is the version ``read``.

    Called inside the transaction that approves or returns the post, so nothing can
    change between this check and the write. Returning sends nothing, so a change of
    consent alone does not stop it; approving, it does (the teacher may have passed
    over a photo they were told would be held back).
    """
    read = read.strip().lower()
    now = version(post, author)
    if read == now:
        return
    name = author.name if author is not None else (post.author or "?")
    again = (
        f"Read it again with `schoolmesh post show {post.id[:8]}`, then "
        f"`schoolmesh post {action} {post.id[:8]} --by NAME"
        + (" --note NOTE" if action == "return" else "")
        + " --version NEW_VERSION`"
    )
    if not read:
        raise PostChangedError(
            f"give the version you read with --version: nothing was changed. {again}",
            page=said(
                "This page did not say which version of the post you read: read it again "
                "below. Nothing was sent."
            ),
        )
    if author is None and post.author and _read_with_account(read, post, post.author):
        raise removed(post, read, action=action)
    if post.state == "returned":  # (returning it again is refused before: not a draft)
        as_read = dataclasses.replace(post, state="draft")
        if any(_digest(as_read, name_of(author), c) == read for c in _CONSENTS):
            teacher = post.approved_by or "?"  # who returned it (Projects.return_)
            raise PostChangedError(
                f"{teacher} returned this post to {name} with a note after you read it "
                f"(version {read}, now {now}): nothing was changed. {again}",
                page=said(
                    "%(teacher)s returned this post to its pupil with a note after you "
                    "opened it: read the note before approving. Nothing was sent.",
                    teacher=teacher,
                ),
            )
    same_post = any(_digest(post, name_of(author), consent) == read for consent in _CONSENTS)
    if same_post and action == "return":
        return
    if same_post:
        raise PostChangedError(
            f"{name}'s consent changed after you read this post (version {read}, now {now}): "
            f"nothing was changed. {again}",
            page=said(
                "%(name)s's consent changed after you opened this post: read it again "
                "before approving. Nothing was sent.",
                name=name,
            ),
        )
    raise PostChangedError(
        f"{name} changed this post after you read it (version {read}, now {now}): nothing "
        f"was changed. {again}",
        page=said(
            "%(name)s changed this post after you opened it: read it again before "
            "approving. Nothing was sent.",
            name=name,
        )
        if action == "approve"
        else said(
            "%(name)s changed this post after you opened it: read it again before returning it.",
            name=name,
        ),
    )


def _read_with_account(read: str, post: Post, name: str) -> bool:
    """Whether ``read`` is ``post`` as it is now (or before another teacher returned it)
    while its author's account ``name`` still existed, with any consent: the account,
    gone now, was removed after the teacher read the post."""
    states = {post.state, "draft"}
    return any(
        _digest(dataclasses.replace(post, state=state), name, consent) == read
        for state in states
        for consent in _CONSENTS
    )


def removed(post: Post, read: str, *, action: str) -> AuthorRemovedError:
    """The refusal to ``action`` a post whose pupil's account was removed after the
    teacher read it: said as such, with what to do, not as a changed post."""
    name = post.author or "?"
    short = post.id[:8]
    why = (
        "nothing was sent: without the account there is no consent to apply to it"
        if action == "approve"
        else "it was not returned: there is no account to return it to"
    )
    return AuthorRemovedError(
        f"{name}'s account was removed after you read this post (version {read}), so {why}. "
        "If it was removed by mistake, add it again with the same name "
        f"(`schoolmesh user add --role pupil --name {name!r} --class CLASS`, or `--role "
        "staff` if a teacher wrote the post: the role went with the account), record the "
        "consent with `schoolmesh user consent`, and read the post again with "
        f"`schoolmesh post show {short}`; otherwise keep the post here, or delete it with "
        f"`schoolmesh post delete {short} --by NAME`",
        page=said(
            "%(name)s's account was removed after you opened this post, so nothing was sent. "
            "If it was removed by mistake, add the account again with the same name and "
            "record the consent, then read the post again.",
            name=name,
        )
        if action == "approve"
        else said(
            "%(name)s's account was removed after you opened this post, so it was not "
            "returned. If it was removed by mistake, add the account again with the same "
            "name, then read the post again.",
            name=name,
        ),
    )


def deleted(
    post_id: str, author: str | None, *, action: str, writer: Writer | None = None
) -> PostDeletedError:
    """The refusal to ``action`` a post deleted meanwhile: said plainly, nothing sent.

    Only the pupil who wrote a draft can delete it (``Projects.discard``), or a teacher
    once it can no longer be approved (:func:`may_delete`): its writer's account removed
    or its writer taken off the project, as ``writer`` (where they stand now) says; a
    post that was read and is gone was otherwise deleted by its author. A pupil taken
    off may still delete their own draft, so which of them did is not known then.
    """
    if writer in (Writer.REMOVED, Writer.TAKEN_OFF):
        name = author or "its writer"
        why = (
            f"the account of {name} was removed, and a teacher deleted the draft"
            if writer is Writer.REMOVED
            else f"{name} was taken off the project, and the draft was deleted by them or by "
            "a teacher"
        )
        return PostDeletedError(
            f"the post {post_id[:8]} was deleted before it could be {_DONE[action]} ({why}): "
            "nothing was sent",
            page=said("This post was deleted after you opened it: nothing was sent."),
        )
    who = author or "the pupil who wrote it"
    return PostDeletedError(
        f"{who} deleted the post {post_id[:8]} before it could be {_DONE[action]}: nothing was "
        "sent. The drafts still waiting are listed by `schoolmesh post list --project "
        "PROJECT_ID --drafts`",
        page=(
            said("%(name)s deleted this post after you opened it: nothing was sent.", name=author)
            if author
            else said(
                "The pupil who wrote this post deleted it after you opened it: nothing was sent."
            )
        ),
    )


def not_found(text: str, *, action: str) -> NotFoundError:
    """No post or comment ``text`` to ``action``: mistyped, or a draft deleted."""
    return NotFoundError(
        f"no post or comment {text!r} at this school, so nothing was {_DONE[action]} or sent: "
        "the id may be mistyped, or the pupil who wrote the draft deleted it. The drafts "
        "waiting, with their ids, are listed by `schoolmesh post list --project PROJECT_ID "
        "--drafts` (add --json for comments' ids; `schoolmesh project list` gives the "
        "projects' ids)",
        page=said("There is no such post at this school."),
    )


def may_approve(author: User | None) -> bool:
    """Whether a post or comment of ours may be approved (sent to the member schools) as
    far as its writer's account goes: only while it exists. A pupil whose account was
    removed has left the school or the project, and there is no consent left to apply:
    what they wrote stays here (docs/decisions.md, "Posts of a removed account").
    Approving also asks whether the writer still takes part: :func:`writer`."""
    return author is not None


class Writer(enum.Enum):
    """Where the writer of a post or comment of ours stands, for approving it."""

    TAKES_PART = "takes-part"  # may be approved (and returned), as ever
    REMOVED = "removed"  # their account was removed: no consent left to apply
    TAKEN_OFF = "taken-off"  # taken off the project, by name or with their class


def writer(author: User | None, taking_part: ProjectPupils) -> Writer:
    """Whether what ``author`` (their account now, None if removed) wrote for a project
    whose pupils are ``taking_part`` (now) may be approved and sent to its schools.

    Read in the write that approves. A pupil taken off a project (by name, or their
    class taken off or changed) is usually taken off because they or their parents no
    longer want them in that exchange: what they wrote before stays here, unsent
    (docs/decisions.md, "A pupil taken off a project"). Staff are in every project.
    """
    if not may_approve(author):
        return Writer.REMOVED
    assert author is not None
    if not taking_part.includes(author):
        return Writer.TAKEN_OFF
    return Writer.TAKES_PART


class Deletion(enum.Enum):
    """Who deletes a post that never left the school, or why they may not."""

    BY_AUTHOR = "author"  # its writer, as ever
    BY_STAFF = "staff"  # a teacher: a post whose writer is removed or taken off; any comment
    NOT_WAITING = "not-waiting"  # approved or taken down: only a takedown recalls it
    REFUSED = "refused"  # not theirs to delete


def may_delete(
    *,
    ours: bool,
    state: PostState,
    by: str,
    by_staff: bool,
    author: str | None,
    author_exists: bool,
    author_takes_part: bool,
) -> Deletion:
    """Whether ``by`` may delete a post of this school that never left it (a draft, or
    one returned with a note): its author; or staff, who may approve it (every teacher
    of this school is in every project: node/projects/rosters.py), once it can no
    longer be approved (:func:`writer`): the author's account is removed, or the
    author was taken off the project (``author_takes_part`` false; its author may still
    delete it, as ever). A partner's post is never ours to delete,
    and one sent only a takedown recalls (``NOT_WAITING``, said to whoever could have
    deleted the draft)."""
    if not ours:
        return Deletion.REFUSED
    if author is not None and same_name(by, author):
        who = Deletion.BY_AUTHOR
    elif by_staff and not (author_exists and author_takes_part):
        who = Deletion.BY_STAFF
    else:
        return Deletion.REFUSED
    return who if state in WAITING else Deletion.NOT_WAITING


def may_delete_comment(
    *, ours: bool, state: PostState, by: str, by_staff: bool, author: str | None
) -> Deletion:
    """Whether ``by`` may delete a comment of this school that is still waiting for a
    teacher (never sent): its pupil (``BY_AUTHOR``), or any of our staff, who decline
    it (``BY_STAFF``): those who may approve it may refuse it, as a blog's moderator
    rejects a pending comment. Unlike a post, a comment is never returned with a note
    (``COMMENT_MOVES``), so declining is deleting (docs/decisions.md, "Deleting a
    waiting comment"). Another pupil never may; a partner's comment is never ours to
    delete; one that was sent (approved) or taken down only a takedown recalls
    (``NOT_WAITING``, said to whoever could have deleted it while it waited)."""
    if not ours:
        return Deletion.REFUSED
    if author is not None and same_name(by, author):
        who = Deletion.BY_AUTHOR
    elif by_staff:
        who = Deletion.BY_STAFF
    else:
        return Deletion.REFUSED
    return who if state in COMMENT_WAITING else Deletion.NOT_WAITING


def comment_not_waiting(comment_id: str, state: str) -> UserInputError:
    """The refusal to delete a comment that is not waiting any more: sent (only a
    takedown recalls it), or already taken down. Nothing was deleted."""
    short = comment_id[:8]
    if state == PostState.APPROVED:
        return UserInputError(
            "that comment was approved and sent to the member schools: it was not deleted. "
            f"To recall it, `schoolmesh post takedown {short} --reason REASON`",
            page=said(
                "This comment was approved and sent to the project's schools, so it can no "
                "longer be deleted: a teacher can take it down."
            ),
        )
    return UserInputError(
        f"that comment is {state}, not waiting for approval: it was not deleted "
        f"(see `schoolmesh post status {short}`)",
        page=said("This comment is not waiting for approval any more: nothing was changed."),
    )


def gone(
    post_id: str, author: str | None, *, what: str = "post", action: str = "approve"
) -> AuthorRemovedError:
    """The refusal to approve a post or comment (``what``), or to return a post
    (``action``), whose writer's account no longer exists (:func:`may_approve` says no),
    whatever version was read."""
    name = author or "?"
    short = post_id[:8]
    if action == "return":
        return AuthorRemovedError(
            f"{name}'s account was removed, so the post {short} cannot be returned: there "
            "is no account to return it to, and nothing was changed. Keep the post here, or "
            f"delete it with `schoolmesh post delete {short} --by NAME`",
            page=said(
                "%(name)s's account was removed, so this post cannot be returned: there is "
                "no one to return it to, and nothing was changed. Keep it here, or delete it.",
                name=name,
            ),
        )
    add = (
        "If it was removed by mistake, add it again with the same name "
        f"(`schoolmesh user add --role pupil --name {name!r} --class CLASS`, or `--role "
        "staff` if a teacher wrote it: the role went with the account) and record the "
        "consent with `schoolmesh user consent`: "
    )
    if what == "comment":
        return AuthorRemovedError(
            f"{name}'s account was removed, so the comment {short} cannot be approved any "
            "more: nothing was sent. A pupil whose account is removed has left the school "
            "or the project, and what they wrote no longer leaves the school; the comment "
            "stays here, seen only by staff, unless a teacher declines and deletes it "
            f"(`schoolmesh post delete {short} --by NAME`). " + add + "the comment can then "
            "be approved",
            page=said(
                "%(name)s's account was removed, so this comment can no longer be approved: "
                "nothing was sent. It stays here, seen only by staff, until a teacher "
                "declines and deletes it. If the account was removed by mistake, add it "
                "again with the same name and record the consent: the comment can then be "
                "approved.",
                name=name,
            ),
        )
    return AuthorRemovedError(
        f"{name}'s account was removed, so the post {short} cannot be approved any more: "
        "nothing was sent. A pupil whose account is removed has left the school or the "
        "project, and what they wrote no longer leaves the school. Keep the post here, or "
        f"delete it with `schoolmesh post delete {short} --by NAME`. "
        + add
        + f"the post can then be approved (read it again with `schoolmesh post show {short}`)",
        page=said(
            "%(name)s's account was removed, so this post can no longer be approved: nothing "
            "was sent. Keep it here, or delete it. If the account was removed by mistake, add "
            "it again with the same name and record the consent: the post can then be "
            "approved.",
            name=name,
        ),
    )


def taken_off(
    item_id: str,
    author: str | None,
    project_id: str,
    *,
    what: str = "post",
    action: str = "approve",
) -> AuthorTakenOffError:
    """The refusal to approve a post or comment (``what``), or to return a post
    (``action``), whose writer was taken off its project (:func:`writer`), whatever
    version was read: nothing sent, nothing changed."""
    name = author or "?"
    short = item_id[:8]
    back = (
        f"If {name} should take part again, add them back with `schoolmesh project pupils "
        f"{project_id[:8]} --add {name!r}` (or their class with --add-class), then "
    )
    if action == "return":
        return AuthorTakenOffError(
            f"{name} was taken off this project, so the post {short} is not returned to "
            "them: they can no longer change it, and nothing was changed. "
            + back
            + f"return it; otherwise keep it here, or delete it with `schoolmesh post delete "
            f"{short} --by NAME`",
            page=said(
                "%(name)s was taken off this project, so this post is not returned: they can "
                "no longer change it, and nothing was changed. Keep it here, or delete it. If "
                "they should take part again, add them back to the project first.",
                name=name,
            ),
        )
    if what == "comment":
        return AuthorTakenOffError(
            f"{name} was taken off this project, so the comment {short} cannot be approved: "
            "nothing was sent, and it stays here, seen only by staff, unless a teacher "
            f"declines and deletes it (`schoolmesh post delete {short} --by NAME`). "
            + back
            + "approve it",
            page=said(
                "%(name)s was taken off this project, so this comment cannot be approved: "
                "nothing was sent. It stays here, seen only by staff, until a teacher "
                "declines and deletes it. If they should take part again, add them back to "
                "the project: the comment can then be approved.",
                name=name,
            ),
        )
    return AuthorTakenOffError(
        f"{name} was taken off this project, so the post {short} cannot be approved: "
        "nothing was sent, and the draft stays here. "
        + back
        + f"approve it (`schoolmesh post approve {short} --by NAME`); otherwise keep it "
        f"here, or delete it with `schoolmesh post delete {short} --by NAME`",
        page=said(
            "%(name)s was taken off this project, so this post cannot be approved: nothing "
            "was sent. Keep it here, or delete it. If they should take part again, add them "
            "back to the project: the post can then be approved.",
            name=name,
        ),
    )


def refusal(
    verdict: Writer,
    item_id: str,
    author: str | None,
    project_id: str,
    *,
    what: str = "post",
    action: str = "approve",
) -> AuthorRemovedError | AuthorTakenOffError | None:
    """What approving (or returning) says for a writer standing as ``verdict``
    (:func:`writer`): None if it may go ahead."""
    if verdict is Writer.REMOVED:
        return gone(item_id, author, what=what, action=action)
    if verdict is Writer.TAKEN_OFF:
        return taken_off(item_id, author, project_id, what=what, action=action)
    return None
