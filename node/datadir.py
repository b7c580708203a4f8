"""Where a node keeps its files: ``--data``, else $SCHOOLMESH_DATA, else the platform default."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import platformdirs

ENV_VAR = "SCHOOLMESH_DATA"


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
        return self.path / "schoolmesh.db"

    def exists(self) -> bool:
        return self.key_file.exists() or self.database.exists()

    def prepare(self) -> None:
        """Create the folder, private to this user (it holds the key and pupil data)."""
        self.path.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.path.chmod(0o700)

    def remove_node(self) -> None:
        """Delete the key and database (for ``init --force``)."""
        for name in ("node.key", "schoolmesh.db", "schoolmesh.db-wal", "schoolmesh.db-shm"):
            (self.path / name).unlink(missing_ok=True)
