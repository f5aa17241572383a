"""Consumer offsets kept in PostgreSQL, written in the same transaction as what was derived from the records."""

from incidents_shared.db import Conn


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
