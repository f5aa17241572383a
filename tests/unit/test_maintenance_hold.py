"""Holding and releasing alerts under maintenance windows, the use cases on in-memory fakes (the real ones, with
PostgreSQL and two API instances, are in tests/integration/test_maintenance_windows.py)."""

import contextlib
import dataclasses
from collections.abc import AsyncIterator, Sequence
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from command_api.alerts_service import GENERIC, AlertService
from command_api.maintenance_hold import Held, HeldRow, MaintenanceHold
from command_api.maintenance_release import MaintenanceRelease
from command_api.outcomes import AlertResult, AlertsHandled
from command_api.system_events import SystemWriter
from incidents_shared.domain.alerts import AlertMapping
from incidents_shared.domain.directory.maintenance import MaintenanceWindow
from incidents_shared.domain.enums import ActorKind, AlertStatus, Role
from incidents_shared.domain.events import Actor, NoteAdded
from incidents_shared.domain.taxonomy import DEFAULT_TAXONOMY
from tests.unit.builders import T0
from tests.unit.fakes import Fakes

ACTOR = Actor(id="prometheus", kind=ActorKind.SERVICE, role=Role.INTEGRATION.value)


class HeldTable:
    """`maintenance_held` in memory: the HeldStore of the hook and the HeldQueue of the release."""

    def __init__(self) -> None:
        self.rows: list[HeldRow] = []

    def pending(self, key: str) -> HeldRow | None:
        return next((r for r in self.rows if r.dedup_key == key and r.released_at is None), None)

    async def hold(self, held: Held) -> None:
        if (row := self.pending(held.dedup_key)) is not None:
            received, windows = row.received + 1, [*row.windows, held.window_id]
            self._put(row, window_id=held.window_id, windows=windows, status=held.status, alert=held.alert,
                      last_at=held.at, received=received)  # fmt: skip
            return
        self.rows.append(HeldRow(len(self.rows) + 1, held.window_id, [held.window_id], held.dedup_key, held.kind,
                                 held.source, held.service, held.summary, held.status, held.subjects, held.alert,
                                 held.actor, held.at, held.at, 1, None, None, None))  # fmt: skip

    async def resolved(self, dedup_key: str, at: datetime) -> str | None:
        if (row := self.pending(dedup_key)) is None:
            return None
        self._put(row, status=AlertStatus.RESOLVED, last_at=at, received=row.received + 1)
        return row.window_id

    async def merged(self, dedup_key: str, alerts: dict[str, Any], at: datetime) -> str | None:
        return None

    async def pending_windows(self) -> set[str]:
        return {r.window_id for r in self.rows if r.released_at is None}

    @contextlib.asynccontextmanager
    async def claim(self, window_ids: Sequence[str], limit: int) -> AsyncIterator["HeldTable.Batch"]:
        yield HeldTable.Batch(self, [r for r in self.rows if r.released_at is None and r.window_id in window_ids])

    def _put(self, row: HeldRow, **changes: Any) -> None:
        self.rows[self.rows.index(row)] = dataclasses.replace(row, **changes)

    @dataclasses.dataclass
    class Batch:
        table: "HeldTable"
        rows: list[HeldRow]

        async def released(self, row_id: int, outcome: str, incident_id: UUID | None, at: datetime) -> None:
            row = next(r for r in self.table.rows if r.id == row_id)
            self.table._put(row, released_at=at, outcome=outcome, incident_id=incident_id)

        async def moved(self, row_id: int, window_id: str) -> None:
            row = next(r for r in self.table.rows if r.id == row_id)
            self.table._put(row, window_id=window_id, windows=[*row.windows, window_id])


def window(window_id: str = "upgrade", minutes: float = 30, **fields: Any) -> MaintenanceWindow:
    body = {"id": window_id, "services": ["checkout"], "reason": "database upgrade", "start": T0,
            "end": T0 + timedelta(minutes=minutes), **fields}  # fmt: skip
    return MaintenanceWindow.model_validate(body)


class Stack:
    def __init__(self, *windows: MaintenanceWindow) -> None:
        self.fakes, self.table = Fakes(), HeldTable()
        self.windows = {w.id: w for w in windows}
        plain = self.fakes.alerts()
        hold = MaintenanceHold(lambda: self.windows.values(), self.table, plain.read_model, plain.mapping,
                               DEFAULT_TAXONOMY)  # fmt: skip
        self.alerts: AlertService = dataclasses.replace(plain, hold=hold)
        writer = SystemWriter(self.fakes.read_model, self.fakes.log, self.fakes.verdicts, 1.0)
        self.release = MaintenanceRelease(lambda: self.windows, self.table, self.alerts, writer, 1.0, _ready,
                                          self.fakes.clock)  # fmt: skip

    async def send(self, key: str, status: str = "firing", service: str = "checkout") -> AlertResult:
        body = {"dedup_key": key, "status": status, "summary": f"5xx {key}", "service": service}
        outcome = await self.alerts.receive(ACTOR, "corr", [body], GENERIC)
        assert isinstance(outcome, AlertsHandled)
        return outcome.results[0]

    def openings(self, key: str) -> int:
        return sum(i.dedup_key == key for i in self.fakes.read_model.incidents.values())


async def _ready() -> None:
    return None


async def test_an_alert_that_would_open_an_incident_in_a_window_is_held_and_opens_nothing() -> None:
    stack = Stack(window())
    held = await stack.send("db-5xx")
    assert (held.outcome, held.incident_id) == ("suppressed", None)
    assert held.detail is not None and "upgrade" in held.detail
    assert stack.openings("db-5xx") == 0 and stack.fakes.log.events == []
    [row] = stack.table.rows
    assert (row.window_id, row.kind, row.status, row.actor) == ("upgrade", "alert", AlertStatus.FIRING, ACTOR)


async def test_an_open_incidents_alerts_join_it_and_other_services_open_theirs() -> None:
    stack = Stack()
    opened = await stack.send("db-5xx")
    stack.windows["upgrade"] = window()
    joined = await stack.send("db-5xx")
    assert (joined.outcome, joined.incident_id) == ("correlated", opened.incident_id)
    assert (await stack.send("web-5xx", service="web")).outcome == "opened"
    assert stack.table.rows == []


async def test_the_end_of_the_window_opens_what_still_fires_with_a_note_and_not_what_resolved() -> None:
    stack = Stack(window(minutes=30))
    await stack.send("still")
    await stack.send("gone")
    assert (await stack.send("gone", "resolved")).outcome == "suppressed"
    assert await stack.release.once() == 0, "the window is still active"
    stack.fakes.clock.advance(30 * 60)
    assert await stack.release.once() == 2
    assert (stack.openings("still"), stack.openings("gone")) == (1, 0)
    outcomes = {r.dedup_key: r.outcome for r in stack.table.rows}
    assert outcomes == {"still": "opened", "gone": "resolved"}
    [incident_id] = [r.incident_id for r in stack.table.rows if r.dedup_key == "still"]
    assert incident_id is not None
    notes = [e for e in stack.fakes.log.events if e.incident_id == incident_id and isinstance(e, NoteAdded)]
    assert len(notes) == 1 and "Held by maintenance window upgrade since" in notes[0].data.text
    assert notes[0].actor.id == "maintenance-windows"
    assert await stack.release.once() == 0, "released once"


async def test_a_row_another_active_window_matches_moves_to_it() -> None:
    stack = Stack(window("short", minutes=10), window("long", minutes=60, start=T0 + timedelta(minutes=5)))
    await stack.send("db-5xx")
    assert stack.table.rows[0].window_id == "short"
    stack.fakes.clock.advance(10 * 60)
    await stack.release.once()
    assert (stack.table.rows[0].window_id, stack.table.rows[0].windows) == ("long", ["short", "long"])
    assert stack.openings("db-5xx") == 0


async def test_a_window_of_another_instance_not_folded_yet_is_not_taken_for_over() -> None:
    stack = Stack(window())
    await stack.send("db-5xx")
    stack.windows.clear()
    stack.fakes.clock.advance(3600)
    assert await stack.release.once() == 0 and stack.openings("db-5xx") == 0


async def test_alerts_the_mapping_groups_are_held_as_one_group() -> None:
    mapping = AlertMapping.model_validate({"grouping": [{"match": {"service": "checkout"}, "by": ["alertname"]}]})
    stack = Stack(window())
    stack.alerts = dataclasses.replace(stack.alerts, mapping=mapping)
    bodies = [{"summary": f"5xx on {h}", "service": "checkout", "labels": {"alertname": "Err", "instance": h}}
              for h in ("a", "b")]  # fmt: skip
    outcome = await stack.alerts.receive(ACTOR, "corr", bodies, GENERIC)
    assert isinstance(outcome, AlertsHandled) and [r.outcome for r in outcome.results] == ["suppressed"] * 2
    [row] = stack.table.rows
    assert (row.kind, sorted(alert["labels"]["instance"] for alert in row.alert.values())) == ("grouped", ["a", "b"])
    assert stack.fakes.log.events == []
