"""No paging storms: per person, at most `max_pages` pages of policy steps within a window; the pages beyond it
are held and listed in one digest page at the window's end (policy `storm`, docs/decisions/0075). Pure.

Admission is decided when a page's timer fires, before its `incident.paged` is built: the person's window is
counted in PostgreSQL by every escalator instance alike (escalator.storms: one atomic upsert, `next_window` in
SQL), and the decision is kept per page, so a retried timer and the page's later contact methods get the same
one. A held page is still appended to its incident's log, with `consolidated_into` (and no delivery). The fold
records each accepted hold and arms its digest's one timer, on the first held incident's stream; when it fires,
the digest lists the held incidents still unacknowledged, each with its own signed acknowledge link, and goes to
the person's first contact method.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any
from uuid import UUID, uuid5

from incidents_shared.domain import events as e
from incidents_shared.domain import payloads as p
from incidents_shared.domain.enums import ContactKind, PageReason, Source, Status
from incidents_shared.domain.escalation.destinations import shown_address
from incidents_shared.domain.escalation.paging import contact_delivery
from incidents_shared.domain.escalation.people import People
from incidents_shared.domain.escalation.policy import Storm
from incidents_shared.domain.escalation.recipients import Delivery, slack_escape
from incidents_shared.domain.escalation.timers import ACTOR, Timer, TimerKind
from incidents_shared.domain.state import Incident
from incidents_shared.domain.timeutil import format_utc

STORM_NAMESPACE = UUID("a7009a97-f5ae-477f-99e9-e67ffc62f690")


@dataclass(frozen=True)
class Window:
    """One person's storm window: when it began and how many counted pages it has seen."""

    start: datetime
    pages: int


def next_window(current: Window | None, at: datetime, storm: Storm) -> Window:
    """The person's window after one more page at `at`: a new one once the last has run out."""
    if current is None or current.start + storm.window <= at:
        return Window(at, 1)
    return Window(current.start, current.pages + 1)


@dataclass(frozen=True)
class Decision:
    """What became of one page: sent (no digest), or held into the digest due at `digest_due_at`."""

    digest_id: UUID | None = None
    digest_due_at: datetime | None = None


SENT = Decision()


def digest_id(user: str, window_start: datetime) -> UUID:
    return uuid5(STORM_NAMESPACE, f"{user}|{format_utc(window_start)}")


def decide(user: str, window: Window, storm: Storm) -> Decision:
    """Within the limit the page goes out; beyond it, it waits for the window's digest."""
    if window.pages <= storm.max_pages:
        return SENT
    return Decision(digest_id(user, window.start), window.start + storm.window)


def is_counted(timer: Timer, state: Incident, storm: Storm | None) -> bool:
    """Pages of policy steps are counted; an assignment or a manual escalation is someone asking for this person
    in particular, and a drill's pages are never sent, so neither counts nor is ever held."""
    return (
        storm is not None
        and timer.kind is TimerKind.PAGE
        and timer.payload.get("reason") == PageReason.STEP.value
        and state.source is not Source.DRILL
    )


def page_of(timer: Timer) -> tuple[str, UUID, int]:
    """(user, page id, contact method index) of a page's timer."""
    return str(timer.payload["user"]), UUID(str(timer.payload["page_id"])), int(timer.payload["contact"]["index"])


def held(timer: Timer, decision: Decision | None) -> Timer:
    """The timer as it fires under `decision`: a held page names its digest."""
    if decision is None or decision.digest_id is None or decision.digest_due_at is None:
        return timer
    consolidated = {"consolidated_into": str(decision.digest_id), "digest_due_at": format_utc(decision.digest_due_at)}
    return replace(timer, payload={**timer.payload, **consolidated})


@dataclass(frozen=True)
class Hold:
    """An accepted held page, recorded by the fold for its digest."""

    digest_id: UUID
    user: str
    incident_id: UUID
    page_id: UUID
    event_id: UUID
    held_at: datetime
    contact_kind: ContactKind
    contact_address: str


def hold_of(event: e.IncidentPaged) -> Hold:
    data = event.data
    assert data.consolidated_into is not None
    return Hold(data.consolidated_into, data.user, event.incident_id, data.page_id, event.event_id,
                event.occurred_at, data.contact.kind, data.contact.address)  # fmt: skip


def digest_timer(event: e.IncidentPaged, partition: int) -> Timer:
    """The digest's one timer: its id from the digest alone, so every hold arms the same one and the first held
    incident carries it (armed once, it is never re-armed; resolving that incident does not cancel it)."""
    data = event.data
    assert data.consolidated_into is not None
    assert data.digest_due_at is not None
    payload = {"digest_id": str(data.consolidated_into), "user": data.user}
    return Timer(uuid5(data.consolidated_into, "digest"), event.incident_id, TimerKind.DIGEST, 0,
                 data.digest_due_at, partition, str(event.event_id), event.correlation_id, payload)  # fmt: skip


def digest_items(holds: Iterable[Hold], states: Mapping[UUID, Incident]) -> list[p.DigestItem]:
    """The held pages still worth a page, in the order they were held: one per page, its incident unacknowledged."""
    items: dict[UUID, p.DigestItem] = {}
    for hold in holds:
        state = states.get(hold.incident_id)
        if state is None or state.status is not Status.NEW or hold.page_id in items:
            continue
        items[hold.page_id] = p.DigestItem(incident_id=hold.incident_id, title=state.title,
                                           priority=state.priority, page_id=hold.page_id)  # fmt: skip
    return list(items.values())


def digest_event(
    timer: Timer, holds: list[Hold], states: Mapping[UUID, Incident], people: People, now: datetime
) -> e.IncidentPaged | None:
    """The digest page (on the timer's incident), or None when every held incident was acknowledged meanwhile."""
    items = digest_items(holds, states)
    if not items:
        return None
    user = str(timer.payload["user"])
    kind, address = _first_contact(user, people, holds[0])
    data = p.PagedData(
        page_id=UUID(str(timer.payload["digest_id"])),
        user=user,
        reason=PageReason.DIGEST,
        about_event_id=holds[0].event_id,
        contact=p.ContactAttempt(index=0, kind=kind, address=shown_address(kind, address)),
        digest=p.Digest(incidents=items[: p.MAX_DIGEST_ITEMS], total=len(items)),
    )
    return e.IncidentPaged(event_id=timer.timer_id, incident_id=timer.incident_id, occurred_at=timer.due_at,
                           recorded_at=now, actor=ACTOR, correlation_id=timer.correlation_id,
                           causation_id=timer.causation_id, data=data)  # fmt: skip


def _first_contact(user: str, people: People, first: Hold) -> tuple[ContactKind, str]:
    """The person's first contact method now; the held page's own if they have none left in the directory."""
    known = people.directory.users.get(user)
    if known is not None and known.contact_methods:
        return known.contact_methods[0].kind, known.contact_methods[0].address
    return first.contact_kind, first.contact_address


def digest_delivery(event: e.IncidentPaged, state: Incident, partition: int, people: People) -> Delivery:
    """The digest to its contact method: every listed incident with its own acknowledge link."""
    data = event.data
    assert data.digest is not None
    listed = [
        {"incident_id": str(item.incident_id), "title": item.title, "page_id": str(item.page_id),
         "priority": item.priority.value if item.priority else None,
         "links": people.links(item.incident_id, item.page_id, data.user, event.occurred_at)}
        for item in data.digest.incidents
    ]  # fmt: skip
    facts: dict[str, Any] = {
        "event_id": str(event.event_id),
        "event_type": "incident.paged",
        "incident_id": str(state.incident_id),
        "target": data.user,
        "user": data.user,
        "page_id": str(data.page_id),
        "reason": data.reason.value,
        "contact": {"index": data.contact.index, "kind": data.contact.kind.value},
        "paged_at": format_utc(event.occurred_at),
        "total": data.digest.total,
        "incidents": listed,
    }
    return contact_delivery(event, state, partition, facts, digest_text)


def digest_text(facts: dict[str, Any]) -> str:
    """A digest for Slack: one line per incident, escaped, with its acknowledge link in Slack's <url|label> form."""
    lines = [f"{facts['total']} more incidents paged you within a few minutes; one page for all of them:"]
    for item in facts["incidents"]:
        ack = item["links"].get("acknowledge")
        line = f"[{item['priority'] or '-'}] {slack_escape(str(item['title']))} ({item['incident_id']})"
        lines.append(line + (f" <{ack}|Acknowledge>" if ack else ""))
    if (unlisted := facts["total"] - len(facts["incidents"])) > 0:
        lines.append(f"... and {unlisted} more")
    return "\n".join(lines)


@dataclass
class StormLedger:
    """The escalator's storm tables in memory, for the Simulator: windows per person, decisions per page, holds
    per digest. The escalator keeps the same in PostgreSQL (escalator.storms)."""

    windows: dict[str, Window] = field(default_factory=dict)
    decisions: dict[UUID, Decision] = field(default_factory=dict)
    holds: dict[UUID, list[Hold]] = field(default_factory=dict)

    def admit(self, timer: Timer, state: Incident, storm: Storm | None, at: datetime) -> Timer:
        """The page's timer as it fires at `at`: counted when it is the first contact method of a step's page."""
        if not is_counted(timer, state, storm):
            return timer
        assert storm is not None
        user, page, index = page_of(timer)
        if page not in self.decisions and index == 0:
            self.windows[user] = next_window(self.windows.get(user), at, storm)
            self.decisions[page] = decide(user, self.windows[user], storm)
        return held(timer, self.decisions.get(page))

    def record(self, holds: Iterable[Hold]) -> None:
        for hold in holds:
            kept = self.holds.setdefault(hold.digest_id, [])
            if all(h.page_id != hold.page_id for h in kept):
                kept.append(hold)

    def digest(self, timer: Timer, states: Mapping[UUID, Incident], people: People) -> e.IncidentPaged | None:
        holds = self.holds.get(UUID(str(timer.payload["digest_id"])), [])
        return digest_event(timer, holds, states, people, timer.due_at) if holds else None
