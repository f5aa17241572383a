"""A console page whose read models or log are down answers a readable 503 page with Retry-After, not JSON."""

import asyncpg
import pytest
from fastapi import APIRouter, FastAPI
from fastapi.testclient import TestClient

from command_api.console.web import ConsoleRoute
from incidents_shared.appender import LogUnavailable


def app_raising(error: Exception) -> FastAPI:
    router = APIRouter(route_class=ConsoleRoute)

    @router.get("/console/x")
    async def broken() -> None:
        raise error

    app = FastAPI()
    app.include_router(router)
    return app


@pytest.mark.parametrize(
    ("error", "says"),
    [
        (LogUnavailable("kafka down"), "incident log is unavailable"),
        (asyncpg.PostgresConnectionError("gone"), "read models are unavailable"),
        (ConnectionRefusedError(), "read models are unavailable"),
    ],
)
def test_unavailable_is_a_page_saying_so(error: Exception, says: str) -> None:
    answer = TestClient(app_raising(error)).get("/console/x")
    assert (answer.status_code, answer.headers["retry-after"]) == (503, "5")
    assert answer.headers["content-type"].startswith("text/html") and says in answer.text
    assert "script-src 'self'" in answer.headers["content-security-policy"]


def test_other_errors_are_not_hidden() -> None:
    with pytest.raises(ZeroDivisionError):
        TestClient(app_raising(ZeroDivisionError())).get("/console/x")
