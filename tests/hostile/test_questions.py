"""A hostile school and questions to the network: what it signs with its own valid
key reaches us through a real session, and counts only as protocol/rules/questions.py
allows.

Three schools on loopback, as in test_entries.py: Oakfield (the victim, which asks),
the Lycée (the rogue) and the Colegio (us), each of the two partnered only with the
rogue. To know that a rogue's entry was judged without waiting for something not to
happen, the rogue signs an ordinary entry after it: entries of one log are taken in
order, so once the later one is held, the earlier one was judged.
"""

from __future__ import annotations

import asyncio
import html
import json
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from node.clock import now_ms
from node.questions.service import content_of
from node.store.search import LISTED, Filters
from protocol import codec, kinds
from protocol.entry import Entry, Payload
from protocol.errors import NotFoundError
from protocol.keys import content_hash
from tests.helpers import offer_content, run_cli
from tests.hostile.test_entries import arrives, signed_as
from tests.network import COLEGIO, LYCEE, OAK, LiveNode, network, wait_for
from tests.web.web import add_user, client, http_sign_in

Schools = dict[str, LiveNode]


@pytest.fixture
async def trio(tmp_path: Path) -> AsyncIterator[Schools]:
    async with network(
        tmp_path, (OAK, LYCEE, COLEGIO), [("oak", "lycee"), ("lycee", "colegio")]
    ) as nodes:
        yield nodes


async def _judged_after(rogue: LiveNode, us: LiveNode) -> None:
    """An ordinary entry of the rogue after the hostile one, held by us."""
    await arrives(us, await signed_as(rogue, kinds.OFFER, offer_content("Nothing to see")))


async def _asked(victim: LiveNode, us: LiveNode) -> Entry:
    question = await victim.node.questions.ask(
        content_of(title="Guided reading, mixed ages?", text="Years 3 and 4 together.")
    )
    await arrives(us, question)
    return question


async def _found(us: LiveNode, words: str) -> list[str]:
    return [str(i.entry.id) for i in await us.node.offers.search(words, Filters(among=LISTED))]


async def test_a_school_cannot_mark_answers_to_another_schools_question(trio: Schools) -> None:
    victim, rogue, us = trio["oak"], trio["lycee"], trio["colegio"]
    question = await _asked(victim, us)
    ours = await us.node.questions.answer(str(question.id), "By reading level.")
    theirs = await signed_as(
        rogue, kinds.ANSWER, {"question": bytes(question.id), "text": "Buy our scheme"}
    )
    await arrives(us, theirs)
    for answer in (ours, theirs):  # the rogue marks its own answer, and ours
        await signed_as(rogue, kinds.HELPFUL, {"answer": bytes(answer.id)})
    await _judged_after(rogue, us)
    for live in (us, victim):
        await arrives(live, theirs)
        await arrives(live, ours)  # through the lycée to the Oakfield: either may be first
        shown = await live.node.questions.one(str(question.id))
        assert [(a.text, a.helpful) for a in shown.answers] == [
            ("By reading level.", False),
            ("Buy our scheme", False),
        ]


async def test_an_answer_to_a_withdrawn_question_is_never_shown(trio: Schools) -> None:
    victim, rogue, us = trio["oak"], trio["lycee"], trio["colegio"]
    question = await _asked(victim, us)
    withdrawal = await victim.node.questions.withdraw(str(question.id))
    await arrives(us, withdrawal)
    late = await signed_as(
        rogue, kinds.ANSWER, {"question": bytes(question.id), "text": "Zombie answer"}
    )
    await arrives(us, late)
    assert await _found(us, "zombie") == []
    with pytest.raises(NotFoundError):
        await us.node.questions.one(str(question.id))
    with pytest.raises(NotFoundError):
        await us.node.questions.answer(str(question.id), "Too late")
    assert await us.node.questions.new_answers(0) == []


async def test_an_answer_pointing_at_a_non_question_counts_nowhere(trio: Schools) -> None:
    victim, rogue, us = trio["oak"], trio["lycee"], trio["colegio"]
    offer = await victim.node.offers.post("offer", offer_content("Phonics in Year 1"))
    await arrives(us, offer)
    bogus = await signed_as(
        rogue, kinds.ANSWER, {"question": bytes(offer.id), "text": "Phonics spam"}
    )
    await arrives(us, bogus)
    await arrives(victim, bogus)
    assert await _found(us, "spam") == []
    assert await us.node.questions.all() == []
    # At the school that posted the offer, no dashboard news either.
    assert await victim.node.questions.new_answers(0) == []
    with pytest.raises(NotFoundError):
        await us.node.questions.one(str(offer.id))


async def test_a_school_cannot_withdraw_another_schools_question(trio: Schools) -> None:
    victim, rogue, us = trio["oak"], trio["lycee"], trio["colegio"]
    question = await _asked(victim, us)
    await arrives(us, await signed_as(rogue, kinds.WITHDRAW, {"target": bytes(question.id)}))
    assert (await us.node.questions.one(str(question.id))).title == "Guided reading, mixed ages?"
    assert await _found(us, "guided") == [str(question.id)]


def _unchecked(rogue: LiveNode, kind: str, content: dict[str, Any], seq: int, prev: Any) -> Entry:
    """Signed without the schema check a well-behaved node makes before signing."""
    content_bytes = codec.encode(content)
    payload = Payload(rogue.node.node_id, seq, prev, now_ms(), kind, content_hash(content_bytes))
    payload_bytes = payload.encode()
    signature = rogue.node.key.sign(payload_bytes)
    return Entry(payload, payload_bytes, signature, content_bytes, content)


@pytest.mark.parametrize(
    ("kind", "content"),
    [
        (kinds.QUESTION, {"title": "Long one", "text": "a" * 10_001}),
        (kinds.QUESTION, {"title": "t" * 201, "text": "x"}),
        (kinds.ANSWER, {"question": b"\x00" * 32, "text": "b" * 10_001}),
        (kinds.ANSWER, {"question": b"\x00" * 32, "text": "x", "by": "n" * 101}),
        (kinds.HELPFUL, {"answer": "not an id"}),
    ],
)
async def test_oversize_or_malformed_questions_are_refused(
    trio: Schools, caplog: pytest.LogCaptureFixture, kind: str, content: dict[str, Any]
) -> None:
    caplog.set_level(logging.INFO)
    rogue, us = trio["lycee"], trio["colegio"]
    store = rogue.node.store
    async with store.write():
        head = await store.head(rogue.node.node_id)
        assert head is not None
        bad = _unchecked(rogue, kind, content, head.seq + 1, head.id)
        await store._insert([bad], now_ms())

    async def judged() -> bool:
        refused = any("bad-field" in r.getMessage() for r in caplog.records)
        return refused or await us.holds(bad.id)

    await wait_for(judged, what="the entry to be judged at the Colegio")
    assert not await us.holds(bad.id)
    assert await us.node.questions.all() == []


async def test_markup_and_forged_fields_in_questions_and_answers_change_nothing(
    trio: Schools,
) -> None:
    """Fields named like ours (``school``, ``school_id``, ``question_id``, ``helpful``)
    never replace them, in ``--json`` output or on the pages; markup is shown as text."""
    victim, rogue, us = trio["oak"], trio["lycee"], trio["colegio"]
    forged = {"school": "Oakfield Primary", "school_id": str(victim.node.node_id)}
    question = await signed_as(
        rogue,
        kinds.QUESTION,
        {"title": "<script>alert(1)</script>", "text": "<b>Bold</b>", "ours": True, **forged},
    )
    answer = await signed_as(
        rogue,
        kinds.ANSWER,
        {
            "question": bytes(question.id),
            "text": "<img src=x onerror=alert(1)>",
            "by": "<i>Me</i>",
            "question_id": "0" * 64,
            "title": "Forged title",
            "helpful": True,
            **forged,
        },
    )
    await arrives(us, answer)
    data = str(us.node.data.path)
    done = await asyncio.to_thread(
        run_cli, "question", "show", str(question.id), "--data", data, "--json"
    )
    shown = json.loads(done.stdout)
    assert (shown["school"], shown["ours"]) == ("Lycée Jean Moulin", False)
    assert [(a["school"], a["helpful"]) for a in shown["answers"]] == [("Lycée Jean Moulin", False)]
    done = await asyncio.to_thread(run_cli, "search", "onerror", "--data", data, "--json")
    (row,) = json.loads(done.stdout)
    assert (row["question_id"], row["title"]) == (str(question.id), "<script>alert(1)</script>")
    assert (row["school"], row["school_id"]) == ("Lycée Jean Moulin", str(rogue.node.node_id))
    await add_user(us, "Sra. Ruiz", "staff")
    async with client(us) as http:
        await http_sign_in(http, "Sra. Ruiz")
        for path in ("/questions", f"/questions/{question.id}"):
            async with http.get(path) as response:
                page = await response.text()
            assert response.status == 200
            assert "<script>alert(1)" not in page
            assert "<img src=x" not in page
            assert "<i>Me</i>" not in page
            assert "Mark as helpful" not in page
        assert "&lt;img src=x onerror=alert(1)&gt;" in page
        assert "Oakfield Primary" not in html.unescape(page)
