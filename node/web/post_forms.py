"""What the project pages and the post pages share: schools' names, a post's text and photos.

Checked here before a post is written (node/projects/posts.py checks again).
"""

from __future__ import annotations

from typing import Any

from aiohttp.web_request import FileField

from node.node import Node
from node.projects.records import Project
from protocol.keys import NodeId

MAX_TITLE = 200
MAX_BODY = 20_000


async def school_names(node: Node, ids: Any) -> dict[NodeId, str]:
    """Each school's name as it publishes it (ours included); its fingerprint if unknown."""
    wanted = set(ids)
    names = {n: name for n, (name, _country) in (await node.store.schools(wanted)).items()}
    names[node.node_id] = (await node.identity()).name
    return {n: names.get(n) or n.fingerprint for n in wanted}


def uploaded_photos(form: Any) -> list[tuple[FileField, bool]]:
    """The photos chosen in a post's form, each with whether it shows faces."""
    return [
        (f, faces)
        for name, faces in (("photos", False), ("photos_faces", True))
        for f in form.getall(name, [])
        if isinstance(f, FileField) and f.filename
    ]


#: The fields where a pupil describes the photos of each box (docs/web.md).
ALT_FIELDS = {"photos": "photos_alt", "photos_faces": "photos_faces_alt"}
#: The text fields of a post's form (its photos are files, chosen again when refused).
POST_FIELDS = ("title", "body", "theme", *ALT_FIELDS.values())
MAX_ALT = 200


def photo_words(_: Any, form: Any) -> tuple[list[str | None], str | None]:
    """The description of each photo chosen, in the order of :func:`uploaded_photos`
    (None: the page's default words), and what is wrong with them, if anything.

    Each box has one description for its photos; several photos in one box share it,
    numbered ("the weir (photo 2 of 3)")."""
    alts: list[str | None] = []
    for box, field_name in ALT_FIELDS.items():
        words = " ".join(str(form.get(field_name, "")).split())
        if len(words) > MAX_ALT:
            return [], str(_("Describe your photos in up to 200 characters."))
        chosen = [f for f in form.getall(box, []) if isinstance(f, FileField) and f.filename]
        for number, _photo in enumerate(chosen, 1):
            if words and len(chosen) > 1:
                alts.append(
                    str(_("%(words)s (photo %(number)d of %(count)d)"))
                    % {"words": words, "number": number, "count": len(chosen)}
                )
            else:
                alts.append(words or None)
    return alts, None


def check_post(_: Any, project: Project, entered: dict[str, str]) -> str | None:
    """What is wrong with a post's text, in the page's words (None if nothing)."""
    title = entered["title"].strip()
    if not title or len(title) > MAX_TITLE:
        return str(_("Give your post a title (up to 200 characters)."))
    if len(entered["body"]) > MAX_BODY:
        return str(_("The post is too long: at most 20,000 characters."))
    if entered["theme"] and entered["theme"] not in project.themes:
        return str(_("Choose one of the project's themes."))
    return None
