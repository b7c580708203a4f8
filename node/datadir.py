"""Where a node keeps its files: ``--data``, else $SCHOOLMESH_DATA, else the platform default.

The folder and the database files hold pupils' work and staff details, so they
are kept private to the user the node runs as (folder 0700, files 0600). A copy
restored with ``cp`` or unpacked from an archive often comes back 0755/0644,
readable by every account on the computer: :meth:`DataDir.make_private` puts
the modes right each time a node is opened, and says so in the log.
"""

from __future__ import annotations

import logging
import os
import stat
from dataclasses import dataclass
from pathlib import Path

import platformdirs

log = logging.getLogger(__name__)

ENV_VAR = "SCHOOLMESH_DATA"
DATABASE = "schoolmesh.db"
#: The database and the files SQLite keeps beside it (write-ahead log, shared memory),
#: and the report left when the database failed its check (node/store/integrity.py).
DATABASE_FILES = (DATABASE, f"{DATABASE}-wal", f"{DATABASE}-shm", f"{DATABASE}-damaged")
#: Folders whose modes could not be changed (a FAT or network disk): said once each.
_cannot_chmod: set[Path] = set()


def platform_data_path() -> Path:
    """This platform's usual place for the data of a program run by this user."""
    return platformdirs.user_data_path("schoolmesh", appauthor=False)


def default_data_path() -> Path:
    from_env = os.environ.get(ENV_VAR)
    return Path(from_env) if from_env else platform_data_path()


@dataclass(frozen=True, slots=True)
class DataDir:
    path: Path

    @property
    def key_file(self) -> Path:
        return self.path / "node.key"

    @property
    def database(self) -> Path:
        return self.path / DATABASE

    def exists(self) -> bool:
        return self.key_file.exists() or self.database.exists()

    def prepare(self) -> None:
        """Create the folder, private to this user (it holds the key and pupil data)."""
        self.path.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.path.chmod(0o700)

    def remove_node(self) -> None:
        """Delete the key and database (for ``init --force``)."""
        for name in ("node.key", *DATABASE_FILES):
            (self.path / name).unlink(missing_ok=True)

    def make_private(self) -> None:
        """Folder 0700, database files 0600: repair wider modes, with a warning each.

        The key file is not changed here: :func:`node.keyfile.load_key` refuses a key
        others could read, since anyone who read it can already act as the school.
        """
        if os.name == "nt":  # modes mean little on Windows: the folder's ACL decides
            return
        _private(self.path, 0o700, self.path)
        for name in DATABASE_FILES:
            _private(self.path / name, 0o600, self.path)


def _private(path: Path, mode: int, folder: Path) -> None:
    try:
        st = path.stat()
    except FileNotFoundError:
        return
    before = stat.S_IMODE(st.st_mode)
    if not before & 0o077:
        return
    try:
        path.chmod(mode)
        after = stat.S_IMODE(path.stat().st_mode)
    except OSError as exc:  # not its owner, or a read-only disk
        after = before
        remedy = f"make it private as its owner with: chmod {mode:o} {path}"
        reason = exc.strerror or str(exc)
    else:  # chmod "worked" and changed nothing: FAT, some network shares
        remedy = "keep the data folder on a disk with Unix permissions"
        reason = "this disk keeps no permissions"
    shown = stat.filemode(stat.S_IFMT(st.st_mode) | before)
    if after & 0o077:
        if folder not in _cannot_chmod:  # once: not at every file, nor every write
            _cannot_chmod.add(folder)
            log.warning(
                "cannot make %s private (mode %s; %s): other users of this computer may "
                "read pupils' data; %s",
                path,
                shown,
                reason,
                remedy,
            )
        return
    log.warning(
        "%s could be read by other users of this computer (mode %s): made it private (mode %s)",
        path,
        shown,
        stat.filemode(stat.S_IFMT(st.st_mode) | after),
    )
