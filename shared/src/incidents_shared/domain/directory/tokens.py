"""Personal API tokens: a user's own bearer tokens, so the log says who acted (issue 15, item 7).

Only a token's SHA-256 hash is ever stored (on the log too): the token is 32 random bytes, so its hash reveals
nothing and cannot be reversed. A token's role may not exceed its user's role (roles nest reporter < responder
< manager < admin; auditor, integration and system stand alone); it stops working when its user is deleted, or
when the user's role no longer covers it.
"""

from typing import Annotated

from pydantic import Field

from incidents_shared.domain.directory.model import Id, Name
from incidents_shared.domain.enums import Role
from incidents_shared.domain.text import StorableModel

TokenHash = Annotated[str, Field(pattern=r"^[0-9a-f]{64}$", description="SHA-256 of the token, lowercase hex")]

_NESTED = (Role.REPORTER, Role.RESPONDER, Role.MANAGER, Role.ADMIN)
# The roles a user of each role may give a token of theirs: their own, and those below it in the nesting.
ROLE_GRANTS: dict[Role, frozenset[Role]] = {
    **{role: frozenset(_NESTED[: _NESTED.index(role) + 1]) for role in _NESTED},
    Role.AUDITOR: frozenset({Role.AUDITOR}),
    Role.INTEGRATION: frozenset({Role.INTEGRATION}),
    Role.SYSTEM: frozenset({Role.SYSTEM}),
}


def role_within(token_role: Role, user_role: Role) -> bool:
    """Whether a user of `user_role` may hold (and use) a token of `token_role`."""
    return token_role in ROLE_GRANTS[user_role]


class Token(StorableModel):
    """A personal token of `user`, acting with `role`; `token_hash` is all that is kept of the secret."""

    id: Id
    user: Id
    token_hash: TokenHash
    role: Role
    label: Name | None = None


class TokenRef(StorableModel):
    """Names a token to revoke: its id and its user."""

    id: Id
    user: Id
