"""Slack users in the directory: an optional, unique `slack_user_id` per user, kept by apply and export."""

from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

import pytest
from pydantic import ValidationError

from incidentctl.directory_doc import InvalidDirectory, parse_directory, to_document
from incidents_shared.domain import directory as d
from incidents_shared.domain.directory.errors import InvalidDirectoryChange
from incidents_shared.domain.enums import ActorKind, Role
from incidents_shared.domain.events import Actor

ADMIN = Actor(id="admin", kind=ActorKind.USER, role="admin")
T0 = datetime(2027, 1, 4, 9, 0, tzinfo=UTC)


def person(uid: str, slack: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"id": uid, "name": uid.title(), "email": f"{uid}@example.com",
                            "time_zone": "Europe/Amsterdam", "role": "responder"}  # fmt: skip
    return body | ({"slack_user_id": slack} if slack else {})


def apply(state: d.DirectoryState, command: d.DirectoryCommand) -> d.DirectoryState:
    meta = d.DirectoryMeta(command_id=uuid4(), actor=ADMIN, now=T0, correlation_id="test")
    for event in d.decide(state, command, meta):
        state = d.evolve(state, event)
    return state


def test_a_linked_user_is_found_by_their_slack_id_and_unlinking_forgets_it() -> None:
    state = apply(d.DirectoryState(), d.CreateUser(user=d.User.model_validate(person("ann", "U2CERLKJA"))))
    assert state.users_by_slack["U2CERLKJA"].id == "ann"
    assert state.users["ann"].role is Role.RESPONDER
    state = apply(state, d.UpdateUser(user=d.User.model_validate(person("ann"))))
    assert state.users_by_slack == {}


def test_one_slack_id_links_one_user() -> None:
    state = apply(d.DirectoryState(), d.CreateUser(user=d.User.model_validate(person("ann", "U2CERLKJA"))))
    with pytest.raises(InvalidDirectoryChange, match=r"slack_user_id: U2CERLKJA is linked to user 'ann'"):
        apply(state, d.CreateUser(user=d.User.model_validate(person("bob", "U2CERLKJA"))))
    again = apply(state, d.UpdateUser(user=d.User.model_validate(person("ann", "U2CERLKJA") | {"name": "Ann V"})))
    assert again.users_by_slack["U2CERLKJA"].name == "Ann V", "keeping one's own id is no conflict"


@pytest.mark.parametrize("bad", ["u2cerlkja", "T1DC2JH3J", "U", "U2CERLKJA ", "<@U2CERLKJA>"])
def test_a_slack_id_that_is_no_member_id_is_refused_naming_the_field(bad: str) -> None:
    with pytest.raises(ValidationError, match="slack_user_id"):
        d.User.model_validate(person("ann", bad))


def test_apply_and_export_keep_the_slack_id_and_a_document_may_not_repeat_it() -> None:
    directory = parse_directory({"users": [person("ann", "U2CERLKJA"), person("bob")]})
    exported = to_document(directory)["users"]
    assert exported[0]["slack_user_id"] == "U2CERLKJA" and "slack_user_id" not in exported[1]
    with pytest.raises(InvalidDirectory) as refused:
        parse_directory({"users": [person("ann", "U2CERLKJA"), person("bob", "U2CERLKJA")]})
    assert [p.path for p in refused.value.problems] == ["users.1.slack_user_id"]


def test_a_user_without_a_slack_id_reads_and_goes_on_the_log_as_before() -> None:
    assert "slack_user_id" not in d.User.model_validate(person("ann")).model_dump(mode="json")
    assert (
        d.User.model_validate(person("ann", "W0ENTERPRISE")).model_dump(mode="json")["slack_user_id"] == "W0ENTERPRISE"
    )
