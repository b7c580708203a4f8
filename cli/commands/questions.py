"""``schoolmesh question ...``: ask the network, answer, mark what helped."""

from __future__ import annotations

import argparse
from typing import Any

from cli.commands.common import data_option, json_option, one_line, open_node, print_json
from node.questions.service import content_of
from protocol import kinds


def register(sub: Any) -> None:
    group = sub.add_parser(
        "question",
        help="ask colleagues at other schools, and answer their questions",
        description="Questions to the network: a question reaches partner schools and "
        "their partners; staff at any school answer it, and the asking school marks the "
        "answers that helped.",
    )
    actions = group.add_subparsers(dest="action", required=True, metavar="ACTION")

    ask = actions.add_parser(
        "ask",
        parents=[data_option(), json_option()],
        help="ask a question of colleagues at other schools",
        description="Publish a question from your school; it travels like an offer.",
    )
    ask.add_argument("--title", required=True, help="the question in one line")
    ask.add_argument("--text", required=True, help="the details: your context, what you tried")
    ask.add_argument("--focus", action="append", default=[], help="a focus area (repeatable)")
    ask.add_argument(
        "--phase", action="append", default=[], choices=kinds.PHASES, help="(repeatable)"
    )
    ask.add_argument("--subject", action="append", default=[], help="a subject (repeatable)")
    ask.add_argument(
        "--language", action="append", default=[], help="a language code, e.g. fr (repeatable)"
    )
    ask.set_defaults(handler=_ask)

    listing = actions.add_parser(
        "list",
        parents=[data_option(), json_option()],
        help="every question this node holds, from any school",
        description="List every current question this node holds, newest first, with how "
        "many answers each has.",
    )
    listing.set_defaults(handler=_list)

    answer = actions.add_parser(
        "answer",
        parents=[data_option(), json_option()],
        help="answer a question from your school",
        description="Answer a question. Your name is shown only if you give --by.",
    )
    answer.add_argument("id", metavar="ID", help="the question's id, or its first 8 characters")
    answer.add_argument("--text", required=True, help="your answer")
    answer.add_argument("--by", metavar="NAME", help="your name, if you want it shown")
    answer.set_defaults(handler=_answer)

    helpful = actions.add_parser(
        "helpful",
        parents=[data_option()],
        help="mark an answer to your school's question as helpful",
        description="Mark an answer to one of your school's questions as helpful; every "
        "school sees the mark.",
    )
    helpful.add_argument("answer_id", metavar="ANSWER_ID", help="the answer's id")
    helpful.set_defaults(handler=_helpful)

    show = actions.add_parser(
        "show",
        parents=[data_option(), json_option()],
        help="a question with its answers",
        description="Show a question with its answers, each with its school.",
    )
    show.add_argument("id", metavar="ID", help="the question's id, or its first 8 characters")
    show.set_defaults(handler=_show)

    withdraw = actions.add_parser(
        "withdraw",
        parents=[data_option()],
        help="withdraw one of your school's questions or answers everywhere",
        description="Withdraw one of your school's questions or answers: every school "
        "holding it removes it (a question's answers go out of view with it).",
    )
    withdraw.add_argument("id", metavar="ID", help="its id, or its first 8 characters")
    withdraw.set_defaults(handler=_withdraw)


async def _ask(args: argparse.Namespace) -> None:
    content = content_of(
        title=args.title,
        text=args.text,
        focus=args.focus,
        subjects=args.subject,
        phases=args.phase,
        languages=args.language,
    )
    async with await open_node(args) as node:
        entry = await node.questions.ask(content)
    if args.json:
        print_json({"id": str(entry.id)})
    else:
        print(f"Asked: {entry.id}")


async def _list(args: argparse.Namespace) -> None:
    async with await open_node(args) as node:
        found = await node.questions.all()
    if args.json:
        print_json([q.as_json() for q in found])
        return
    if not found:
        print("No questions yet.")
    for q in found:
        answers = "answer " if q.answer_count == 1 else "answers"
        print(
            f"{str(q.id)[:12]}  {q.answer_count:>3} {answers}  {one_line(q.title)}  "
            f"({one_line(q.school)})"
        )


async def _answer(args: argparse.Namespace) -> None:
    async with await open_node(args) as node:
        entry = await node.questions.answer(args.id, args.text, args.by)
    if args.json:
        print_json({"id": str(entry.id)})
    else:
        print(f"Answered: {entry.id}")


async def _helpful(args: argparse.Namespace) -> None:
    async with await open_node(args) as node:
        question, _entry = await node.questions.mark_helpful(args.answer_id)
    print(f"Marked helpful, on “{question.title}”")


async def _show(args: argparse.Namespace) -> None:
    async with await open_node(args) as node:
        question = await node.questions.one(args.id)
    if args.json:
        print_json(question.as_json(with_answers=True))
        return
    print(f"{one_line(question.title)}\n{one_line(question.school)} ({question.country}), "
          f"{question.id}\n")  # fmt: skip
    print(question.text)
    if not question.answers:
        print("\nNo answers yet.")
    for a in question.answers:
        who = f"{a.by}, {a.school}" if a.by else a.school
        mark = "  [helpful]" if a.helpful else ""
        print(f"\n— {who} ({str(a.id)[:12]}){mark}\n{a.text}")


async def _withdraw(args: argparse.Namespace) -> None:
    async with await open_node(args) as node:
        entry = await node.questions.withdraw(args.id)
    print(f"Withdrawn: {args.id} (withdrawal {entry.id})")
