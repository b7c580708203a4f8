"""``schoolmesh backup`` and ``schoolmesh restore``: the whole node in one file, and back.

A backup is a tar archive (gzip-compressed) of three members:

* ``manifest.json``: what the file is (``format``), the node id and fingerprint, the
  school's name, the database's schema version, the newest entry number of the
  school's own log, when it was made, and the SHA-256 of the other two members;
* ``node.key``: the node's private key, as in the data folder;
* ``schoolmesh.db``: a consistent snapshot of the database, made with SQLite's
  online backup API while the node may be running (settings, accounts, partners
  and mail are all in it).

It holds the key, so it is written with mode 0600 and never over an existing file
unless asked.

Why a restore waits: a backup is older than what the school's partners hold. If
the restored node signed an entry before fetching the entries it published after
the backup, it would give the next number in its log to a different entry, and
the school's log would fork (partners keep the first entry they got under each
number and refuse the other branch, until ``schoolmesh recover`` ends the fork with
a signed continuation: node/forks.py). So a restore marks the
database (the ``restored`` setting): :meth:`node.store.database.Store.refuse_if_restored`
refuses to sign entries or seal letters while it is there, and the first session
whose partner's complete clock shows nothing of our own log newer than what we
hold clears it (node/net/session.py). ``--only-copy`` skips the wait, for a school
with no partner that could hold newer entries (the risk is said in the help).
A fork made all the same is ended with ``schoolmesh recover`` (node/forks.py).
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
import os
import sqlite3
import tarfile
import tempfile
from dataclasses import asdict, dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from node.clock import iso, now_ms
from node.datadir import DATABASE, DataDir
from node.keyfile import load_key
from node.node import NODE_ID_SETTING, Node
from node.store import integrity
from node.store.database import RESTORED_SETTING, Store
from protocol.errors import (
    AlreadyInitialisedError,
    SchoolmeshError,
    StorageError,
    UserInputError,
)

FORMAT = "schoolmesh-backup-v1"
MANIFEST = "manifest.json"
#: The newest number of the school's own log in the backup last restored: every entry
#: up to it is on both branches of a fork made since (node/forks.py reads it).
RESTORE_POINT_SETTING = "restore-point"
KEY = "node.key"
#: A backup's manifest is small; a larger one is not ours (read no further).
MAX_MANIFEST = 64 * 1024


@dataclass(frozen=True, slots=True)
class Manifest:
    format: str
    node_id: str
    fingerprint: str
    name: str
    schema_version: int
    own_head: int  # the newest entry number of the school's own log in the backup
    created_at: str
    program: str
    database_sha256: str
    key_sha256: str


@dataclass(frozen=True, slots=True)
class Restored:
    manifest: Manifest
    data: Path
    waiting: bool  # True: nothing is signed until a partner has sent our newest entries


async def backup(node: Node, out: Path, *, force: bool = False) -> Manifest:
    """Write a backup of ``node`` to ``out`` (mode 0600), the node possibly running."""
    _check_target(out, force)
    identity = await node.identity()
    head = await node.store.head(node.node_id)
    key_bytes = node.data.key_file.read_bytes()
    with tempfile.TemporaryDirectory(prefix="schoolmesh-backup-") as tmp:
        snapshot = Path(tmp) / DATABASE
        await asyncio.to_thread(_snapshot, node.store.path, snapshot)
        manifest = Manifest(
            format=FORMAT,
            node_id=str(node.node_id),
            fingerprint=identity.fingerprint,
            name=identity.name,
            schema_version=await node.store.schema_version(),
            own_head=0 if head is None else head.seq,
            created_at=iso(now_ms()) or "",
            program=_version(),
            database_sha256=_sha256_file(snapshot),
            key_sha256=hashlib.sha256(key_bytes).hexdigest(),
        )
        await asyncio.to_thread(_write_archive, out, manifest, key_bytes, snapshot)
    return manifest


def _check_target(out: Path, force: bool) -> None:
    if out.is_dir():
        raise UserInputError(f"{out} is a folder: give the name of the backup file to write")
    if out.exists() and not force:
        raise AlreadyInitialisedError(
            f"{out} already exists: choose another file name, or add --force to replace it"
        )
    if not out.parent.is_dir():
        raise UserInputError(f"the folder {out.parent} does not exist: create it first")


def _snapshot(source: Path, target: Path) -> None:
    """SQLite's online backup: a consistent copy while other connections write."""
    os.close(os.open(target, os.O_CREAT | os.O_WRONLY, 0o600))
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    try:
        src.execute("PRAGMA busy_timeout = 10000")
        dst = sqlite3.connect(target)
        try:
            src.backup(dst)
            dst.execute("PRAGMA journal_mode = DELETE")  # one self-contained file
        finally:
            dst.close()
    except sqlite3.Error as exc:
        raise StorageError(
            f"cannot copy the database {source} ({exc}): nothing was written"
        ) from exc
    finally:
        src.close()


def _write_archive(out: Path, manifest: Manifest, key: bytes, snapshot: Path) -> None:
    """Write next to ``out`` with mode 0600, then rename: a crash leaves no half backup."""
    fd, tmp_name = tempfile.mkstemp(prefix=f".{out.name}.", dir=out.parent)  # mode 0600
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as raw, tarfile.open(fileobj=raw, mode="w:gz") as tar:
            _add(tar, MANIFEST, json.dumps(asdict(manifest), indent=2).encode())
            _add(tar, KEY, key)
            tar.add(snapshot, arcname=DATABASE, filter=_private_member)
            tar.close()
            raw.flush()
            os.fsync(raw.fileno())
        os.chmod(tmp, 0o600)
        os.replace(tmp, out)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _add(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = _private_member(tarfile.TarInfo(name))
    info.size = len(data)
    tar.addfile(info, io.BytesIO(data))


def _private_member(info: tarfile.TarInfo) -> tarfile.TarInfo:
    info.mode, info.uid, info.gid, info.uname, info.gname = 0o600, 0, 0, "", ""
    return info


# -- restoring ------------------------------------------------------------------------


async def restore(
    backup_file: Path, data_path: Path, *, force: bool = False, only_copy: bool = False
) -> Restored:
    """Put the node in ``backup_file`` into ``data_path``; unless ``only_copy``, mark it
    to wait for its own newest entries from a partner before it signs anything."""
    manifest, key_bytes, database = await asyncio.to_thread(_read_archive, backup_file)
    data = DataDir(data_path)
    if data.exists():
        if not force:
            raise AlreadyInitialisedError(
                f"a node already exists in {data_path}: restore into another --data folder, "
                "or stop that node and add --force to replace it (its key and data are "
                "deleted)"
            )
        await refuse_if_running(data)
        data.remove_node()
    data.prepare()
    _write_private(data.key_file, key_bytes)
    _write_private(data.database, database)
    data.make_private()
    try:
        key = load_key(data.key_file)
        if str(key.node_id) != manifest.node_id:
            raise _not_a_backup(backup_file, "its key is not the node it names")
        store = await Store.open(data.database, create=False)
        try:
            report = await integrity.check(store, full=True)
            if not report.ok:
                raise StorageError(
                    f"the database in the backup {backup_file} is damaged "
                    f"({(report.database or report.search)[0]}): use an older backup"
                )
            recorded = await store.get_setting(NODE_ID_SETTING)
            if (recorded is not None and recorded != bytes(key.node_id)) or await store.head(
                key.node_id
            ) is None:
                raise _not_a_backup(backup_file, "its database is not the node it names")
            marker = {"backup": manifest.created_at, "restored_at": iso(now_ms())}
            await store.set_setting(
                RESTORED_SETTING, None if only_copy else json.dumps(marker).encode()
            )
            # Every entry up to here is on both branches of any fork made from now on:
            # `schoolmesh recover` sets aside only what follows (node/forks.py).
            head = await store.head(key.node_id)
            await store.set_setting(
                RESTORE_POINT_SETTING, str(0 if head is None else head.seq).encode()
            )
            await store.checkpoint()
        finally:
            await store.close()
    except BaseException:
        data.remove_node()  # not half a node: the folder stays as it was, empty
        raise
    return Restored(manifest=manifest, data=data_path, waiting=not only_copy)


async def only_copy(node: Node) -> bool:
    """Stop waiting: this is the school's only copy. True if it was waiting."""
    waiting = await node.store.get_setting(RESTORED_SETTING) is not None
    await node.store.set_setting(RESTORED_SETTING, None)
    return waiting


async def restored_state(node: Node) -> dict[str, Any] | None:
    """The restore this node waits on (backup time, restore time), or None."""
    value = await node.store.get_setting(RESTORED_SETTING)
    if value is None:
        return None
    try:
        marker = json.loads(value)
    except ValueError:
        marker = {}
    return marker if isinstance(marker, dict) else {}


async def refuse_if_running(data: DataDir) -> None:
    """A running node keeps its database open: replacing it under it would lose data."""
    try:
        old = await Node.open(data.path)
    except SchoolmeshError:  # no usable node there: nothing can be running on it
        return
    async with old:
        running = await old.peerbook.is_running()
    if running:
        raise StorageError(f"the node in {data.path} is running: stop it first, then restore")


def _read_archive(path: Path) -> tuple[Manifest, bytes, bytes]:
    """The manifest, key and database of a backup, each checked against the manifest."""
    try:
        tar = tarfile.open(path, mode="r:*")  # noqa: SIM115 (closed by the with below)
    except FileNotFoundError:
        raise UserInputError(f"no backup file at {path}") from None
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise _not_a_backup(path, f"it cannot be read as an archive: {exc}") from None
    with tar:
        try:
            members = {m.name: m for m in tar.getmembers()}
            raw = _member(tar, members, MANIFEST, path, limit=MAX_MANIFEST)
            manifest = _manifest(raw, path)
            key = _member(tar, members, KEY, path, limit=MAX_MANIFEST)
            database = _member(tar, members, DATABASE, path, limit=None)
        except (tarfile.TarError, OSError, EOFError, ValueError) as exc:
            raise _not_a_backup(path, f"it is damaged: {exc}") from None
    if hashlib.sha256(key).hexdigest() != manifest.key_sha256:
        raise _not_a_backup(path, "its key does not match its manifest (damaged)")
    if hashlib.sha256(database).hexdigest() != manifest.database_sha256:
        raise _not_a_backup(path, "its database does not match its manifest (damaged)")
    return manifest, key, database


def _member(
    tar: tarfile.TarFile,
    members: dict[str, tarfile.TarInfo],
    name: str,
    path: Path,
    *,
    limit: int | None,
) -> bytes:
    info = members.get(name)
    if info is None or not info.isfile():
        raise _not_a_backup(path, f"it has no {name}")
    if limit is not None and info.size > limit:
        raise _not_a_backup(path, f"its {name} is too large")
    stream = tar.extractfile(info)
    if stream is None:
        raise _not_a_backup(path, f"it has no {name}")
    return stream.read()


def _manifest(raw: bytes, path: Path) -> Manifest:
    try:
        fields = json.loads(raw)
    except ValueError:
        raise _not_a_backup(path, "its manifest is not JSON") from None
    if not isinstance(fields, dict) or fields.get("format") != FORMAT:
        raise _not_a_backup(path, f"its manifest does not say {FORMAT}")
    try:
        return Manifest(**{name: fields[name] for name in Manifest.__dataclass_fields__})
    except KeyError as exc:
        raise _not_a_backup(path, f"its manifest lacks {exc}") from None


def _not_a_backup(path: Path, why: str) -> StorageError:
    return StorageError(f"{path} is not a usable schoolmesh backup ({why}); nothing was restored")


def _write_private(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        _write_all(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.chmod(path, 0o600)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _version() -> str:
    try:
        return metadata.version("schoolmesh")
    except metadata.PackageNotFoundError:
        return "unknown"
