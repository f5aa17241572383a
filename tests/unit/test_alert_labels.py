"""Finding incidents by label, the pure parts: parsing `label=name:value`, the rows the projector writes, the SQL."""

import pytest

from command_api.incident_query import IncidentQuery
from command_api.params import label_filter
from incidents_shared.domain import events as e
from incidents_shared.projection.batch import Outcome
from incidents_shared.projection.rows import event_labels
from incidents_shared.projection.store import label_rows
from tests.unit.builders import INCIDENT_ID, Metas, event
from tests.unit.test_alert_groups import many, notice, receive


def test_a_label_is_name_colon_value_and_the_value_may_hold_colons() -> None:
    assert label_filter("alertname:HighErrorRate") == ("alertname", "HighErrorRate")
    assert label_filter("instance:host1:9100") == ("instance", "host1:9100")
    assert label_filter("env:") == ("env", "")


@pytest.mark.parametrize("bad", ["alertname", ":HighErrorRate", "", "n" * 121 + ":v", "n:" + "v" * 1_001])
def test_a_malformed_label_is_refused_with_a_reason(bad: str) -> None:
    with pytest.raises(ValueError, match="label"):
        label_filter(bad)


def test_labels_come_from_the_incident_and_from_each_recorded_alert() -> None:
    events = receive(None, notice(many(3)), Metas())
    logged, *records = events
    assert dict(event_labels(logged)) == {"alertname": "CheckoutErrors", "service": "checkout"}
    instances = {value for ev in records for name, value in event_labels(ev) if name == "instance"}
    assert instances == {"host0", "host1", "host2"}
    assert list(event_labels(event(e.NotificationSent))) == []
    correlated = event(e.AlertCorrelated)
    assert dict(event_labels(correlated)) == {"severity": "critical"}


def test_the_batch_writes_each_label_of_an_incident_once_in_one_order() -> None:
    events = receive(None, notice(many(3)), Metas())
    outcome = Outcome(events=[(ev, None, "", 0, n, b"") for n, ev in enumerate(events)])
    rows = label_rows(outcome)
    assert rows == sorted(set(rows))
    assert ("alertname", "CheckoutErrors") in {(n, v) for _, n, v in rows}
    assert len([r for r in rows if r[1:] == ("alertname", "CheckoutErrors")]) == 1, "the incident's and 3 alerts'"
    assert {r[0] for r in rows} == {INCIDENT_ID}


def test_each_label_is_one_indexed_lookup_and_all_must_match() -> None:
    sql, args = IncidentQuery(labels=(("alertname", "HighErrorRate"), ("instance", "host1:9100"))).sql()
    assert sql.count("incident_id IN (SELECT l.incident_id FROM incident_labels l WHERE l.pair = md5(") == 2
    assert " AND " in sql.split("WHERE", 1)[1]
    assert args[:4] == ["alertname", "HighErrorRate", "instance", "host1:9100"]
    assert IncidentQuery().sql()[0].count("incident_labels") == 0
