"""The incident page's pure parts: every event type has a timeline label, pages say who and whether their link
acknowledged, notes group by kind and updates by audience, links read both ways, runbooks are links only when
http(s), and the review form's rows become the command's action items."""

import typing
from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

import pytest

from command_api.console import views
from command_api.console.actions import FORM_ONLY
from command_api.routes.commands import ACTIONS
from incidents_shared.domain import events as e
from incidents_shared.domain.commands import CompleteReview
from incidents_shared.domain.enums import LinkRelation, Role, Status
from incidents_shared.domain.state import Incident, Link

AT = datetime(2026, 12, 1, tzinfo=UTC)


def an_incident(**changes: Any) -> Incident:
    base = Incident(
        incident_id=uuid4(), title="t", service="s", reporter="r", detected_at=AT, logged_at=AT, updated_at=AT
    )
    return base.model_copy(update=changes)


def event(type_: str, revision: int = 1, actor: str = "ana", **data: Any) -> dict[str, Any]:
    return {
        "type": type_,
        "revision": revision,
        "occurred_at": "2026-12-01T03:00:00Z",
        "actor": {"id": actor},
        "data": data,
    }


def event_types() -> set[str]:
    found = set()
    for cls in vars(e).values():
        if isinstance(cls, type) and issubclass(cls, e.EventBase) and cls is not e.EventBase:
            found |= set(typing.get_args(cls.model_fields["type"].annotation))
    return found


def test_every_event_type_of_the_domain_has_a_timeline_label() -> None:
    assert len(event_types()) >= 24
    assert event_types() - set(views.LABELS) == set()


def test_links_reviews_and_alerts_say_what_they_carry() -> None:
    other = str(uuid4())
    linked = views.entry(event("incident.linked", relation="caused_by", other_incident_id=other), {})
    assert dict(linked.details) == {"relation": "caused_by", "other_incident_id": other}
    items = [{"title": "Alert on pool", "owner": "dba", "due": "2026-12-15"}]
    review = views.entry(event("incident.review_completed", summary="leak", action_items=items), {})
    assert review.details == (("summary", "leak"), ("action item", "Alert on pool (dba, due 2026-12-15)"))
    alerts = views.entry(event("incident.alerts_recorded", source="am", dedup_key="k", alerts=[{}, {}]), {})
    assert dict(alerts.details)["alerts"] == "2"


def test_pages_name_the_person_level_reason_contact_and_whether_their_link_acknowledged() -> None:
    used, other = uuid4(), uuid4()
    events = [
        event(
            "incident.paged",
            actor="escalator",
            page_id=str(used),
            user="ben",
            reason="step",
            level=1,
            contact={"kind": "webhook"},
        ),
        event(
            "incident.paged",
            actor="escalator",
            page_id=str(other),
            user="cy",
            reason="manual",
            level=2,
            contact={"kind": "email"},
            consolidated_into=str(uuid4()),
        ),
    ]
    ben, cy = views.pages(events, {used}, {"ben": "Ben Ortiz"})
    assert (ben.person, ben.level, ben.reason, ben.contact, ben.acknowledged, ben.held) == (
        "Ben Ortiz (ben)", 1, "step", "webhook", True, False,
    )  # fmt: skip
    assert (cy.person, cy.acknowledged, cy.held) == ("cy", False, True)


def test_notes_group_by_kind_in_the_kinds_order_and_updates_by_audience() -> None:
    events = [
        event("incident.note_added", kind="workaround", text="w"),
        event("incident.note_added", kind="diagnosis", text="d1"),
        event("incident.stakeholder_update_posted", audience="execs", message="m1"),
        event("incident.note_added", kind="diagnosis", text="d2"),
        event("incident.stakeholder_update_posted", audience="support", message="m2"),
    ]
    notes = views.grouped(events, "incident.note_added", "kind", ["note", "diagnosis", "root_cause", "workaround"])
    assert [(kind, [n["data"]["text"] for n in found]) for kind, found in notes] == [
        ("diagnosis", ["d1", "d2"]),
        ("workaround", ["w"]),
    ]
    updates = views.grouped(events, "incident.stakeholder_update_posted", "audience")
    assert [audience for audience, _ in updates] == ["execs", "support"]


@pytest.mark.parametrize(
    ("url", "link"),
    [("https://runbooks.example/db", True), ("HTTP://x", True), ("javascript:alert(1)", False), ("", False),
     (None, False), ("data:text/html,x", False)],
)  # fmt: skip
def test_a_runbook_is_a_link_only_when_http_or_https(url: str | None, link: bool) -> None:
    assert views.web_link(url) is link


def test_links_read_both_ways_with_the_other_incidents_title_and_status() -> None:
    this, cause, dup = an_incident(title="this"), an_incident(title="db down", status=Status.RESOLVED), an_incident()
    this = this.model_copy(
        update={"links": (Link(other_incident_id=cause.incident_id, relation=LinkRelation.CAUSED_BY),)}
    )
    dup = dup.model_copy(
        update={
            "title": "dup",
            "links": (Link(other_incident_id=this.incident_id, relation=LinkRelation.DUPLICATE_OF),),
        }
    )
    out, into = views.links(this, [dup], {str(cause.incident_id): cause})
    assert (out.incident_id, out.title, out.status, out.sentence) == (
        str(cause.incident_id), "db down", "resolved", "this incident is caused by",
    )  # fmt: skip
    assert (into.incident_id, into.title, into.outgoing, into.sentence) == (
        str(dup.incident_id), "dup", False, "is duplicate of this incident",
    )  # fmt: skip
    unknown = this.model_copy(update={"links": (Link(other_incident_id=uuid4(), relation=LinkRelation.RELATED),)})
    assert views.links(unknown, [], {})[0].title == "(unknown incident)"


def test_the_review_forms_rows_become_action_items_and_empty_rows_are_skipped() -> None:
    fields = {
        "csrf": "c", "revision": "4", "key": "k", "summary": "Pool leak",
        "item-0-title": "Alert on pool", "item-0-owner": "dba", "item-0-due": "2026-12-15",
        "item-1-title": "", "item-1-owner": "", "item-1-due": "",
        "item-2-title": "Raise limit", "item-2-owner": "ana", "item-2-due": "2026-12-20",
    }  # fmt: skip
    body = views.command_body(fields, FORM_ONLY)
    review = CompleteReview.model_validate(body)
    assert [(i.title, i.owner, i.due.isoformat()) for i in review.action_items] == [
        ("Alert on pool", "dba", "2026-12-15"),
        ("Raise limit", "ana", "2026-12-20"),
    ]
    assert views.command_body({"summary": "s", "item-0-title": "half"}, FORM_ONLY)["action_items"] == [
        {"title": "half"}
    ]  # a half-filled row reaches the command's validation, which names its field
    assert "action_items" not in views.command_body({"summary": "s", "more": "1"}, FORM_ONLY)


def test_the_review_form_has_three_rows_and_add_more_adds_three() -> None:
    assert views.item_rows({}) == 3
    assert views.item_rows({"item-0-title": "", "item-2-title": "", "more": "1"}) == 6
    assert views.item_rows({"item-5-title": "x"}) == 6
    assert views.item_rows({"item-99-title": "x", "more": "1"}) == 100


def test_link_and_review_are_offered_when_the_status_and_role_allow() -> None:
    new = an_incident()
    assert "link" in views.allowed_actions(new, Role.RESPONDER, ACTIONS)
    assert "review" not in views.allowed_actions(new, Role.MANAGER, ACTIONS)
    resolved = an_incident(status=Status.RESOLVED)
    assert "review" in views.allowed_actions(resolved, Role.MANAGER, ACTIONS)
    assert "review" not in views.allowed_actions(resolved, Role.RESPONDER, ACTIONS)
