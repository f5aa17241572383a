"""One record of the log as every reader sees it. Pure: naming a record needs no Kafka client."""

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Record:
    """One record of the log: where it sits, its key (the incident id) and its bytes."""

    partition: int
    offset: int
    key: str | None
    value: bytes

    @property
    def incident_key(self) -> str:
        """The key readers park by: the record key, or its place in the log when a writer left the key out."""
        return self.key or f"{self.partition}:{self.offset}"
