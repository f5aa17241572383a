"""The paging benchmark's webhook receiver, in its own process: answers 200 to every POST and counts.

python -m bench.paging_receiver --port P

For each POST it keeps when it arrived (wall clock, comparable with the log's record timestamps on this machine),
the path, the page's `incident_id`, its contact method's index and the Idempotency-Key. `GET /count` answers how
many POSTs it has had, `GET /records` all of them as JSON (`[[at, path, incident_id, index, key], ...]`). A
minimal HTTP/1.1 keep-alive server on httptools and uvloop (tens of microseconds per request), so at 1,000
pages a second it takes a few percent of a core from the two the platform runs on.
"""

import argparse
import asyncio
import time
from typing import Any, cast

import httptools
import orjson
import uvloop

Row = tuple[float, str, str | None, int | None, str]
OK = b'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 11\r\n\r\n{"ok":true}'


def answer(body: bytes) -> bytes:
    head = f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    return head.encode() + body


def page_of(body: bytes) -> tuple[str | None, int | None]:
    """The incident and contact-method index of a page body (bench pages are generic webhook JSON)."""
    try:
        document = orjson.loads(body)
        contact = document.get("contact") or {}
        return document.get("incident_id"), contact.get("index")
    except (orjson.JSONDecodeError, AttributeError):
        return None, None


class Receiver(asyncio.Protocol):
    """One connection; requests on it are answered in order (no pipelining needed by httpx)."""

    rows: list[Row] = []  # noqa: RUF012 (shared by every connection of the process, on purpose)

    def __init__(self) -> None:
        self.parser = httptools.HttpRequestParser(self)
        self.transport: asyncio.Transport | None = None
        self.url, self.key, self.body = b"", "", bytearray()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's TCPTransport is not a subclass

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError:
            assert self.transport is not None
            self.transport.close()

    def on_message_begin(self) -> None:
        self.url, self.key, self.body = b"", "", bytearray()

    def on_url(self, url: bytes) -> None:
        self.url += url

    def on_header(self, name: bytes, value: bytes) -> None:
        if name.lower() == b"idempotency-key":
            self.key = value.decode("latin-1")

    def on_body(self, body: bytes) -> None:
        self.body += body

    def on_message_complete(self) -> None:
        assert self.transport is not None
        path = self.url.decode("latin-1")
        if self.parser.get_method() == b"POST":
            incident, index = page_of(bytes(self.body))
            self.rows.append((time.time(), path, incident, index, self.key))
            self.transport.write(OK)
        elif path == "/count":
            self.transport.write(answer(str(len(self.rows)).encode()))
        else:
            self.transport.write(answer(orjson.dumps(self.rows)))
        if not self.parser.should_keep_alive():
            self.transport.close()


async def serve(port: int) -> None:
    server = await asyncio.get_running_loop().create_server(Receiver, "127.0.0.1", port, backlog=1024)
    async with server:
        await server.serve_forever()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, required=True)
    args: Any = parser.parse_args()
    uvloop.run(serve(args.port))


if __name__ == "__main__":
    main()
