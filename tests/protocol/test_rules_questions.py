"""The rules of questions, answers and helpful marks (protocol/rules/questions.py)."""

from __future__ import annotations

import pytest

from protocol import kinds
from protocol.keys import NodeId
from protocol.rules import REFUSED, questions
from protocol.rules.questions import Named

ASKER = NodeId(b"\x01" * 32)
OTHER = NodeId(b"\x02" * 32)

QUESTION = Named(ASKER, kinds.QUESTION, withdrawn=False)


@pytest.mark.parametrize(
    ("question", "allowed"),
    [
        (QUESTION, True),
        (Named(OTHER, kinds.QUESTION, withdrawn=False), True),  # any school's question
        (None, False),  # not held (yet): the answer waits, unseen
        (Named(ASKER, kinds.QUESTION, withdrawn=True), False),
        *[
            (Named(ASKER, kind, withdrawn=False), False)
            for kind in (*kinds.SCHEMAS, "endorsement")
            if kind != kinds.QUESTION
        ],
    ],
)
def test_an_answer_counts_only_for_a_current_question(
    question: Named | None, allowed: bool
) -> None:
    verdict = questions.answer(question)
    assert (verdict is None) is allowed
    if verdict is not None:
        assert verdict.code == REFUSED


ANSWER = Named(OTHER, kinds.ANSWER, withdrawn=False)


@pytest.mark.parametrize(
    ("marker", "answer", "question", "allowed"),
    [
        (ASKER, ANSWER, QUESTION, True),
        (ASKER, Named(ASKER, kinds.ANSWER, withdrawn=False), QUESTION, True),  # its own answer
        (OTHER, ANSWER, QUESTION, False),  # the answering school marks its own answer
        (NodeId(b"\x03" * 32), ANSWER, QUESTION, False),  # a third school
        (ASKER, None, QUESTION, False),
        (ASKER, Named(OTHER, kinds.ANSWER, withdrawn=True), QUESTION, False),
        (ASKER, ANSWER, None, False),
        (ASKER, ANSWER, Named(ASKER, kinds.QUESTION, withdrawn=True), False),
        (ASKER, ANSWER, Named(ASKER, kinds.OFFER, withdrawn=False), False),
        *[
            (ASKER, Named(OTHER, kind, withdrawn=False), QUESTION, False)
            for kind in (*kinds.SCHEMAS, "endorsement")
            if kind != kinds.ANSWER
        ],
    ],
)
def test_only_the_asking_school_marks_a_current_answer_helpful(
    marker: NodeId, answer: Named | None, question: Named | None, allowed: bool
) -> None:
    verdict = questions.helpful(marker, answer, question)
    assert (verdict is None) is allowed
    if verdict is not None:
        assert verdict.code == REFUSED
