"""Loading the alert mapping (INCIDENTS_ALERT_MAPPING_FILE): YAML or JSON, validated, with errors that say where."""

import json
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from incidents_shared.domain.alerts import AlertMapping


class AlertMappingError(ValueError):
    """The alert mapping file cannot be read or does not validate."""


def load_mapping(path: Path | None) -> AlertMapping:
    """The mapping from `path`, or the defaults when no file is configured."""
    if path is None:
        return AlertMapping()
    try:
        text = path.read_text()
        raw: Any = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (OSError, ValueError, yaml.YAMLError) as exc:
        raise AlertMappingError(f"alert mapping {path}: cannot read it: {exc}") from exc
    try:
        return AlertMapping.model_validate(raw or {})
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in err['loc']) or '(top)'}: {err['msg']}" for err in exc.errors())
        raise AlertMappingError(f"alert mapping {path}: {problems}") from exc
