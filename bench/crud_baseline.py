"""What a user would otherwise build: the same commands as direct UPDATEs, FastAPI + asyncpg, no log.

Run: python -m bench.crud_baseline  (INCIDENTS_DATABASE_URL, INCIDENTS_TOKENS_FILE; port CRUD_PORT, default 26110)
"""

import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import asyncpg
import uvicorn
from fastapi import FastAPI, Header, HTTPException, Request

from devstack.tokens import read_role_view

SCHEMA = """
CREATE TABLE IF NOT EXISTS crud_incidents (
    incident_id uuid PRIMARY KEY, title text NOT NULL, service text NOT NULL, status text NOT NULL,
    impact text, urgency text, notes_count integer NOT NULL DEFAULT 0, updated_at timestamptz NOT NULL);
CREATE TABLE IF NOT EXISTS crud_notes (
    note_id bigserial PRIMARY KEY, incident_id uuid NOT NULL, kind text NOT NULL, text text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now());
"""


TOKENS = set(read_role_view(Path(os.environ["INCIDENTS_TOKENS_FILE"])).values())  # the devstack's (decision 0089)


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    pool = await asyncpg.create_pool(os.environ["INCIDENTS_DATABASE_URL"], min_size=4, max_size=10)
    assert pool is not None
    async with pool.acquire() as conn:
        await conn.execute(SCHEMA)
    app.state.pool = pool
    app.state.tokens = TOKENS
    yield
    await pool.close()


app = FastAPI(lifespan=lifespan)


def _check(request: Request, authorization: str | None) -> None:
    if (authorization or "").removeprefix("Bearer ") not in request.app.state.tokens:
        raise HTTPException(401)


@app.post("/v1/incidents", status_code=201)
async def log_incident(request: Request, body: dict[str, Any], authorization: str | None = Header(None)) -> Any:
    _check(request, authorization)
    row = await request.app.state.pool.fetchrow(
        "INSERT INTO crud_incidents (incident_id, title, service, status, impact, urgency, updated_at)"
        " VALUES ($1, $2, $3, 'new', $4, $5, now()) RETURNING *",
        uuid.uuid4(),
        body["title"],
        body["service"],
        body.get("impact"),
        body.get("urgency"),
    )
    return {k: str(v) for k, v in dict(row).items()}


@app.post("/v1/incidents/{incident_id}/notes")
async def add_note(
    incident_id: uuid.UUID, request: Request, body: dict[str, Any], authorization: str | None = Header(None)
) -> Any:
    _check(request, authorization)
    async with request.app.state.pool.acquire() as conn, conn.transaction():
        await conn.execute(
            "INSERT INTO crud_notes (incident_id, kind, text) VALUES ($1, $2, $3)",
            incident_id,
            body["kind"],
            body["text"],
        )
        row = await conn.fetchrow(
            "UPDATE crud_incidents SET notes_count = notes_count + 1, updated_at = now()"
            " WHERE incident_id = $1 RETURNING *",
            incident_id,
        )
    if row is None:
        raise HTTPException(404)
    return {k: str(v) for k, v in dict(row).items()}


if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=int(os.environ.get("CRUD_PORT", "26110")), log_level="warning")
