"""No paging storms, on the escalator's pure fold and timers (the Simulator) and the storm module's functions:
per person at most `max_pages` pages of policy steps within the window, the rest held (still on each incident's
log, with `consolidated_into`) and listed in one digest page at the window's end."""

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid5

import pytest
from pydantic import ValidationError

from escalator.destinations import Destinations
from incidents_shared.domain import directory as d
from incidents_shared.domain import events as e
from incidents_shared.domain import payloads as p
from incidents_shared.domain.codec import canonical_bytes
from incidents_shared.domain.enums import ActorKind, Level, PageReason, Priority, Role, Source
from incidents_shared.domain.escalation import storm
from incidents_shared.domain.escalation.book import PolicyBook
from incidents_shared.domain.escalation.fold import fold_batch
from incidents_shared.domain.escalation.people import People
from incidents_shared.domain.escalation.policy import Policy, Storm
from incidents_shared.domain.escalation.simulation import Simulator
from incidents_shared.domain.escalation.timers import Timer, TimerKind, build_event, timer_id
from incidents_shared.domain.preconditions import violation
from incidents_shared.domain.record import Record
from incidents_shared.domain.state import Incident
from incidents_shared.domain.walk import decode_record

T0 = datetime(2027, 3, 26, 8, 0, tzinfo=UTC)
T0_NS = UUID("5d1c3f0e-2a4b-4c6d-8e9f-0a1b2c3d4e5f")
WINDOW = timedelta(minutes=5)
ADMIN = e.Actor(id="admin", kind=ActorKind.USER, role="admin")
REPORTER = e.Actor(id="carol", kind=ActorKind.USER, role="reporter")
ANN_HOOK, ANN_CHAT = "http://127.0.0.1:9/ann", "http://127.0.0.1:9/ann-chat"
DOC: dict[str, Any] = {
    "id": "storms",
    "version": 1,
    "priorities": {"P2": {"acknowledge": "30m", "resolve": "8h", "steps": [{"after": "0s", "level": 1}]}},
}
POLICY = Policy.model_validate({**DOC, "storm": {"window": "5m", "max_pages": 3}})


def s(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def people(*contacts: tuple[str, str, str]) -> People:
    """Ann, the only member of the team that owns `checkout`; her contact methods as given."""
    methods = [d.ContactMethod(kind=kind, address=address, delay=delay) for kind, address, delay in contacts]
    ann = d.User(id="ann", name="Ann", email="ann@example.com", time_zone="Europe/Amsterdam", role=Role.RESPONDER,
                 contact_methods=methods)  # fmt: skip
    state = d.DirectoryState()
    for command in (
        d.CreateUser(user=ann),
        d.CreateTeam(team=d.Team(id="payments", name="Payments", members=["ann"])),
        d.CreateService(service=d.Service(id="checkout", name="Checkout", owner_team="payments")),
    ):
        meta = d.DirectoryMeta(command_id=uuid5(T0_NS, str(command)), actor=ADMIN, now=T0, correlation_id="test")
        for event in d.decide(state, command, meta):
            state = d.evolve(state, event)
    return People(state, "service-desk", _links)


TWO_METHODS = (("webhook", ANN_HOOK, "0"), ("slack", ANN_CHAT, "10m"))


def _links(incident: UUID, page: UUID, who: str, at: datetime) -> dict[str, str]:
    return {"acknowledge": f"https://incidents.example/v1/page-links/{incident}.{page}.{who}"}


def incident(n: int) -> UUID:
    return uuid5(T0_NS, f"incident-{n}")


def event(cls: type[e.EventBase], n: int, at: datetime, data: Any = None, actor: e.Actor = REPORTER) -> e.EventBase:
    return cls.model_validate(
        {
            "event_id": uuid5(incident(n), f"{cls.__name__}-{at.isoformat()}"),
            "incident_id": incident(n),
            "occurred_at": at,
            "recorded_at": at,
            "actor": actor,
            "correlation_id": f"test-{n}",
            "data": data if data is not None else {},
        }
    )


def logged(n: int, at: datetime, source: Source = Source.API) -> e.EventBase:
    data = p.LoggedData(title=f"Checkout fails on host{n}", service="checkout", reporter="carol", detected_at=at,
                        impact=Level.HIGH, urgency=Level.MEDIUM, priority=Priority.P2, source=source)  # fmt: skip
    return event(e.IncidentLogged, n, at, data)


def storm_of(count: int, sim: Simulator, every_s: float = 5) -> None:
    """`count` new P2s for the team, `every_s` apart from T0, each paging Ann as it is logged."""
    for n in range(count):
        sim.advance(s(n * every_s), inclusive=False)
        sim.append(logged(n, s(n * every_s)))
        sim.advance(s(n * every_s))


def simulator(*contacts: tuple[str, str, str], policy: Policy = POLICY) -> Simulator:
    return Simulator(PolicyBook(policy), people=people(*(contacts or TWO_METHODS)))


def pages(sim: Simulator) -> list[e.IncidentPaged]:
    return [ev for ev in sim.accepted if isinstance(ev, e.IncidentPaged)]


def sent(sim: Simulator) -> list[tuple[str, str]]:
    """(url, reason) of every delivery that would reach a receiver; a Slack body is text, its reason "slack"."""
    resolve = Destinations(sim.book, lambda: sim.people).resolve  # as the sender resolves it when it sends
    return [(str(resolve(x)), x.body.get("reason") or "slack") for x in sim.deliveries if x.undeliverable is None]


def page_timer(n: int, index: int = 0, reason: PageReason = PageReason.STEP) -> Timer:
    """The timer of incident n's page to Ann by her `index`-th contact method."""
    page = uuid5(incident(n), "page|ann")
    payload = {"page_id": str(page), "user": "ann", "reason": reason.value, "about_event_id": str(page),
               "contact": {"index": index, "kind": "webhook", "address": ANN_HOOK}}  # fmt: skip
    ident = timer_id(incident(n), TimerKind.PAGE, index, s(n), str(page))
    return Timer(ident, incident(n), TimerKind.PAGE, index, s(n), 0, "cause", "test", payload)


STATE = Incident(incident_id=incident(0), title="x", service="checkout", reporter="carol", logged_at=T0,
                 detected_at=T0, updated_at=T0)  # fmt: skip


def test_the_window_counts_pages_and_a_new_one_starts_when_it_has_run_out() -> None:
    rule = Storm(window=WINDOW, max_pages=2)
    first = storm.next_window(None, s(0), rule)
    second = storm.next_window(first, s(299), rule)
    third = storm.next_window(second, s(299.5), rule)
    assert [(w.start, w.pages) for w in (first, second, third)] == [(s(0), 1), (s(0), 2), (s(0), 3)]
    assert storm.next_window(third, s(300), rule) == storm.Window(s(300), 1), "at the window's end a new one"
    assert storm.decide("ann", second, rule) is storm.SENT
    held = storm.decide("ann", third, rule)
    assert held == storm.Decision(storm.digest_id("ann", s(0)), s(300))
    assert storm.digest_id("ann", s(0)) != storm.digest_id("bob", s(0)) != storm.digest_id("ann", s(300))


def test_fifty_new_incidents_in_a_minute_page_ann_three_times_then_once_with_the_other_forty_seven() -> None:
    sim = simulator(("webhook", ANN_HOOK, "0"))
    storm_of(50, sim, every_s=1.2)
    sim.advance(s(600))
    firsts = pages(sim)[:50]
    assert [pg.data.consolidated_into is None for pg in firsts] == [True] * 3 + [False] * 47
    assert {pg.data.consolidated_into for pg in firsts[3:]} == {storm.digest_id("ann", s(0))}
    assert all(pg.data.digest_due_at == s(300) for pg in firsts[3:])
    assert sent(sim) == [(ANN_HOOK, "step")] * 3 + [(ANN_HOOK, "digest")], "3 pages and one consolidated page"
    [digest] = [pg for pg in pages(sim) if pg.data.reason is PageReason.DIGEST]
    assert (digest.incident_id, digest.occurred_at, digest.data.user) == (incident(3), s(300), "ann")
    assert digest.data.digest is not None
    assert [item.incident_id for item in digest.data.digest.incidents] == [incident(n) for n in range(3, 50)]
    assert digest.data.digest.total == 47
    assert digest.data.page_id == storm.digest_id("ann", s(0))


def test_the_digest_carries_an_acknowledge_link_per_listed_incident_for_its_held_page() -> None:
    sim = simulator(("webhook", ANN_HOOK, "0"))
    storm_of(5, sim)
    sim.advance(s(300))
    held = {pg.incident_id: pg.data.page_id for pg in pages(sim) if pg.data.consolidated_into}
    body = sim.deliveries[-1].body
    assert (body["reason"], body["user"], body["total"], body["incident_id"]) == ("digest", "ann", 2, str(incident(3)))
    assert [(i["incident_id"], i["title"], i["priority"]) for i in body["incidents"]] == [
        (str(incident(n)), f"Checkout fails on host{n}", "P2") for n in (3, 4)
    ]
    for item in body["incidents"]:
        page = held[UUID(item["incident_id"])]
        assert item["page_id"] == str(page)
        assert item["links"]["acknowledge"].endswith(f"{item['incident_id']}.{page}.ann"), "that incident's page"


def test_a_held_pages_later_contact_methods_are_held_too_and_an_admitted_ones_go_out() -> None:
    sim = simulator(*TWO_METHODS)
    storm_of(5, sim)
    sim.advance(s(3600))
    later = [pg for pg in pages(sim) if pg.data.contact.index == 1]
    assert [(pg.incident_id, pg.data.consolidated_into is not None) for pg in later] == [
        (incident(n), n >= 3) for n in range(5)
    ]
    assert sent(sim) == [(ANN_HOOK, "step")] * 3 + [(ANN_HOOK, "digest")] + [(ANN_CHAT, "slack")] * 3
    assert len([pg for pg in pages(sim) if pg.data.reason is PageReason.DIGEST]) == 1, "a late hold: no new digest"


def test_a_slack_first_contact_gets_the_digest_as_text_with_slack_links() -> None:
    sim = simulator(("slack", ANN_CHAT, "0"))
    storm_of(4, sim)
    sim.advance(s(300))
    text = sim.deliveries[-1].body["text"]
    assert text.startswith("1 more incidents paged you")
    assert f"[P2] Checkout fails on host3 ({incident(3)}) <https://incidents.example/v1/page-links/" in text


def test_acknowledged_held_incidents_are_left_out_and_none_left_means_no_digest() -> None:
    sim = simulator(("webhook", ANN_HOOK, "0"))
    storm_of(6, sim)
    sim.append(event(e.IncidentAcknowledged, 4, s(100), actor=e.Actor(id="ann", kind=ActorKind.USER, role="responder")))
    sim.advance(s(300))
    [digest] = [pg for pg in pages(sim) if pg.data.reason is PageReason.DIGEST]
    assert digest.data.digest is not None
    assert [i.incident_id for i in digest.data.digest.incidents] == [incident(3), incident(5)]

    quiet = simulator(("webhook", ANN_HOOK, "0"))
    storm_of(4, quiet)
    quiet.append(event(e.IncidentAcknowledged, 3, s(100)))
    quiet.advance(s(600))
    assert [pg.data.reason for pg in pages(quiet)] == [PageReason.STEP] * 4, "nothing left to consolidate"
    assert not [t for t in quiet.timers.values() if t.kind is TimerKind.DIGEST]


def test_the_digest_survives_its_carrier_being_resolved_and_goes_out_on_its_log() -> None:
    sim = simulator(("webhook", ANN_HOOK, "0"))
    storm_of(6, sim)
    fixed = p.ResolvedData(resolution_code="fixed", summary="restarted")
    sim.append(event(e.IncidentAcknowledged, 3, s(60)))
    assert sim.append(event(e.IncidentResolved, 3, s(70), fixed))
    sim.advance(s(300))
    [digest] = [pg for pg in pages(sim) if pg.data.reason is PageReason.DIGEST]
    assert digest.data.digest is not None
    assert digest.incident_id == incident(3), "on the first held incident's log, resolved or not"
    assert [i.incident_id for i in digest.data.digest.incidents] == [incident(4), incident(5)]
    assert sent(sim)[-1] == (ANN_HOOK, "digest")


def test_after_the_window_the_next_page_goes_out_again() -> None:
    sim = simulator(("webhook", ANN_HOOK, "0"))
    storm_of(4, sim)
    sim.advance(s(400), inclusive=False)
    sim.append(logged(9, s(400)))
    sim.advance(s(400))
    assert pages(sim)[-1].incident_id == incident(9)
    assert pages(sim)[-1].data.consolidated_into is None
    assert sent(sim)[-1] == (ANN_HOOK, "step")


def test_assignments_manual_escalations_and_drills_are_never_held_nor_counted() -> None:
    sim = simulator(("webhook", ANN_HOOK, "0"))
    for n in range(20, 24):
        sim.append(logged(n, s(n - 20), source=Source.DRILL))
    sim.advance(s(10))
    drills = pages(sim)
    assert len(drills) == 4 and all(pg.data.consolidated_into is None for pg in drills)
    storm_of(3, sim)
    sim.append(event(e.IncidentAssigned, 0, s(20), p.AssignedData(team="payments", assignee="ann")))
    manual = p.EscalatedData(level=2, target_team="payments", target_person="ann", reason="manual")
    sim.append(event(e.IncidentEscalated, 1, s(21), manual))
    sim.advance(s(30))
    asked = [pg for pg in pages(sim) if pg.data.reason in (PageReason.ASSIGNMENT, PageReason.MANUAL)]
    assert len(asked) == 2 and all(pg.data.consolidated_into is None for pg in asked)
    sim.append(logged(7, s(40)))
    sim.advance(s(40))
    assert pages(sim)[-1].data.consolidated_into is not None, "the fourth step page of the window: held"


def test_without_a_storm_rule_every_page_goes_out() -> None:
    sim = simulator(("webhook", ANN_HOOK, "0"), policy=Policy.model_validate(DOC))
    storm_of(10, sim)
    sim.advance(s(900))
    assert sent(sim) == [(ANN_HOOK, "step")] * 10


def test_two_holds_in_one_batch_arm_one_digest_carried_by_the_first() -> None:
    sim = simulator(("webhook", ANN_HOOK, "0"))
    for n in (3, 4):
        sim.append(logged(n, s(n)))
    digest_id = storm.digest_id("ann", s(0))
    decision = storm.Decision(digest_id, s(300))
    held = [storm.held(page_timer(n), decision) for n in (3, 4)]  # as the timer loop fires them
    events = [build_event(t, sim.known.states[t.incident_id], sim.book, sim.people, t.due_at) for t in held]
    records = [Record(0, 100 + i, str(ev.incident_id), canonical_bytes(ev)) for i, ev in enumerate(events)]
    out = fold_batch([decode_record(r) for r in records], sim.known, sim.book, sim.people)
    [digest] = [t for t in out.arm.values() if t.kind is TimerKind.DIGEST]
    assert (digest.incident_id, digest.due_at) == (incident(3), s(300)), "on the first held incident's log"
    assert digest.timer_id == uuid5(digest_id, "digest"), "one id per digest"
    assert [(h.incident_id, h.digest_id) for h in out.holds] == [(incident(n), digest_id) for n in (3, 4)]
    assert out.deliveries == [], "held pages are not delivered"


def test_a_digest_is_allowed_on_a_closed_incident_and_a_plain_page_is_not() -> None:
    sim = simulator(("webhook", ANN_HOOK, "0"))
    sim.append(logged(0, s(0)))
    sim.advance(s(0))
    fixed = p.ResolvedData(resolution_code="fixed", summary="restarted")
    sim.append(event(e.IncidentResolved, 0, s(10), fixed))
    state = sim.known.states[incident(0)]
    [page] = pages(sim)
    item = p.DigestItem(incident_id=incident(1), title="Other", priority=Priority.P2, page_id=page.data.page_id)
    digest = page.data.model_copy(update={"reason": PageReason.DIGEST, "digest": p.Digest(incidents=[item], total=1)})
    assert violation(state, page.model_copy(update={"data": digest})) is None
    assert violation(state, page) == "incident.paged is not allowed when the incident is resolved"


def test_a_page_without_storm_fields_keeps_its_canonical_bytes() -> None:
    sim = simulator(("webhook", ANN_HOOK, "0"))
    sim.append(logged(0, s(0)))
    sim.advance(s(0))
    [page] = pages(sim)
    dumped = page.data.model_dump(mode="json")
    assert not {"consolidated_into", "digest_due_at", "digest"} & set(dumped)
    assert b"consolidated_into" not in canonical_bytes(page)


def test_the_storm_rule_is_part_of_the_content_hash_and_its_absence_hashes_as_before() -> None:
    before = Policy.model_validate(DOC)
    assert before.content_hash() == "aa2fd07ad6ab6adefb4adca979f4485b7a84f5ee4c2ee45243ff42e8f29f488a", (
        "the hash this policy had before storms existed: running escalators keep their registered versions"
    )
    assert POLICY.content_hash() != before.content_hash()
    looser = Policy.model_validate({**DOC, "storm": {"window": "5m", "max_pages": 4}})
    assert looser.content_hash() != POLICY.content_hash()


@pytest.mark.parametrize(
    "rule", [{"window": "0s", "max_pages": 3}, {"window": "5m", "max_pages": 0}, {"window": "5m"}, {"max_pages": 2}]
)
def test_a_storm_rule_needs_a_window_and_at_least_one_page(rule: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        Policy.model_validate({**DOC, "storm": rule})


def test_the_ledger_decides_each_page_once_and_a_retry_or_a_later_contact_method_is_held_alike() -> None:
    ledger, rule = storm.StormLedger(), Storm(window=WINDOW, max_pages=1)
    first, second = ledger.admit(page_timer(0), STATE, rule, s(0)), ledger.admit(page_timer(1), STATE, rule, s(1))
    assert "consolidated_into" not in first.payload
    assert second.payload["consolidated_into"] == str(storm.digest_id("ann", s(0)))
    assert ledger.admit(page_timer(1), STATE, rule, s(2)).payload == second.payload, "a retry: the same decision"
    later = ledger.admit(page_timer(1, index=1), STATE, rule, s(600))
    assert later.payload["consolidated_into"] == second.payload["consolidated_into"], "after the window: still held"
    assert "consolidated_into" not in ledger.admit(page_timer(0, index=1), STATE, rule, s(600)).payload
    assert ledger.windows["ann"] == storm.Window(s(0), 2), "counted once per page, by its first contact method"
    manual = ledger.admit(page_timer(5, reason=PageReason.MANUAL), STATE, rule, s(3))
    assert "consolidated_into" not in manual.payload and ledger.windows["ann"].pages == 2
