"""Invite codes (protocol/invite.py): the binary form, each refusal with its code and in
the order docs/protocol.md ("Invites") gives."""

from __future__ import annotations

from typing import Any

import pytest

from protocol import codec
from protocol.errors import ProtocolError
from protocol.invite import CONTEXT, Invite, decode_invite, parse_invite
from protocol.keys import from_b64url
from tests.helpers import NOW, key

KEY = key(1)
ADDRESS = "https://mesh.oakfield.example.org"
TOKEN = b"\x05" * 16
GOOD: dict[str, Any] = {"a": ADDRESS, "e": NOW + 1, "n": bytes(KEY.node_id), "r": TOKEN, "v": 1}


def signed(payload: dict[str, Any], *, signer: Any = KEY) -> bytes:
    body = codec.encode(payload)
    return codec.encode([body, signer.sign(CONTEXT + body)])


def test_a_good_invite_round_trips() -> None:
    made = Invite(KEY.node_id, ADDRESS, TOKEN, NOW + 1)
    code = made.sign(KEY)
    invite, raw = parse_invite(code, now_ms=NOW)
    assert raw == from_b64url(code.removeprefix("schoolmesh-invite:"))
    assert decode_invite(raw)[0] == invite == made


@pytest.mark.parametrize(
    ("data", "code"),
    [
        pytest.param(b"\xc1", "malformed", id="not-msgpack"),
        pytest.param(codec.encode([codec.encode(GOOD)]), "bad-invite", id="array-of-one"),
        pytest.param(codec.encode([codec.encode(GOOD), "sig"]), "bad-invite", id="sig-not-bin"),
        pytest.param(signed({**GOOD, "v": 2}), "bad-invite", id="version-2"),
        pytest.param(signed({**GOOD, "v": True}), "bad-invite", id="version-true"),
        pytest.param(
            signed({k: v for k, v in GOOD.items() if k != "v"}), "bad-invite", id="no-version"
        ),
        pytest.param(signed({**GOOD, "x": 1}), "bad-invite", id="extra-key"),
        pytest.param(
            signed({k: v for k, v in GOOD.items() if k != "a"}), "bad-invite", id="missing-key"
        ),
        pytest.param(signed({**GOOD, "r": b"\x05" * 15}), "bad-invite", id="r-15-bytes"),
        pytest.param(signed({**GOOD, "r": b"\x05" * 17}), "bad-invite", id="r-17-bytes"),
        pytest.param(signed({**GOOD, "r": "05" * 16}), "bad-invite", id="r-as-text"),
        pytest.param(signed({**GOOD, "n": bytes(31)}), "bad-invite", id="n-31-bytes"),
        pytest.param(signed({**GOOD, "e": True}), "bad-invite", id="e-bool"),
        pytest.param(signed({**GOOD, "e": -1}), "bad-invite", id="e-negative"),
        pytest.param(signed({**GOOD, "a": b"https://x"}), "bad-invite", id="a-as-bin"),
        pytest.param(signed({**GOOD, "a": "https://x\nINFO forged"}), "bad-invite", id="a-newline"),
        pytest.param(
            signed({**GOOD, "a": "ftp://mesh.example.org"}), "bad-invite", id="a-not-http"
        ),
        pytest.param(signed({**GOOD, "a": "https://u:p@x.org"}), "bad-invite", id="a-user-name"),
        pytest.param(signed(GOOD, signer=key(2)), "bad-invite", id="signed-by-another"),
        pytest.param(
            codec.encode([codec.encode(GOOD), KEY.sign(codec.encode(GOOD))]),
            "bad-invite",
            id="signed-without-context",
        ),
    ],
)
def test_a_bad_invite_is_refused_with_its_code(data: bytes, code: str) -> None:
    with pytest.raises(ProtocolError) as caught:
        decode_invite(data)
    assert caught.value.code == code, str(caught.value)


def test_the_version_is_checked_before_the_keys() -> None:
    with pytest.raises(ProtocolError, match="version 2"):
        decode_invite(signed({**GOOD, "v": 2, "x": 1}))
