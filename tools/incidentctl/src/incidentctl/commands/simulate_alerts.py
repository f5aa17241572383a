"""`incidentctl simulate --alert-mapping FILE`: the log's alerts replayed under a candidate alert mapping's
grouping rules and the current one's (`incidentctl.alert_whatif`)."""

import asyncio
import json
import os
from datetime import datetime
from pathlib import Path
from typing import Any

import typer
import yaml
from pydantic import ValidationError

from incidentctl.alert_whatif import render_text, simulate_alerts
from incidentctl.logreader import log_progress, read_log
from incidents_shared.domain.alerts import AlertMapping
from incidents_shared.domain.escalation.policy import Policy
from incidents_shared.domain.escalation.simulation import history
from incidents_shared.domain.record import Record
from incidents_shared.logging import configure_logging
from incidents_shared.settings import CommonSettings, load_settings

MAPPING_ENV = "INCIDENTS_ALERT_MAPPING_FILE"


def load_alert_mapping(path: Path | None, option: str) -> AlertMapping:
    """The mapping in `path` (YAML or JSON), the defaults without one; a bad file is the option's usage error."""
    if path is None:
        return AlertMapping()
    try:
        text = path.read_text()
        raw: Any = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
        return AlertMapping.model_validate(raw or {})
    except (OSError, ValueError, yaml.YAMLError) as exc:
        problems = (
            "; ".join(f"{'.'.join(str(p) for p in err['loc']) or '(top)'}: {err['msg']}" for err in exc.errors())
            if isinstance(exc, ValidationError)
            else str(exc)
        )
        raise typer.BadParameter(f"{path}: {problems}", param_hint=option) from exc


def current_mapping_file(current: Path | None) -> Path | None:
    return current or (Path(os.environ[MAPPING_ENV]) if os.environ.get(MAPPING_ENV) else None)


async def _records(settings: CommonSettings) -> list[Record]:
    records: list[Record] = []
    with log_progress("reading the log"):
        async for _, batch in read_log(settings):
            records.extend(batch)
    return records


def alert_report(
    candidate: Path, current: Path | None, policy: Policy, since: datetime | None, until: datetime | None
) -> dict[str, Any]:
    """Both mappings checked before the log is read; the report as plain data."""
    mappings = {
        "current": load_alert_mapping(current_mapping_file(current), "--current-alert-mapping"),
        "candidate": load_alert_mapping(candidate, "--alert-mapping"),
    }
    settings = load_settings(CommonSettings)
    configure_logging(settings.log_level, settings.log_format)  # to stderr: stdout is the report
    histories = history(asyncio.run(_records(settings)))
    return simulate_alerts(histories, mappings, policy, since, until)


def echo_alert_report(report: dict[str, Any], fmt: str) -> None:
    typer.echo(json.dumps(report, sort_keys=True, indent=2) + "\n" if fmt == "json" else render_text(report), nl=False)
    total = report["total"]
    typer.echo(
        f"{report['alerts']} alerts replayed: {total['current']['incidents']} incidents under the current mapping, "
        f"{total['candidate']['incidents']} under the candidate",
        err=True,
    )
