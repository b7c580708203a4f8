"""The export's static site: an index, and each project blog as the node shows it.

Its own templates (node/export/templates/), not the live pages' (which need a
request, a session and the node's static files): every page stands alone, with
its style inline, photos beside it and only relative links, so that it opens
from the file system in any browser. No JavaScript, and a Content-Security-Policy
that allows none, as a second fence behind the Markdown sanitiser (node/media.py).
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
#: The archive's language: its words are English for now (docs/decisions.md).
LANGUAGE = "en"
#: The data files the index links to, with what each holds.
DATA_LABELS = {
    "school": "The school's profile",
    "offers": "Offers and requests (withdrawn ones marked)",
    "events": "Events (cancelled ones marked)",
    "interests": "Expressions of interest and arrangements",
    "observations": "Observations",
    "staff": "Staff profiles",
    "partners": "Partner schools",
    "projects": "Projects, their posts and comments",
}


def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.install_gettext_translations(  # type: ignore[attr-defined]
        i18n.translations(LANGUAGE), newstyle=True
    )
    return env


def pages(archive: Archive, *, exported_at: int, version: str) -> Iterator[tuple[str, str]]:
    """``(path inside the export folder, HTML)`` for every page of the site."""
    env = environment()
    country = str(archive.school.get("country") or "")
    clock = i18n.Clock.of(
        i18n.formats(LANGUAGE, f"{LANGUAGE}-{country}" if country else None),
        i18n.home_zone(country) if country else None,
        LANGUAGE,
    )

    def name(node_id: NodeId) -> str:
        return archive.name(node_id)

    common: dict[str, Any] = {
        "lang": i18n.tag(LANGUAGE),
        "school": archive.school,
        "exported": clock.moment(exported_at),
        "version": version,
        "me": archive.me,
        "name": name,
        "moment": clock.moment,
        "page": lambda post_id: f"{file_name(post_id)}.html",
    }
    data_files = [
        (label, FILES[kind], _count(archive.data.get(kind))) for kind, label in DATA_LABELS.items()
    ]
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


def _count(value: Any) -> int | None:
    return len(value) if isinstance(value, list) else None
