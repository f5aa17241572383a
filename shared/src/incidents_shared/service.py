"""Running a service's supervised workers beside its operations HTTP server, stopping all cleanly on SIGTERM."""

import asyncio
import contextlib
import signal
from collections.abc import Coroutine, Generator, Sequence
from typing import Any, Literal

import structlog
import uvicorn
import uvloop
from fastapi import FastAPI

from incidents_shared.supervise import Worker, run_service, supervise

log = structlog.get_logger(__name__)
KEEP_ALIVE_S = 75


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield  # signals are handled by run_with_ops, which stops the worker too


def run_forever(main: Coroutine[Any, Any, None]) -> None:
    """Run a service's main coroutine on uvloop (uvicorn then also picks httptools); a failed worker exits 1."""
    run_service(main, uvloop.run)


async def run_with_ops(
    name: str,
    app: FastAPI,
    host: str,
    port: int,
    workers: Sequence[Worker] = (),
    *,
    lifespan: Literal["on", "off"] = "off",
) -> None:
    """Serve `app` and run the supervised `workers` until SIGTERM/SIGINT; a failed worker stops them all.

    Raises WorkerFailed (exit status 1 under `run_forever`/`run_service`) when the server or a worker that may
    not restart failed.
    """
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    server = _Server(
        uvicorn.Config(
            app,
            host=host,
            port=port,
            log_config=None,
            access_log=False,
            lifespan=lifespan,
            timeout_graceful_shutdown=10,
            # Longer than clients keep idle connections (httpx 5 s, most proxies 60 s): the client closes first,
            # so it never sends a request on a connection the server is closing (a ReadError, not a retry).
            timeout_keep_alive=KEEP_ALIVE_S,
        )
    )

    async def serve(stop: asyncio.Event) -> None:
        serving = asyncio.create_task(server.serve(), name=f"{name}-uvicorn")
        stopping = asyncio.create_task(stop.wait())
        await asyncio.wait({serving, stopping}, return_when=asyncio.FIRST_COMPLETED)
        stopping.cancel()
        server.should_exit = True
        await serving  # returns early (the supervisor then stops the service) when the lifespan failed

    log.info("service_started", service=name, port=port)
    try:
        await supervise([Worker(f"{name}-http", serve), *workers], stop)
    finally:
        log.info("service_stopped", service=name)
