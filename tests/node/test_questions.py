"""Questions to the network on real databases: asking, answering, marking, searching,
and the rules of protocol/rules/questions.py applied to what a node holds.

The two-hop test runs three real nodes on loopback (Oakfield - Lycée - Colegio)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from node import needs
from node.clock import now_ms
from node.node import Node
from node.offers import service as offers
from node.questions.service import content_of
from node.store import migrations
from node.store.search import LISTED, QUESTIONS, Filters
from protocol import kinds
from protocol.budget import DAY_MS, Rule
from protocol.entry import Entry, create_entry
from protocol.errors import NotAllowedError, NotFoundError, UserInputError
from protocol.keys import NodeKey
from tests.helpers import (
    key,
    run_cli,
    stored_as_an_older_node_did,
    unchecked_entry,
    undoing_migrations,
)
from tests.network import COLEGIO, LYCEE, OAK, holding_everything, network, wait_for


@pytest.fixture
async def node(tmp_path: Path) -> AsyncIterator[Node]:
    opened = await Node.create(tmp_path / "n", name="Oakfield Primary", country="GB")
    yield opened
    await opened.close()


def _signed(signer: NodeKey, seq: int, prev: Entry | None, kind: str, content: Any) -> Entry:
    return create_entry(
        signer,
        seq=seq,
        prev=None if prev is None else prev.id,
        timestamp=now_ms() - 60_000 + seq,
        kind=kind,
        content=content,
    )


async def _found(node: Node, query: str, among: tuple[str, ...] = LISTED) -> list[str]:
    found = await node.offers.search(query, Filters(among=among))
    return [f"{item.entry.kind}: {item.as_json()['title']}" for item in found]


async def test_ask_answer_mark_and_show(node: Node) -> None:
    asked = await node.questions.ask(
        content_of(
            title="  Guided reading with  mixed-age classes? ",
            text="Years 3 and 4 together.\r\nHow do you group them? Merci, Amélie",
            focus=["reading, oracy"],
            phases=["primary"],
            languages=["EN"],
        )
    )
    assert asked.content == {
        "title": "Guided reading with mixed-age classes?",
        "text": "Years 3 and 4 together.\nHow do you group them? Merci, Amélie",
        "focus": ["reading", "oracy"],
        "phases": ["primary"],
        "languages": ["en"],
    }
    answer = await node.questions.answer(str(asked.id)[:10], "By reading age.", by=" Ana  B ")
    quiet = await node.questions.answer(str(asked.id), "Not by age at all.")
    assert (answer.content or {})["by"] == "Ana B"
    assert "by" not in (quiet.content or {})
    question, _mark = await node.questions.mark_helpful(str(answer.id))
    shown = (await node.questions.one(str(asked.id))).as_json(with_answers=True)
    assert [(a["text"], a["by"], a["helpful"]) for a in shown["answers"]] == [
        ("By reading age.", "Ana B", True),
        ("Not by age at all.", None, False),
    ]
    assert shown["answers"][0]["school_id"] == str(node.node_id)
    assert shown["answers"][0]["school"] == "Oakfield Primary"
    with pytest.raises(UserInputError, match="already marked"):
        await node.questions.mark_helpful(str(answer.id))
    listed = [q.as_json() for q in await node.questions.all()]
    assert [(q["title"], q["answer_count"], q["ours"]) for q in listed] == [
        (question.title, 2, True)
    ]


@pytest.mark.parametrize(
    ("fields", "words"),
    [
        ({"title": "  ", "text": "x"}, "--title: write the title"),
        ({"title": "t", "text": " \r\n "}, "--text: write the question"),
        ({"title": "t" * 201, "text": "x"}, "--title: keep the title to 200"),
        ({"title": "t", "text": "x" * 10_001}, "--text: keep the question to 10,000"),
        ({"title": "t", "text": "bell\x07"}, "control characters"),
    ],
)
def test_bad_questions_are_refused_in_words(fields: dict[str, str], words: str) -> None:
    with pytest.raises(UserInputError, match=words):
        content_of(**fields)


async def test_questions_and_answers_are_searched_only_when_asked_for(node: Node) -> None:
    await node.offers.post("offer", {"activity": "visit", "title": "Reading visit"})
    asked = await node.questions.ask(content_of(title="Phonics in Year 1?", text="Which scheme?"))
    await node.questions.answer(str(asked.id), "We use a reading scheme with decodable books.")
    assert await _found(node, "reading", among=offers.SIDES) == ["offer: Reading visit"]
    assert sorted(await _found(node, "reading")) == [
        "answer: Phonics in Year 1?",  # an answer is titled by its question
        "offer: Reading visit",
    ]
    assert sorted(await _found(node, "scheme", among=QUESTIONS)) == [
        "answer: Phonics in Year 1?",
        "question: Phonics in Year 1?",
    ]
    assert await _found(node, "oakfield phonics") == ["question: Phonics in Year 1?"]
    # Withdrawn, the question leaves the index and takes its answers out of view.
    await node.questions.withdraw(str(asked.id))
    assert await _found(node, "scheme") == []
    assert await node.questions.all() == []
    with pytest.raises(NotFoundError):
        await node.questions.one(str(asked.id))


async def test_answers_count_only_for_a_held_current_question(node: Node) -> None:
    """What another school signs: an answer arriving before its question, an answer to
    an offer, a mark by a school that did not ask. Each counts only as the rules say.
    Two made-up schools' logs, whole: a node holding by horizon does not keep an answer
    from beyond its horizon that comes before its question (tests/node/test_loose.py)."""
    await holding_everything(node)
    asker, other = key(5), key(6)
    question = _signed(asker, 1, None, kinds.QUESTION, {"title": "Oracy?", "text": "Ideas?"})
    offer = _signed(asker, 2, question, kinds.OFFER, {"activity": "visit", "title": "Oracy day"})
    early = _signed(other, 1, None, kinds.ANSWER, {"question": bytes(question.id), "text": "Talk"})
    odd = _signed(other, 2, early, kinds.ANSWER, {"question": bytes(offer.id), "text": "Debate"})
    theirs = _signed(other, 3, odd, kinds.HELPFUL, {"answer": bytes(early.id)})
    await node.store.ingest([early, odd, theirs], now_ms())
    assert await _found(node, "talk") == []  # its question is not held yet
    await node.store.ingest([question, offer], now_ms())
    assert await _found(node, "talk") == ["answer: Oracy?"]
    assert await _found(node, "debate") == []  # answers an offer: never counts
    shown = await node.questions.one(str(question.id))
    assert [(a.text, a.helpful) for a in shown.answers] == [("Talk", False)]
    mark = _signed(asker, 3, offer, kinds.HELPFUL, {"answer": bytes(early.id)})
    await node.store.ingest([mark], now_ms())
    assert [a.helpful for a in (await node.questions.one(str(question.id))).answers] == [True]
    # We did not ask it: we may answer, not mark; nor withdraw what others wrote.
    with pytest.raises(NotAllowedError):
        await node.questions.mark_helpful(str(early.id))
    with pytest.raises(NotAllowedError):
        await node.questions.withdraw(str(question.id))
    with pytest.raises(NotFoundError):
        await node.questions.answer(str(offer.id), "Not a question")


async def test_the_dashboard_shows_new_answers_to_our_questions(node: Node) -> None:
    asked = await node.questions.ask(content_of(title="Maths hubs?", text="Any good?"))
    await node.questions.answer(str(asked.id), "Our own note")  # ours: not news
    answer = _signed(key(7), 1, None, kinds.ANSWER, {"question": bytes(asked.id), "text": "Yes"})
    await node.store.ingest([answer], now_ms())
    news = await node.questions.new_answers(0)
    assert [(n.question, n.title, n.school) for n in news] == [
        (asked.id, "Maths hubs?", "unknown school")
    ]
    assert await node.questions.new_answers(now_ms()) == []


async def test_an_older_index_is_made_again_with_questions(tmp_path: Path) -> None:
    made = await Node.create(tmp_path / "n", name="Oakfield Primary", country="GB")
    asked = await made.questions.ask(content_of(title="Phonics?", text="Which scheme?"))
    await made.questions.answer(str(asked.id), "Decodable books")
    # As a node before questions left it: the entries held, neither indexed nor linked.
    async with made.store.write():
        await made.store.execute("DROP TABLE question_links")
        await made.store.execute("DELETE FROM listings")
        await made.store.execute("DELETE FROM listing_text")
        for statement in undoing_migrations(migrations.MIGRATIONS.index(migrations._QUESTIONS) + 1):
            await made.store.execute(statement)
        await made.store.execute(
            "UPDATE schema_version SET version = ?",
            (migrations.MIGRATIONS.index(migrations._QUESTIONS),),
        )
    await made.close()
    opened = await Node.open(tmp_path / "n")
    try:
        assert await _found(opened, "decodable") == ["answer: Phonics?"]
        assert (await opened.questions.one(str(asked.id))).answer_count == 1
    finally:
        await opened.close()


async def test_a_question_gets_an_answer_from_two_hops_away_and_is_found(tmp_path: Path) -> None:
    """Oakfield asks; the Colegio, partner of the Lycée only, answers; Oakfield finds
    the answer by search, with the Colegio's name, and marks it; the mark reaches the
    Colegio."""
    async with network(
        tmp_path, (OAK, LYCEE, COLEGIO), [("oak", "lycee"), ("lycee", "colegio")]
    ) as nodes:
        oak, colegio = nodes["oak"], nodes["colegio"]
        asked = await oak.node.questions.ask(
            content_of(title="Guided reading, mixed ages?", text="Years 3 and 4 together.")
        )
        await wait_for(lambda: colegio.holds(asked.id), what="the question at the Colegio")
        answer = await colegio.node.questions.answer(
            str(asked.id), "Agrupamos por nivel lector.", by="Marta"
        )
        await wait_for(lambda: oak.holds(answer.id), what="the answer at Oakfield")
        found = await oak.node.offers.search("nivel lector", Filters(among=LISTED))
        assert [item.as_json()["question_id"] for item in found] == [str(asked.id)]
        shown = (await oak.node.questions.one(str(asked.id))).as_json(with_answers=True)
        assert [(a["school"], a["school_id"], a["by"]) for a in shown["answers"]] == [
            ("Colegio San Marcos", str(colegio.node.node_id), "Marta")
        ]
        _question, mark = await oak.node.questions.mark_helpful(str(answer.id))
        await wait_for(lambda: colegio.holds(mark.id), what="the mark at the Colegio")
        seen = await colegio.node.questions.one(str(asked.id))
        assert [a.helpful for a in seen.answers] == [True]


async def test_questions_and_answers_count_in_the_schools_budget(node: Node) -> None:
    """Like any public entry (protocol/budget.py): past the budget, nothing is signed."""
    node.store.budgets.rule = Rule(count=2, window_ms=DAY_MS)  # the profile used one
    asked = await node.questions.ask(content_of(title="Phonics?", text="Which scheme?"))
    heads = await node.store.heads()
    with pytest.raises(UserInputError, match="public entries a day"):
        await node.questions.answer(str(asked.id), "Ours")
    assert await node.store.heads() == heads


async def test_dashboard_news_comes_one_line_per_question(node: Node) -> None:
    """Answers from many schools (or throwaway keys) to one of our questions make one
    line of news with their number, not one line each."""
    asked = await node.questions.ask(content_of(title="Maths hubs?", text="Any good?"))
    other = await node.questions.ask(content_of(title="Oracy?", text="Ideas?"))
    answers = [
        _signed(key(40 + i), 1, None, kinds.ANSWER, {"question": bytes(asked.id), "text": "Yes"})
        for i in range(30)
    ]
    answers.append(
        _signed(key(80), 1, None, kinds.ANSWER, {"question": bytes(other.id), "text": "Debate"})
    )
    await node.store.ingest(answers, now_ms())
    news = await node.questions.new_answers(0)
    assert sorted((n.title, n.count) for n in news) == [("Maths hubs?", 30), ("Oracy?", 1)]
    items = await needs.for_staff(node, "Mr Jones", [], date.today(), now_ms())
    assert sorted((i.title, i.detail) for i in items if i.kind == "question_answered") == [
        ("Maths hubs?", "30"),
        ("Oracy?", "1"),
    ]


async def test_search_applies_the_answer_rule_to_what_it_found(node: Node) -> None:
    """The search's own filter repeats protocol/rules/questions.py in SQL so that a page
    of results is full; the rule itself still judges each answer found (same read)."""
    asker, other = key(5), key(6)
    question = _signed(asker, 1, None, kinds.QUESTION, {"title": "Oracy?", "text": "Ideas?"})
    answer = _signed(other, 1, None, kinds.ANSWER, {"question": bytes(question.id), "text": "Talk"})
    lost = _signed(other, 2, answer, kinds.ANSWER, {"question": b"\x01" * 32, "text": "Lost"})
    await node.store.ingest([question, answer, lost], now_ms())
    withdrawal = _signed(asker, 2, question, kinds.WITHDRAW, {"target": bytes(question.id)})
    await node.store.ingest([withdrawal], now_ms())
    listed = [offers.Listing(e, "unknown school", "") for e in (answer, lost)]
    kept = await node.store.read(lambda conn: offers._with_questions(conn, listed))
    assert kept == []


async def test_questions_an_older_node_kept_unchecked_are_left_out(node: Node) -> None:
    """An older node, not knowing questions yet, kept them unchecked (forward
    compatibility): one without its text, one whose title is a number, an answer without
    its text. The list, a question, a search and marking leave them out, in words."""
    other = key(5)
    fine = _signed(other, 1, None, kinds.QUESTION, {"title": "Phonics schemes?", "text": "Ours?"})
    untitled = unchecked_entry(other, kinds.QUESTION, {"title": "Old question"}, seq=2, prev=fine)
    numbered = unchecked_entry(
        other, kinds.QUESTION, {"title": 5, "text": "Numbers"}, seq=3, prev=untitled
    )
    answer = _signed(
        other, 4, numbered, kinds.ANSWER, {"question": bytes(untitled.id), "text": "An answer"}
    )
    textless = unchecked_entry(
        other, kinds.ANSWER, {"question": bytes(fine.id)}, seq=5, prev=answer
    )
    await stored_as_an_older_node_did(node.store, [fine, untitled, numbered, answer, textless])
    assert [q.title for q in await node.questions.all()] == ["Phonics schemes?"]
    assert (await node.questions.one(str(fine.id))).answers == ()
    for left_out in (untitled, numbered):
        with pytest.raises(NotFoundError):
            await node.questions.one(str(left_out.id))
    assert await _found(node, "answer", QUESTIONS) == []
    assert await _found(node, "phonics", QUESTIONS) == ["question: Phonics schemes?"]
    with pytest.raises(NotFoundError, match="no answer with id"):
        await node.questions.mark_helpful(str(textless.id))
    data = str(node.data.path)
    listed = await asyncio.to_thread(run_cli, "question", "list", "--data", data, "--json")
    assert [q["title"] for q in json.loads(listed.stdout)] == ["Phonics schemes?"]
    shown = await asyncio.to_thread(run_cli, "question", "show", str(untitled.id), "--data", data)
    assert shown.returncode != 0
    assert "no question with id" in shown.stderr
