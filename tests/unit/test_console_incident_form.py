"""The new-incident form's pure half: fields to a LogIncident (or the field to fix), and the priority preview."""

from datetime import UTC, datetime, timedelta

import pytest

from command_api.console.incident_form import FormError, parse_labels, preview, read_form
from incidents_shared.domain.commands import LogIncident
from incidents_shared.domain.directory.model import Service
from incidents_shared.domain.enums import Level, Priority
from incidents_shared.domain.escalation.policy import Policy
from incidents_shared.domain.priority import PRIORITY_MATRIX
from incidents_shared.domain.taxonomy import DEFAULT_TAXONOMY

NOW = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)
FORM = {"title": "Checkout 502", "service": "checkout", "impact": "high", "urgency": "low", "csrf": "x", "key": "k"}
POLICY = Policy.model_validate(
    {"id": "default", "version": 3, "priorities": {"P1": {"acknowledge": "15m", "resolve": "4h"}}}
)
CATALOG = {"checkout": Service(id="checkout", name="Checkout", owner_team="payments", runbook_url="https://rb/x")}


def test_a_full_form_is_the_logging_command_with_its_fields() -> None:
    fields = FORM | {"description": "p95 30 s", "category": "software", "subcategory": "application"}
    fields |= {"detected_at": "2026-12-02T08:40:00+01:00", "labels": "env=prod\n\n team = pay ", "runbook_url": ""}
    command = read_form(fields, DEFAULT_TAXONOMY)
    assert isinstance(command, LogIncident)
    assert (command.title, command.service, command.impact, command.urgency) == (
        "Checkout 502",
        "checkout",
        Level.HIGH,
        Level.LOW,
    )
    assert command.labels == {"env": "prod", "team": "pay"}
    assert command.detected_at == datetime(2026, 12, 2, 7, 40, tzinfo=UTC)
    assert command.runbook_url is None  # an empty field is left out


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"title": "  "}, "title"),
        ({"impact": "severe"}, "impact"),
        ({"urgency": ""}, "urgency"),
        ({"impact": ""}, "impact"),
        ({"service": ""}, "service"),
        ({"detected_at": "yesterday"}, "detected_at"),
        ({"detected_at": "2026-12-02T08:40:00"}, "detected_at"),  # no offset: refused, never guessed
        ({"labels": "no equals sign"}, "labels"),
        ({"category": "plumbing"}, "category"),
        ({"category": "software", "subcategory": "plumbing"}, "subcategory"),
        ({"title": "t" * 201}, "title"),
    ],
)
def test_bad_input_names_the_field(change: dict[str, str], field: str) -> None:
    wrong = read_form(FORM | change, DEFAULT_TAXONOMY)
    assert isinstance(wrong, FormError) and wrong.field == field, wrong


def test_labels_parse_or_refuse() -> None:
    assert parse_labels("") == {}
    assert parse_labels("a=1\nb=") == {"a": "1", "b": ""}
    assert parse_labels("=1") is None
    assert parse_labels("\n".join(f"k{i}=v" for i in range(51))) is None


@pytest.mark.parametrize(("impact", "urgency"), list(PRIORITY_MATRIX))
def test_the_preview_gives_the_matrix_priority(impact: Level, urgency: Level) -> None:
    shown = preview({"impact": impact.value, "urgency": urgency.value}, None, {}, NOW)
    assert shown.priority == PRIORITY_MATRIX[(impact, urgency)]
    assert shown.targets is None and not shown.policy_known


def test_the_preview_shows_the_policy_targets_and_the_catalog_service() -> None:
    shown = preview({"impact": "high", "urgency": "high", "service": " checkout "}, POLICY, CATALOG, NOW)
    assert shown.priority is Priority.P1 and shown.targets is not None
    assert (shown.targets.acknowledge, shown.targets.resolve, shown.targets.policy) == ("15m", "4h", "default v3")
    assert shown.targets.acknowledge_by == NOW + timedelta(minutes=15)
    assert shown.targets.resolve_by == NOW + timedelta(hours=4)
    assert shown.service is not None and shown.service.owner_team == "payments"


def test_the_preview_without_a_pair_or_a_rule_shows_no_targets() -> None:
    assert preview({"impact": "high"}, POLICY, CATALOG, NOW).priority is None
    low = preview({"impact": "low", "urgency": "low", "service": "elsewhere"}, POLICY, CATALOG, NOW)
    assert low.priority is Priority.P5 and low.targets is None and low.policy_known
    assert low.service is None and low.service_id == "elsewhere"
    assert preview({"impact": "bogus", "urgency": "high"}, POLICY, CATALOG, NOW).priority is None
