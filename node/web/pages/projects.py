"""Partnership projects: the list, one project's blog and members, and writing a post.

Who sees what (docs/safeguarding.md, docs/web.md): staff see every project this
school has been invited to, joined or left, and choose which classes and pupils
take part (node/projects/rosters.py); a pupil sees only the projects they are in,
while this school is a member. Pupils read approved posts only, and partners'
posts only once accepted when the school reviews them (two-key publication);
:meth:`node.projects.posts.Posts.may_see` holds that rule.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from node.accounts.service import same_name
from node.clock import now_ms
from node.projects import approval
from node.projects.records import Project
from node.projects.rosters import ProjectPupils
from node.web.kit import (
    WEB,
    ShowPage,
    form_of,
    gettext,
    kept,
    page_text,
    render,
    require,
    see_other,
    user_of,
)
from node.web.post_forms import (
    MAX_TITLE,
    POST_FIELDS,
    check_post,
    photo_words,
    school_names,
    uploaded_photos,
)
from protocol import letters
from protocol.errors import NotFoundError, StorageError, UserInputError
from protocol.keys import NodeId

routes = web.RouteTableDef()

PROJECT = r"{id:[0-9a-f]{32}}"
MAX_THEMES = 12


async def project_for(request: web.Request) -> Project:
    """The project in the address, if this visitor may see it.

    Staff get a 404 for a project this school does not hold. A pupil outside the
    project gets a page that says it is not one of theirs and links to theirs: the
    same page whether it exists or not, so that it tells no one which projects do.
    """
    node = request.app[WEB].node
    user = user_of(request)
    try:
        project = await node.projects.get(request.match_info["id"])
    except NotFoundError:
        if user.is_staff:
            raise web.HTTPNotFound() from None
        raise ShowPage(_not_theirs(request)) from None
    if not user.is_staff and (
        project.standing != "member" or not await node.projects.rosters.includes(project.id, user)
    ):
        raise ShowPage(_not_theirs(request))
    return project


def _not_theirs(request: web.Request) -> web.Response:
    _ = gettext(request)
    return render(
        request,
        "error.html",
        status=404,
        title=_("Not one of your projects"),
        message=_("This project is not one of yours. If you think it should be, ask your teacher."),
        back=("/projects", _("See your projects")),
    )


@routes.get("/projects")
@require("pupil")
async def index(request: web.Request) -> web.StreamResponse:
    node = request.app[WEB].node
    projects = await node.projects.all()
    user = user_of(request)
    if not user.is_staff:
        theirs = await node.projects.rosters.projects_of(user)
        projects = [p for p in projects if p.standing == "member" and p.id in theirs]
    names = await school_names(node, {p.owner for p in projects})
    return render(request, "projects_index.html", projects=projects, owners=names, me=node.node_id)


@routes.post("/projects")
@require("staff")
async def create(request: web.Request) -> web.StreamResponse:
    _ = gettext(request)
    form = form_of(request)
    title = " ".join(str(form.get("title", "")).split())
    themes = [t.strip() for t in str(form.get("themes", "")).replace(",", "\n").splitlines()]
    themes = list(dict.fromkeys(t for t in themes if t))
    if not title or len(title) > MAX_TITLE:
        return await see_other(
            request, "/projects", _("Give the project a title (up to 200 characters)."), error=True
        )
    if len(themes) > MAX_THEMES or any(len(t) > 60 for t in themes):
        return await see_other(
            request, "/projects", _("Give at most 12 themes, each up to 60 characters."), error=True
        )
    project = await request.app[WEB].node.projects.create(title, themes, now_ms())
    return await see_other(
        request, f"/projects/{project.id}", _("Project created. Now invite partner schools.")
    )


@routes.post(f"/projects/{PROJECT}/join")
@require("staff")
async def join(request: web.Request) -> web.StreamResponse:
    _ = gettext(request)
    project = await project_for(request)
    await request.app[WEB].node.projects.join(project.id, now_ms())
    return await see_other(request, f"/projects/{project.id}", _("Our school has joined."))


@routes.post(f"/projects/{PROJECT}/leave")
@require("staff")
async def leave(request: web.Request) -> web.StreamResponse:
    _ = gettext(request)
    project = await project_for(request)
    if project.owner == request.app[WEB].node.node_id:
        return await see_other(
            request,
            f"/projects/{project.id}",
            _("Our school started this project, so it cannot leave it."),
            error=True,
        )
    await request.app[WEB].node.projects.leave(project.id, now_ms())
    return await see_other(request, "/projects", _("Our school has left the project."))


@routes.get(f"/projects/{PROJECT}")
@require("pupil")
async def project_page(request: web.Request) -> web.StreamResponse:
    node = request.app[WEB].node
    user = user_of(request)
    project = await project_for(request)
    posts = await node.projects.posts(project.id, for_pupils=not user.is_staff)
    mine = node.node_id
    if user.is_staff:
        waiting = [
            p
            for p in await node.projects.posts(project.id, states=("draft", "returned"))
            if p.origin == mine
        ]
    else:
        waiting = [
            p
            for p in await node.projects.posts(project.id, states=("draft", "returned"))
            if same_name(p.author, user.name)
        ]
    comments_waiting = await node.projects.waiting_comments(project.id) if user.is_staff else []
    names = await school_names(node, {*project.members, *(p.origin for p in posts)})
    comments = {p.id: len(await node.projects.comments(p.id)) for p in posts}
    invitable: list[tuple[NodeId, str]] = []
    if user.is_staff and project.owner == mine:
        partners = [
            p.node_id
            for p in await node.peerbook.list()
            if p.state == "partner" and project.members.get(p.node_id) != "member"
        ]
        partner_names = await school_names(node, partners)
        invitable = sorted(((n, partner_names[n]) for n in partners), key=lambda i: i[1])
    roster = await node.projects.rosters.of(project.id) if user.is_staff else None
    classes: dict[str, list[str]] = {}
    if user.is_staff:
        for person in await node.accounts.all():
            if person.role == "pupil" and person.klass:
                classes.setdefault(person.klass, []).append(person.name)
    # What waits but cannot be approved (approval.writer: the writer's account removed,
    # or the writer taken off the project) is marked so in the lists, with why.
    stuck: dict[str, str] = {}
    if user.is_staff and roster is not None:
        writers = [(p.id, p.author) for p in waiting] + [(c.id, c.author) for c in comments_waiting]
        for item, writer in writers:
            verdict = approval.writer(await node.accounts.find(writer or ""), roster)
            if verdict is not approval.Writer.TAKES_PART:
                stuck[item] = verdict.value
    feed = await node.feeds.of(user.name, project.id) if user.is_staff else None
    return render(
        request,
        "projects_project.html",
        feed_url=f"{request.url.origin()}/feeds/{feed.token}" if feed else None,
        project=project,
        posts=posts,
        waiting=waiting,
        comments_waiting=comments_waiting,
        stuck=stuck,
        names=names,
        comments=comments,
        invitable=invitable,
        roster=roster,
        classes=dict(sorted(classes.items())),
        me=mine,
    )


@routes.post(f"/projects/{PROJECT}/pupils")
@require("staff")
async def pupils(request: web.Request) -> web.StreamResponse:
    """Which classes and pupils of ours take part: the form sends the whole choice, and
    the choice its page showed (``shown``), so that only what the teacher changed is
    made (rosters.merged): a pupil another teacher took off meanwhile stays off."""
    _ = gettext(request)
    project = await project_for(request)
    form = form_of(request)
    shown = None
    if form.get("shown"):
        shown = ProjectPupils(
            tuple(str(c) for c in form.getall("shown_class", [])),
            tuple(str(p) for p in form.getall("shown_pupil", [])),
        )
    roster = await request.app[WEB].node.projects.rosters.replace(
        project.id,
        classes=[str(c) for c in form.getall("class", [])],
        pupils=[str(p) for p in form.getall("pupil", [])],
        now=now_ms(),
        shown=shown,
    )
    done = (
        _("Saved. Only the pupils ticked can see this project.")
        if roster.classes or roster.pupils
        else _("Saved. None of our pupils can see this project now.")
    )
    return await see_other(request, f"/projects/{project.id}#pupils", done)


@routes.post(f"/projects/{PROJECT}/feed")
@require("staff")
async def make_feed(request: web.Request) -> web.StreamResponse:
    """A private Atom feed of the project's posts for this member of staff, as
    ``schoolmesh feed create`` makes (node/projects/feeds.py): one live feed each."""
    _ = gettext(request)
    project = await project_for(request)
    feeds, name = request.app[WEB].node.feeds, user_of(request).name
    if await feeds.of(name, project.id) is None:
        await feeds.create(name, project.id, now_ms())
    done = _("Your private feed of this project is ready: add its address to your feed reader.")
    return await see_other(request, f"/projects/{project.id}#feed", done)


@routes.post(f"/projects/{PROJECT}/feed/stop")
@require("staff")
async def stop_feed(request: web.Request) -> web.StreamResponse:
    _ = gettext(request)
    project = await project_for(request)
    await request.app[WEB].node.feeds.revoke_own(user_of(request).name, project.id, now_ms())
    done = _("Your feed of this project is stopped: its address no longer works.")
    return await see_other(request, f"/projects/{project.id}#feed", done)


@routes.post(f"/projects/{PROJECT}/invite")
@require("staff")
async def invite(request: web.Request) -> web.StreamResponse:
    _ = gettext(request)
    project = await project_for(request)
    try:
        school = NodeId.parse(str(form_of(request).get("school", "")))
    except UserInputError:
        return await see_other(
            request, f"/projects/{project.id}", _("Choose a partner school to invite."), error=True
        )
    await request.app[WEB].node.projects.invite(project.id, school, now_ms())
    return await see_other(
        request,
        f"/projects/{project.id}",
        _("Invitation sent. The school joins once one of its staff accepts."),
    )


@routes.post(f"/projects/{PROJECT}/review")
@require("staff")
async def review(request: web.Request) -> web.StreamResponse:
    _ = gettext(request)
    project = await project_for(request)
    on = form_of(request).get("review") == "on"
    await request.app[WEB].node.projects.set_review(project.id, on)
    done = (
        _("Partners' posts now wait for one of our teachers to accept them.")
        if on
        else _("Partners' posts are now shown to our pupils straight away.")
    )
    return await see_other(request, f"/projects/{project.id}", done)


# -- writing a post ---------------------------------------------------------------------


@routes.get(f"/projects/{PROJECT}/write")
@require("pupil")
async def write_page(request: web.Request) -> web.StreamResponse:
    project = await project_for(request)
    # Refused by the node's own rules (a control character in the text), the form comes
    # back here (kit.show_again) with what was typed.
    typed = {name: kept(request, request.path, name) for name in POST_FIELDS}
    return render(request, "projects_write.html", **_write_context(project, typed))


@routes.post(f"/projects/{PROJECT}/write")
@require("pupil")
async def write(request: web.Request) -> web.StreamResponse:
    _ = gettext(request)
    node = request.app[WEB].node
    project = await project_for(request)
    form = form_of(request)
    photos = uploaded_photos(form)
    entered = {k: str(form.get(k, "")) for k in POST_FIELDS}
    alts, error = photo_words(_, form)
    error = error or check_post(_, project, entered)
    if error is None and project.standing != "member":
        error = _("Our school is not a member of this project, so no post can be written.")
    if error is None and len(photos) > letters.MAX_IMAGES:
        error = _("A post can have at most 6 photos.")
    if error is not None:
        context = _write_context(project, entered, error=error, photos_again=bool(photos))
        return render(request, "projects_write.html", status=400, **context)
    images = [(f.filename, f.file.read(), faces) for f, faces in photos]
    try:
        post = await node.projects.draft(
            project.id,
            user_of(request).name,
            entered["title"],
            entered["body"],
            theme=entered["theme"] or None,
            images=images,
            now=now_ms(),
            alts=alts,
        )
    except (UserInputError, StorageError) as exc:  # a photo it cannot use, a rule the page
        # did not check, or a full disk: what the pupil wrote is kept in the form
        error = page_text(request, exc)
        context = _write_context(project, entered, error=error, photos_again=bool(photos))
        return render(request, "projects_write.html", status=400, **context)
    return await see_other(
        request,
        f"/posts/{post.id}",
        _("Saved. A teacher will read it before anyone else can see it."),
    )


def _write_context(project: Project, entered: dict[str, str], **extra: Any) -> dict[str, Any]:
    values = {"title": "", "body": "", "theme": "", "photos_alt": "", "photos_faces_alt": ""}
    values |= entered
    return {"project": project, "values": values, "post": None, **extra}
