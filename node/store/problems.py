"""What SQLite met, in the school's words: storage problems and the restored node's refusal.

SQLite's result codes are read here (a damaged file, a full disk, other I/O errors)
and turned into :class:`~protocol.errors.StorageError` (or
:class:`~protocol.errors.DiskFullError`) with the words a page shows and what to do;
the report file that marks a database damaged is read here
(node/store/database.py writes it). A full disk is not damage: see the docstring of
node/store/database.py.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from protocol.errors import DiskFullError, RestoredError, StorageError, said

#: SQLite's primary result codes for a damaged file: SQLITE_CORRUPT and SQLITE_NOTADB
#: (the extended codes, such as SQLITE_CORRUPT_VTAB, keep them in the low byte).
_DAMAGE_CODES = frozenset({11, 26})
SQLITE_IOERR = 10
SQLITE_FULL = 13
SQLITE_CANTOPEN = 14
#: What SQLite says when a disk runs out of room: SQLITE_FULL, or, when even a
#: temporary or shared-memory file cannot be made, an I/O error or "unable to open".
DISK_CODES = frozenset({SQLITE_IOERR, SQLITE_FULL, SQLITE_CANTOPEN})
#: Less room than this for an ordinary account, and an I/O error is a full disk.
NEARLY_FULL_BYTES = 1024 * 1024

DISK_FULL_PAGE = said(
    "The disk that holds this school's data is full, so this was not saved. "
    "Nothing was lost: ask your IT staff to free some space, then try again."
)
DAMAGED_PAGE = said(
    "This school's data is damaged, so nothing more is saved until it is "
    "repaired. Ask your IT staff: what was saved before is kept."
)
DISK_PROBLEM_PAGE = said(
    "This school's data could not be read or written just now. Nothing was "
    "saved: try again in a few minutes, or ask your IT staff."
)


def error_code(exc: sqlite3.Error) -> int | None:
    code = getattr(exc, "sqlite_errorcode", None)
    return None if code is None else int(code) & 0xFF


def is_damage(exc: sqlite3.Error) -> bool:
    """True for SQLite's "database disk image is malformed" and its kin."""
    return error_code(exc) in _DAMAGE_CODES


def free_bytes(folder: Path) -> int | None:
    """Room left on the disk holding ``folder`` for an ordinary account (None: unknown)."""
    try:
        stats = os.statvfs(folder)
    except (OSError, AttributeError):  # AttributeError: no statvfs on this system
        return None
    return stats.f_bavail * stats.f_frsize


def storage_problem(exc: sqlite3.Error, path: Path, what: str) -> StorageError:
    """What SQLite met under the database ``path``, in words that say what to do.

    ``what`` says what did not happen ("nothing was saved"). A full disk (SQLITE_FULL,
    or an I/O error while the disk has almost no room) says to free space and that
    nothing was lost; other I/O errors say to check the disk. Neither advises
    restoring a backup: the data is most likely sound.
    """
    code = error_code(exc)
    room = free_bytes(path.parent)
    nearly_full = room is not None and room < NEARLY_FULL_BYTES
    if code == SQLITE_FULL or (code in DISK_CODES and nearly_full):
        return DiskFullError(
            f"the disk holding the schoolmesh data ({path.parent}) is full: free some "
            f"space; nothing was lost ({what}; everything works again by itself once "
            'there is room: see docs/admin.md, "When the disk is full")',
            page=DISK_FULL_PAGE,
        )
    if code in DISK_CODES:
        return StorageError(
            f"{what}: the database {path} could not be read or written ({exc}). Check "
            "the disk that holds it (still mounted? writable? room left?) and try again; "
            "this is not damage, so do not restore a backup for it",
            page=DISK_PROBLEM_PAGE,
        )
    return StorageError(f"{what}: the database {path} refused it ({exc})", page=DISK_PROBLEM_PAGE)


def read_damage(report: Path) -> str | None:
    try:
        return report.read_text(errors="replace").strip() or "the database failed its check"
    except FileNotFoundError:
        return None
    except OSError as exc:
        return f"the report {report} cannot be read ({exc.strerror}): run `schoolmesh check`"


def restored_error() -> RestoredError:
    """What a write that would sign something says while the node waits after a restore."""
    return RestoredError(
        "this school's node was restored from a backup: it waits to fetch its own "
        "latest entries from a partner before anything new is saved (start it with "
        "`schoolmesh run` and let it connect to a partner; `schoolmesh status` shows "
        "when it has). If this is the only copy of the school's node, run "
        "`schoolmesh restore --only-copy` instead: if another copy has posted since "
        "the backup, the two will disagree (docs/admin.md, Backups). Nothing was saved",
        page=said(
            "This school's node was restored from a backup and is still fetching "
            "its latest posts from partner schools. Nothing was saved: try again "
            "in a few minutes, or ask your IT staff."
        ),
    )
