"""`post approve`, `post return` and `post delete` with a draft whose pupil was taken off
the project (docs/admin.md, "Posts, approval and two-key publication"): refused with
what to do, nothing sent or changed; a teacher deletes the draft; on a real data
folder, in a subprocess."""

from __future__ import annotations

from pathlib import Path

from tests.cli.test_projects_bad_input import draft, refused, school
from tests.cli.test_projects_cli import cli


def test_a_pupil_taken_off_has_their_draft_refused_then_approved_once_added_back(
    tmp_path: Path,
) -> None:
    data, project = school(tmp_path)
    post = draft(data, project, "Our walk")
    kept = draft(data, project, "Our pond")
    assert "Approve exactly this" in cli(data, "post", "show", post[:8]).stdout
    cli(data, "project", "pupils", project, "--remove-class", "5B")
    # `post show` no longer gives the approve command, which would be refused: why instead.
    shown = cli(data, "post", "show", post[:8]).stdout
    assert "Approve exactly this" not in shown, shown
    assert "Amira was taken off this project, so the post" in shown, shown
    line = refused(data, "post", "approve", post[:8], "--by", "Ms Patel",
                   code=2, says="Amira was taken off this project, so the post")  # fmt: skip
    assert "nothing was sent" in line
    assert f"schoolmesh project pupils {project[:8]} --add 'Amira'" in line
    assert f"schoolmesh post delete {post[:8]} --by NAME" in line
    refused(data, "post", "return", post[:8], "--by", "Ms Patel", "--note", "More",
            code=2, says="Amira was taken off this project, so the post")  # fmt: skip

    out = cli(data, "post", "delete", kept[:8], "--by", "Ms Patel").stdout
    assert out == f"Deleted {kept} with its photos and comments: it never left the school.\n"

    cli(data, "project", "pupils", project[:8], "--add", "Amira")  # as the words say
    refused(data, "post", "delete", post[:8], "--by", "Ms Patel",
            code=1, says="only the pupil who wrote a draft can delete it")  # fmt: skip
    assert "approved" in cli(data, "post", "approve", post[:8], "--by", "Ms Patel").stdout.lower()
