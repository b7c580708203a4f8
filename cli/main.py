"""The ``schoolmesh`` command: parse arguments, call node/, print results.

Exit codes: 0 success; 1 the command could not be carried out (no node here, an
unsafe key file, a damaged database, ...); 2 a bad argument. Errors are one line
on stderr that says what to do; set SCHOOLMESH_DEBUG=1 to see a traceback. When
the reader of the output goes away (``schoolmesh status --json | head``), the
command stops quietly with exit code 1, as Python's own tools do. Whatever it
writes goes through ``cli.screen.shown``: control characters in other schools' text
are shown as their escapes (``\\u009b``), never obeyed by the terminal.
"""

from __future__ import annotations

import argparse
import asyncio
import difflib
import logging
import os
import sqlite3
import sys
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path

from cli import commands
from cli.commands.common import data_path
from cli.screen import for_logs, screened
from protocol.errors import SchemaError, SchoolmeshError, UserInputError
from protocol.keys import NodeId

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_BAD_INPUT = 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="schoolmesh",
        description="Run your school's node in the schoolmesh partnership network.",
    )
    parser.add_argument("--version", action="version", version=_version())
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for register in commands.REGISTRY:
        register(sub)
    return parser


def _version() -> str:
    try:
        return f"schoolmesh {metadata.version('schoolmesh')}"
    except metadata.PackageNotFoundError:
        return "schoolmesh (not installed)"


def main(argv: Sequence[str] | None = None) -> int:
    # Everything written, other schools' text among it, goes through cli/screen.py.
    with screened():
        return _main(argv)


def _main(argv: Sequence[str] | None) -> int:
    logging.basicConfig(
        stream=for_logs(sys.stderr),
        level=os.environ.get("SCHOOLMESH_LOG", "WARNING").upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    args = parse(build_parser(), _protect_node_ids(sys.argv[1:] if argv is None else argv))
    _line_ends(args)
    try:
        result = asyncio.run(args.handler(args))
        sys.stdout.flush()  # here, so that a closed pipe is met inside this try
    except BrokenPipeError:
        return _reader_gone()
    except KeyboardInterrupt:
        return 130
    except SchemaError as exc:
        flag = commands.FIELD_FLAGS.get(exc.field, exc.field)
        return _fail(f"{flag}: {str(exc).split(': ', 1)[-1]}", EXIT_BAD_INPUT, exc)
    except UserInputError as exc:
        return _fail(str(exc), EXIT_BAD_INPUT, exc)
    except SchoolmeshError as exc:
        return _fail(str(exc), EXIT_FAILED, exc)
    except sqlite3.Error as exc:
        # Not a bug to report: the database or its disk (a full disk, above all).
        from node.datadir import DataDir
        from node.store.problems import storage_problem

        folder = data_path(args) if hasattr(args, "data") else Path.cwd()
        database = DataDir(folder).database
        return _fail(str(storage_problem(exc, database, "it was not done")), EXIT_FAILED, exc)
    except Exception as exc:  # a bug: still one line, and how to learn more
        return _fail(
            f"unexpected {type(exc).__name__}: {exc} (set SCHOOLMESH_DEBUG=1 for details, "
            "and please report it)",
            EXIT_FAILED,
            exc,
        )
    return EXIT_OK if result is None else int(result)


def parse(parser: argparse.ArgumentParser, argv: Sequence[str]) -> argparse.Namespace:
    """``parser.parse_args(argv)``, but an argument no command takes is reported by the
    command it was typed for (its usage, the nearest option, where to read them all).

    argparse leaves unknown arguments to the top-level parser, whose usage is
    ``schoolmesh [-h] [--version] COMMAND ...``: of no help to someone who typed
    ``schoolmesh status --jsn``.
    """
    args, unknown = parser.parse_known_args(argv)
    if unknown:
        command = _command_parser(parser, args)
        message = f"unrecognized arguments: {' '.join(unknown)}"
        options = [o for a in command._actions for o in a.option_strings if o.startswith("--")]
        typed = [arg.split("=", 1)[0] for arg in unknown if arg.startswith("--")]
        # An option the command takes was left over only if typed before the command's
        # name (`schoolmesh --json status`): say where it goes, not "did you mean" it.
        misplaced = [name for name in typed if name in options]
        guesses = [
            near[0]
            for name in typed
            if name not in options and (near := difflib.get_close_matches(name, options, n=1))
        ]
        if guesses:
            message += f" (did you mean {' or '.join(guesses)}?)"
        for name in misplaced:
            message += f" ({name} goes after the command: `{command.prog} {name}`)"
        command.error(f"{message}; `{command.prog} --help` lists what it takes")
    return args


def _command_parser(
    parser: argparse.ArgumentParser, args: argparse.Namespace
) -> argparse.ArgumentParser:
    """The parser of the (sub)command ``args`` were parsed for: ``schoolmesh event rsvp``."""
    while True:
        chosen = None
        for action in parser._actions:
            name = getattr(args, action.dest, None)
            if isinstance(action, argparse._SubParsersAction) and isinstance(name, str):
                chosen = action.choices.get(name)
        if chosen is None:
            return parser
        parser = chosen


def _line_ends(args: argparse.Namespace) -> None:
    """Every line end in a text argument as ``\\n``, as the web pages make them
    (node/web/kit.py).

    ``--text "$(cat notes.txt)"`` of a file saved on Windows carries ``\\r\\n``, which
    the content rules refuse as a control character. Done on the parsed values, not on
    the command line: only the strings change, never a file or folder name (parsed into
    a ``Path``), in which a CR is a character like any other (macOS's ``Icon\\r``).
    """
    for name, value in list(vars(args).items()):
        if isinstance(value, str):
            setattr(args, name, _lf(value))
        elif isinstance(value, list) and all(isinstance(item, str) for item in value):
            setattr(args, name, [_lf(item) for item in value])


def _lf(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _protect_node_ids(argv: Sequence[str]) -> list[str]:
    """Mark node ids that start with '-' so that argparse does not take them for options."""
    return [
        f"node:{arg}" if arg.startswith("-") and len(arg) == 43 and _is_node_id(arg) else arg
        for arg in argv
    ]


def _is_node_id(text: str) -> bool:
    try:
        NodeId.parse(text)
    except UserInputError:
        return False
    return True


def _reader_gone() -> int:
    """The program reading our output closed it (``| head``): stop quietly.

    As the Python docs advise ("Note on SIGPIPE", in the signal module): point
    stdout at devnull, so that the interpreter's own flush at exit does not meet
    the broken pipe again and print "Exception ignored".
    """
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    return EXIT_FAILED


def _fail(message: str, code: int, exc: BaseException) -> int:
    if os.environ.get("SCHOOLMESH_DEBUG"):
        logging.getLogger("schoolmesh").exception("traceback", exc_info=exc)
    print(f"schoolmesh: error: {message}", file=sys.stderr)
    return code


if __name__ == "__main__":
    sys.exit(main())
