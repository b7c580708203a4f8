"""Bounded, escaped log lines about peers (node/logs.py), with a clock we move by hand."""

import ast
import logging
from pathlib import Path

import pytest

from node.net.logs import PeerLog, printable, quoted
from protocol import codec, frames
from protocol.errors import DecodeError

LOGGER = logging.getLogger("tests.peerlog")


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def messages(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == LOGGER.name]


def test_a_peer_gets_its_lines_a_minute_then_one_summary(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    clock = Clock()
    logs = PeerLog(LOGGER, per_key=5, clock=clock)
    for i in range(528):
        logs.warning("rogue", "refused from %s: entry %d", "rogue", i)
    assert len(messages(caplog)) == 5
    clock.now += 61
    logs.sweep()
    assert messages(caplog)[-1] == "... and 523 more lines about rogue in the last minute"
    logs.warning("rogue", "refused from %s: entry %d", "rogue", 528)  # a new minute
    assert messages(caplog)[-1] == "refused from rogue: entry 528"


def test_one_peer_flooding_does_not_silence_another(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    logs = PeerLog(LOGGER, per_key=3, clock=Clock())
    for _ in range(100):
        logs.info("rogue", "noise")
    logs.info("friend", "session with %s open", "friend")
    assert messages(caplog) == ["noise"] * 3 + ["session with friend open"]


def test_all_peers_together_are_bounded_too(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    clock = Clock()
    logs = PeerLog(LOGGER, per_key=3, total=10, clock=clock)
    for n in range(50):  # fifty addresses, as a stranger could use
        logs.info(f"192.0.2.{n}", "refused a peer from %s", f"192.0.2.{n}")
    assert len(messages(caplog)) == 10
    clock.now += 60
    logs.sweep()
    assert messages(caplog)[-1] == "... and 40 more lines about other schools in the last minute"


def test_a_summary_comes_with_the_next_line_after_the_minute_without_a_sweep(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    clock = Clock()
    logs = PeerLog(LOGGER, per_key=1, clock=clock)
    logs.info("rogue", "one")
    logs.info("rogue", "two")
    clock.now += 0.5  # no sweep yet (less than a second)
    logs.info("rogue", "three")
    clock.now += 60
    logs.info("rogue", "four")
    assert messages(caplog) == [
        "one",
        "... and 2 more lines about rogue in the last minute",
        "four",
    ]


def test_lines_below_the_level_cost_nothing(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)
    logs = PeerLog(LOGGER, per_key=1, clock=Clock())
    logs.info("rogue", "quiet")
    logs.warning("rogue", "loud")
    assert messages(caplog) == ["loud"]


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("plain", "plain"),
        ("a\nb", "a\\nb"),
        ("nul\x00", "nul\\x00"),
        ("\x1b[31mred", "\\x1b[31mred"),
        ("line\u2028sep", "line\\u2028sep"),
        ("Lycée", "Lycée"),
        # A backslash the school typed is doubled, as repr writes it: one backslash
        # always starts an escape of ours, so typed text cannot pass for one.
        ("typed \\x1b[2J", "typed \\\\x1b[2J"),
        ("C:\\Users", "C:\\\\Users"),
        ("both \x1b and \\x1b", "both \\x1b and \\\\x1b"),
    ],
)
def test_peer_text_is_one_printable_line(text: str, shown: str) -> None:
    assert printable(text) == shown


@pytest.mark.parametrize(
    "text",
    [
        "plain",
        "it's",
        'say "hi"',
        "both ' and \"",
        "\x1b[2J\nnext",
        "typed \\x1b \\n",
        "Lycée\u202e",
    ],
)
def test_quoted_peer_text_reads_as_repr_writes_it(text: str) -> None:
    """What ``%r`` wrote before (a quote in the text cannot end it either), now that
    the escapes are made once, by the log."""
    assert quoted(text) == repr(text)


def test_a_hostile_school_s_name_and_error_read_one_way_in_the_log(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A name with a clear-screen sequence, a line break and the same sequence typed
    out: one line, where the character and the typed text differ. Before, both were
    written ``\\x1b[2J`` (and through ``%r``, both ``\\\\x1b[2J``)."""
    caplog.set_level(logging.INFO)
    logs = PeerLog(LOGGER, clock=Clock())
    name = "Lycée\x1b[2J\nINFO fake line \\x1b[2J\\n"
    logs.warning("rogue", "%s is refused", name)
    logs.warning("rogue", "rogue refused something we sent: %s (%s)", quoted(name), "bad-frame")
    assert messages(caplog) == [
        "Lycée\\x1b[2J\\nINFO fake line \\\\x1b[2J\\\\n is refused",
        "rogue refused something we sent: 'Lycée\\x1b[2J\\nINFO fake line \\\\x1b[2J\\\\n' "
        "(bad-frame)",
    ]
    assert not any("\x1b" in line or "\n" in line for line in messages(caplog))


def test_a_refusal_quoting_what_a_peer_sent_is_escaped_once_more(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Our refusals quote a peer's value as ``repr`` does (``unknown frame type
    '\\x1b[2J'``); the log escapes that text like any value, so there the escape
    character reads ``'\\\\x1b[2J'`` and the characters typed ``'\\\\\\\\x1b[2J'``, as
    docs/security.md says: two lines that differ, never one that reads as the other."""
    caplog.set_level(logging.INFO)
    logs = PeerLog(LOGGER, clock=Clock())
    for sent in ("\x1b[2J", "\\x1b[2J"):
        with pytest.raises(DecodeError) as refused:
            frames.decode(codec.encode({"t": sent, "v": frames.FRAME_VERSION}))
        logs.warning("rogue", "refused from rogue: %s", refused.value)
    assert messages(caplog) == [
        "refused from rogue: unknown frame type '\\\\x1b[2J'",
        "refused from rogue: unknown frame type '\\\\\\\\x1b[2J'",
    ]


def test_peer_text_is_cut(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    PeerLog(LOGGER, clock=Clock()).info("rogue", "said %s", "x" * 10_000)
    (line,) = messages(caplog)
    assert len(line) == len("said ") + 300
    assert line.endswith("…")


def test_no_line_about_a_peer_quotes_with_percent_r() -> None:
    """``%r`` of what :class:`PeerLog` made printable doubles its escapes (``\\x1b``
    for the escape character, as for the four characters typed): such lines quote with
    :func:`quoted`. Every call of a ``logs`` (a PeerLog) in node/ is read."""
    found = []
    for path in (Path(__file__).resolve().parents[2] / "node").rglob("*.py"):
        for call in ast.walk(ast.parse(path.read_text())):
            if not (
                isinstance(call, ast.Call)
                and isinstance(call.func, ast.Attribute)
                and call.func.attr in ("info", "warning", "log")
                and ast.unparse(call.func.value).endswith("logs")
            ):
                continue
            formats = [
                a.value
                for a in call.args
                if isinstance(a, ast.Constant) and isinstance(a.value, str)
            ]
            if any("%r" in f for f in formats):
                found.append(f"{path.name}:{call.lineno}")
    assert found == []
