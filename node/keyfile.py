"""The node's private key on disk: made once at ``init``, readable by its owner only."""

from __future__ import annotations

import base64
import binascii
import os
import stat
from pathlib import Path

from protocol.errors import KeyFileError
from protocol.keys import SEED_SIZE, NodeKey

_HEADER = "schoolmesh-node-key-v1"


def generate_key() -> NodeKey:
    """A new key from the operating system's random source."""
    return NodeKey(os.urandom(SEED_SIZE))


def save_key(path: Path, key: NodeKey) -> None:
    """Write ``key`` with mode 0600, atomically: a crash leaves the old file or the new."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.unlink(missing_ok=True)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        text = f"{_HEADER}\n{base64.b64encode(key.seed).decode('ascii')}\n"
        os.write(fd, text.encode("ascii"))
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)


def load_key(path: Path) -> NodeKey:
    """Read the key, refusing a file that other users could read."""
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise KeyFileError(
            f"no node key at {path}: run `schoolmesh init` first, or point --data at "
            "the right folder"
        ) from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise KeyFileError(
            f"the node key {path} can be read by other users of this computer "
            f"(mode {stat.filemode(mode)}); make it private with: chmod 600 {path}"
        )
    try:
        header, encoded = path.read_text("ascii").split()
        seed = base64.b64decode(encoded, validate=True)
    except (ValueError, UnicodeDecodeError, binascii.Error):
        raise KeyFileError(f"the node key {path} is damaged: restore it from a backup") from None
    if header != _HEADER or len(seed) != SEED_SIZE:
        raise KeyFileError(f"the node key {path} is damaged: restore it from a backup")
    return NodeKey(seed)
