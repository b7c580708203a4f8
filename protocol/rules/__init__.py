"""Who may send what about what: the authority rules, as pure functions.

Every letter and entry that reaches us is signed by a real school, and every
school may be hostile (a partner gone rogue, or one whose key was stolen). A
valid signature says *who* sent it; these rules say whether that school may say
*that* about *this*, judged against what our node holds: the project's owner
and members, the school that wrote the target, our partner and block lists.

One module per domain (``projects``, ``interests``, ``events``,
``observations``, ...). Each rule is a plain function of plain values (the
letter's author and content, small frozen views of what we hold, the time) that
returns ``None`` when the letter is allowed or a :class:`Refusal` saying why
not. The node reads what the rule needs, asks the rule, and changes nothing if
refused: the rule tables in docs/security.md read like these functions, and
tests/protocol/test_rules_*.py try every case, allowed and refused.
"""

from __future__ import annotations

from dataclasses import dataclass

from protocol.errors import SealedError

#: The letter breaks an authority rule: the sender may not say this about that.
REFUSED = "refused"
#: The sender is a school we blocked: nothing it writes is taken, directly or relayed.
BLOCKED = "blocked"
#: A value is out of its bounds for what we hold (a time too far ahead, say).
OUT_OF_BOUNDS = "bad-field"


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why a letter is refused: a protocol error ``code`` and a reason for the log."""

    code: str
    reason: str

    def error(self) -> SealedError:
        return SealedError(self.reason, code=self.code)


def refused(reason: str) -> Refusal:
    return Refusal(REFUSED, reason)


Verdict = Refusal | None
"""``None`` means allowed."""
