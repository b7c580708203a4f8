"""Moderation clusters (node/clusters/service.py): staff only.

The list of clusters with a form to make one with partner schools (a cluster
another school made is an invitation, accepted or declined there and on its
page); a cluster's page with its schools and samples, the form to share a sample (which says that
pupils' names must not appear), a grade form per sample, and, once our school
has graded a sample, every school's grade side by side.
"""

from __future__ import annotations

from aiohttp import web
from aiohttp.web_request import FileField

from node.clock import now_ms
from node.clusters.files import MAX_UPLOAD_BYTES
from node.clusters.service import MAX_COMMENT, MAX_GRADE, Cluster
from node.web.kit import WEB, form_of, gettext, page_text, render, require, see_other
from node.web.post_forms import school_names
from protocol.errors import NotFoundError, UserInputError

routes = web.RouteTableDef()

CLUSTER = "{cluster:[0-9a-f]{32}}"
SAMPLE = "{sample:[0-9a-f]{32}}"


async def _partners(request: web.Request) -> list[tuple[str, str]]:
    """Our partner schools as (node id, name), by name."""
    node = request.app[WEB].node
    ids = [p.node_id for p in await node.peerbook.list() if p.state == "partner"]
    names = await school_names(node, ids)
    return sorted(((str(i), names[i]) for i in ids), key=lambda p: p[1].casefold())


@routes.get("/clusters")
@require("staff")
async def clusters_page(request: web.Request) -> web.StreamResponse:
    node = request.app[WEB].node
    return render(
        request,
        "clusters_index.html",
        clusters=await node.clusters.all(),
        partners=await _partners(request),
    )


@routes.post("/clusters")
@require("staff")
async def create(request: web.Request) -> web.StreamResponse:
    _ = gettext(request)
    form = form_of(request)
    schools = [v for v in form.getall("school", []) if isinstance(v, str)]
    try:
        made = await request.app[WEB].node.clusters.create(
            str(form.get("title", "")), schools, now=now_ms()
        )
    except UserInputError as exc:
        return await see_other(request, "/clusters", page_text(request, exc), error=True)
    return await see_other(
        request,
        f"/clusters/{made.id}",
        _("The cluster is made: the schools receive it when they next connect."),
    )


async def _cluster(request: web.Request) -> Cluster:
    try:
        return await request.app[WEB].node.clusters.get(request.match_info["cluster"])
    except (NotFoundError, UserInputError):
        raise web.HTTPNotFound() from None


@routes.get(f"/clusters/{CLUSTER}")
@require("staff")
async def cluster_page(request: web.Request) -> web.StreamResponse:
    cluster = await _cluster(request)
    view = await request.app[WEB].node.clusters.show(cluster.id)
    return render(
        request,
        "clusters_show.html",
        cluster=view.cluster,
        samples=view.samples,
        max_grade=MAX_GRADE,
        max_comment=MAX_COMMENT,
        max_mb=MAX_UPLOAD_BYTES // 2**20,
    )


@routes.post(f"/clusters/{CLUSTER}/accept")
@require("staff")
async def accept(request: web.Request) -> web.StreamResponse:
    _ = gettext(request)
    cluster = await _cluster(request)
    here = f"/clusters/{cluster.id}"
    try:
        await request.app[WEB].node.clusters.accept(cluster.id, now=now_ms())
    except UserInputError as exc:
        return await see_other(request, here, page_text(request, exc), error=True)
    return await see_other(
        request, here, _("Our school has accepted: share samples and give grades.")
    )


@routes.post(f"/clusters/{CLUSTER}/leave")
@require("staff")
async def leave(request: web.Request) -> web.StreamResponse:
    _ = gettext(request)
    cluster = await _cluster(request)
    try:
        await request.app[WEB].node.clusters.leave(cluster.id, now=now_ms())
    except UserInputError as exc:
        return await see_other(
            request, f"/clusters/{cluster.id}", page_text(request, exc), error=True
        )
    return await see_other(
        request,
        "/clusters",
        _("Our school left the cluster: its samples and grades are erased here."),
    )


@routes.post(f"/clusters/{CLUSTER}/samples")
@require("staff")
async def share(request: web.Request) -> web.StreamResponse:
    _ = gettext(request)
    cluster = await _cluster(request)
    here = f"/clusters/{cluster.id}"
    form = form_of(request)
    chosen = form.get("file")
    if not isinstance(chosen, FileField) or not chosen.filename:
        return await see_other(
            request, here, _("Choose the file of the work: a PDF, JPEG or PNG."), error=True
        )
    try:
        await request.app[WEB].node.clusters.share(
            cluster.id,
            chosen.file.read(MAX_UPLOAD_BYTES + 1),
            title=str(form.get("title", "")),
            name=chosen.filename,
            now=now_ms(),
        )
    except UserInputError as exc:
        return await see_other(request, here, page_text(request, exc), error=True)
    return await see_other(
        request,
        here,
        _("The sample is shared with the cluster's schools, its hidden details removed."),
    )


@routes.post(f"/clusters/samples/{SAMPLE}/grade")
@require("staff")
async def grade(request: web.Request) -> web.StreamResponse:
    _ = gettext(request)
    node = request.app[WEB].node
    try:
        sample = await node.clusters.sample(request.match_info["sample"])
    except (NotFoundError, UserInputError):
        raise web.HTTPNotFound() from None
    here = f"/clusters/{sample.cluster}"
    form = form_of(request)
    try:
        await node.clusters.grade(
            sample.id, str(form.get("grade", "")), str(form.get("comment", "")), now=now_ms()
        )
    except UserInputError as exc:
        return await see_other(request, here, page_text(request, exc), error=True)
    return await see_other(
        request,
        f"{here}#sample-{sample.id}",
        _("Our grade is given. Each school sees it once it has given its own."),
    )


@routes.get(f"/clusters/samples/{SAMPLE}/file")
@require("staff")
async def sample_file(request: web.Request) -> web.StreamResponse:
    """The sample's file, for reading: an image shown in the page, a PDF downloaded."""
    try:
        kind, data = await request.app[WEB].node.clusters.file(request.match_info["sample"])
    except (NotFoundError, UserInputError):
        raise web.HTTPNotFound() from None
    name = f"sample-{request.match_info['sample'][:8]}"
    headers = {"Cache-Control": "private, no-store"}
    if kind == "application/pdf":
        headers["Content-Disposition"] = f'attachment; filename="{name}.pdf"'
    return web.Response(body=data, content_type=kind, headers=headers)
