"""Which partitions this instance owns: its timers and outbox rows are the ones of those partitions."""

from dataclasses import dataclass, field

import structlog

log = structlog.get_logger(__name__)


@dataclass
class Ownership:
    """Follows the consumer group's assignment (aiokafka assigns the full set on every rebalance)."""

    partitions: list[int] = field(default_factory=list)

    async def assigned(self, partitions: list[int]) -> None:
        self.partitions = sorted(partitions)
        log.info("timers_follow_assignment", partitions=self.partitions)
