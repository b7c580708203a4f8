"""The export's static site: an index, and each project blog as the node shows it.

Its own templates (node/export/templates/), not the live pages' (which need a
request, a session and the node's static files): every page stands alone, with
its style inline, photos beside it and only relative links, so that it opens
from the file system in any browser. No JavaScript, and a Content-Security-Policy
that allows none, as a second fence behind the Markdown sanitiser (node/projects/media.py).
Pupils' text is escaped by Jinja's autoescape; post bodies are the same sanitised
HTML the live pages show.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jinja2

from node.export.collect import FILES, Archive, file_name
from node.web import i18n
from protocol.keys import NodeId

TEMPLATES = Path(__file__).parent / "templates"


def environment(language: str) -> jinja2.Environment:
    return i18n.templates(TEMPLATES, language)


def language_of(archive: Archive, chosen: str | None) -> str:
    """The archive's language: the one asked for, else the school's country's (as the
    pages choose for a visitor whose browser names none), else English."""
    return i18n.choose(chosen, None, str(archive.school.get("country") or ""))


def pages(
    archive: Archive, *, exported_at: int, version: str, language: str
) -> Iterator[tuple[str, str]]:
    """``(path inside the export folder, HTML)`` for every page of the site, in
    ``language`` (one of node.web.i18n.LANGUAGES), dates as the school's pages show them."""
    env = environment(language)
    country = str(archive.school.get("country") or "")
    clock = i18n.Clock.of(
        i18n.formats(language, f"{language}-{country}" if country else None),
        i18n.school_zone(country, archive.school.get("tz")) if country else None,
        language,
    )

    def name(node_id: NodeId) -> str:
        return archive.name(node_id)

    common: dict[str, Any] = {
        "lang": i18n.tag(language),
        "school": archive.school,
        "exported": clock.moment(exported_at),
        "version": version,
        "me": archive.me,
        "name": name,
        "moment": clock.moment,
        "page": lambda post_id: f"{file_name(post_id)}.html",
    }
    data = archive.data
    data_files = [(kind, file, _count(kind, data.get(kind))) for kind, file in FILES.items()]
    yield (
        "index.html",
        env.get_template("index.html").render(
            **common, root="", projects=archive.projects, data_files=data_files
        ),
    )
    for record in archive.projects:
        folder = f"projects/{record.folder}"
        yield (
            f"{folder}/index.html",
            env.get_template("project.html").render(**common, root="../../", record=record),
        )
        for item in record.posts:
            yield (
                f"{folder}/{file_name(item.post.id)}.html",
                env.get_template("post.html").render(
                    **common, root="../../", record=record, item=item
                ),
            )


def _count(kind: str, value: Any) -> int | None:
    if not isinstance(value, list):
        return None
    if kind == "partners":  # blocked schools are listed in the file, not counted as partners
        return sum(1 for p in value if p.get("state") == "partner")
    return len(value)
