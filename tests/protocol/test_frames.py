"""Session frames: round trips and refusals."""

from typing import Any

import pytest

from protocol import codec, frames
from protocol.errors import DecodeError

SAMPLES: list[frames.Frame] = [
    frames.Hello(bytes(32), bytes(32), 1, b"invite", "http://127.0.0.1:8470"),
    frames.Hello(bytes(32), bytes(32), 1),
    frames.Welcome(bytes(32), bytes(32), bytes(64)),
    frames.Auth(bytes(64)),
    frames.Ready(partner=True),
    frames.Clock([[bytes(32), 5], [b"\x01" * 32, 1]], final=False),
    frames.Entries(3, [b"\x93\xc4\x00\xc4\x00\xc0"]),
    frames.Ack(3, [[bytes(32), 5]]),
    frames.Error("bad-frame", "why"),
]


@pytest.mark.parametrize("frame", SAMPLES, ids=lambda f: f.TYPE)
def test_round_trip(frame: frames.Frame) -> None:
    assert frames.decode(frames.encode(frame)) == frame


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"t": "hello", "v": 2}, "unsupported-version"),
        ({"t": "hello", "v": True}, "unsupported-version"),
        ({"t": "gossip", "v": 1}, "bad-frame"),
        ({"t": "auth", "v": 1}, "bad-frame"),
        ({"t": "auth", "v": 1, "sig": b"short"}, "bad-frame"),
        ({"t": "clock", "v": 1, "heads": [[b"x", 1]]}, "bad-frame"),
        ({"t": "clock", "v": 1, "heads": [[bytes(32), -1]]}, "bad-frame"),
        ({"t": "clock", "v": 1, "heads": "nope"}, "bad-frame"),
        ({"t": "entries", "v": 1, "batch": 1, "entries": ["text"]}, "bad-frame"),
        ({"t": "entries", "v": 1, "batch": 1, "entries": [b""] * 257}, "bad-frame"),
        ({"t": "error", "v": 1, "code": 5, "message": "x"}, "bad-frame"),
        ({"t": "ready", "v": 1, "partner": "yes"}, "bad-frame"),
    ],
)
def test_refused(body: dict[str, Any], code: str) -> None:
    with pytest.raises(DecodeError) as caught:
        frames.decode(codec.encode(body))
    assert caught.value.code == code


def test_oversized_frame_refused() -> None:
    data = codec.encode({"t": "entries", "v": 1, "batch": 1, "entries": [b"x" * 60_000] * 20})
    with pytest.raises(DecodeError) as caught:
        frames.decode(data)
    assert caught.value.code == "too-large"


def test_not_a_map_refused() -> None:
    with pytest.raises(DecodeError):
        frames.decode(codec.encode([1, 2]))


def test_worked_hello_example_in_the_spec_is_true() -> None:
    """docs/protocol.md shows a hello frame byte by byte; it must be what we send."""
    import re
    from pathlib import Path

    from protocol.keys import NodeKey

    doc = (Path(__file__).parents[2] / "docs" / "protocol.md").read_text(encoding="utf-8")
    section = doc[doc.index("**Hello** (105 bytes):") :]
    block = section[
        section.index("```text") + 7 : section.index("```", section.index("```text") + 7)
    ]
    shown = re.sub(r"\s+", "", block)
    dialler = NodeKey(bytes([0x01]) * 32)
    hello = frames.Hello(bytes(dialler.node_id), bytes([0x02]) * 32, 1_790_000_000_000)
    assert frames.encode(hello).hex() == shown
