"""Who is signed in to the console: the session cookie, resolved to a directory user at every request."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import Depends, Request

from command_api.auth import Principal
from command_api.console.sessions import COOKIE, CSRF_FIELD, CSRF_HEADER, PgSessions, csrf_matches, csrf_token
from command_api.console.web import form_fields
from incidents_shared.domain.directory import DirectoryState, token_holder


class SignInRequired(Exception):
    """No session, an expired or ended one, or its token no longer works: the person signs in again."""


class DirectoryNotReady(Exception):
    """The directory's log is not read yet: nobody can be told from a stranger (503, retry soon)."""


class CsrfRefused(Exception):
    """A state-changing request without this session's CSRF token."""


@dataclass(frozen=True)
class ConsoleConfig:
    """What the console needs beside the API's container, built once with the app."""

    sessions: PgSessions
    directory: Callable[[], DirectoryState]
    directory_ready: Callable[[], bool]
    ttl: timedelta
    secure_cookie: bool


@dataclass(frozen=True)
class Person:
    """The signed-in person: the principal every action is made as, and the session's secret (for CSRF)."""

    principal: Principal
    name: str
    teams: tuple[str, ...]
    secret: str

    @property
    def csrf(self) -> str:
        return csrf_token(self.secret)


def config(request: Request) -> ConsoleConfig:
    built: ConsoleConfig = request.app.state.console
    return built


ConfigDep = Annotated[ConsoleConfig, Depends(config)]


def now() -> datetime:
    return datetime.now(UTC)


async def person_of(console: ConsoleConfig, secret: str) -> Person | None:
    """The person a session secret signs in now: None when the session ended or expired, or its token stopped
    working (revoked, the person removed or their role lowered below it)."""
    session = await console.sessions.find(secret, now())
    state = console.directory()
    token = token_holder(state, session.token_hash) if session is not None else None
    if token is None:
        return None
    user = state.users[token.user]
    teams = tuple(sorted(t.id for t in state.teams.values() if token.user in t.members))
    return Person(Principal(token.user, token.role), user.name, teams, secret)


async def signed_in(request: Request, console: ConfigDep) -> Person:
    secret = request.cookies.get(COOKIE)
    if not secret or len(secret) > 200:
        raise SignInRequired
    if not console.directory_ready():
        raise DirectoryNotReady
    person = await person_of(console, secret)
    if person is None:
        raise SignInRequired
    return person


SignedIn = Annotated[Person, Depends(signed_in)]


async def csrf_checked(request: Request, person: SignedIn) -> Person:
    """The signed-in person, for a state-changing request that carries their CSRF token (header or form)."""
    presented = request.headers.get(CSRF_HEADER)
    if presented is None:
        presented = (await form_fields(request)).get(CSRF_FIELD)
    if not csrf_matches(person.secret, presented):
        raise CsrfRefused
    return person


Acting = Annotated[Person, Depends(csrf_checked)]
