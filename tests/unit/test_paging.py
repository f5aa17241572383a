"""Paging people, on the escalator's pure fold and timers: who is paged, by which contact method, when, and that
an acknowledgement earlier in the log stops every later contact method and step."""

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4, uuid5

from escalator.destinations import Destinations
from incidents_shared.domain import directory as d
from incidents_shared.domain import events as e
from incidents_shared.domain import payloads as p
from incidents_shared.domain.enums import ActorKind, EscalationReason, Level, PageReason, Priority, Role
from incidents_shared.domain.escalation.book import PolicyBook
from incidents_shared.domain.escalation.people import People
from incidents_shared.domain.escalation.policy import ChannelKind, Policy
from incidents_shared.domain.escalation.recipients import NO_CHANNEL
from incidents_shared.domain.escalation.simulation import Simulator
from incidents_shared.domain.escalation.timers import TimerKind, build_event
from incidents_shared.domain.oncall import Layer, Override, Schedule

T0 = datetime(2027, 3, 26, 8, 0, tzinfo=UTC)  # a Friday, 09:00 in Amsterdam
INCIDENT = UUID("7a4f0e8e-0c1d-4b6a-9f3e-2d1c0b9a8f70")
ADMIN = e.Actor(id="admin", kind=ActorKind.USER, role="admin")
MANAGER = e.Actor(id="mia", kind=ActorKind.USER, role="manager")
POLICY = Policy.model_validate(
    {
        "id": "paging",
        "version": 1,
        "channels": {"leads-hook": {"kind": "webhook", "url": "http://127.0.0.1:9/leads"}},
        "teams": {"leads": {"channels": ["leads-hook"]}},
        "priorities": {
            "P2": {
                "acknowledge": "30m",
                "resolve": "8h",
                "steps": [{"after": "0s", "level": 1}, {"after": "30m", "level": 2, "team": "leads"}],
            }
        },
    }
)


def s(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def user(uid: str, *methods: tuple[str, str, str]) -> d.User:
    contacts = [d.ContactMethod(kind=kind, address=address, delay=delay) for kind, address, delay in methods]
    return d.User(id=uid, name=uid.title(), email=f"{uid}@example.com", time_zone="Europe/Amsterdam",
                  role=Role.RESPONDER, contact_methods=contacts)  # fmt: skip


ANN = user("ann", ("webhook", "http://127.0.0.1:9/ann", "0"), ("slack", "http://127.0.0.1:9/ann-chat", "5m"))
BOB = user("bob", ("webhook", "http://127.0.0.1:9/bob", "0"))
ROTA = Schedule(
    id="payments-primary",
    name="Payments primary",
    time_zone="Europe/Amsterdam",
    layers=[Layer(name="weekly", start=datetime(2027, 3, 22, 9, 0), turn="P1W", users=["ann", "bob"])],
)


def directory(*commands: d.DirectoryCommand) -> d.DirectoryState:
    state = d.DirectoryState()
    for command in commands:
        meta = d.DirectoryMeta(command_id=uuid4(), actor=ADMIN, now=T0, correlation_id="test")
        for event in d.decide(state, command, meta):
            state = d.evolve(state, event)
    return state


BASE = (
    d.CreateUser(user=ANN),
    d.CreateUser(user=BOB),
    d.CreateSchedule(schedule=ROTA),
    d.CreateTeam(team=d.Team(id="payments", name="Payments", members=["ann", "bob"], schedule="payments-primary")),
    d.CreateService(service=d.Service(id="checkout", name="Checkout", owner_team="payments")),
)


def event(cls: type[e.EventBase], at: datetime, data: Any = None, actor: e.Actor = MANAGER) -> e.EventBase:
    return cls.model_validate(
        {
            "event_id": uuid5(INCIDENT, f"{cls.__name__}-{at.isoformat()}"),
            "incident_id": INCIDENT,
            "occurred_at": at,
            "recorded_at": at,
            "actor": actor,
            "correlation_id": "test",
            "data": data if data is not None else {},
        }
    )


def logged(at: datetime = T0, service: str = "checkout") -> e.EventBase:
    data = p.LoggedData(title="Card payments fail", service=service, reporter="carol", detected_at=at,
                        impact=Level.HIGH, urgency=Level.MEDIUM, priority=Priority.P2)  # fmt: skip
    return event(e.IncidentLogged, at, data)


def simulator(state: d.DirectoryState) -> Simulator:
    return Simulator(PolicyBook(POLICY), people=People(state, "service-desk", _links))


def _links(incident: UUID, page: UUID, who: str, at: datetime) -> dict[str, str]:
    return {"acknowledge": f"https://incidents.example/v1/page-links/{page}.{who}"}


def pages(sim: Simulator) -> list[e.IncidentPaged]:
    return [ev for ev in sim.accepted if isinstance(ev, e.IncidentPaged)]


def sent(sim: Simulator) -> list[tuple[str, str]]:
    """(channel, url) of every delivery that would reach a receiver."""
    resolve = Destinations(sim.book, lambda: sim.people).resolve  # as the sender resolves it when it sends
    return [(x.channel, str(resolve(x))) for x in sim.deliveries if x.undeliverable is None]


def test_a_new_p2_pages_the_owning_teams_oncall_at_once_by_their_first_contact_method() -> None:
    sim = simulator(directory(*BASE))
    sim.append(logged())
    sim.advance(s(1))
    [page] = pages(sim)
    assert (page.occurred_at, page.data.user, page.data.reason) == (T0, "ann", PageReason.STEP)
    assert (page.data.team, page.data.schedule, page.data.source, page.data.level) == (
        "payments", "payments-primary", "weekly", 1,
    )  # fmt: skip
    assert (page.data.contact.index, page.data.contact.kind) == (0, d.ContactKind.WEBHOOK)
    assert sent(sim) == [("page:webhook", "http://127.0.0.1:9/ann")]
    [delivery] = sim.deliveries
    assert delivery.body["links"]["acknowledge"].endswith(f"{page.data.page_id}.ann"), "the signed link, for ann"


def test_unacknowledged_the_second_contact_method_goes_out_after_its_delay() -> None:
    sim = simulator(directory(*BASE))
    sim.append(logged())
    sim.advance(s(5 * 60))
    assert [(pg.occurred_at, pg.data.contact.kind) for pg in pages(sim)] == [
        (T0, d.ContactKind.WEBHOOK),
        (s(300), d.ContactKind.SLACK),
    ]
    assert sent(sim)[-1] == ("page:slack", "http://127.0.0.1:9/ann-chat")
    assert "<https://incidents.example/v1/page-links/" in sim.deliveries[-1].body["text"], "Slack's link syntax"


def test_an_acknowledgement_stops_the_later_contact_methods_and_steps() -> None:
    sim = simulator(directory(*BASE))
    sim.append(logged())
    sim.advance(s(60))
    sim.append(event(e.IncidentAcknowledged, s(60), actor=e.Actor(id="ann", kind=ActorKind.USER, role="responder")))
    sim.advance(s(3 * 3600))
    assert [pg.data.contact.index for pg in pages(sim)] == [0]
    assert sent(sim) == [("page:webhook", "http://127.0.0.1:9/ann")], "no Slack page, no level 2 to the leads"
    assert not [t for t in sim.timers.values() if t.kind in (TimerKind.PAGE, TimerKind.STEP)]


def test_a_page_that_lands_after_the_acknowledgement_is_rejected_by_log_order_and_not_delivered() -> None:
    sim = simulator(directory(*BASE))
    sim.append(logged())
    sim.advance(s(1))
    [late] = [t for t in sim.timers.values() if t.kind is TimerKind.PAGE]
    in_flight = build_event(late, sim.known.states[INCIDENT], sim.book, sim.people, late.due_at)  # fired, in flight
    sim.append(event(e.IncidentAcknowledged, s(200)))  # ...the acknowledgement reached the log first
    delivered = len(sim.deliveries)
    assert sim.append(in_flight) is False
    assert len(sim.deliveries) == delivered


def test_an_override_wins_over_the_layer_and_the_page_says_so() -> None:
    cover = Override(user="bob", start=s(-3600), end=s(3600))
    sim = simulator(directory(*BASE, d.AddOverride(schedule_id="payments-primary", override=cover)))
    sim.append(logged())
    sim.advance(s(1))
    [page] = pages(sim)
    assert (page.data.user, page.data.source) == ("bob", "override")
    assert sent(sim) == [("page:webhook", "http://127.0.0.1:9/bob")]


NIGHTS = {"kind": "daily", "start": "20:00", "end": "07:00"}


def test_a_gap_is_reported_and_falls_through_to_the_next_level_at_once() -> None:
    nights = {**ROTA.model_dump(), "layers": [{**ROTA.layers[0].model_dump(), "restrictions": [NIGHTS]}]}
    state = directory(*BASE[:2], d.CreateSchedule(schedule=Schedule.model_validate(nights)), *BASE[3:])
    sim = simulator(state)
    sim.append(logged())
    sim.advance(s(1))
    assert pages(sim) == []
    [gap] = [x for x in sim.deliveries if x.undeliverable]
    why = gap.undeliverable or ""
    assert gap.channel == NO_CHANNEL and "nobody on call" in why and "payments-primary" in why
    levels = [ev.data.level for ev in sim.accepted if isinstance(ev, e.IncidentEscalated)]
    assert levels == [1, 2], "level 2 at once instead of after 30 minutes"
    assert sent(sim) == [("leads-hook", "http://127.0.0.1:9/leads")]


def test_an_uncatalogued_service_goes_to_the_default_team() -> None:
    state = directory(*BASE, d.CreateTeam(team=d.Team(id="service-desk", name="Service desk", members=["bob"])))
    sim = simulator(state)
    sim.append(logged(service="mainframe"))
    sim.advance(s(1))
    [page] = pages(sim)
    assert (page.data.user, page.data.team, page.data.schedule) == ("bob", "service-desk", None), "all members"


def test_assigning_pages_the_assignee_once_and_an_unknown_assignee_is_a_visible_failure() -> None:
    sim = simulator(directory(*BASE))
    sim.append(logged())
    sim.advance(s(1))
    sim.append(event(e.IncidentAcknowledged, s(10)))
    sim.append(event(e.IncidentAssigned, s(20), p.AssignedData(team="payments", assignee="bob")))
    sim.append(event(e.IncidentAssigned, s(30), p.AssignedData(team="payments", assignee="bob")))
    sim.append(event(e.IncidentAssigned, s(40), p.AssignedData(team="payments", assignee="zed")))
    sim.advance(s(3600))
    assigned = [pg for pg in pages(sim) if pg.data.reason is PageReason.ASSIGNMENT]
    assert [(pg.data.user, pg.occurred_at) for pg in assigned] == [("bob", s(20))]
    [failed] = [x for x in sim.deliveries if x.undeliverable and "zed" in x.undeliverable]
    assert "not in the directory" in (failed.undeliverable or "")


def test_a_manual_escalation_to_a_person_pages_that_person() -> None:
    sim = simulator(directory(*BASE))
    sim.append(logged())
    sim.advance(s(1))
    data = p.EscalatedData(level=3, target_team="payments", target_person="bob", reason=EscalationReason.MANUAL)
    sim.append(event(e.IncidentEscalated, s(100), data))
    sim.advance(s(101))
    manual = [pg for pg in pages(sim) if pg.data.reason is PageReason.MANUAL]
    assert [(pg.data.user, pg.data.level) for pg in manual] == [("bob", 3)]


def test_email_pages_go_to_the_email_channel() -> None:
    mail_first = user("cy", ("email", "cy@example.com", "0"))
    team = d.Team(id="payments", name="Payments", members=["cy"])
    state = directory(d.CreateUser(user=mail_first), d.CreateTeam(team=team), BASE[4])
    sim = simulator(state)
    sim.append(logged())
    sim.advance(s(1))
    [page] = pages(sim)
    [delivery] = sim.deliveries
    assert page.data.contact.kind is d.ContactKind.EMAIL and delivery.undeliverable is None
    assert (delivery.kind, delivery.channel, page.data.contact.address) == (
        ChannelKind.EMAIL,
        "page:email",
        "cy@example.com",
    )
