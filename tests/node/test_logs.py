"""Bounded, escaped log lines about peers (node/logs.py), with a clock we move by hand."""

import logging

import pytest

from node.net.logs import PeerLog, printable

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
    ],
)
def test_peer_text_is_one_printable_line(text: str, shown: str) -> None:
    assert printable(text) == shown


def test_peer_text_is_cut(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    PeerLog(LOGGER, clock=Clock()).info("rogue", "said %s", "x" * 10_000)
    (line,) = messages(caplog)
    assert len(line) == len("said ") + 300
    assert line.endswith("…")
