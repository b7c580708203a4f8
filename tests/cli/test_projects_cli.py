"""The accounts, project and post commands as school IT staff script them."""

from __future__ import annotations

import json
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import aiohttp
import feedparser

from node.clock import now_ms
from node.projects.media import render_markdown
from tests.helpers import SCHOOLMESH, run_cli
from tests.network import LiveNode

HOSTILE = (
    "Hello <script>alert(1)</script> [click](javascript:alert(2)) "
    '<img src=x onerror="alert(3)"> <a href="#" onclick="alert(4)">x</a>'
)


def cli(data: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    if stdin is None:
        result = run_cli(*args, "--data", str(data))
    else:
        result = subprocess.run(
            [SCHOOLMESH, *args, "--data", str(data)],
            input=stdin,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert result.returncode == 0, result.stderr
    return result


def test_accounts_projects_and_posts_from_the_command_line(tmp_path: Path) -> None:
    data = tmp_path / "school"
    cli(data, "init", "--name", "Oakfield Primary", "--country", "GB")
    cli(data, "user", "add", "--role", "staff", "--name", "Ms Patel", "--password-stdin",
        stdin="a long password\n")  # fmt: skip
    made = cli(data, "user", "add", "--role", "pupil", "--name", "Amira", "--class", "5B")
    assert "Password (shown once):" in made.stdout
    users = json.loads(cli(data, "user", "list", "--json").stdout)
    pupil = next(u for u in users if u["name"] == "Amira")
    assert pupil == {
        "name": "Amira",
        "role": "pupil",
        "class": "5B",
        "consent": {"name": "initials", "work_photos": False, "face_photos": False},
        "created_at": pupil["created_at"],
    }
    # A pupil without a class, a pupil approving: clear refusals.
    no_class = run_cli("user", "add", "--role", "pupil", "--name", "Sam", "--data", str(data))
    assert no_class.returncode == 2  # a wrong value given: exit 2, as for usage errors
    assert "--class" in no_class.stderr

    project = json.loads(
        cli(data, "project", "create", "--title", "Rivers", "--theme", "rivers", "--json").stdout
    )["id"]
    cli(data, "project", "pupils", project, "--add", "Amira")
    draft = json.loads(
        cli(data, "post", "draft", "--project", project, "--author", "Amira",
            "--title", "Our walk", "--body", HOSTILE, "--json").stdout
    )  # fmt: skip
    assert draft["state"] == "draft"
    assert "<script" not in draft["html"]
    refused = run_cli("post", "approve", draft["id"], "--by", "Amira", "--data", str(data))
    assert refused.returncode == 1
    assert "only staff" in refused.stderr
    assert json.loads(cli(data, "post", "list", "--project", project, "--json").stdout) == []
    cli(data, "post", "approve", draft["id"][:8], "--by", "Ms Patel")
    listed = json.loads(cli(data, "post", "list", "--project", project, "--json").stdout)
    assert [p["id"] for p in listed] == [draft["id"]]
    assert listed[0]["author"] == "A."

    down = json.loads(cli(data, "post", "takedown", draft["id"], "--json").stdout)
    assert down["state"] == "removed"
    assert down["takedown"]["waiting"] == []
    status = json.loads(cli(data, "post", "status", draft["id"][:8], "--json").stdout)
    assert status["takedown"]["by"] == down["school_id"]


class Elements(HTMLParser):
    """Every element and attribute a browser would build from some HTML."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.attributes: list[tuple[str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attributes.extend(attrs)


def test_hostile_markdown_renders_harmless() -> None:
    html = render_markdown(HOSTILE + "\n\n**bold** [site](https://example.org)")
    seen = Elements()
    seen.feed(html)
    assert set(seen.tags) <= {"p", "strong", "a"}, seen.tags
    assert not [name for name, _ in seen.attributes if name.startswith("on")]
    hrefs = [value for name, value in seen.attributes if name == "href"]
    assert hrefs == ["https://example.org"]
    assert "<strong>bold</strong>" in html


async def test_private_feed_parses_and_can_be_revoked(tmp_path: Path) -> None:
    school = await LiveNode.start(tmp_path / "school", "Oakfield", country="GB")
    try:
        node = school.node
        await node.accounts.add("Ms Patel", "staff", "a long password", klass=None, now=now_ms())
        project = await node.projects.create("Rivers", [], now_ms())
        post = await node.projects.draft(
            project.id, "Ms Patel", "Walk", "By the *river*", theme=None, images=[], now=now_ms()
        )
        await node.projects.approve(post.id, "Ms Patel", now_ms())
        feed = await node.feeds.create("Ms Patel", project.id, now_ms())
        url = f"{school.address}/feeds/{feed.token}"
        async with aiohttp.ClientSession() as client:
            async with client.get(url) as response:
                assert response.status == 200
                assert response.content_type == "application/atom+xml"
                body = await response.read()
            parsed = feedparser.parse(body)
            assert not parsed.bozo, parsed.bozo_exception
            assert parsed.feed.title == "Rivers"
            assert [e.title for e in parsed.entries] == ["Walk"]
            assert "<em>river</em>" in parsed.entries[0].content[0].value
            await node.feeds.revoke(feed.token, now_ms())
            async with client.get(url) as response:
                assert response.status == 404
    finally:
        await school.stop()


def test_project_pupils_are_listed_added_and_removed(tmp_path: Path) -> None:
    data = tmp_path / "school"
    cli(data, "init", "--name", "Oakfield Primary", "--country", "GB")
    for name, klass in (("Amira", "5B"), ("Ben", "6A")):
        cli(data, "user", "add", "--role", "pupil", "--name", name, "--class", klass)
    project = json.loads(cli(data, "project", "create", "--title", "Rivers", "--json").stdout)["id"]

    assert "None of our pupils take part" in cli(data, "project", "pupils", project).stdout
    listed = cli(data, "project", "pupils", project, "--add-class", "5b", "--add", "ben", "--json")
    assert json.loads(listed.stdout) == {"project": project, "classes": ["5B"], "pupils": ["Ben"]}
    text = cli(data, "project", "pupils", project).stdout
    assert "class 5B (all of it)" in text
    assert "Ben" in text

    # A typo is refused with the reason and changes nothing.
    for args, says in (
        (("--remove", "Benn"), "--remove 'benn': that pupil is not in the project"),
        (("--add-class", "5C"), "no pupil of this school is in class '5C'"),
    ):
        refused = run_cli("project", "pupils", project, *args, "--data", str(data))
        assert (refused.returncode, refused.stdout) == (2, ""), refused.stderr
        assert says in refused.stderr
    removed = cli(data, "project", "pupils", project, "--remove", "Ben", "--json").stdout
    assert json.loads(removed) == {"project": project, "classes": ["5B"], "pupils": []}
