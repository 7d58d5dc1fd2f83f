"""The simulated enterprise directory: users from a CSV file or generated from a seed, with the indexes that keep
lookups cheap at 200,000 users (a login index, and sorted keys + bisect for Box's prefix search)."""

from __future__ import annotations

import csv
import random
import re
import unicodedata
from bisect import bisect_left
from collections.abc import Iterable, Sequence
from functools import cache
from itertools import accumulate
from pathlib import Path
from typing import Final, NamedTuple

from box_offboarding.errors import OffboardingError

STATUSES: Final = frozenset({"active", "inactive", "cannot_delete_edit", "cannot_delete_edit_upload"})
ROLES: Final = frozenset({"admin", "coadmin", "user"})
CSV_COLUMNS: Final = ("id", "login", "name", "status", "role")
MAX_NAME_LENGTH: Final = 50  # Box's User--Mini.name maxLength
SERVICE_ACCOUNT_DOMAIN: Final = "boxdevedition.com"
EXTERNAL_DOMAIN: Final = "partner.example.org"
_FIRST_USER_ID: Final = 10_000_000
_CREATED_FROM: Final = 1_420_070_400.0  # 2015-01-01T00:00:00Z: generated accounts are created after it
_LOGIN_PATTERN: Final = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_PREFIX_END: Final = "\U0010ffff"  # sorts after every character: term + this bounds every string starting with term


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


class DirectoryFileError(OffboardingError):
    """A directory CSV could not be used; the message names the file and line."""


class DirectoryUser(NamedTuple):
    """One Box user as the simulator knows it (a named tuple: 200,000 of them are built in well under a second)."""

    id: str
    login: str
    name: str
    status: str = "active"
    role: str = "user"
    external: bool = False
    created_at: float = _CREATED_FROM


_FIRST_NAMES: Final = _words(
    "James Mary John Patricia Robert Jennifer Michael Linda William Elizabeth David Barbara Richard Susan Joseph "
    "Jessica Thomas Sarah Charles Karen Christopher Lisa Daniel Nancy Matthew Betty Anthony Margaret Mark Sandra "
    "Donald Ashley Steven Kimberly Paul Emily Andrew Donna Joshua Michelle Kenneth Carol Kevin Amanda Brian Dorothy "
    "George Melissa Timothy Deborah Ronald Stephanie Edward Rebecca Jason Sharon Jeffrey Laura Ryan Cynthia Jacob "
    "Kathleen Gary Amy Nicholas Angela Eric Shirley Jonathan Anna Stephen Brenda Larry Pamela Justin Emma Scott "
    "Nicole Brandon Helen Benjamin Samantha Samuel Katherine Gregory Christine Alexander Debra Frank Rachel Patrick "
    "Carolyn Raymond Janet Jack Catherine Dennis Maria Jerry Heather Tyler Diane Aaron Ruth Jose Julie Adam Olivia "
    "Henry Joyce Nathan Virginia Douglas Victoria Zachary Kelly Peter Lauren Kyle Christina Noah Joan Ethan Evelyn "
    "Jeremy Judith Walter Megan Christian Andrea Keith Cheryl Roger Hannah Terry Jacqueline Austin Martha Sean "
    "Gloria Gerald Teresa Carl Ann Harold Sara Dylan Madison Arthur Frances Lawrence Kathryn Jordan Janice Jesse "
    "Jean Bryan Abigail Billy Alice Bruce Judy Gabriel Sophia Joe Grace Logan Denise Alan Amber Juan Doris Albert "
    "Marilyn Willie Danielle Elijah Beverly Wayne Isabella Randy Theresa Vincent Diana Mason Natalie Roy Brittany"
)
_UNICODE_FIRST_NAMES: Final = _words(
    "José Zoë Łukasz Søren Aurélie Björn Chloé Renée Maël İlker Đorđe Ángel Mønica Jürgen Françoise Ægir Noémie "
    "Tomáš Håkon Zoltán Siân Ióna Dagný Anaïs Oğuz Bartłomiej Inès Göran Małgorzata Jiří Anne-Marie Jean-Luc"
)
_LAST_NAMES: Final = _words(
    "Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez Lopez Gonzalez Wilson "
    "Anderson Thomas Taylor Moore Jackson Martin Lee Perez Thompson White Harris Sanchez Clark Ramirez Lewis "
    "Robinson Walker Young Allen King Wright Scott Torres Nguyen Hill Flores Green Adams Nelson Baker Hall Rivera "
    "Campbell Mitchell Carter Roberts Gomez Phillips Evans Turner Diaz Parker Cruz Edwards Collins Reyes Stewart "
    "Morris Morales Murphy Cook Rogers Gutierrez Ortiz Morgan Cooper Peterson Bailey Reed Kelly Howard Ramos Kim "
    "Cox Ward Richardson Watson Brooks Chavez Wood James Bennett Gray Mendoza Ruiz Hughes Price Alvarez Castillo "
    "Sanders Patel Myers Long Ross Foster Jimenez Powell Jenkins Perry Russell Sullivan Bell Coleman Butler "
    "Henderson Barnes Gonzales Fisher Vasquez Simmons Romero Jordan Patterson Alexander Hamilton Graham Reynolds "
    "Griffin Wallace Moreno West Cole Hayes Bryant Herrera Gibson Ellis Tran Medina Aguilar Stevens Murray Ford "
    "Castro Marshall Owens Harrison Fernandez McDonald Woods Washington Kennedy Wells Vargas Henry Chen Freeman"
)
_UNICODE_LAST_NAMES: Final = _words(
    "Müller Ødegaard Çelik Šimić Dvořák García Núñez Kovač Ångström Nguyễn O'Connor Łęcki Søndergaard Ibáñez "
    "Schröder Gömöri Tōjō Ferrão Wójcik Ruíz-Peña Đặng Håland Jóhannsdóttir Özdemir Lefèvre Brontë Straße"
)
_UNICODE_SHARE: Final = 0.08
_ADMIN_SHARE: Final = 0.001
_COADMIN_SHARE: Final = 0.001
_INACTIVE_SHARE: Final = 0.03
_FOLD: Final = str.maketrans({"ł": "l", "Ł": "L", "ø": "o", "Ø": "O", "đ": "d", "Đ": "D", "ß": "ss", "æ": "ae",
                              "Æ": "Ae", "ı": "i", "'": ""})  # fmt: skip


@cache
def ascii_login_part(name: str) -> str:
    """``"Łukasz"`` → ``"lukasz"``: what a mail system makes of a name (accents folded, apostrophes dropped)."""
    decomposed = unicodedata.normalize("NFKD", name.translate(_FOLD))
    return decomposed.encode("ascii", "ignore").decode("ascii").lower().replace(" ", "")


def generate_directory(users: int, seed: int, *, domain: str = "example.com") -> list[DirectoryUser]:
    """``users`` realistic people, the same for the same seed: unique ``first.last@domain`` logins (a number added
    on clashes), unicode names here and there, ascending numeric ids, ~0.2% admins/co-admins (at least one of each
    from 10 users up) and ~3% inactive."""
    rng = random.Random(seed)
    people = _people(rng, users)
    logins = _unique_logins(people)
    roles = _sprinkle(rng, users, {"admin": _ADMIN_SHARE, "coadmin": _COADMIN_SHARE}, minimum=1 if users >= 10 else 0)
    statuses = _sprinkle(rng, users, {"inactive": _INACTIVE_SHARE}, minimum=0)
    ids = accumulate(rng.choices(range(1, 10), k=users), initial=_FIRST_USER_ID)
    next(ids)  # the initial value itself is not an id
    return [
        DirectoryUser(
            id=str(user_id),
            login=f"{login}@{domain}",
            name=f"{first} {last}"[:MAX_NAME_LENGTH],
            status=statuses.get(index, "active"),
            role=roles.get(index, "user"),
            external=False,
            created_at=_CREATED_FROM + index * 600.0,
        )
        for index, (user_id, (first, last), login) in enumerate(zip(ids, people, logins, strict=True))
    ]


def _people(rng: random.Random, count: int) -> list[tuple[str, str]]:
    """``count`` (first, last) names, about ``_UNICODE_SHARE`` of each drawn from the non-ASCII lists."""
    firsts = _pick_names(rng, _FIRST_NAMES, _UNICODE_FIRST_NAMES, count)
    lasts = _pick_names(rng, _LAST_NAMES, _UNICODE_LAST_NAMES, count)
    return list(zip(firsts, lasts, strict=True))


def _pick_names(rng: random.Random, common: Sequence[str], unusual: Sequence[str], count: int) -> list[str]:
    weights = [(1 - _UNICODE_SHARE) / len(common)] * len(common) + [_UNICODE_SHARE / len(unusual)] * len(unusual)
    return rng.choices([*common, *unusual], weights=weights, k=count)


def _unique_logins(people: Iterable[tuple[str, str]]) -> list[str]:
    """``first.last``, then ``first.last2``, ``first.last3``... for later people with the same name."""
    seen: dict[str, int] = {}
    logins = []
    for first, last in people:
        base = f"{ascii_login_part(first)}.{ascii_login_part(last)}"
        count = seen.get(base, 0) + 1
        seen[base] = count
        logins.append(base if count == 1 else f"{base}{count}")
    return logins


def _sprinkle(rng: random.Random, size: int, shares: dict[str, float], *, minimum: int) -> dict[int, str]:
    """Give each label to its share of distinct positions (at least ``minimum`` each)."""
    wanted = {label: max(minimum, round(size * share)) for label, share in shares.items()}
    chosen = rng.sample(range(size), k=min(size, sum(wanted.values())))
    labels: dict[int, str] = {}
    for label, count in wanted.items():
        labels.update(dict.fromkeys(chosen[:count], label))
        chosen = chosen[count:]
    return labels


def generate_external_users(count: int, seed: int, *, first_id: int) -> list[DirectoryUser]:
    """External collaborators (another company's logins): Box finds them only by their exact login."""
    logins = _unique_logins(_people(random.Random(seed + 1), count))
    return [
        DirectoryUser(id=str(first_id + index), login=f"{login}@{EXTERNAL_DOMAIN}", name=login, external=True)
        for index, login in enumerate(logins)
    ]


def load_directory(path: Path) -> list[DirectoryUser]:
    """Read ``id,login,name,status,role`` rows; any problem raises :class:`DirectoryFileError` naming the line."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise DirectoryFileError(f"{path}: cannot read the directory file: {exc}") from exc
    reader = csv.DictReader(text.splitlines())
    header = tuple(name.strip() for name in reader.fieldnames or ())
    if sorted(header) != sorted(CSV_COLUMNS):
        raise DirectoryFileError(f"{path}: line 1: header must be {','.join(CSV_COLUMNS)} (got {','.join(header)})")
    users: list[DirectoryUser] = []
    first_line_of: dict[str, int] = {}
    for row in reader:
        line = reader.line_num
        user = _user_from_row(path, line, {key.strip(): (value or "").strip() for key, value in row.items() if key})
        for key in (f"id {user.id}", f"login {user.login.lower()}"):
            if key in first_line_of:
                raise DirectoryFileError(f"{path}: line {line}: duplicate {key} (first on line {first_line_of[key]})")
            first_line_of[key] = line
        users.append(user)
    return users


def _user_from_row(path: Path, line: int, row: dict[str, str]) -> DirectoryUser:
    def fail(message: str) -> DirectoryFileError:
        return DirectoryFileError(f"{path}: line {line}: {message}")

    if len(row) != len(CSV_COLUMNS) or None in row.values():
        raise fail(f"expected {len(CSV_COLUMNS)} columns")
    if not row["id"].isdigit():
        raise fail(f"id must be a numeric string (got {row['id']!r})")
    if not _LOGIN_PATTERN.match(row["login"]):
        raise fail(f"login must be an email address (got {row['login']!r})")
    if not row["name"] or len(row["name"]) > MAX_NAME_LENGTH:
        raise fail(f"name must be 1 to {MAX_NAME_LENGTH} characters (got {len(row['name'])})")
    if row["status"] not in STATUSES:
        raise fail(f"status must be one of {', '.join(sorted(STATUSES))} (got {row['status']!r})")
    if row["role"] not in ROLES:
        raise fail(f"role must be one of {', '.join(sorted(ROLES))} (got {row['role']!r})")
    return DirectoryUser(id=row["id"], login=row["login"], name=row["name"], status=row["status"], role=row["role"])


class _PrefixIndex:
    """Sorted lower-cased keys with their positions: every key starting with a term is one bisect away."""

    def __init__(self, keys: Sequence[str]) -> None:
        order = sorted(range(len(keys)), key=keys.__getitem__)
        self._keys = [keys[position] for position in order]
        self._positions = order

    def positions_starting_with(self, term: str) -> list[int]:
        start = bisect_left(self._keys, term)
        end = bisect_left(self._keys, term + _PREFIX_END, lo=start)
        return self._positions[start:end]


class Directory:
    """The enterprise: listed people (in id order), external users, and the service account the caller acts as."""

    def __init__(
        self, people: Sequence[DirectoryUser], *, service_account: DirectoryUser, external: Sequence[DirectoryUser] = ()
    ) -> None:
        self.people: tuple[DirectoryUser, ...] = tuple(people)
        self.external: tuple[DirectoryUser, ...] = tuple(external)
        self.service_account = service_account
        everyone = (*self.people, *self.external, service_account)
        self.by_id: dict[str, DirectoryUser] = {user.id: user for user in everyone}
        self.by_login: dict[str, DirectoryUser] = {user.login.lower(): user for user in everyone}
        if len(self.by_id) != len(everyone) or len(self.by_login) != len(everyone):
            raise DirectoryFileError("the directory has duplicate ids or logins")
        self._logins = _PrefixIndex([user.login.lower() for user in self.people])
        self._names = _PrefixIndex([user.name.lower() for user in self.people])

    def search(self, term: str | None, *, user_type: str = "all") -> Sequence[DirectoryUser]:
        """Box's ``GET /users`` selection: managed users whose login or name starts with ``term`` (case-insensitive),
        and external users only on an exact login match (then only that user, for ``all``)."""
        if not term:
            return () if user_type == "external" else self.people
        lowered = term.lower()
        exact = self.by_login.get(lowered)
        if exact is not None and exact.external and user_type in ("all", "external"):
            return (exact,)
        if user_type == "external":
            return ()
        positions = set(self._logins.positions_starting_with(lowered))
        positions.update(self._names.positions_starting_with(lowered))
        return [self.people[position] for position in sorted(positions)]


def service_account_for(enterprise_id: str, *, role: str, taken_ids: Iterable[str]) -> DirectoryUser:
    """The app's service account, Box style (``AutomationUser_<app>_<random>@boxdevedition.com``), with an id no
    directory user has."""
    taken = set(taken_ids)
    candidate = 30_000_000 + int(enterprise_id) if enterprise_id.isdigit() else 30_000_000
    while str(candidate) in taken:
        candidate += 1
    login = f"AutomationUser_{enterprise_id}_SimOffboard@{SERVICE_ACCOUNT_DOMAIN}"
    return DirectoryUser(id=str(candidate), login=login, name="Offboarding Service Account", role=role)
