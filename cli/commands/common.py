"""Pieces every command shares: the --data option, opening the node, printing."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from cli.screen import in_one_line, write_json
from node.datadir import ENV_VAR, default_data_path, platform_data_path
from node.node import Node


def data_option() -> argparse.ArgumentParser:
    """A parent parser giving a command ``--data DIR``."""
    parent = argparse.ArgumentParser(add_help=False)
    parent.add_argument(
        "--data",
        type=Path,
        default=None,
        metavar="DIR",
        help=f"the node's data folder (default: ${ENV_VAR}, else {platform_data_path()})",
    )
    return parent


def json_option() -> argparse.ArgumentParser:
    parent = argparse.ArgumentParser(add_help=False)
    parent.add_argument("--json", action="store_true", help="print JSON for scripts")
    return parent


def data_path(args: argparse.Namespace) -> Path:
    return args.data if args.data is not None else default_data_path()


async def open_node(args: argparse.Namespace, *, check: bool = False) -> Node:
    """The node in ``--data``; ``check``: refuse a damaged database (``run``)."""
    return await Node.open(data_path(args), check=check)


#: How a byte string is written in JSON output: ``{"$bin": "<lowercase hex>"}``, the
#: convention of tests/vectors/entries.json. Content from other schools may hold bytes
#: in fields this version does not know (docs/protocol.md, "Forward compatibility").
BIN_TAG = "$bin"


def _jsonable(value: Any) -> Any:
    """What :func:`json.dump` cannot write itself: byte strings, as ``{"$bin": hex}``."""
    if isinstance(value, bytes):
        return {BIN_TAG: value.hex()}
    raise TypeError(f"{type(value).__name__} has no JSON form")


def under(text: str, indent: str) -> str:
    """``text`` for a line of a text listing that starts ``indent`` wide: each line after
    the first indented as far, so a message of several lines stays inside its record
    rather than look like the start of the next one."""
    first, *rest = text.split("\n")
    return "\n".join([first, *(indent + line if line else "" for line in rest)])


def one_line(text: str) -> str:
    """``text`` for a field a listing prints within one line: its line breaks shown as
    ``\\u000a`` by the screen (cli.screen.in_one_line), not started afresh at the margin."""
    return in_one_line(text)


def quoted(text: str) -> str:
    """``text`` in quotes within a message (a project's title, which its owner wrote),
    the way ``repr`` quotes it but with its characters left for the screen to show
    (cli.screen): repr's own escapes (``\\u202e`` for an override, ``\\\\`` for a
    backslash) would have their backslash doubled there, and an override would read as
    the six characters typed. Its line breaks are shown as in a listing (:func:`one_line`)."""
    quote = '"' if "'" in text and '"' not in text else "'"
    return f"{quote}{one_line(text)}{quote}"


def print_json(value: Any) -> None:
    """Print ``value`` as JSON: every command's ``--json`` output goes through here."""
    write_json(json.dumps(value, ensure_ascii=False, indent=2, default=_jsonable) + "\n")
