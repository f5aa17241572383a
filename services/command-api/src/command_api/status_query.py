"""The status page's one read: the customers updates of the last 90 days and of every open incident.

Drills never appear (their incidents' `source` is `drill`). Only the update's message and its time leave the
events; of the incident, its service, whether it is open and whether it is P1 or major.
"""

from datetime import datetime, timedelta

from command_api.status_view import HISTORY_DAYS, CustomerUpdate
from incidents_shared.db import Pool

MAX_UPDATES = 2_000  # a bound on one page; far more than 90 days of customers updates
CUSTOMER_UPDATES_SQL = """
SELECT e.event_id, e.incident_id, e.occurred_at, e.event -> 'data' ->> 'message' AS message,
       i.service, i.status NOT IN ('resolved', 'closed') AS open,
       (i.priority = 'P1' OR i.major) AS severe, i.resolved_at
FROM incident_events e JOIN incidents i ON i.incident_id = e.incident_id
WHERE e.type = 'incident.stakeholder_update_posted' AND e.event -> 'data' ->> 'audience' = 'customers'
  AND i.source <> 'drill'
  AND (e.occurred_at >= $1 OR i.status NOT IN ('resolved', 'closed'))
ORDER BY e.occurred_at DESC
LIMIT $2
"""


class PgStatusReads:
    """The projector's `incidents` and `incident_events`, read for the public page."""

    def __init__(self, pool: Pool) -> None:
        self.pool = pool

    async def customer_updates(self, now: datetime) -> list[CustomerUpdate]:
        since = now - timedelta(days=HISTORY_DAYS)
        async with self.pool.acquire() as conn:
            rows = await conn.fetch(CUSTOMER_UPDATES_SQL, since, MAX_UPDATES)
        return [
            CustomerUpdate(
                event_id=r["event_id"],
                incident_id=r["incident_id"],
                posted_at=r["occurred_at"],
                message=r["message"],
                service=r["service"],
                open=r["open"],
                severe=bool(r["severe"]),
                resolved_at=r["resolved_at"],
            )
            for r in rows
        ]
