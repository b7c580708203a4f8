"""Local accounts: the school's admins, staff and pupils, on this node only.

Pupils carry the least personal data that works: a display name (a first name or
a chosen name, unique in the school) and a class. No email, no surname. Each
pupil has consent flags, set by staff, that decide what of their work may leave
the school (docs/safeguarding.md). Passwords are stored as argon2id hashes.
Nothing here is ever sent to another school.
"""

from __future__ import annotations

import asyncio
import re
import secrets
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

import argon2

from node.store.database import Store
from protocol.errors import NotAllowedError, NotFoundError, UserInputError, said

ROLES = ("admin", "staff", "pupil")
SHOW_NAME = ("full", "initials")
#: OWASP ASVS 2.1.1: a password a person chooses has at least 12 characters.
MIN_PASSWORD = 12
#: Longer than anyone types: a sign-in with more is wrong without being hashed.
MAX_PASSWORD = 1024
MAX_NAME = 60
_NAME = re.compile(rf"[^\x00-\x1f\x7f@<>]{{1,{MAX_NAME}}}")
_hasher = argon2.PasswordHasher()  # argon2id with the library's current defaults
#: argon2 takes about 0.1 s of CPU and 64 MiB per hash, by design. On the event loop a
#: flood of sign-ins stalled every page and every peer session (/.well-known went from
#: 3 ms to 1.3 s): it runs on these two threads instead, and more wait their turn, so
#: a flood costs at most two hashes' memory and leaves a core to everything else. A
#: pool of its own, not asyncio.to_thread's shared one, so that photo cleaning (which
#: also runs on worker threads) never makes a sign-in wait, nor the other way round.
_ARGON2 = ThreadPoolExecutor(max_workers=2, thread_name_prefix="argon2")
_T = TypeVar("_T")


@dataclass(frozen=True, slots=True)
class User:
    name: str
    role: str
    klass: str | None
    show_name: str  # how partner schools see the name: 'full' or 'initials'
    work_photos: bool
    face_photos: bool
    created_at: int

    @property
    def is_staff(self) -> bool:
        return self.role in ("admin", "staff")

    @property
    def shown_name(self) -> str:
        """The name as it may travel to partner schools."""
        return self.name if self.show_name == "full" else initials(self.name)

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "role": self.role,
            "class": self.klass,
            "consent": {
                "name": self.show_name,
                "work_photos": self.work_photos,
                "face_photos": self.face_photos,
            },
            "created_at": self.created_at,
        }


def tidy_name(name: str) -> str:
    """A name as accounts are stored and looked up: spaces trimmed and collapsed.

    Adding, finding and checking a password all go through this, and the sign-in
    throttle keys on :func:`name_key`, built on it, so no spelling of a name gets
    tries of its own.
    """
    return " ".join(name.split())


#: What ``COLLATE NOCASE`` folds: the 26 ASCII capitals, nothing else (sqlite.org/datatype3.html).
_NOCASE = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def same_name(one: str | None, other: str) -> bool:
    """Whether two names find the same account, as :meth:`Accounts.find` does (no
    name, such as a partner's post's author, is nobody's).

    A name typed in any case finds its account, and an account removed and added
    again in other capitals is the same person to the users table, so who wrote a
    post compares this way, never with ``==``. Exactly the table's folding, not
    ``casefold``: 'Émile' and 'émile' are two accounts there, and one must not act
    as the other.
    """
    return one is not None and account_key(one) == account_key(other)


def account_key(name: str) -> str:
    """What the users table compares of a name: every spelling that finds one account
    (:meth:`Accounts.find`) has the same key, and no other account's name has it."""
    return tidy_name(name).translate(_NOCASE)


def name_key(name: str) -> str:
    """The key of the per-name sign-in limit: every spelling that signs in to one
    account has the same key.

    The table compares tidied names without regard to ASCII case (``COLLATE
    NOCASE``); ``casefold`` folds at least that. Cut to just over the longest name,
    so a huge made-up name costs the throttle no memory.
    """
    return tidy_name(name).casefold()[: MAX_NAME + 1]


async def _argon2(work: Callable[..., _T], *args: Any) -> _T:
    """Run an argon2 hash or check on its own threads (:data:`_ARGON2`)."""
    return await asyncio.get_running_loop().run_in_executor(_ARGON2, work, *args)


def check_chosen_password(password: str) -> None:
    """Refuse a password too short to resist guessing (made-up ones always pass)."""
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise UserInputError(
            f"the password must be at least {MIN_PASSWORD} characters (and at most "
            f"{MAX_PASSWORD}): a few words with spaces between them are easy to remember",
            page=said(
                "The password must be at least %(min)s characters: a few words with "
                "spaces between them are easy to remember.",
                min=MIN_PASSWORD,
            ),
        )


def is_valid_name(name: str) -> bool:
    """Whether ``name`` (spaces already tidied) may be a user's display name."""
    return _NAME.fullmatch(name) is not None


def initials(name: str) -> str:
    """'Amélie Rose' -> 'A. R.'; a name cut down so that partners cannot tell who it is."""
    return " ".join(f"{part[0].upper()}." for part in name.split() if part) or "?"


def new_password() -> str:
    """A random password that is easy to read out in a classroom (no 0/O, 1/l)."""
    alphabet = "abcdefghjkmnpqrstuvwxyz23456789"
    return "-".join("".join(secrets.choice(alphabet) for _ in range(4)) for _ in range(3))


class Accounts:
    def __init__(self, store: Store) -> None:
        self.store = store

    async def add(
        self, name: str, role: str, password: str, *, klass: str | None, now: int
    ) -> User:
        name = tidy_name(name)
        if not _NAME.fullmatch(name):
            raise UserInputError(
                "a name is 1 to 60 characters, without control characters, @ < or >: "
                "for pupils use a first name or a chosen display name, never a surname or email",
                page=said(
                    "Give a name of 1 to 60 characters, without @ < or >. For pupils, use a first "
                    "name or a chosen name, never a surname or an email address."
                ),
            )
        if role not in ROLES:
            raise UserInputError(
                f"--role must be one of {', '.join(ROLES)}, not {role!r}",
                page=said("Choose a role."),
            )
        if role == "pupil" and not klass:
            raise UserInputError(
                "a pupil needs a class: add --class, such as --class 5B",
                page=said("A pupil needs a class, such as 5B."),
            )
        check_chosen_password(password)
        if await self.find(name) is not None:
            raise UserInputError(
                f"there is already a user called {name!r} in this school: "
                "choose another display name (such as 'Sam K')",
                page=said(
                    "There is already someone called %(name)s in this school: add a letter, "
                    "such as %(example)s.",
                    name=name,
                    example=name + " K",  # not an f-string: the extractor would warn
                ),
            )
        pupil = role == "pupil"
        hashed = await _argon2(_hasher.hash, password)
        async with self.store.write():
            await self.store.execute(
                "INSERT INTO users (name, role, class, password, show_name, work_photos, "
                "face_photos, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    name,
                    role,
                    klass,
                    hashed,
                    # Pupils start with the safest choices until staff record consent.
                    "initials" if pupil else "full",
                    0 if pupil else 1,
                    0 if pupil else 1,
                    now,
                ),
            )
        user = await self.find(name)
        assert user is not None
        return user

    async def find(self, name: str) -> User | None:
        row = await self.store.fetch_one(
            f"SELECT {USER_COLUMNS} FROM users WHERE name = ?",
            (tidy_name(name),),
        )
        return None if row is None else user_from_row(row)

    async def get(self, name: str) -> User:
        user = await self.find(name)
        if user is None:
            raise NotFoundError(
                f"no user called {name!r} in this school: see `schoolmesh user list`",
                page=said("There is no account with that name."),
            )
        return user

    async def staff(self, name: str) -> User:
        """The named user, who must be staff (an admin or a teacher)."""
        user = await self.get(name)
        if not user.is_staff:
            raise NotAllowedError(
                f"{user.name} is a pupil: only staff can do this",
                page=said("%(name)s is a pupil: only staff can do this.", name=user.name),
            )
        return user

    async def all(self) -> list[User]:
        rows = await self.store.fetch_all(
            f"SELECT {USER_COLUMNS} FROM users ORDER BY role, class, name"
        )
        return [user_from_row(r) for r in rows]

    async def remove(self, name: str) -> None:
        user = await self.get(name)
        async with self.store.write():
            await self.store.execute("DELETE FROM users WHERE name = ?", (user.name,))
            await self.store.execute("DELETE FROM web_sessions WHERE user = ?", (user.name,))
            # Their calendar address stops working with them (node/events/calendar_links.py).
            await self.store.execute("DELETE FROM calendar_links WHERE user = ?", (user.name,))
            await self.store.execute("DELETE FROM dashboard_seen WHERE user = ?", (user.name,))
            await self.store.execute(
                "DELETE FROM project_pupils WHERE kind = 'pupil' AND name = ?", (user.name,)
            )

    async def check_password(self, name: str, password: str) -> User | None:
        """The user if the password is right, else None (same answer for unknown names)."""
        if len(password) > MAX_PASSWORD:
            return None  # never a password we stored; not worth hashing
        row = await self.store.fetch_one(
            "SELECT password FROM users WHERE name = ?", (tidy_name(name),)
        )
        try:
            await _argon2(_hasher.verify, row[0] if row else _dummy_hash(), password)
        except argon2.exceptions.VerificationError:
            return None
        return await self.find(name) if row else None

    async def set_password(self, name: str, password: str) -> None:
        check_chosen_password(password)
        user = await self.get(name)
        hashed = await _argon2(_hasher.hash, password)
        async with self.store.write():
            await self.store.execute(
                "UPDATE users SET password = ? WHERE name = ?", (hashed, user.name)
            )
            # A new password signs the user out everywhere (a lost tablet, a shared one).
            await self.store.execute("DELETE FROM web_sessions WHERE user = ?", (user.name,))

    async def set_consent(
        self,
        name: str,
        *,
        show_name: str | None,
        work_photos: bool | None,
        face_photos: bool | None,
    ) -> tuple[User, User]:
        """Change a pupil's consent flags; return (before, after)."""
        before = await self.get(name)
        if show_name is not None and show_name not in SHOW_NAME:
            raise UserInputError(
                f"--name must be one of {', '.join(SHOW_NAME)}",
                page=said(
                    "Choose how partner schools see the pupil's name: in full or as initials."
                ),
            )
        async with self.store.write():
            await self.store.execute(
                "UPDATE users SET show_name = COALESCE(?, show_name), "
                "work_photos = COALESCE(?, work_photos), face_photos = COALESCE(?, face_photos) "
                "WHERE name = ?",
                (show_name, work_photos, face_photos, before.name),
            )
        return before, await self.get(name)


_dummy: dict[argon2.PasswordHasher, str] = {}


def _dummy_hash() -> str:
    """What an unknown name's password is checked against, so that it takes as long as a
    known one's: made with the hasher in use, on the first unknown name (not at import,
    which every command would pay for)."""
    if _hasher not in _dummy:
        _dummy[_hasher] = _hasher.hash("no such user: spend the same time either way")
    return _dummy[_hasher]


def use_hasher(hasher: argon2.PasswordHasher) -> argon2.PasswordHasher:
    """Hash and check passwords with ``hasher`` from now on; return the one it replaces.

    For the tests only (tests/conftest.py): argon2's cheapest parameters there, so that
    the hundreds of accounts and sign-ins of the test suite do not cost 0.1 s of CPU
    each. Stored hashes carry their own parameters, so every hash still checks. No code
    path of the program calls this: a school always hashes with the defaults above.
    """
    global _hasher
    previous, _hasher = _hasher, hasher
    return previous


USER_COLUMNS = "name, role, class, show_name, work_photos, face_photos, created_at"


def user_from_row(row: Any) -> User:
    """A User from the ``USER_COLUMNS`` of the ``users`` table, in that order."""
    name, role, klass, show_name, work, face, created = row
    return User(name, role, klass, show_name, bool(work), bool(face), int(created))
