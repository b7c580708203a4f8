"""Questions to the network: what an answer or a helpful mark counts for.

A ``question`` is its author's own, like an offer. Two kinds name another entry
(docs/protocol.md, "Questions and answers"):

* an ``answer`` counts only while the entry it names is a ``question`` we hold and
  its author has not withdrawn it (any school may answer, the asking one too);
* a ``helpful`` mark counts only when it names an ``answer`` we hold, not withdrawn,
  to a ``question`` we hold, not withdrawn, whose author is the marking school:
  only the school that asked says which answers helped it.

As for withdrawals (protocol/rules/entries.py), these are rules about an entry's
*effect*, not about storing it: the answer stays in its author's log, because the
question may reach a node before or after it, over different paths, and every node
must end with the same logs. Each node applies the rules when it reads, to what it
holds then, so all nodes holding the same entries show the same answers and marks.
"""

from __future__ import annotations

from dataclasses import dataclass

from protocol import kinds
from protocol.keys import NodeId
from protocol.rules import Verdict, refused


@dataclass(frozen=True, slots=True)
class Named:
    """What we hold of an entry that an answer or a mark names."""

    author: NodeId
    kind: str
    withdrawn: bool  # its author withdrew it (its content is erased)


def answer(question: Named | None) -> Verdict:
    """Whether an ``answer`` naming ``question`` counts (is shown and found)."""
    if question is None:
        return refused("the question it answers is not held")
    if question.kind != kinds.QUESTION:
        return refused("an answer names an entry that is not a question")
    if question.withdrawn:
        return refused("the question it answers was withdrawn")
    return None


def helpful(marker: NodeId, answer_: Named | None, question: Named | None) -> Verdict:
    """Whether a ``helpful`` mark by ``marker``, naming ``answer_`` (which answers
    ``question``), counts."""
    if answer_ is None:
        return refused("the answer it marks is not held")
    if answer_.kind != kinds.ANSWER:
        return refused("a helpful mark names an entry that is not an answer")
    if answer_.withdrawn:
        return refused("the answer it marks was withdrawn")
    refusal = answer(question)
    if refusal is not None:
        return refusal
    assert question is not None
    if question.author != marker:
        return refused("only the school that asked the question may mark its answers helpful")
    return None
