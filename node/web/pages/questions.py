"""Questions to the network (node/questions/service.py): the questions held, a search
of questions and answers, asking one, a question's page with its answers, answering,
and, for the asking school, marking the answers that helped. Staff only."""

from __future__ import annotations

from aiohttp import web

from node.questions.service import MAX_NAME, MAX_TEXT, MAX_TITLE, content_of
from node.store.search import QUESTIONS, Filters
from node.web.kit import (
    VISIT,
    WEB,
    form_of,
    gettext,
    kept,
    kept_ticks,
    page_text,
    render,
    require,
    see_other,
)
from node.web.vocabulary import COMMON_LANGUAGES, vocabulary
from protocol import kinds
from protocol.contents.entries import HelpfulContent
from protocol.errors import NotAllowedError, NotFoundError, SchemaError, UserInputError, said

routes = web.RouteTableDef()
#: Search results shown: a question page is where the reading is done.
RESULTS = 50
#: Questions per page of /questions, and answers per page of a question: one school
#: (or many throwaway keys) can send hundreds, and a page must stay quick to load.
PAGE = 25
ANSWERS_PAGE = 20
#: The highest page number taken: beyond it the offset overflows SQLite's integers.
MAX_PAGE = 10**6


def _page_number(request: web.Request) -> int:
    """The ``page`` asked for, from 1 to :data:`MAX_PAGE`; 1 for anything else."""
    try:
        return min(max(int(request.query.get("page", "1")), 1), MAX_PAGE)
    except ValueError:
        return 1


@routes.get("/questions")
@require("staff")
async def questions_page(request: web.Request) -> web.StreamResponse:
    node = request.app[WEB].node
    query = request.query.get("q", "").strip()[:200]
    found = []
    if query:
        found = await node.offers.search(query, Filters(among=QUESTIONS), limit=RESULTS)
    page = _page_number(request)
    # One more than the page holds tells whether there is a next page.
    questions = await node.questions.all(offset=PAGE * (page - 1), limit=PAGE + 1)
    if page > 1 and not questions:  # past the last page (questions were withdrawn)
        raise web.HTTPSeeOther("/questions")
    return render(
        request,
        "questions_index.html",
        query=query,
        found=[item.as_json() for item in found],
        questions=questions[:PAGE],
        earlier=f"/questions?page={page - 1}" if page > 1 else None,
        more=f"/questions?page={page + 1}" if len(questions) > PAGE else None,
    )


@routes.get("/questions/new")
@require("staff")
async def new_question_page(request: web.Request) -> web.StreamResponse:
    # After a refusal: the languages ticked and typed, each code ticked if it has a box,
    # the rest typed again. An older form sent them all typed in one "languages" box.
    typed = [
        " ".join(code.split())
        for value in (
            *kept_ticks(request, "/questions/new", "languages"),
            str(kept(request, "/questions/new", "languages_extra")),
        )
        for code in value.split(",")
    ]
    ticked = {code.lower() for code in typed if code.lower() in COMMON_LANGUAGES}
    other = [code for code in typed if code and code.lower() not in COMMON_LANGUAGES]
    return render(
        request,
        "questions_new.html",
        vocab=vocabulary(request[VISIT].language, gettext(request)),
        common_languages=COMMON_LANGUAGES,
        ticked_languages=ticked,
        other_languages=", ".join(dict.fromkeys(other)),
        max_title=MAX_TITLE,
        max_text=MAX_TEXT,
    )


@routes.post("/questions/new")
@require("staff")
async def ask(request: web.Request) -> web.StreamResponse:
    _ = gettext(request)
    form = form_of(request)
    try:
        content = content_of(
            title=str(form.get("title", "")),
            text=str(form.get("text", "")),
            focus=[str(form.get("focus", ""))],
            subjects=[str(form.get("subjects", ""))],
            phases=[p for p in form.getall("phases", []) if p in kinds.PHASES],
            # Ticked, then typed in "Other languages", as on the offer form.
            languages=[
                *map(str, form.getall("languages", [])),
                str(form.get("languages_extra", "")),
            ],
        )
        if any(kinds.languages([code]) for code in content.get("languages", [])):
            # A language's name ("English") where a code goes: say so about languages
            # alone, in the offer form's words, rather than the message for every tag.
            raise UserInputError(
                "languages must be codes",
                page=said(
                    "Write languages as short codes, such as en, fr or pt-BR, separated by commas."
                ),
            )
        entry = await request.app[WEB].node.questions.ask(content)
    except (UserInputError, SchemaError) as exc:
        return await see_other(request, "/questions/new", _text(request, exc), error=True)
    return await see_other(request, f"/questions/{entry.id}", _("Your question is posted."))


def _text(request: web.Request, exc: UserInputError | SchemaError) -> str:
    if isinstance(exc, SchemaError):  # a tag the form could not check (too long, say)
        _ = gettext(request)
        return _(
            "Check the focus areas, subjects and languages: each at most 64 "
            "characters, and languages as codes such as en or fr."
        )
    return page_text(request, exc)


@routes.get("/questions/{id}")
@require("staff")
async def question_page(request: web.Request) -> web.StreamResponse:
    node = request.app[WEB].node
    page = _page_number(request)
    try:
        if "answer" in request.query:  # an answer's address: the page it is on
            head = await node.questions.one(request.match_info["id"], limit=0)
            place = await node.questions.answer_place(head.id, request.query["answer"])
            page = 1 if place is None else place // ANSWERS_PAGE + 1
        question = await node.questions.one(
            request.match_info["id"], offset=ANSWERS_PAGE * (page - 1), limit=ANSWERS_PAGE
        )
    except (NotFoundError, UserInputError):
        raise web.HTTPNotFound() from None
    here = f"/questions/{question.id}"
    pages = max(-(-question.answer_count // ANSWERS_PAGE), 1)
    return render(
        request,
        "questions_show.html",
        question=question,
        page=page,
        pages=pages,
        earlier=f"{here}?page={page - 1}#answers" if page > 1 else None,
        more=f"{here}?page={page + 1}#answers" if page < pages else None,
        fields=question.as_json(),
        vocab=vocabulary(request[VISIT].language, gettext(request)),
        max_text=MAX_TEXT,
        max_name=MAX_NAME,
    )


@routes.post("/questions/{id}/answer")
@require("staff")
async def answer(request: web.Request) -> web.StreamResponse:
    _ = gettext(request)
    here = f"/questions/{request.match_info['id']}"
    form = form_of(request)
    by = str(form.get("by", "")).strip() or None
    try:
        entry = await request.app[WEB].node.questions.answer(
            request.match_info["id"], str(form.get("text", "")), by
        )
    except NotFoundError:
        raise web.HTTPNotFound() from None
    except UserInputError as exc:
        return await see_other(request, here, page_text(request, exc), error=True)
    done = _("Your answer is posted: every school that holds the question sees it.")
    return await see_other(request, f"{here}?answer={entry.id}#answer-{entry.id}", done)


@routes.post("/questions/{id}/helpful/{answer}")
@require("staff")
async def helpful(request: web.Request) -> web.StreamResponse:
    _ = gettext(request)
    here = f"/questions/{request.match_info['id']}"
    try:
        question, entry = await request.app[WEB].node.questions.mark_helpful(
            request.match_info["answer"]
        )
    except NotFoundError:
        raise web.HTTPNotFound() from None
    except (UserInputError, NotAllowedError) as exc:
        return await see_other(request, here, page_text(request, exc), error=True)
    done = _("Marked as helpful: every school sees it.")
    marked = HelpfulContent.of(entry).answer
    mark = f"/questions/{question.id}?answer={marked}#answer-{marked}"
    return await see_other(request, mark, done)


@routes.post("/questions/{id}/withdraw")
@require("staff")
async def withdraw(request: web.Request) -> web.StreamResponse:
    _ = gettext(request)
    here = f"/questions/{request.match_info['id']}"
    try:
        await request.app[WEB].node.questions.withdraw(request.match_info["id"])
    except NotFoundError:
        raise web.HTTPNotFound() from None
    except (UserInputError, NotAllowedError) as exc:
        return await see_other(request, here, page_text(request, exc), error=True)
    return await see_other(request, "/questions", _("Your question is withdrawn everywhere."))
