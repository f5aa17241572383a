"""Text the log and PostgreSQL can store: no NUL characters, no lone surrogates (not encodable as UTF-8)."""

from collections.abc import Iterable
from typing import Any, Self

from pydantic import BaseModel, ConfigDict, ValidationInfo, model_validator

# Validation context key: the input is JSON that was shown to hold no NUL and no lone surrogate (codec.decode).
TEXT_PROVEN_STORABLE = "text_proven_storable"


def _bad_string(value: str) -> str | None:
    if "\x00" in value:
        return "NUL characters are not allowed in text"
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return "text must be valid Unicode (lone surrogates are not allowed)"
    return None


def unstorable(values: Iterable[Any]) -> str | None:
    """Why one of these field values cannot be stored, or None; walks into dicts, lists and tuples."""
    for value in values:
        if isinstance(value, str):
            problem = _bad_string(value)
        elif isinstance(value, dict):
            problem = unstorable(value.keys()) or unstorable(value.values())
        elif isinstance(value, list | tuple):
            problem = unstorable(value)
        else:
            problem = None
        if problem is not None:
            return problem
    return None


class StorableModel(BaseModel):
    """Base of every domain model: frozen, no unknown fields, and only text the log and database can store."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    @model_validator(mode="after")
    def _storable(self, info: ValidationInfo) -> Self:
        if info.context is not None and info.context.get(TEXT_PROVEN_STORABLE):
            return self
        if (problem := unstorable(vars(self).values())) is not None:
            raise ValueError(problem)
        return self
