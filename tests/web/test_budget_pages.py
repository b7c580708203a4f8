"""A school past its budget of public entries (protocol/budget.py) is told so on the
page, in the teacher's language, and nothing is signed."""

from __future__ import annotations

import html
import re

from protocol.budget import DAY_MS, Rule
from tests.network import LiveNode
from tests.web.test_error_words import COMMAND_WORDS
from tests.web.test_form_text import send
from tests.web.web import client, http_sign_in


async def test_an_offer_past_the_budget_is_refused_with_when_to_try_again(
    school: LiveNode,
) -> None:
    school.node.store.budgets.rule = Rule(count=1, window_ms=DAY_MS)  # the profile used it
    heads = await school.node.store.heads()
    offer = {"side": "offer", "activity": "visit", "title": "Visit us", "text": "Tuesdays."}
    async with client(school) as teacher:
        await http_sign_in(teacher, "Mr Jones")
        status, _, page = await send(school, teacher, "/offers/new", "/offers/new", offer)
    assert status == 400
    found = re.search(r'<div class="flash error"[^>]*>.*?<li>(.*?)</li>', page, re.S)
    assert found, page
    said = html.unescape(found[1])
    assert said.startswith("Each school shares at most 1 public posts a day on schoolmesh")
    assert "try again after " in said
    assert not COMMAND_WORDS.search(said)
    assert 'value="Visit us"' in page  # what was typed comes back
    assert await school.node.store.heads() == heads
