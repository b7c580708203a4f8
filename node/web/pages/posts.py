"""One post: reading it with its photos and comments, and what staff do with it.

A pupil reaches only the posts :meth:`node.projects.posts.Posts.may_see` allows, and
any other address answers "not found", so a pupil cannot even learn that another
pupil's draft exists. Approving, returning, accepting and taking down are for staff;
the node refuses anything their school may not do (a partner's draft never reaches
us; only the author school or the project's owner can take a post down).
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any, TypeVar

from aiohttp import web

from node.accounts.service import same_name
from node.clock import now_ms
from node.projects import approval
from node.projects.approval import Deletion
from node.projects.records import Comment, Post
from node.web.kit import (
    WEB,
    form_of,
    gettext,
    kept,
    kept_ticks,
    page_text,
    render,
    require,
    see_other,
    user_of,
)
from node.web.post_forms import (
    POST_FIELDS,
    check_post,
    photo_words,
    school_names,
    uploaded_photos,
)
from protocol import letters
from protocol.errors import NotFoundError, PostDeletedError, UserInputError
from protocol.keys import NodeId

T = TypeVar("T")

routes = web.RouteTableDef()

POST = r"{id:[0-9a-f]{32}}"
MAX_COMMENT = 5_000
MAX_NOTE = 2_000


async def post_for(request: web.Request) -> Post:
    """The post in the address, if the visitor may see it (404 otherwise)."""
    node = request.app[WEB].node
    try:
        post = await node.projects.post(request.match_info["id"])
    except NotFoundError:
        raise web.HTTPNotFound() from None
    if not await node.projects.may_see(user_of(request), post):
        raise web.HTTPNotFound()
    return post


@routes.get(f"/posts/{POST}")
@require("pupil")
async def post_page(request: web.Request) -> web.StreamResponse:
    node = request.app[WEB].node
    user = user_of(request)
    post = await post_for(request)
    project = await node.projects.get(post.project)
    ours = post.origin == node.node_id
    # Drafts of comments are ours only: staff see them to approve, a pupil their own.
    comments = [
        c
        for c in await node.projects.comments(post.id, states=("approved", "draft"))
        if c.state == "approved" or user.is_staff or same_name(c.author, user.name)
    ]
    deletion = await _deletion(request, post)
    context: dict[str, Any] = {
        "may_delete": deletion in (Deletion.BY_AUTHOR, Deletion.BY_STAFF),
        # Comments waiting that the visitor may delete: their own, or (staff) decline.
        "deletable_comments": {
            c.id for c in comments if await node.projects.comment_deletion(c, user) in _MAY_DELETE
        },
        "writer": approval.Writer.TAKES_PART,
        "gone_comments": {},
        "post": post,
        "project": project,
        "ours": ours,
        "comments": comments,
        "mine": ours and same_name(post.author, user.name),
        # Her own draft of a project she was taken off: never sent, hers to delete only.
        "off_project": ours
        and same_name(post.author, user.name)
        and post.state in ("draft", "returned")
        and not await node.projects.rosters.includes(post.project, user),
        "author": None,
        "delivery": None,
        "may_take_down": user.is_staff and (ours or project.owner == node.node_id),
        "owner": project.owner == node.node_id,
        "me": node.node_id,
    }
    if user.is_staff:
        if ours and post.author:
            context["author"] = await node.accounts.find(post.author)
        # A post whose writer's account was removed, or who was taken off the project,
        # is not approved: kept, or deleted by a teacher (approval.may_delete); the page
        # says so instead of Approve (approval.writer, as the approval's write judges).
        taking_part = await node.projects.rosters.of(post.project)
        if ours:
            context["writer"] = approval.writer(context["author"], taking_part)
        # So too a comment waiting whose writer stands so: why, and no Approve button.
        for c in comments:
            if c.state != "draft" or c.origin != node.node_id:
                continue
            verdict = approval.writer(await node.accounts.find(c.author or ""), taking_part)
            if verdict is not approval.Writer.TAKES_PART:
                context["gone_comments"][c.id] = verdict.value
        # The approve and return forms say which version the teacher read (approval.py):
        # of the post and the consent this page shows, not read again.
        context["version"] = approval.version(post, context["author"]) if ours else None
        if post.state in ("approved", "removed") and (ours or post.state == "removed"):
            status = await node.projects.status(post.id)
            context["delivery"] = status
    ids = {post.origin, *project.members}
    if context["delivery"]:
        ids |= {NodeId.parse(n) for n in context["delivery"]["delivered"]}
        down = context["delivery"].get("takedown") or {}
        ids |= {NodeId.parse(n) for n in [*down.get("confirmed", {}), *down.get("waiting", [])]}
        if down:
            ids.add(NodeId.parse(down["by"]))
    names = await school_names(node, ids)
    context["names"] = {str(n): name for n, name in names.items()}
    return render(request, "projects_post.html", **context)


@routes.get(f"/posts/{POST}/photos/{{hash:[0-9a-f]{{64}}}}.jpg")
@require("pupil")
async def photo(request: web.Request) -> web.StreamResponse:
    """A photo of a post the visitor may see; photos held back for consent never are."""
    post = await post_for(request)
    data = await request.app[WEB].node.projects.image(
        post.id, bytes.fromhex(request.match_info["hash"])
    )
    if data is None:
        raise web.HTTPNotFound()
    return web.Response(
        body=data,
        content_type="image/jpeg",
        headers={"Cache-Control": "private, no-store"},
    )


@routes.get(f"/posts/{POST}/approve")
@require("staff")
async def approve_form(request: web.Request) -> web.StreamResponse:
    """The approval form is on the post's page (a link for the staff's lists)."""
    post = await post_for(request)
    raise web.HTTPSeeOther(f"/posts/{post.id}#approve")


async def read_post(request: web.Request, action: str) -> tuple[Post, str]:
    """The post an approve or return form names, and the version the teacher read.

    A post gone since its page was shown (its pupil deleted the draft) is said so in
    plain words, not as a page that is not there.
    """
    read = form_of(request).get("version")
    try:
        post = await post_for(request)
    except web.HTTPNotFound:
        if read is None:
            raise
        raise approval.deleted(request.match_info["id"], None, action=action) from None
    return post, read if isinstance(read, str) else ""


async def still_there(request: web.Request, post: Post, action: str, work: Awaitable[T]) -> T:
    """``work`` (an approval or a return of ``post``, which :func:`read_post` found); if
    it finds the post gone, it was deleted in between: said so, nothing sent. The write's
    own words are kept when it said so itself (they know whether the pupil's account was
    gone, so that a teacher, not the pupil, deleted it)."""
    try:
        return await work
    except PostDeletedError:
        raise
    except NotFoundError:
        deleted = await request.app[WEB].node.projects.deleted_meanwhile(post, action)
        if deleted is not None:
            raise deleted from None
        raise  # something else was not found (the teacher's account, say)


@routes.post(f"/posts/{POST}/approve")
@require("staff")
async def approve(request: web.Request) -> web.StreamResponse:
    _ = gettext(request)
    post, read = await read_post(request, "approve")
    _id, notes = await still_there(
        request,
        post,
        "approve",
        request.app[WEB].node.projects.approve(
            post.id, user_of(request).name, now_ms(), version=read
        ),
    )
    done = _("Approved: it is on its way to the project's schools.")
    if notes:
        done += " " + _("Some of it was held back because of the pupil's consent.")
    return await see_other(request, f"/posts/{post.id}", done)


@routes.post(f"/posts/{POST}/return")
@require("staff")
async def return_(request: web.Request) -> web.StreamResponse:
    _ = gettext(request)
    post, read = await read_post(request, "return")
    note = str(form_of(request).get("note", "")).strip()
    if not note or len(note) > MAX_NOTE:
        # The page shown again for the note has the post and version as they are now:
        # a change since the page was opened must be said first, or the teacher's next
        # Approve sends what they never read. Consent too, which decides what leaves.
        node = request.app[WEB].node
        author = await node.accounts.find(post.author) if post.author else None
        ours = post.origin == node.node_id
        if ours and approval.version(post, author) != read.strip().lower():
            approval.check(read, post, author, action="return")  # the post changed
            approval.check(read, post, author, action="approve")  # only its consent
        return await see_other(
            request, f"/posts/{post.id}", _("Write a note saying what to change."), error=True
        )
    await still_there(
        request,
        post,
        "return",
        request.app[WEB].node.projects.return_(post.id, user_of(request).name, note, version=read),
    )
    return await see_other(request, f"/posts/{post.id}", _("Returned to the pupil with your note."))


@routes.post(f"/posts/{POST}/accept")
@require("staff")
async def accept(request: web.Request) -> web.StreamResponse:
    _ = gettext(request)
    post = await post_for(request)
    await request.app[WEB].node.projects.accept(post.id, user_of(request).name)
    return await see_other(request, f"/posts/{post.id}", _("Accepted: our pupils can see it now."))


@routes.post(f"/posts/{POST}/takedown")
@require("staff")
async def takedown(request: web.Request) -> web.StreamResponse:
    _ = gettext(request)
    post = await post_for(request)
    node = request.app[WEB].node
    project = await node.projects.get(post.project)
    if node.node_id not in (post.origin, project.owner):
        return await see_other(
            request,
            f"/posts/{post.id}",
            _(
                "Only the pupil's school, or the school that started the project, can take "
                "this post down: ask them."
            ),
            error=True,
        )
    reason = str(form_of(request).get("reason", "")).strip()[:200]
    await node.projects.takedown(post.id, now_ms(), reason=reason)
    return await see_other(
        request,
        f"/posts/{post.id}",
        _("Taken down here. Every school in the project has been asked to delete it."),
    )


@routes.post(f"/posts/{POST}/comments")
@require("pupil")
async def comment(request: web.Request) -> web.StreamResponse:
    _ = gettext(request)
    post = await post_for(request)
    body = str(form_of(request).get("body", "")).strip()
    if not body or len(body) > MAX_COMMENT:
        return await see_other(
            request,
            f"/posts/{post.id}",
            _("Write a comment of up to 5,000 characters."),
            error=True,
        )
    made = await request.app[WEB].node.projects.comment(
        post.id, user_of(request).name, body, now_ms()
    )
    done = (
        _("Comment saved. A teacher will read it before anyone else can see it.")
        if made.state == "draft"
        else _("Comment sent to the project's schools.")
    )
    return await see_other(request, f"/posts/{post.id}#comments", done)


async def comment_for(request: web.Request, state: str) -> tuple[Post, str]:
    """The post and the id of its comment named in the address, which must be in ``state``."""
    post = await post_for(request)
    wanted = request.match_info["comment"]
    held = await request.app[WEB].node.projects.comments(post.id, states=(state,))
    if not any(c.id == wanted for c in held):
        raise web.HTTPNotFound()
    return post, wanted


@routes.post(f"/posts/{POST}/comments/{{comment:[0-9a-f]{{32}}}}/approve")
@require("staff")
async def approve_comment(request: web.Request) -> web.StreamResponse:
    _ = gettext(request)
    post, wanted = await comment_for(request, "draft")
    await request.app[WEB].node.projects.approve(wanted, user_of(request).name, now_ms())
    return await see_other(request, f"/posts/{post.id}#comments", _("Comment approved and sent."))


@routes.post(f"/posts/{POST}/comments/{{comment:[0-9a-f]{{32}}}}/takedown")
@require("staff")
async def takedown_comment(request: web.Request) -> web.StreamResponse:
    _ = gettext(request)
    post, wanted = await comment_for(request, "approved")
    await request.app[WEB].node.projects.takedown(wanted, now_ms())
    return await see_other(
        request,
        f"/posts/{post.id}#comments",
        _("Comment taken down here and at every school in the project."),
    )


@routes.get(f"/posts/{POST}/comments/{{comment:[0-9a-f]{{32}}}}/delete")
@require("pupil")
async def delete_comment_page(request: web.Request) -> web.StreamResponse:
    """Ask before deleting a comment waiting for a teacher (a page, not a script).

    Its link was on a post's page that may have been open a while: approved meanwhile
    (to whoever could have deleted it) or deleted meanwhile, the post's page says so,
    as the form's refusal does, rather than "not found"."""
    _ = gettext(request)
    post, comment, deletion = await _comment_to_delete(request)
    if comment is None:
        return await see_other(
            request, f"/posts/{post.id}#comments", _("This comment is deleted already.")
        )
    if deletion is Deletion.NOT_WAITING:
        refused = approval.comment_not_waiting(comment.id, comment.state)
        return await see_other(
            request, f"/posts/{post.id}", page_text(request, refused), error=True
        )
    if deletion not in _MAY_DELETE:
        raise web.HTTPNotFound()
    return render(
        request,
        "comments_delete.html",
        post=post,
        comment=comment,
        by_staff=deletion is Deletion.BY_STAFF,
    )


@routes.post(f"/posts/{POST}/comments/{{comment:[0-9a-f]{{32}}}}/delete")
@require("pupil")
async def delete_comment(request: web.Request) -> web.StreamResponse:
    """Its pupil deletes a comment waiting for a teacher, or staff decline it: it was
    never sent, so nobody else is told (Comments.discard_comment)."""
    _ = gettext(request)
    post, comment, deletion = await _comment_to_delete(request)
    back = f"/posts/{post.id}#comments"
    if comment is None:  # deleted meanwhile (declined by another teacher): as asked
        return await see_other(request, back, _("This comment is deleted already."))
    if deletion is Deletion.REFUSED:
        raise web.HTTPNotFound()
    try:  # approved meanwhile: refused in the write itself, nothing deleted
        if deletion is Deletion.NOT_WAITING:
            raise approval.comment_not_waiting(comment.id, comment.state)
        await request.app[WEB].node.projects.discard_comment(comment.id, user_of(request).name)
    except UserInputError as exc:
        return await see_other(request, f"/posts/{post.id}", page_text(request, exc), error=True)
    if deletion is Deletion.BY_STAFF:
        return await see_other(
            request,
            back,
            _("The comment is declined and deleted. Nobody outside our school saw it."),
        )
    return await see_other(request, back, _("Your comment is deleted."))


_MAY_DELETE = (Deletion.BY_AUTHOR, Deletion.BY_STAFF)


async def _comment_to_delete(request: web.Request) -> tuple[Post, Comment | None, Deletion]:
    """The post in the address (404 unless the visitor may see it), its comment named
    there (None if there is none) and who the visitor is to delete it."""
    post = await post_for(request)
    node = request.app[WEB].node
    comment = await node.projects.comment_named(request.match_info["comment"])
    if comment is not None and comment.post != post.id:
        raise web.HTTPNotFound()
    if comment is None:
        return post, None, Deletion.REFUSED
    return post, comment, await node.projects.comment_deletion(comment, user_of(request))


# -- changing a draft -------------------------------------------------------------------


@routes.get(f"/posts/{POST}/edit")
@require("pupil")
async def edit_page(request: web.Request) -> web.StreamResponse:
    post = await _own_draft(request)
    node = request.app[WEB].node
    # Taken off the project, she may no longer change it (Posts.revise would refuse it,
    # and what she typed with it): said before she types.
    await node.projects.rosters.check(post.project, user_of(request))
    project = await node.projects.get(post.project)
    stored = {"title": post.title or "", "body": post.body or "", "theme": post.theme or ""}
    # Refused by the node's own rules, the form comes back here (kit.show_again) with
    # what was typed rather than what is stored.
    values: dict[str, Any] = {
        name: kept(request, request.path, name, stored.get(name, "")) for name in POST_FIELDS
    }
    values["remove"] = kept_ticks(request, request.path, "remove")  # the photos ticked
    return render(request, "projects_write.html", project=project, values=values, post=post)


@routes.post(f"/posts/{POST}/edit")
@require("pupil")
async def edit(request: web.Request) -> web.StreamResponse:
    """Save the changed text and photos (ticked ones removed, new ones added) at once."""
    _ = gettext(request)
    node = request.app[WEB].node
    post = await _own_draft(request)
    project = await node.projects.get(post.project)
    form = form_of(request)
    entered: dict[str, Any] = {k: str(form.get(k, "")) for k in POST_FIELDS}
    remove = sorted({str(v) for v in form.getall("remove", [])})
    entered["remove"] = remove
    photos = uploaded_photos(form)
    ours = {digest.hex() for digest, _faces, _held in post.images}
    alts, error = photo_words(_, form)
    error = error or check_post(_, project, entered)
    if error is None and not set(remove) <= ours:
        error = _("A photo you ticked is no longer on your post: look again and choose again.")
    if error is None and len(ours - set(remove)) + len(photos) > letters.MAX_IMAGES:
        error = _("A post can have at most 6 photos: tick some to remove, or add fewer.")
    if error is None:
        try:
            await node.projects.revise(
                post.id,
                user_of(request).name,
                entered["title"],
                entered["body"],
                theme=entered["theme"] or None,
                images=[(f.filename, f.file.read(), faces) for f, faces in photos],
                remove=remove,
                alts=alts,
            )
        except UserInputError as exc:
            if (await node.projects.post(post.id)).state not in ("draft", "returned"):
                return await see_other(
                    request,
                    f"/posts/{post.id}",
                    _("A teacher has approved your post meanwhile: it can no longer be changed."),
                    error=True,
                )
            error = page_text(request, exc)  # a photo it cannot use, or a rule not checked here
    if error is not None:  # nothing was changed: the form again, as it was filled in
        return render(
            request,
            "projects_write.html",
            status=400,
            project=project,
            values=entered,
            post=post,
            error=error,
            photos_again=bool(photos),
        )
    return await see_other(
        request, f"/posts/{post.id}", _("Saved. Your teacher will read it again.")
    )


@routes.get(f"/posts/{POST}/delete")
@require("pupil")
async def delete_page(request: web.Request) -> web.StreamResponse:
    """Ask before deleting a draft (a page, not a script)."""
    post, deletion = await _deletable(request)
    # A teacher deletes it because its writer's account was removed, or because its
    # writer was taken off the project (the account still there): said as such.
    taken_off = deletion is Deletion.BY_STAFF and bool(
        await request.app[WEB].node.accounts.find(post.author or "")
    )
    return render(
        request,
        "posts_delete.html",
        post=post,
        by_staff=deletion is Deletion.BY_STAFF,
        taken_off=taken_off,
    )


@routes.post(f"/posts/{POST}/delete")
@require("pupil")
async def delete(request: web.Request) -> web.StreamResponse:
    """The author deletes their own draft, or staff one whose author's account was
    removed: it never left the school."""
    _ = gettext(request)
    post, deletion = await _deletable(request)
    await request.app[WEB].node.projects.discard(post.id, user_of(request).name)
    if deletion is Deletion.BY_STAFF:
        return await see_other(
            request,
            f"/projects/{post.project}",
            _("The draft is deleted, with its photos. Nobody outside our school saw it."),
        )
    return await see_other(request, "/", _("Your draft is deleted, with its photos."))


async def _deletion(request: web.Request, post: Post) -> Deletion:
    """Who the visitor is to delete ``post`` (approval.may_delete)."""
    return await request.app[WEB].node.projects.deletion(post, user_of(request))


async def _deletable(request: web.Request) -> tuple[Post, Deletion]:
    """The post in the address if the visitor may delete it now (404 otherwise, as
    for a pupil who may not know the post exists)."""
    post = await post_for(request)
    deletion = await _deletion(request, post)
    if deletion not in (Deletion.BY_AUTHOR, Deletion.BY_STAFF):
        raise web.HTTPNotFound()
    return post, deletion


async def _own_draft(request: web.Request) -> Post:
    post = await post_for(request)
    if (
        not same_name(post.author, user_of(request).name)
        or post.origin != request.app[WEB].node.node_id
    ):
        raise web.HTTPNotFound()
    if post.state not in ("draft", "returned"):
        raise web.HTTPNotFound()
    return post
