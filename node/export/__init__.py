"""``schoolmesh export --out DIR``: everything the school owns, to take with it.

The folder it writes (docs/admin.md, "Exporting the school's data")::

    DIR/index.html                 the archive's front page, linking everything
    DIR/export.json                what this is: school, time, counts (the --json summary)
    DIR/data/*.json                profile, offers and requests, events, interests,
                                   observations, staff, partners, projects with posts,
                                   moderation clusters with their samples and grades
    DIR/projects/<id>/index.html   each project blog, a page per post beside it
    DIR/projects/<id>/photos/      the posts' photos

Consistent: everything but the photos' bytes is read in one read transaction, so
the files agree with each other even while the node runs and writes. The
transaction is kept short (rows only; photos are read one by one after it ends),
because a reader of an old snapshot keeps the running node from emptying its
write-ahead log (node/store/database.py, ``Store.checkpoint``). Atomic: it is written into a new
hidden folder beside DIR (mode 0700, files 0600: it holds pupils' work, like the
data folder), then renamed to DIR, so DIR is never half written. An existing DIR
with files in it is refused, unless ``force`` and it holds an earlier export
(its export.json says so): a mistyped ``--out ~/Documents --force`` must not
delete a folder the export did not write. Decisions in docs/decisions.md.

Run it in its own process (the command line), as every command is: the node's
database connection then serves this read alone.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import shutil
import sqlite3
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from node.clock import iso_ms, now_ms
from node.export import site
from node.export.collect import FILES, Archive, collect
from node.node import Node
from node.store.database import Store
from node.web import i18n
from protocol.errors import AlreadyInitialisedError, StorageError, UserInputError

FORMAT = "schoolmesh-export-v1"
#: The file that marks a folder as an export (and so one --force may replace).
MANIFEST = "export.json"


@dataclass(frozen=True, slots=True)
class Summary:
    path: Path
    school: str
    exported_at: str
    counts: dict[str, int]

    def as_json(self) -> dict[str, Any]:
        return {
            "path": str(self.path),
            "school": self.school,
            "exported_at": self.exported_at,
            "counts": self.counts,
        }


async def export(
    node: Node, out: Path, *, force: bool = False, language: str | None = None
) -> Summary:
    """Write everything ``node``'s school owns to the folder ``out``; see the module.

    ``language``: the pages' (one of node.web.i18n.LANGUAGES); by default the
    language of the school's country, else English."""
    if language is not None and language not in i18n.LANGUAGES:
        raise UserInputError(
            f"no pages in the language {language!r}: choose one of " + ", ".join(i18n.LANGUAGES)
        )
    _check_target(out, force)
    at = now_ms()
    version = _version()
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.export-", dir=out.parent))  # mode 0700
    try:
        async with one_read(node.store):
            archive = await collect(node, exported_at=at)
        photos = await _copy_photos(node, archive, tmp)
        for kind, file in FILES.items():
            _write_json(tmp / "data" / file, archive.data[kind])
        pages = 0
        shown_in = site.language_of(archive, language)
        for path, html in site.pages(archive, exported_at=at, version=version, language=shown_in):
            _write(tmp / path, html.encode())
            pages += 1
        summary = Summary(
            path=out,
            school=str(archive.school["name"]),
            exported_at=iso_ms(at),
            counts={**_counts(archive), "photos": photos, "pages": pages},
        )
        _write_json(
            tmp / MANIFEST,
            {
                "format": FORMAT,
                "school_id": archive.school["school_id"],
                "program": version,
                "language": shown_in,
                **summary.as_json(),
            },
        )
        _put_in_place(tmp, out)
    except OSError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        raise StorageError(_cannot_write(exc, out)) from exc
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return summary


async def _copy_photos(node: Node, archive: Archive, tmp: Path) -> int:
    """Write the photos :func:`collect` listed, read one at a time (each its own short
    read), after the export's read transaction; return how many files were written.

    A photo is named by its hash, so one used in two posts of a project is one file,
    written once. One that is gone by now (taken down, or consent withdrawn, since
    the snapshot) or has not arrived from its school is taken out of its post."""
    written: set[Path] = set()
    for photo in archive.photos:
        path = tmp / "projects" / photo.folder / "photos" / photo.name
        if path in written:
            continue  # the same hash: the same bytes, already there
        jpeg = await node.projects.image(photo.post, photo.digest)
        if jpeg is None:
            photo.record.photos.remove(photo.name)
            continue
        _write(path, jpeg)
        written.add(path)
    return len(written)


def _cannot_write(exc: OSError, out: Path) -> str:
    """What went wrong writing the export, and what to do, by the error's number."""
    where = _folder_of(exc, out)
    said = f"cannot write the export in {out.parent} ({exc.strerror or exc}): nothing was written. "
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return said + "Free some space on that disk or choose another folder, then export again"
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return said + (
            f"You may not write in {where}: choose a folder you can write in, or ask "
            "whoever manages that folder, then export again"
        )
    if exc.errno in (errno.EEXIST, errno.ENOTEMPTY, errno.EBUSY):
        return said + (
            f"Something else is writing in {out.parent} (or {out} is in use): make sure "
            "no other export runs there, then export again"
        )
    if exc.errno in (errno.ENAMETOOLONG,):
        return said + "Choose a folder with a shorter path, then export again"
    return said + "Check the disk and the folder, or choose another folder, then export again"


def _folder_of(exc: OSError, out: Path) -> Path:
    """The folder to name for a refused write: the one chosen for the export when it
    happened in our hidden folders beside ``out``, else the path the error names."""
    if not exc.filename:
        return out.parent
    path = Path(os.fsdecode(exc.filename))
    if path.parent == out.parent or (
        path.is_relative_to(out.parent)
        and path.relative_to(out.parent).parts[0].startswith(f".{out.name}.")
    ):
        return out.parent
    return path


@asynccontextmanager
async def one_read(store: Store) -> AsyncIterator[None]:
    """One read transaction: in WAL mode every read in it sees the database as it was
    at the first, whatever the running node commits meanwhile.

    It needs a connection of its own (the command line's, as ``schoolmesh export``
    opens): the BEGIN takes no write lock, so a write on the same connection meanwhile
    would join this transaction and be rolled back with it."""
    assert not store.write_locked(), "one_read needs its own connection: a write is under way"
    await store.execute("BEGIN")
    try:
        yield
    finally:
        # Nothing was written: this only ends the read. SQLite may have ended it
        # already (after some errors), and the error that did so is the one to show.
        with contextlib.suppress(sqlite3.OperationalError):
            await store.execute("ROLLBACK")


def _check_target(out: Path, force: bool) -> None:
    if out.exists() and not out.is_dir():
        raise UserInputError(f"{out} is a file: give the name of a folder to write the export in")
    if not out.parent.is_dir():
        raise UserInputError(f"the folder {out.parent} does not exist: create it first")
    if not os.access(out.parent, os.W_OK | os.X_OK):
        raise UserInputError(
            f"cannot write in {out.parent} (no permission): choose a folder you can write in"
        )
    if out.is_dir() and any(out.iterdir()):
        if not force:
            raise AlreadyInitialisedError(
                f"{out} already holds files: give a new or empty folder, or add --force "
                "to replace an earlier export there"
            )
        if not _is_export(out):
            raise AlreadyInitialisedError(
                f"{out} holds files but no schoolmesh export ({MANIFEST} is missing): "
                "--force only replaces an earlier export. Give a new or empty folder"
            )


def _is_export(folder: Path) -> bool:
    try:
        manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(manifest, dict) and manifest.get("format") == FORMAT


def _put_in_place(tmp: Path, out: Path) -> None:
    """Rename the finished export to ``out``; an earlier one there goes only after."""
    if out.is_dir() and any(out.iterdir()):
        old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=out.parent))
        os.replace(out, old)  # old is empty: rename replaces it
        try:
            os.rename(tmp, out)
        except OSError:
            os.replace(old, out)  # put the earlier export back
            raise
        shutil.rmtree(old, ignore_errors=True)
        return
    os.replace(tmp, out)  # a missing or empty folder is replaced


def _counts(archive: Archive) -> dict[str, int]:
    data = archive.data
    offers = data["offers"]
    events = data["events"]
    posts = [p for r in archive.projects for p in r.posts]
    return {
        "offers": sum(1 for o in offers if o["side"] == "offer" and not o["withdrawn"]),
        "requests": sum(1 for o in offers if o["side"] == "request" and not o["withdrawn"]),
        "withdrawn": sum(1 for o in offers if o["withdrawn"]),
        "events": sum(1 for e in events if e["status"] != "cancelled"),
        "cancelled_events": sum(1 for e in events if e["status"] == "cancelled"),
        "interests": len(data["interests"]),
        "observations": len(data["observations"]),
        "staff": len(data["staff"]),
        "partners": sum(1 for p in data["partners"] if p["state"] == "partner"),
        "blocked": sum(1 for p in data["partners"] if p["state"] == "blocked"),
        "projects": len(archive.projects),
        "posts": len(posts),
        "partner_posts": sum(1 for p in posts if p.post.origin != archive.me),
        "comments": sum(len(p.comments) for p in posts),
        "clusters": len(data["clusters"]),
    }


def _write_json(path: Path, value: Any) -> None:
    text = json.dumps(value, ensure_ascii=False, indent=2, default=_jsonable)
    _write(path, (text + "\n").encode())


def _jsonable(value: Any) -> Any:
    """Bytes in another school's content (fields this version does not know), as
    `--json` writes them (cli/commands/common.py)."""
    if isinstance(value, bytes):
        return {"$bin": value.hex()}
    raise TypeError(f"{type(value).__name__} has no JSON form")


def _write(path: Path, data: bytes) -> None:
    """A new file, readable by its owner only, in folders of the same."""
    _folder(path.parent)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
    finally:
        os.close(fd)
    with contextlib.suppress(OSError):  # a disk without modes (FAT): nothing to narrow
        os.chmod(path, 0o600)


def _folder(path: Path) -> None:
    """``path`` and any folder above it that is missing, each made with mode 0700
    (``mkdir(parents=True)`` would make the ones above with the umask's mode)."""
    if path.is_dir():
        return
    _folder(path.parent)
    path.mkdir(mode=0o700)


def _version() -> str:
    try:
        return metadata.version("schoolmesh")
    except metadata.PackageNotFoundError:
        return "unknown"
