"""Questions to the network in a real browser: a teacher at Oakfield asks, a teacher
at the Lycée answers, Oakfield sees the answer on its dashboard, marks it helpful and
finds it again by search."""

from __future__ import annotations

import re
from pathlib import Path

from node.questions.service import Questions
from tests.network import LiveNode, wait_for
from tests.web.web import browser, screenshot, sign_in


async def test_ask_at_one_school_answer_at_another_and_mark_it(
    school: LiveNode, lycee: LiveNode, tmp_path: Path
) -> None:
    async with browser() as chromium:
        page = await sign_in(chromium, school, "Mr Jones")
        await (
            page.get_by_role("navigation", name="Main menu")
            .get_by_role("link", name="Questions")
            .click()
        )
        await page.get_by_role("link", name="Ask a question").click()
        await page.get_by_label("Your question in one line").fill(
            "Lecture guidée, classes mixtes ?"
        )
        await page.get_by_label("Details").fill("Years 3 and 4 together.\nHow do you group them?")
        await page.get_by_label("Focus areas").fill("reading, oracy")
        await page.get_by_label("Primary").check()
        await page.get_by_role("button", name="Ask the network").click()
        await page.get_by_text("Your question is posted.").wait_for()
        asked = page.url.rsplit("/", 1)[1]
        assert await page.locator("p.prose").first.inner_text() == (
            "Years 3 and 4 together.\nHow do you group them?"
        )

        questions = lycee.node.questions
        await wait_for(lambda: _has(questions, asked), what="the question at the Lycée")
        theirs = await sign_in(chromium, lycee, "M. Martin")
        await theirs.goto(f"{lycee.address}/questions")
        await theirs.get_by_role("link", name="Lecture guidée, classes mixtes ?").click()
        await theirs.get_by_label("Your answer").fill("Par niveau de lecture,\npas par âge.")
        await theirs.get_by_label("Your name").fill("Amélie Martin")
        await theirs.get_by_role("button", name="Post the answer").click()
        await theirs.get_by_text("Your answer is posted").wait_for()
        await screenshot(theirs, "question-answered", tmp_path)

        async def answered() -> bool:
            return (await school.node.questions.one(asked)).answer_count == 1

        await wait_for(answered, what="the answer at Oakfield")
        await page.goto(f"{school.address}/")
        news = page.get_by_role("link", name=re.compile("Lycée Jean Moulin answered our question"))
        await news.click()
        answer = page.locator("li.card", has_text="Amélie Martin, Lycée Jean Moulin")
        assert "Par niveau de lecture,\npas par âge." in await answer.inner_text()
        await answer.get_by_role("button", name="Mark as helpful").click()
        await page.get_by_text("Marked as helpful").wait_for()
        assert await answer.locator(".tag", has_text="helpful").count() == 1
        assert await answer.get_by_role("button", name="Mark as helpful").count() == 0

        await page.goto(f"{school.address}/questions")
        await page.get_by_label("Search questions and answers").fill("niveau lecture")
        await page.get_by_role("button", name="Search").click()
        found = page.get_by_role("link", name="Answer to “Lecture guidée, classes mixtes ?”")
        await found.click()
        (answer_shown,) = (await school.node.questions.one(asked)).answers
        assert page.url.endswith(f"#answer-{answer_shown.id}")


async def _has(questions: Questions, question_id: str) -> bool:
    return any(str(q.id) == question_id for q in await questions.all())


async def test_languages_are_ticked_as_on_the_offer_form_and_a_word_is_explained(
    school: LiveNode,
) -> None:
    """A teacher ticks languages by name; a name typed where a code goes is refused with
    a message about languages, and what was typed and ticked is kept."""
    async with browser() as chromium:
        page = await sign_in(chromium, school, "Mr Jones")
        await page.goto(f"{school.address}/questions/new")
        await page.get_by_label("Your question in one line").fill("Bilingual assemblies?")
        await page.get_by_label("Details").fill("How do you run them?")
        languages = page.get_by_role("group", name="Languages")
        await languages.get_by_label("English").check()
        await languages.get_by_label("Other languages").fill("Welsh")
        await page.get_by_role("button", name="Ask the network").click()
        await page.get_by_text("Write languages as short codes, such as en, fr or pt-BR").wait_for()
        assert "focus" not in await page.get_by_role("alert").inner_text()
        languages = page.get_by_role("group", name="Languages")
        assert await languages.get_by_label("English").is_checked()
        assert await languages.get_by_label("Other languages").input_value() == "Welsh"
        assert await page.get_by_label("Details").input_value() == "How do you run them?"

        await languages.get_by_label("Other languages").fill("cy")
        await page.get_by_role("button", name="Ask the network").click()
        await page.get_by_text("Your question is posted.").wait_for()
    (asked,) = await school.node.questions.all()
    assert asked.as_json()["languages"] == ["en", "cy"]
