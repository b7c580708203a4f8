"""Finding a school in the directory and asking it to partner; ``node.directory``.

Every school whose profile reached us is listed, with filters on country,
language, phase and pupils' age. Asking to partner sends a ``partner-request``
letter, sealed for that school alone and carried like any letter: straight to
it if it is a session peer, otherwise through the relays it names in its
profile (docs/decisions.md, "Partnership requests"). Its admin accepts or
declines; accepting records the asking school as a partner at once and sends a
``partner-answer`` back, on which the asking school records the answering one,
but only for a request it sent to that school and that is still open
(protocol/rules/partnership.py). The two nodes then dial each other with the
addresses the letters carried, as after an invite code.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Literal

from node.clock import iso_ms
from node.mail.mailroom import Mailroom
from node.offers.interests import clean_message, clean_name
from node.partners.peerbook import ADDRESS_SETTING, PeerBook
from node.store.database import Store
from protocol import kinds, letters
from protocol.contents.entries import OfferContent, ProfileContent
from protocol.contents.letters import PartnerAnswerLetter, PartnerRequestLetter
from protocol.entry import load_entry
from protocol.errors import NotAllowedError, NotFoundError, UserInputError, said
from protocol.keys import NodeId, NodeKey
from protocol.rules import partnership as rules
from protocol.sealed import Letter

#: What age a phase teaches, in years, for ``--age``.
PHASE_AGES: dict[str, tuple[int, int]] = {
    "nursery": (2, 5),
    "primary": (4, 11),
    "secondary": (11, 18),
    "further-education": (16, 19),
    "all-through": (4, 18),
}
_COLUMNS = "id, school, direction, message, by_name, address, state, at, answered_at"
MIN_PREFIX = 6


@dataclass(frozen=True, slots=True)
class Offer:
    id: str
    kind: str
    title: str

    def as_json(self) -> dict[str, Any]:
        return {"id": self.id, "kind": self.kind, "title": self.title}


@dataclass(frozen=True, slots=True)
class School:
    """A school in the directory, as its newest profile describes it."""

    node_id: NodeId
    name: str
    country: str
    region: str | None
    languages: tuple[str, ...]
    phases: tuple[str, ...]
    about: str | None
    url: str | None
    partner: bool  # one of our partners
    ours: bool  # this school itself
    relays: int  # how many relays its profile names
    offers: tuple[Offer, ...] = ()

    def as_json(self) -> dict[str, Any]:
        return {
            "node_id": str(self.node_id),
            "name": self.name,
            "country": self.country,
            "region": self.region,
            "languages": list(self.languages),
            "phases": list(self.phases),
            "about": self.about,
            "url": self.url,
            "partner": self.partner,
            "ours": self.ours,
            "offers": [o.as_json() for o in self.offers],
        }


@dataclass(frozen=True, slots=True)
class Request:
    """A partnership request as this school sees it, sent or received."""

    id: str
    direction: Literal["sent", "received"]
    school_id: NodeId
    school: str
    message: str
    by: str | None
    state: str  # open, accepted, declined or expired
    at: int
    answered_at: int | None

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "direction": self.direction,
            "node_id": str(self.school_id),
            "school": self.school,
            "message": self.message,
            "by": self.by,
            "state": self.state,
            "at": iso_ms(self.at),
            "answered_at": None if self.answered_at is None else iso_ms(self.answered_at),
            "expires_at": iso_ms(self.at + rules.EXPIRY_MS),
        }


def _text(value: object) -> str | None:
    """A text field of a stored profile: a field an older version kept unchecked, not
    knowing it yet, may read as another type (protocol/contents/base.py), and is left out."""
    return value if isinstance(value, str) and value else None


class Directory:
    """The schools directory and partnership requests."""

    def __init__(self, store: Store, key: NodeKey, mail: Mailroom, peerbook: PeerBook) -> None:
        self.store = store
        self.peerbook = peerbook
        self.me = key.node_id
        self.mail = mail
        self.needs_checkpoint = False

    # -- the directory -----------------------------------------------------------------

    async def schools(
        self,
        *,
        country: str | None = None,
        language: str | None = None,
        phase: str | None = None,
        age: int | None = None,
        words: str | None = None,
        offers: bool = False,
    ) -> list[School]:
        """Every school we hold a profile of (ourselves included), by name, filtered."""
        if phase is not None and phase not in kinds.PHASES:
            raise UserInputError(
                f"--phase {phase!r}: give one of {', '.join(kinds.PHASES)}",
                page=said("Choose a phase from the list."),
            )
        if age is not None and not 2 <= age <= 19:
            raise UserInputError(
                f"--age {age}: give a pupil's age in years, from 2 to 19",
                page=said("Give a pupil's age in years, from 2 to 19."),
            )
        # Each school's newest profile in one read (``schools`` names its entry).
        rows = await self.store.fetch_all(
            "SELECT e.payload, e.sig, e.content FROM schools s JOIN entries e "
            "ON e.author = s.author AND e.seq = s.seq AND e.kind = ? "
            "WHERE e.content IS NOT NULL ORDER BY s.name, s.author",
            (kinds.PROFILE,),
        )
        book = self.peerbook
        partners = {p.node_id: p.state for p in await book.list()}
        found = []
        for row in rows:
            entry = load_entry(*row)
            node_id, profile = entry.author, ProfileContent.of(entry)
            if partners.get(node_id) == "blocked":
                continue
            school = School(
                node_id=node_id,
                name=profile.name,
                country=profile.country,
                region=_text(profile.region),
                languages=profile.languages,
                phases=profile.phases,
                about=_text(profile.about),
                url=_text(profile.url),
                partner=partners.get(node_id) == "partner",
                ours=node_id == self.me,
                relays=len(profile.relays),
            )
            if not _matches(school, country, language, phase, age, words):
                continue
            if offers:
                school = _with_offers(school, await self._offers(node_id))
            found.append(school)
        return found

    async def school(self, text: str) -> School:
        """One school of the directory with its public offers and requests."""
        node_id = await self._node_id(text)
        for school in await self.schools():
            if school.node_id == node_id:
                return _with_offers(school, await self._offers(node_id))
        raise NotFoundError(
            f"no profile of {node_id} has reached this node: see `schoolmesh schools`",
            page=said("This school is not in the directory."),
        )

    async def _offers(self, author: NodeId) -> tuple[Offer, ...]:
        rows = await self.store.fetch_all(
            "SELECT e.payload, e.sig, e.content FROM entries e "
            "LEFT JOIN withdrawals w ON w.target = e.id AND w.author = e.author "
            "WHERE e.author = ? AND e.kind IN (?, ?) AND e.content IS NOT NULL "
            "AND w.target IS NULL ORDER BY e.seq DESC LIMIT 100",
            (bytes(author), kinds.OFFER, kinds.REQUEST),
        )
        found = []
        for row in rows:
            entry = load_entry(*row)
            found.append(Offer(str(entry.id), entry.kind, OfferContent.of(entry).title))
        return tuple(found)

    async def _node_id(self, text: str) -> NodeId:
        return NodeId.parse(text)

    # -- requests ----------------------------------------------------------------------

    async def request(
        self, node_text: str, message: str, *, by: str | None = None, now: int
    ) -> Request:
        """Ask a school of the directory to partner with us."""
        message, by = clean_message(message), clean_name(by)
        school = await self._node_id(node_text)
        if school == self.me:
            raise UserInputError(
                "that is this school's own node id: ask another school",
                page=said("That is our own school."),
            )
        record = await self.peerbook.get(school)
        if record is not None and record.state == "blocked":
            raise NotAllowedError(
                "this school blocked that node: unblock it first if you really want to partner",
                page=said("Our school blocked this school."),
            )
        if record is not None:
            raise UserInputError(
                "that school is already a partner: see `schoolmesh partner list`",
                page=said("This school is already a partner."),
            )
        if await self.store.latest_profile(school) is None:
            raise NotFoundError(
                f"no profile of {school} has reached this node, so it cannot be asked: find "
                "schools with `schoolmesh schools`",
                page=said("This school is not in the directory."),
            )
        last = await self.store.fetch_one(
            "SELECT at FROM partner_requests WHERE school = ? AND direction = 'sent' "
            "ORDER BY at DESC LIMIT 1",
            (bytes(school),),
        )
        if last is not None and now - int(last[0]) < rules.MONTH_MS:
            again = iso_ms(int(last[0]) + rules.MONTH_MS)[:10]
            raise UserInputError(
                f"your school already asked that school within the last 30 days: a school "
                f"may be asked once a month; try again from {again}",
                page=said(
                    "Our school already asked this school within the last 30 days. A school "
                    "can be asked once a month; try again from %(day)s.",
                    day=again,
                ),
            )
        rid = os.urandom(16).hex()
        address = await self._address()
        content = PartnerRequestLetter(rid, message, by, address).to_content()
        async with self.store.write():
            await self._purge(now)
            await self.mail.send_in_transaction(
                letters.PARTNER_REQUEST, content, [school], about=rid, now=now
            )
            await self.store.execute(
                f"INSERT INTO partner_requests ({_COLUMNS}) "
                "VALUES (?, ?, 'sent', ?, ?, NULL, 'open', ?, NULL)",
                (rid, bytes(school), message, by, now),
            )
        return await self.get(rid, now=now)

    async def accept(self, text: str, *, now: int) -> Request:
        """Accept a request we received: the asking school becomes a partner at once."""
        return await self._answer(text, "accepted", now)

    async def decline(self, text: str, *, now: int) -> Request:
        """Decline a request we received; the asking school is told."""
        return await self._answer(text, "declined", now)

    async def _answer(self, text: str, answer: str, now: int) -> Request:
        request = await self.get(text, now=now)
        if request.direction != "received":
            raise NotAllowedError(
                "your school sent that request: only the school it was sent to can accept "
                "or decline it",
                page=said("Only the school that was asked can accept or decline."),
            )
        if request.state != "open":
            raise UserInputError(
                f"that request is {request.state}: nothing more can be done with it",
                page=said("This request was already answered, or has expired."),
            )
        record = await self.peerbook.get(request.school_id)
        if record is not None and record.state == "blocked":
            raise NotAllowedError(
                "this school blocked that node", page=said("Our school blocked this school.")
            )
        row = await self.store.fetch_one(
            "SELECT address FROM partner_requests WHERE id = ?", (request.id,)
        )
        # Only a new partner learns where we listen: a school that asks cannot learn
        # our address from a refusal.
        address = await self._address() if answer == "accepted" else None
        content = PartnerAnswerLetter(request.id, answer, address).to_content()
        async with self.store.write():
            await self.store.execute(
                "UPDATE partner_requests SET state = ?, answered_at = ? WHERE id = ?",
                (answer, now, request.id),
            )
            if answer == "accepted":
                await _record_partner(self.store, request.school_id, row[0], now)
            await self.mail.send_in_transaction(
                letters.PARTNER_ANSWER, content, [request.school_id], about=request.id, now=now
            )
        return await self.get(request.id, now=now)

    async def get(self, text: str, *, now: int) -> Request:
        """A request by its id, or the first characters of it (at least 6)."""
        wanted = text.strip().lower()
        if len(wanted) < MIN_PREFIX or any(c not in "0123456789abcdef" for c in wanted):
            raise UserInputError(
                f"{text!r} is not a request id: give at least its first {MIN_PREFIX} "
                "characters, as `schoolmesh partner requests` shows them",
                page=said("There is no such request."),
            )
        rows = await self.store.fetch_all(
            f"SELECT {_COLUMNS} FROM partner_requests WHERE id >= ? AND id < ? LIMIT 2",
            (wanted, wanted + "g"),
        )
        if not rows:
            raise NotFoundError(
                f"no partnership request {wanted}: see `schoolmesh partner requests`",
                page=said("There is no such request."),
            )
        if len(rows) > 1:
            raise UserInputError(
                f"{wanted} names more than one request: give more of its characters",
                page=said("There is no such request."),
            )
        return (await self._views(rows, now))[0]

    async def requests(self, *, now: int) -> list[Request]:
        """Every request sent and received, newest first."""
        rows = await self.store.fetch_all(
            f"SELECT {_COLUMNS} FROM partner_requests ORDER BY at DESC, id"
        )
        return await self._views(rows, now)

    async def _views(self, rows: list[Any], now: int) -> list[Request]:
        names = await self.store.schools({NodeId(r[1]) for r in rows})
        found = []
        for rid, school, direction, message, by, _address, state, at, answered_at in rows:
            view = rules.RequestView(NodeId(school), direction, state, int(at))
            found.append(
                Request(
                    id=rid,
                    direction=direction,
                    school_id=NodeId(school),
                    school=names.get(NodeId(school), ("unknown school", ""))[0],
                    message=message,
                    by=by,
                    state="expired" if rules.expired(view, now) else state,
                    at=int(at),
                    answered_at=None if answered_at is None else int(answered_at),
                )
            )
        return found

    async def _address(self) -> str | None:
        """Where this node listens, as the running node recorded it, if it does."""
        value = await self.store.get_setting(ADDRESS_SETTING)
        return None if value is None else value.decode()

    # -- letters from other schools ------------------------------------------------------

    async def receive(self, letter: Letter, now: int) -> None:
        """Act on a request or an answer (inside the mail room's transaction)."""
        if letter.kind == letters.PARTNER_REQUEST:
            await self._on_request(letter, now)
        elif letter.kind == letters.PARTNER_ANSWER:
            await self._on_answer(letter, now)

    async def _held(self, rid: str) -> rules.RequestView | None:
        row = await self.store.fetch_one(
            "SELECT school, direction, state, at FROM partner_requests WHERE id = ?", (rid,)
        )
        return None if row is None else rules.RequestView(NodeId(row[0]), row[1], row[2], row[3])

    async def _on_request(self, letter: Letter, now: int) -> None:
        asked = PartnerRequestLetter.of(letter)
        held = await self._held(asked.id)
        last = await self.store.fetch_one(
            "SELECT MAX(at) FROM partner_requests WHERE school = ? AND direction = 'received'",
            (bytes(letter.author),),
        )
        record = await self.peerbook.get(letter.author)
        await self._purge(now)
        waiting = await self.store.fetch_one(
            "SELECT COUNT(*) FROM partner_requests WHERE direction = 'received' AND state = 'open'"
        )
        verdict = rules.request(
            letter.author,
            self.me,
            letter.recipients,
            held,
            None if last is None or last[0] is None else int(last[0]),
            None if record is None else record.state,
            now,
            profile_held=await self.store.latest_profile(letter.author) is not None,
            open_received=0 if waiting is None else int(waiting[0]),
            signed_at=letter.timestamp,
        )
        if verdict is not None:
            raise verdict.error()
        if held is not None:
            return  # the same request again
        await self.store.execute(
            f"INSERT INTO partner_requests ({_COLUMNS}) "
            "VALUES (?, ?, 'received', ?, ?, ?, 'open', ?, NULL)",
            (asked.id, bytes(letter.author), asked.message, asked.by, asked.address, now),
        )

    async def _on_answer(self, letter: Letter, now: int) -> None:
        answer = PartnerAnswerLetter.of(letter)
        held = await self._held(answer.id)
        verdict = rules.answer(
            letter.author, self.me, letter.recipients, held, now, signed_at=letter.timestamp
        )
        if verdict is not None:
            raise verdict.error()
        await self.store.execute(
            "UPDATE partner_requests SET state = ?, answered_at = ?, address = ? WHERE id = ?",
            (answer.answer, now, answer.address, answer.id),
        )
        if answer.answer == "accepted":
            await _record_partner(self.store, letter.author, answer.address, now)

    async def _purge(self, now: int) -> None:
        """Inside a transaction: delete received requests that expired unanswered."""
        rows = await self.store.fetch_all(
            "SELECT id, school, direction, state, at FROM partner_requests "
            "WHERE direction = 'received' AND state = 'open' AND at < ?",
            (now - rules.EXPIRY_MS,),
        )
        for rid, school, direction, state, at in rows:
            if rules.purgeable(rules.RequestView(NodeId(school), direction, state, int(at)), now):
                await self.store.execute("DELETE FROM partner_requests WHERE id = ?", (rid,))

    async def forget_school(self, school: NodeId, now: int) -> None:
        """Inside a transaction: forget every request with ``school``, when we block it."""
        await self.store.execute("DELETE FROM partner_requests WHERE school = ?", (bytes(school),))


async def _record_partner(store: Store, school: NodeId, address: str | None, now: int) -> None:
    """Inside a transaction: record a partner as a redeemed invite does (never unblocks)."""
    await store.execute(
        "INSERT INTO partners (node_id, address, state, added_at) "
        "VALUES (?, ?, 'partner', ?) ON CONFLICT (node_id) DO UPDATE SET "
        "address = COALESCE(excluded.address, partners.address)",
        (bytes(school), address, now),
    )


def _matches(
    school: School,
    country: str | None,
    language: str | None,
    phase: str | None,
    age: int | None,
    words: str | None,
) -> bool:
    if country and school.country.upper() != country.strip().upper():
        return False
    if language and language.strip().lower() not in {v.lower() for v in school.languages}:
        return False
    if phase and phase not in school.phases:
        return False
    if age is not None and not any(
        PHASE_AGES[p][0] <= age <= PHASE_AGES[p][1] for p in school.phases if p in PHASE_AGES
    ):
        return False
    if words:
        hay = " ".join(
            [school.name, school.region or "", school.about or "", school.country]
        ).casefold()
        if not all(w in hay for w in words.casefold().split()):
            return False
    return True


def _with_offers(school: School, offers: tuple[Offer, ...]) -> School:
    return School(
        school.node_id,
        school.name,
        school.country,
        school.region,
        school.languages,
        school.phases,
        school.about,
        school.url,
        school.partner,
        school.ours,
        school.relays,
        offers,
    )
