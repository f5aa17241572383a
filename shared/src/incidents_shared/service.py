"""Running a background worker beside its operations HTTP server, stopping both cleanly on SIGTERM."""

import asyncio
import contextlib
import signal
from collections.abc import Callable, Coroutine, Generator
from typing import Any, Literal

import structlog
import uvicorn
import uvloop
from fastapi import FastAPI

log = structlog.get_logger(__name__)
KEEP_ALIVE_S = 75


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield  # signals are handled by run_with_ops, which stops the worker too


def run_forever(main: Coroutine[Any, Any, None]) -> None:
    """Run a service's main coroutine on uvloop (uvicorn then also picks httptools)."""
    uvloop.run(main)


async def _idle(stop: asyncio.Event) -> None:
    await stop.wait()


async def run_with_ops(
    name: str,
    app: FastAPI,
    host: str,
    port: int,
    worker: Callable[[asyncio.Event], Coroutine[Any, Any, None]] = _idle,
    *,
    lifespan: Literal["on", "off"] = "off",
) -> None:
    """Serve `app` and run `worker(stop)` until SIGTERM/SIGINT or until either fails; exit cleanly."""
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
    http = asyncio.create_task(server.serve(), name=f"{name}-http")
    work = asyncio.create_task(worker(stop), name=f"{name}-worker")
    stopped = asyncio.create_task(stop.wait())
    log.info("service_started", service=name, port=port)
    try:
        done, _ = await asyncio.wait({http, work, stopped}, return_when=asyncio.FIRST_COMPLETED)
        stop.set()
        for task in done:
            if task is not stopped and task.exception() is not None:
                raise task.exception()  # type: ignore[misc]
    finally:
        stop.set()
        server.should_exit = True
        await asyncio.wait({http, work}, timeout=15)
        stopped.cancel()
        log.info("service_stopped", service=name)
