"""Pure read-side code: cursors, list statements, point in time, audit, and the invariant checker's compare."""

from datetime import UTC, datetime
from uuid import uuid4, uuid5

import pytest

from command_api.history_query import audit, state_as_of
from command_api.incident_query import BadCursor, Cursor, IncidentQuery, Sort
from command_api.readmodel import StoredEvent
from command_api.stream_query import StreamFilter, sse
from incidents_shared.domain import events as e
from incidents_shared.domain.codec import GENESIS_HASH, canonical_bytes
from incidents_shared.domain.fold import judge
from incidents_shared.domain.record import Record
from incidents_shared.invariants import LogFold, compare
from incidents_shared.report_query import GroupBy, RecurBy, Window, recurring_sql, summary_row, summary_sql
from tests.unit.builders import NAMESPACE, at, event


def test_a_cursor_round_trips_and_belongs_to_its_sort() -> None:
    cursor = Cursor(Sort.PRIORITY, ("P2", datetime(2026, 1, 1, tzinfo=UTC)), uuid4())
    assert Cursor.decode(cursor.encode(), Sort.PRIORITY) == cursor
    with pytest.raises(BadCursor):
        Cursor.decode(cursor.encode(), Sort.LOGGED_DESC)
    for garbage in ("", "!!!", "eyJzIjoxfQ"):
        with pytest.raises(BadCursor):
            Cursor.decode(garbage, Sort.PRIORITY)


def test_the_list_statement_compares_the_whole_sort_key_with_the_cursor() -> None:
    after = Cursor(Sort.LOGGED_DESC, (datetime(2026, 1, 1, tzinfo=UTC),), uuid4())
    sql, args = IncidentQuery(equals={"team": "dba"}, q="disk full", after=after, limit=10).sql()
    assert "team = $1" in sql and "websearch_to_tsquery('english', $2)" in sql
    assert "(logged_at, incident_id) < ($3, $4)" in sql
    assert sql.endswith("ORDER BY logged_at DESC, incident_id DESC LIMIT $5")
    assert args == ["dba", "disk full", after.key[0], after.incident_id, 10]


def _stored(events: list[e.EventBase]) -> list[StoredEvent]:
    rows, state = [], None
    for n, ev in enumerate(events, start=1):
        verdict, new = judge(state, ev, seen=False)
        assert verdict.hash is not None
        prev = state.last_hash if state else GENESIS_HASH
        raw = ev.model_dump(mode="json")
        rows.append(StoredEvent(n, verdict.revision, ev.recorded_at, raw, prev, verdict.hash, 0, n, n))
        state = new
    return rows


def _history() -> list[e.EventBase]:
    logged = event(e.IncidentLogged, event_id=uuid5(NAMESPACE, "1"), recorded_at=at(0))
    acked = event(e.IncidentAcknowledged, event_id=uuid5(NAMESPACE, "2"), recorded_at=at(10))
    return [logged, acked]


def test_as_of_folds_the_prefix_recorded_by_then() -> None:
    stored = _history()
    rows = _stored(stored)
    assert state_as_of(rows, at(-1)) is None
    then = state_as_of(rows, at(5))
    assert then is not None and then.version == 1 and then.status.value == "new"
    now = state_as_of(rows, at(60))
    assert now is not None and now.version == 2 and now.last_hash == rows[-1].hash


def test_audit_names_the_broken_link() -> None:
    rows = _stored(_history())
    assert audit(rows)["verified"] is True
    rows[0] = StoredEvent(**{**rows[0].__dict__, "event": {**rows[0].event, "correlation_id": "forged"}})
    result = audit(rows)
    assert (result["verified"], result["broken_versions"]) == (False, [1])


def test_the_checker_reports_precise_differences() -> None:
    fold = LogFold()
    for offset, ev in enumerate(_history()):
        fold.apply(Record(0, offset, str(ev.incident_id), canonical_bytes(ev)))
    fold.apply(Record(0, 9, "other-key", b"{not json"))
    expected = fold.expected()
    assert compare(expected, fold.expected()) == []
    assert expected.parked == {"other-key"}

    actual = fold.expected()
    (incident_id,) = actual.states
    actual.states[incident_id] = {**actual.states[incident_id], "revision": 7}
    actual.parked = set()
    assert compare(expected, actual) == [
        f"incident {incident_id}: revision is 7, the log gives 2",
        "parked other-key: parked by the log, not in the read model",
    ]


def test_summary_figures_and_compliance() -> None:
    window = Window(at(0), at(60))
    assert "GROUP BY grp" in summary_sql(window, GroupBy.TEAM) and "source <> 'drill'" in window.where()
    row = {"grp": "dba", "total": 4, "breaches": 1, "sla_decided": 4}
    row |= {f"status_{s}": 0 for s in ("new", "acknowledged", "investigating", "on_hold", "resolved", "closed")}
    row |= {f"{m}_{f}": None for m in ("mtta", "mttr") for f in ("mean", "p50", "p90")} | {"mtta_n": 0, "mttr_n": 0}
    assert summary_row(row)["sla_compliance_pct"] == 75.0
    assert summary_row({**row, "sla_decided": 0, "breaches": 0})["sla_compliance_pct"] is None


def test_stream_statement_and_event_format() -> None:
    incident_id = uuid4()
    sql, args = StreamFilter(incident_id, "P1", ["incident.acknowledged"]).sql(41)
    assert "e.position > $1" in sql and "JOIN incidents i" in sql and "ORDER BY e.position" in sql
    assert args == [41, incident_id, "P1", ["incident.acknowledged"]]
    plain, _ = StreamFilter().sql(0)
    assert "JOIN" not in plain
    row = {"position": 42, "type": "incident.acknowledged", "version": 2, "revision": 2, "hash": "h", "event": {"a": 1}}
    assert sse(row) == 'id: 42\nevent: incident.acknowledged\ndata: {"a":1,"version":2,"revision":2,"hash":"h"}\n\n'


def test_recurring_statement_groups_and_orders() -> None:
    window = Window(at(0), at(60), include_drills=True)
    by_key = recurring_sql(window, RecurBy.DEDUP_KEY)
    assert "GROUP BY dedup_key HAVING count(*) >= $4" in by_key and "dedup_key IS NOT NULL" in by_key
    assert "ORDER BY occurrences DESC, last_seen DESC LIMIT $5" in recurring_sql(window, RecurBy.SERVICE_CATEGORY)
    assert window.args()[2] is True
