"""`post delete` and `post takedown` of a comment waiting for a teacher (docs/admin.md,
"Comments"): its pupil deletes it, a teacher declines it, another pupil may not, an
approved one is refused with the takedown command; a takedown of one deletes it and
sends nothing. On a real data folder, in a subprocess."""

from __future__ import annotations

import json
import sqlite3
from contextlib import closing
from pathlib import Path

from tests.cli.test_projects_bad_input import refused, school
from tests.cli.test_projects_cli import cli


def comments(data: Path, post: str, *bodies: str) -> list[str]:
    made = []
    for body in bodies:
        out = cli(data, "post", "comment", post[:8], "--author", "Amira", "--body", body,
                  "--json").stdout  # fmt: skip
        found = json.loads(out)
        assert found["state"] == "draft"
        made.append(str(found["id"]))
    return made


def rows(data: Path, sql: str) -> list[tuple[object, ...]]:
    with closing(sqlite3.connect(f"file:{data / 'schoolmesh.db'}?mode=ro", uri=True)) as db:
        return list(db.execute(sql))


def test_a_waiting_comment_is_deleted_by_its_pupil_or_declined_by_a_teacher(
    tmp_path: Path,
) -> None:
    data, project = school(tmp_path)
    cli(data, "user", "add", "--role", "pupil", "--name", "Ben", "--class", "5B")
    post = json.loads(
        cli(
            data,
            "post",
            "draft",
            "--project",
            project,
            "--author",
            "Ms Patel",
            "--title",
            "Trip",
            "--body",
            "The bus leaves at 9.",
            "--json",
        ).stdout
    )["id"]
    cli(data, "post", "approve", post[:8], "--by", "Ms Patel")
    mine, declined, sent, taken, taken_json = comments(data, post, "Yay!", "1 High St.",
                                                      "See you!", "Bye", "Hi")  # fmt: skip

    refused(data, "post", "delete", mine[:8], "--by", "Ben",
            code=1, says="only the pupil who wrote a comment")  # fmt: skip
    out = cli(data, "post", "delete", mine[:8], "--by", "Amira").stdout
    assert out == f"Deleted Amira's comment {mine}: it never left the school.\n"
    out = cli(data, "post", "delete", declined[:8], "--by", "Ms Patel").stdout
    assert out.startswith(f"Declined and deleted Amira's comment {declined}: it never left")
    assert "nothing was sent to anyone" in out
    refused(data, "post", "delete", mine[:8], "--by", "Amira",
            code=1, says=f"no post or comment '{mine[:8]}' at this school")  # fmt: skip

    cli(data, "post", "approve", sent[:8], "--by", "Ms Patel")
    line = refused(data, "post", "delete", sent[:8], "--by", "Amira",
                   code=2, says="approved and sent to the member schools")  # fmt: skip
    assert f"`schoolmesh post takedown {sent[:8]} --reason REASON`" in line

    # A takedown of one still waiting: deleted here, no takedown (nor its reason) anywhere.
    out = cli(data, "post", "takedown", taken[:8], "--reason", "an address").stdout
    assert out.startswith(f"Deleted {taken} here: it was a comment waiting for a teacher")
    assert "nothing was sent to any school" in out
    done = json.loads(cli(data, "post", "takedown", taken_json[:8], "--json").stdout)
    # The fields a takedown's --json has (scripts read them): nobody asked, nobody waited for.
    assert done == {"id": taken_json, "project": project, "school_id": done["school_id"],
                    "state": "removed", "delivered": {}, "sent": False,
                    "takedown": {"by": done["school_id"], "at": done["takedown"]["at"],
                                 "reason": None, "asked": False, "confirmed": {},
                                 "waiting": []}}  # fmt: skip
    assert rows(data, "SELECT target FROM takedowns") == []
    left = rows(data, "SELECT id, state FROM comments ORDER BY created_at")
    assert left == [(sent, "approved")]
    # An approved comment is taken down as ever.
    out = cli(data, "post", "takedown", sent[:8]).stdout
    assert out.startswith(f"Taken down {sent} here; asked every member school to delete it.")
    assert rows(data, "SELECT target FROM takedowns") == [(sent,)]


def test_the_refusal_names_a_command_that_lists_a_waiting_comment_s_id(
    tmp_path: Path,
) -> None:
    """The words for an id not found said the waiting comments' ids were listed by
    `post list --drafts --json`: that lists draft posts (and their approved comments),
    and a comment waits on an approved post, so its id was never there."""
    data, project = school(tmp_path)
    post = json.loads(cli(data, "post", "draft", "--project", project, "--author", "Ms Patel",
                          "--title", "Trip", "--body", "At 9.", "--json").stdout)["id"]  # fmt: skip
    cli(data, "post", "approve", post[:8], "--by", "Ms Patel")
    (waiting,) = comments(data, post, "Yay!")
    assert waiting not in cli(data, "post", "list", "--project", project, "--drafts",
                              "--json").stdout  # fmt: skip
    line = refused(data, "post", "delete", "0" * 8, "--by", "Ms Patel",
                   code=1, says="no post or comment '00000000' at this school")  # fmt: skip
    assert "--drafts" not in line
    assert "`schoolmesh user export NAME`" in line
    listed = cli(data, "user", "export", "Amira").stdout
    assert f"  {waiting[:8]}  Yay!  [draft]" in listed
