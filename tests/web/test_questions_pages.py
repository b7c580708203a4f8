"""The question pages over plain HTTP: who may see and do what, refusals in words with
what was typed kept, and every page in French."""

from __future__ import annotations

import html
import re
from typing import Any

from node.clock import now_ms
from node.questions.service import content_of
from node.web.pages import questions as questions_pages
from protocol import kinds
from protocol.entry import create_entry
from tests.helpers import key, stored_as_an_older_node_did, unchecked_entry
from tests.network import LiveNode, holding_everything
from tests.web.test_kept_ticks import ticked
from tests.web.web import client, csrf_of, http_sign_in


async def test_pupils_never_see_questions(school: LiveNode) -> None:
    asked = await school.node.questions.ask(content_of(title="Phonics?", text="Which scheme?"))
    async with client(school) as pupil:
        await http_sign_in(pupil, "Amira")
        for path in ("/questions", "/questions/new", f"/questions/{asked.id}"):
            async with pupil.get(path) as response:
                assert response.status == 403, path
        token = await csrf_of(pupil, "/")
        async with pupil.post(
            f"/questions/{asked.id}/answer", data={"csrf": token, "text": "Me!"}
        ) as response:
            assert response.status == 403
    assert (await school.node.questions.one(str(asked.id))).answers == ()


async def test_a_refused_question_says_why_and_keeps_what_was_typed(school: LiveNode) -> None:
    async with client(school) as teacher:
        await http_sign_in(teacher, "Mr Jones")
        token = await csrf_of(teacher, "/questions/new")
        typed = {"csrf": token, "title": "Oracy in Year 2?", "text": "x" * 10_001}
        async with teacher.post("/questions/new", data=typed) as response:
            page = html.unescape(await response.text())
            assert response.status == 400
            assert "Keep it to 10,000 characters at most." in page
            assert 'value="Oracy in Year 2?"' in page
        typed = {"csrf": token, "title": "Oracy?", "text": "Ideas", "focus": "t" * 65}
        async with teacher.post("/questions/new", data=typed) as response:
            assert response.status == 400
            assert "each at most 64 characters" in await response.text()
    assert await school.node.questions.all() == []


async def test_only_the_asking_school_marks_answers(school: LiveNode) -> None:
    """Oakfield holds a question of another school, with an answer: it may answer too,
    but gets no button to mark, and a mark it posts anyway is refused in words."""
    await holding_everything(school.node)  # made-up schools' logs, whole
    asker = key(9)
    question = create_entry(
        asker,
        seq=1,
        prev=None,
        timestamp=now_ms() - 1_000,
        kind=kinds.QUESTION,
        content={"title": "Maths hubs?", "text": "Are they worth joining?"},
    )
    answer = create_entry(
        key(10),
        seq=1,
        prev=None,
        timestamp=now_ms() - 500,
        kind=kinds.ANSWER,
        content={"question": bytes(question.id), "text": "Yes, for the training."},
    )
    await school.node.store.ingest([question, answer], now_ms())
    page_of = f"/questions/{question.id}"
    async with client(school) as teacher:
        await http_sign_in(teacher, "Mr Jones")
        async with teacher.get(page_of) as response:
            page = await response.text()
            assert "Yes, for the training." in page
            assert "Mark as helpful" not in page
        token = await csrf_of(teacher, page_of)
        async with teacher.post(f"{page_of}/helpful/{answer.id}", data={"csrf": token}) as response:
            assert response.status == 400
            assert "Only the school that asked the question" in await response.text()
        async with teacher.post(
            f"{page_of}/answer", data={"csrf": token, "text": "Ours too.\r\nTwo lines.", "by": ""}
        ) as response:
            assert response.status == 200
        async with teacher.get("/questions/abcdef1234", allow_redirects=False) as response:
            assert response.status == 404
        async with teacher.get(page_of, headers={"Accept-Language": "fr"}) as response:
            page = await response.text()
            assert "Répondre à cette question" in page
        async with teacher.get("/questions", headers={"Accept-Language": "fr"}) as response:
            assert "Questions au réseau" in await response.text()
    shown = await school.node.questions.one(str(question.id))
    assert [(a.text, a.by, a.helpful) for a in shown.answers] == [
        ("Yes, for the training.", None, False),
        ("Ours too.\nTwo lines.", None, False),
    ]


async def test_a_flood_of_questions_and_answers_comes_a_page_at_a_time(school: LiveNode) -> None:
    """One school's 30 questions, and 45 answers from throwaway keys to one of them:
    /questions and the question's page show a page at a time, with a link to the next;
    an answer's address (?answer=ID) opens the page it is on."""
    await holding_everything(school.node)  # made-up schools' logs, whole
    flooder = key(11)
    asked: list[Any] = []
    for i in range(30):
        asked.append(
            create_entry(
                flooder,
                seq=i + 1,
                prev=asked[-1].id if asked else None,
                timestamp=now_ms() - 100_000 + i,
                kind=kinds.QUESTION,
                content={"title": f"Flood {i:02}", "text": "Buy our scheme"},
            )
        )
    target = asked[0]
    answers = [
        create_entry(
            key(100 + i),
            seq=1,
            prev=None,
            timestamp=now_ms() - 50_000 + i,
            kind=kinds.ANSWER,
            content={"question": bytes(target.id), "text": f"Reply {i:02}"},
        )
        for i in range(45)
    ]
    ours = await school.node.questions.ask(content_of(title="Oracy?", text="Ideas?"))
    answers += [
        create_entry(
            key(200 + i),
            seq=1,
            prev=None,
            timestamp=now_ms() - 40_000 + i,
            kind=kinds.ANSWER,
            content={"question": bytes(ours.id), "text": f"Talk {i}"},
        )
        for i in range(3)
    ]
    await school.node.store.ingest([*asked, *answers], now_ms())
    async with client(school) as teacher:
        await http_sign_in(teacher, "Mr Jones")
        async with teacher.get("/") as response:  # the dashboard: one line of news
            page = html.unescape(await response.text())
        assert "3 new answers to our question “Oracy?”, the latest from unknown school" in page
        assert "answered our question" not in page
        async with teacher.get("/questions") as response:
            page = await response.text()
        assert len(re.findall(r"Flood \d\d", page)) == questions_pages.PAGE - 1  # and ours
        assert "Flood 29" in page  # newest first
        assert "Flood 00" not in page
        assert 'href="/questions?page=2"' in page
        async with teacher.get("/questions?page=2") as response:
            page = await response.text()
        assert len(re.findall(r"Flood \d\d", page)) == 31 - questions_pages.PAGE
        assert "page=3" not in page
        async with teacher.get("/questions?page=9", allow_redirects=False) as response:
            assert response.headers["Location"] == "/questions"
        here = f"/questions/{target.id}"
        async with teacher.get(here) as response:
            page = await response.text()
        assert len(re.findall(r"Reply \d\d", page)) == questions_pages.ANSWERS_PAGE
        assert "Reply 00" in page  # oldest first, as a conversation reads
        assert "45" in page  # how many there are
        assert f'href="{here}?page=2#answers"' in page
        last = answers[44]
        async with teacher.get(f"{here}?answer={last.id}") as response:
            page = await response.text()
        assert f'id="answer-{last.id}"' in page
        assert "Reply 00" not in page


async def test_a_huge_page_number_is_a_page_not_an_error(school: LiveNode) -> None:
    asked = await school.node.questions.ask(content_of(title="Phonics?", text="Which scheme?"))
    async with client(school) as teacher:
        await http_sign_in(teacher, "Mr Jones")
        for path in ("/questions", f"/questions/{asked.id}"):
            async with teacher.get(f"{path}?page={10**30}") as response:
                assert response.status == 200, path


async def test_question_pages_leave_out_what_an_older_node_kept_unchecked(
    school: LiveNode,
) -> None:
    """Questions and answers an older node kept unchecked, not knowing them yet (one
    without its text, an answer to it): the list, the search and the question's page
    still open, without them."""
    other = key(12)
    fine = create_entry(
        other,
        seq=1,
        prev=None,
        timestamp=now_ms() - 1_000,
        kind=kinds.QUESTION,
        content={"title": "Phonics schemes?", "text": "Which one?"},
    )
    old = unchecked_entry(other, kinds.QUESTION, {"title": "Old question"}, seq=2, prev=fine)
    answer = unchecked_entry(
        other, kinds.ANSWER, {"question": bytes(old.id), "text": "Old answer"}, seq=3, prev=old
    )
    await stored_as_an_older_node_did(school.node.store, [fine, old, answer])
    async with client(school) as teacher:
        await http_sign_in(teacher, "Mr Jones")
        for path in ("/questions", "/questions?q=old", f"/questions/{fine.id}"):
            async with teacher.get(path) as response:
                page = await response.text()
                assert response.status == 200, path
                assert "Old question" not in page, path
                assert "Old answer" not in page, path
        async with teacher.get("/questions") as response:
            assert "Phonics schemes?" in await response.text()
        async with teacher.get(f"/questions/{old.id}", allow_redirects=False) as response:
            assert response.status == 404


async def test_languages_from_an_older_form_are_read_and_kept_on_refusal(
    school: LiveNode,
) -> None:
    """A page loaded before the upgrade sends every language typed in one "languages"
    box: read, split on commas; refused, each code with a box is ticked again and the
    rest is typed again in "Other languages", nothing lost."""
    async with client(school) as teacher:
        await http_sign_in(teacher, "Mr Jones")
        token = await csrf_of(teacher, "/questions/new")
        typed = {"csrf": token, "title": "Oracy?", "text": "Ideas", "languages": "fr, Welsh"}
        async with teacher.post("/questions/new", data=typed) as response:
            page = html.unescape(await response.text())
            assert response.status == 400
        assert "Write languages as short codes, such as en, fr or pt-BR" in page
        assert ticked(page, "languages") == {"fr"}
        other = re.search(r'name="languages_extra" value="([^"]*)"', page)
        assert other
        assert other[1] == "Welsh"
        typed["languages"] = "FR, pt-BR"
        async with teacher.post("/questions/new", data=typed) as response:
            assert response.status == 200
    (asked,) = await school.node.questions.all()
    assert asked.as_json()["languages"] == ["fr", "pt-br"]
