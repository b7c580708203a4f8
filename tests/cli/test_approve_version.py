"""`post approve --version`: a teacher approves what they read, from the command line
(docs/admin.md, "Posts, approval and two-key publication"). Each refusal says what
was wrong and what to do, exits non-zero and changes nothing."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from node.node import Node
from tests.cli.test_projects_bad_input import draft, refused, school
from tests.cli.test_projects_cli import cli


def discard(data: Path, post: str) -> None:
    """The pupil deletes the draft (as the web page's Delete or `post delete` does)."""

    async def run() -> None:
        async with await Node.open(data) as node:
            await node.projects.discard(post, "Amira")

    asyncio.run(run())


def shown(data: Path, post: str) -> dict[str, object]:
    row: dict[str, object] = json.loads(cli(data, "post", "show", post, "--json").stdout)
    return row


def test_a_post_changed_after_it_was_read_is_refused_and_stays_a_draft(tmp_path: Path) -> None:
    data, project = school(tmp_path)
    post = draft(data, project, "Our walk")
    read = shown(data, post)
    version = str(read["version"])
    assert len(version) == 16
    # The same version in `post list --drafts` (text and --json) and `post show`.
    drafts = ("post", "list", "--project", project, "--drafts")
    listed = json.loads(cli(data, *drafts, "--json").stdout)
    assert [row["version"] for row in listed] == [version]
    assert f"version {version}" in cli(data, *drafts).stdout
    text = cli(data, "post", "show", post[:8]).stdout
    assert f"Version: {version}" in text
    assert "By the river" in text
    assert f"--version {version}" in text

    cli(data, "post", "revise", post, "--author", "Amira", "--body", "I live at 1 High St")
    line = refused(data, "post", "approve", post[:8], "--by", "Ms Patel", "--version", version,
                   code=2, says="Amira changed this post after you read it")  # fmt: skip
    assert "nothing was changed" in line
    assert f"schoolmesh post show {post[:8]}" in line
    refused(data, "post", "return", post[:8], "--by", "Ms Patel", "--note", "Shorter please",
            "--version", version, code=2, says="Amira changed this post")  # fmt: skip

    again = str(shown(data, post)["version"])
    assert again != version
    out = cli(data, "post", "approve", post[:8], "--by", "Ms Patel", "--version", again).stdout
    assert out.startswith(f"Approved {post}")
    assert shown(data, post)["state"] == "approved"


def test_approve_without_a_version_keeps_its_contract(tmp_path: Path) -> None:
    data, project = school(tmp_path)
    post = draft(data, project, "Our walk")
    out = cli(data, "post", "approve", post, "--by", "Ms Patel").stdout
    assert out.startswith(f"Approved {post}: it is on its way to the member schools.")


def test_each_refusal_of_post_approve_says_what_was_wrong_and_what_to_do(tmp_path: Path) -> None:
    data, project = school(tmp_path)
    post = draft(data, project, "Our walk")
    gone = draft(data, project, "Deleted")
    cli(data, "post", "revise", gone, "--author", "Amira", "--title", "Deleted soon")

    # No such post: mistyped or deleted, and where the ids are.
    line = refused(data, "post", "approve", "0123456789ab", "--by", "Ms Patel", code=1,
                   says="no post or comment '0123456789ab' at this school")  # fmt: skip
    assert "nothing was approved or sent" in line
    assert "schoolmesh post list --project PROJECT_ID --drafts" in line
    assert "schoolmesh project list" in line

    # Already approved: by whom, and what can still be done.
    cli(data, "post", "approve", post, "--by", "Ms Patel")
    line = refused(data, "post", "approve", post, "--by", "Ms Patel", code=2,
                   says="not waiting for approval: nothing was changed")  # fmt: skip
    assert "Ms Patel already approved it on " in line
    assert f"schoolmesh post status {post[:8]}" in line
    assert f"schoolmesh post takedown {post[:8]}" in line

    # Taken down.
    cli(data, "post", "takedown", post)
    line = refused(data, "post", "approve", post, "--by", "Ms Patel", code=2,
                   says="it was taken down")  # fmt: skip
    assert f"schoolmesh post status {post[:8]}" in line

    # A version that is not the post's.
    line = refused(data, "post", "return", gone, "--by", "Ms Patel", "--note", "x",
                   "--version", "0" * 16, code=2, says="Amira changed this post")  # fmt: skip


def test_a_deleted_post_is_said_to_be_deleted_with_nothing_sent(tmp_path: Path) -> None:
    data, project = school(tmp_path)
    post = draft(data, project, "Our walk")
    version = str(shown(data, post)["version"])
    cli(data, "post", "revise", post, "--author", "Amira", "--title", "Our walk")
    discard(data, post)
    for action in ("approve", "return"):
        extra = ("--note", "More please") if action == "return" else ()
        line = refused(data, "post", action, post, "--by", "Ms Patel", "--version", version,
                       *extra, code=1, says="nothing was")  # fmt: skip
        assert "the pupil who wrote the draft deleted it" in line
        assert "or sent" in line


def test_a_pupil_removed_after_the_post_was_read_is_said_with_what_to_do(tmp_path: Path) -> None:
    """`user remove` between `post show` and `post approve --version`: the refusal says
    the account was removed and nothing was sent, and what to run; exit code 2 as for a
    changed post, and `post show --json` keeps its keys for a post without an account."""
    data, project = school(tmp_path)
    post = draft(data, project, "Our walk")
    read = shown(data, post)
    version = str(read["version"])
    cli(data, "user", "remove", "Amira")
    line = refused(data, "post", "approve", post[:8], "--by", "Ms Patel", "--version", version,
                   code=2, says="Amira's account was removed after you read this post")  # fmt: skip
    assert "so nothing was sent" in line
    assert "schoolmesh user add --role pupil --name 'Amira' --class CLASS" in line
    assert f"schoolmesh post show {post[:8]}" in line
    assert "changed this post" not in line
    line = refused(data, "post", "return", post[:8], "--by", "Ms Patel", "--note", "More",
                   "--version", version, code=2, says="so it was not returned")  # fmt: skip
    now = shown(data, post)
    assert set(now) == set(read)
    assert now["state"] == "draft"
