"""Bad input to the project and post commands, and a subject access export.

Every bad input gets one clear line (what was wrong, what to do), a non-zero exit
and leaves the database exactly as it was.
"""

from __future__ import annotations

import io
import json
import sqlite3
from contextlib import closing
from pathlib import Path

from PIL import Image

from tests.cli.test_projects_cli import cli
from tests.helpers import key, run_cli

PASSWORD = "a long password\n"


def dump(data: Path) -> list[str]:
    """The whole database as SQL, read-only: to show a command changed nothing."""
    uri = f"file:{data / 'schoolmesh.db'}?mode=ro"
    with closing(sqlite3.connect(uri, uri=True)) as db:
        return list(db.iterdump())


def refused(data: Path, *args: str, code: int, says: str) -> str:
    """Run a command that must fail with ``code`` and ``says`` in its one line, changing nothing."""
    before = dump(data)
    result = run_cli(*args, "--data", str(data))
    assert result.returncode == code, (args, result.returncode, result.stderr)
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert lines[-1].startswith("schoolmesh: error: "), result.stderr
    assert says in lines[-1], (says, lines[-1])
    assert dump(data) == before, f"{args} changed the database"
    return lines[-1]


def photo() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (32, 24), (10, 120, 60)).save(out, format="PNG")
    return out.getvalue()


def school(tmp_path: Path) -> tuple[Path, str]:
    data = tmp_path / "school"
    cli(data, "init", "--name", "Oakfield Primary", "--country", "GB")
    cli(data, "user", "add", "--role", "staff", "--name", "Ms Patel", "--password-stdin",
        stdin=PASSWORD)  # fmt: skip
    cli(data, "user", "add", "--role", "pupil", "--name", "Amira", "--class", "5B")
    project = json.loads(
        cli(data, "project", "create", "--title", "Rivers", "--theme", "rivers", "--json").stdout
    )["id"]
    cli(data, "project", "pupils", project, "--add-class", "5B")
    return data, project


def draft(data: Path, project: str, title: str, *extra: str) -> str:
    out = cli(data, "post", "draft", "--project", project, "--author", "Amira",
              "--title", title, "--body", "By the river", "--json", *extra).stdout  # fmt: skip
    return str(json.loads(out)["id"])


def test_bad_input_is_refused_clearly_and_writes_nothing(tmp_path: Path) -> None:
    data, project = school(tmp_path)
    post = draft(data, project, "Our walk")
    new_post = ("post", "draft", "--project", project, "--author", "Amira", "--title", "T",
                "--body", "B")  # fmt: skip

    # Photos: not a photo, too large, missing.
    text = tmp_path / "notes.jpg"
    text.write_text("not a photo at all")
    refused(data, *new_post, "--image", str(text), code=2, says="cannot be read as a photo")
    huge = tmp_path / "huge.png"
    with huge.open("wb") as out:
        out.write(photo())
        out.truncate(21 * 2**20)  # a real PNG header, then 21 MB
    refused(data, *new_post, "--image", str(huge), code=2, says="larger than 20 MB")
    refused(data, *new_post, "--image", str(tmp_path / "gone.jpg"), code=2,
            says="cannot read the photo")  # fmt: skip
    refused(data, *new_post, "--theme", "volcanoes", code=2, says="not one of the project's")

    # Unknown, too short and ambiguous ids of posts and projects.
    refused(data, "post", "approve", "0123456789ab", "--by", "Ms Patel", code=1,
            says="no post or comment '0123456789ab' at this school, so nothing was approved "
            "or sent")  # fmt: skip
    refused(data, "post", "approve", post[:3], "--by", "Ms Patel", code=2,
            says="give at least 6 characters")  # fmt: skip
    refused(data, "post", "list", "--project", "feedfacefeed", code=1,
            says="no project 'feedfacefeed'")  # fmt: skip
    twin = draft(data, project, "Twin")
    project_twin = json.loads(cli(data, "project", "create", "--title", "Lakes", "--json").stdout)
    with closing(sqlite3.connect(data / "schoolmesh.db")) as db, db:
        # Random ids share no prefix in practice; make two that do, as a long-lived
        # school's thousands of posts eventually will for a short prefix.
        db.execute("UPDATE posts SET id = ? WHERE id = ?", (post[:8] + twin[8:], twin))
        db.execute(
            "UPDATE projects SET id = ? WHERE id = ?",
            (project[:8] + project_twin["id"][8:], project_twin["id"]),
        )
    refused(data, "post", "approve", post[:8], "--by", "Ms Patel", code=2,
            says="matches more than one: give more of the id")  # fmt: skip
    refused(data, "post", "takedown", post[:8], code=2, says="matches more than one")
    refused(data, "post", "list", "--project", project[:8], code=2,
            says="matches more than one project: give more of the id")  # fmt: skip

    # Inviting a school that is not a partner; a node id that is not one.
    stranger = str(key(5).node_id)
    refused(data, "project", "invite", project, stranger, code=2,
            says="is not a partner school: become partners first")  # fmt: skip
    refused(data, "project", "invite", project, "not-a-node-id", code=2, says="node id")

    # A pupil passed as the teacher.
    for action in (("approve", post), ("accept", post)):
        refused(data, "post", *action, "--by", "Amira", code=1, says="only staff can do this")
    refused(data, "post", "return", post, "--by", "Amira", "--note", "Try again", code=1,
            says="only staff can do this")  # fmt: skip
    refused(data, "post", "approve", post, "--by", "Mr Nobody", code=1,
            says="no user called 'Mr Nobody'")  # fmt: skip

    # Approving twice; accepting our own post; returning an approved one.
    cli(data, "post", "approve", post, "--by", "Ms Patel")
    refused(data, "post", "approve", post, "--by", "Ms Patel", code=2,
            says="not waiting for approval: nothing was changed")  # fmt: skip
    refused(data, "post", "accept", post, "--by", "Ms Patel", code=2,
            says="only an approved post from a partner school")  # fmt: skip
    refused(data, "post", "return", post, "--by", "Ms Patel", "--note", "x", code=2,
            says="only a draft")  # fmt: skip
    # The good photo is still accepted after all that.
    good = tmp_path / "good.png"
    good.write_bytes(photo())
    draft(data, project, "With a photo", "--image", str(good))


def test_user_export_answers_a_subject_access_request(tmp_path: Path) -> None:
    data, project = school(tmp_path)
    cli(data, "user", "consent", "Amira", "--work-photos", "yes")
    good = tmp_path / "work.png"
    good.write_bytes(photo())
    sent = draft(data, project, "Sent one", "--image", str(good))
    waiting = draft(data, project, "Still a draft")
    returned = draft(data, project, "Sent back")
    gone = draft(data, project, "Taken down")
    for post in (sent, gone):
        cli(data, "post", "approve", post, "--by", "Ms Patel")
    cli(data, "post", "return", returned, "--by", "Ms Patel", "--note", "Add a picture")
    comment = json.loads(
        cli(data, "post", "comment", sent, "--author", "Amira", "--body", "I liked it",
            "--json").stdout
    )["id"]  # fmt: skip
    cli(data, "post", "takedown", gone, "--reason", "asked by parent")

    export = json.loads(cli(data, "user", "export", "amira", "--json").stdout)
    assert export["account"]["name"] == "Amira"
    assert [(p["title"], p["through"]) for p in export["projects"]] == [("Rivers", "class")]
    assert export["account"]["consent"] == {
        "name": "initials",
        "work_photos": True,
        "face_photos": False,
    }
    text = json.dumps(export)
    assert "argon2" not in text
    assert "password" not in json.dumps(export["account"])
    states = {p["id"]: p["state"] for p in export["posts"]}
    assert states == {sent: "approved", waiting: "draft", returned: "returned", gone: "removed"}
    by_id = {p["id"]: p for p in export["posts"]}
    assert by_id[returned]["teacher_note"] == "Add a picture"
    assert by_id[sent]["shown_to_partners_as"] == "A."
    [image] = by_id[sent]["images"]
    assert (image["held_back"], image["faces"]) == (False, False)
    assert image["bytes"] > 0
    assert (by_id[gone]["title"], by_id[gone]["body"]) == (None, None)
    assert by_id[gone]["takedown"]["reason"] == "asked by parent"
    assert [(c["id"], c["state"], c["body"]) for c in export["comments"]] == [
        (comment, "draft", "I liked it")
    ]
    human = cli(data, "user", "export", "Amira").stdout
    for shown in ("Posts: 4", "(content erased)", "Comments: 1"):
        assert shown in human

    # After the account is removed, the work that stays can still be found.
    cli(data, "user", "remove", "Amira")
    after = json.loads(cli(data, "user", "export", "Amira", "--json").stdout)
    assert after["account"] is None
    assert {p["id"] for p in after["posts"]} == set(states)
    refused(data, "user", "export", "Nobody", code=1, says="holds nothing about 'Nobody'")


def test_user_export_indents_the_lines_after_the_first_of_a_comment(tmp_path: Path) -> None:
    """A comment of several lines stays inside its record, as in the other listings
    (cli.commands.common.under), rather than look like the start of the next one."""
    data, project = school(tmp_path)
    post = draft(data, project, "Our walk")
    cli(data, "post", "approve", post, "--by", "Ms Patel")
    comment = json.loads(
        cli(data, "post", "comment", post, "--author", "Amira", "--body",
            "We saw herons.\n\nAnd a kingfisher!", "--json").stdout
    )["id"]  # fmt: skip
    human = cli(data, "user", "export", "Amira").stdout.splitlines()
    at = human.index(f"  {comment[:8]}  We saw herons.")
    assert human[at + 1 : at + 3] == ["", "            And a kingfisher!  [draft]"]


def test_post_revise_removes_and_adds_photos_of_a_draft_only(tmp_path: Path) -> None:
    data, project = school(tmp_path)
    files = []
    for i in range(7):
        path = tmp_path / f"photo{i}.png"
        out = io.BytesIO()
        Image.new("RGB", (32, 24), (35 * i, 120, 60)).save(out, format="PNG")
        path.write_bytes(out.getvalue())
        files.append(str(path))
    post = draft(data, project, "Our walk", "--image", files[0])
    cli(data, "post", "return", post, "--by", "Ms Patel", "--note", "A clearer photo please")
    [first] = json.loads(cli(data, "post", "list", "--project", project, "--drafts",
                             "--json").stdout)[0]["images"]  # fmt: skip
    revise = ("post", "revise", post[:8], "--author", "Amira")

    # Too many photos, not a photo, a photo the post does not have, too short a hash,
    # someone else's draft: refused, and nothing changes.
    many = [arg for f in files[1:] for arg in ("--image", f)]
    refused(data, *revise, *many, code=2, says="at most 6 photos")
    notes = tmp_path / "notes.png"
    notes.write_text("not a photo")
    refused(data, *revise, "--remove-image", first["hash"][:8], "--image", str(notes),
            code=2, says="cannot be read as a photo")  # fmt: skip
    refused(data, *revise, "--remove-image", "ffffffff", code=2, says="has no photo 'ffffffff'")
    refused(data, *revise, "--remove-image", first["hash"][:3], code=2, says="at least 6")
    refused(data, "post", "revise", post, "--author", "Ms Patel", "--remove-image",
            first["hash"], code=1, says="only the pupil who wrote")  # fmt: skip

    # Swap the photo for a photo of work and one with faces; the text stays as it was.
    changed = json.loads(
        cli(data, *revise, "--remove-image", first["hash"][:8], "--image", files[1],
            "--image-faces", files[2], "--json").stdout
    )  # fmt: skip
    assert (changed["state"], changed["title"], changed["body"]) == (
        "draft",
        "Our walk",
        "By the river",
    )
    assert [i["faces"] for i in changed["images"]] == [False, True]
    assert first["hash"] not in [i["hash"] for i in changed["images"]]
    human = cli(data, *revise, "--title", "Our river walk").stdout
    assert "waits for a teacher again" in human
    assert f"{changed['images'][1]['hash'][:12]}  (shows faces)" in human

    # Once approved, the photos have left the school: no more changes.
    cli(data, "post", "approve", post, "--by", "Ms Patel")
    refused(data, *revise, "--image", files[3], code=2, says="only drafts can be changed")
    refused(data, *revise, "--remove-image", changed["images"][0]["hash"], code=2,
            says="only drafts can be changed")  # fmt: skip


def test_an_unknown_post_for_status_says_how_to_find_the_ids(tmp_path: Path) -> None:
    data, _project = school(tmp_path)
    line = refused(data, "post", "status", "abcdef12", code=1,
                   says="no post or comment 'abcdef12' at this school")  # fmt: skip
    assert "schoolmesh post list --project PROJECT_ID" in line
    assert "schoolmesh project list" in line
