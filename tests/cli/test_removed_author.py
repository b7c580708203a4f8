"""`post approve` and `post delete` with a post whose pupil's account was removed
(docs/admin.md, "Posts, approval and two-key publication"): approval refused, nothing
sent; a teacher deletes the draft, nobody else; on a real data folder, in a subprocess."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli.test_projects_bad_input import draft, refused, school
from tests.cli.test_projects_cli import cli


def test_a_removed_pupil_s_draft_is_not_approved_and_a_teacher_deletes_it(
    tmp_path: Path,
) -> None:
    data, project = school(tmp_path)
    cli(data, "user", "add", "--role", "pupil", "--name", "Ben", "--class", "5B")
    post = draft(data, project, "Our walk")
    version = json.loads(cli(data, "post", "show", post, "--json").stdout)["version"]
    # Hers while her account exists: staff may not delete it, Ben neither.
    for who in ("Ms Patel", "Ben"):
        refused(data, "post", "delete", post[:8], "--by", who,
                code=1, says="only the pupil who wrote a draft can delete it")  # fmt: skip

    cli(data, "user", "remove", "Amira")
    line = refused(data, "post", "approve", post[:8], "--by", "Ms Patel",
                   code=2, says="Amira's account was removed, so the post")  # fmt: skip
    assert "nothing was sent" in line
    assert f"schoolmesh post delete {post[:8]} --by NAME" in line
    refused(data, "post", "approve", post[:8], "--by", "Ms Patel", "--version", version,
            code=2, says="Amira's account was removed after you read this post")  # fmt: skip
    refused(data, "post", "delete", post[:8], "--by", "Ben",
            code=1, says="only the pupil who wrote a draft can delete it")  # fmt: skip

    out = cli(data, "post", "delete", post[:8], "--by", "Ms Patel").stdout
    assert out == f"Deleted {post} with its photos and comments: it never left the school.\n"
    refused(data, "post", "show", post, code=1, says="no post")


def test_an_approved_post_is_not_deleted_only_taken_down(tmp_path: Path) -> None:
    data, project = school(tmp_path)
    post = draft(data, project, "Sent")
    cli(data, "post", "approve", post, "--by", "Ms Patel")
    refused(data, "post", "delete", post[:8], "--by", "Amira",
            code=2, says="no longer a draft")  # fmt: skip
    cli(data, "user", "remove", "Amira")
    refused(data, "post", "delete", post[:8], "--by", "Ms Patel",
            code=2, says="only a takedown recalls it")  # fmt: skip
