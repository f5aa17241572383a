"""Consumer offsets kept in PostgreSQL, written in the same transaction as what was derived from the records."""

from collections.abc import Iterable

from incidents_shared.db import Conn
from incidents_shared.domain.record import Record


async def load_offsets(conn: Conn, group: str, topic: str) -> dict[int, int]:
    """The next offset to read per partition for a consumer group."""
    rows = await conn.fetch(
        "SELECT partition, next_offset FROM consumer_offsets WHERE group_id = $1 AND topic = $2", group, topic
    )
    return {r["partition"]: r["next_offset"] for r in rows}


async def store_offsets(conn: Conn, group: str, topic: str, next_offsets: dict[int, int]) -> None:
    """Record how far a group has read; call inside the transaction that stores the results."""
    await conn.executemany(
        "INSERT INTO consumer_offsets (group_id, topic, partition, next_offset) VALUES ($1, $2, $3, $4)"
        " ON CONFLICT (group_id, topic, partition) DO UPDATE SET next_offset = EXCLUDED.next_offset,"
        " updated_at = now()",
        [(group, topic, partition, offset) for partition, offset in next_offsets.items()],
    )


class OffsetsMoved(Exception):
    """The stored position of a partition is not where this batch starts.

    Another consumer wrote it (a rebalance left a zombie behind), or the database lost recent commits (a crash
    with asynchronous commit). Either way the batch must not be applied: re-seek to the stored offsets.
    """

    def __init__(self, moved: dict[int, tuple[int, int]]) -> None:
        super().__init__(f"stored offset != batch start for partitions {moved}")
        self.moved = moved


async def claim_offsets(conn: Conn, group: str, topic: str, first_offsets: dict[int, int]) -> None:
    """Lock the group's rows for these partitions and check the batch starts where the store says it should.

    Call first thing in the batch transaction; the row locks also serialise two instances on one partition.
    """
    rows = await conn.fetch(
        "SELECT partition, next_offset FROM consumer_offsets WHERE group_id = $1 AND topic = $2"
        " AND partition = ANY($3::int[]) FOR UPDATE",
        group,
        topic,
        list(first_offsets),
    )
    stored = {r["partition"]: r["next_offset"] for r in rows}
    moved = {p: (stored.get(p, 0), first) for p, first in first_offsets.items() if stored.get(p, 0) != first}
    if moved:
        raise OffsetsMoved(moved)


def first_offsets(records: Iterable[Record]) -> dict[int, int]:
    """The offset each partition's part of a batch starts at."""
    first: dict[int, int] = {}
    for record in records:
        first.setdefault(record.partition, record.offset)
    return first
