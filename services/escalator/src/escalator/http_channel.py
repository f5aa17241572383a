"""The HTTP channel (webhook and Slack): one POST of the delivery's JSON body, behind the target guard.

It checks the URL (https unless http is allowed), resolves the host and, unless private targets are allowed,
refuses it if any address is not globally routable (escalator.targets). It then connects to an address it
resolved, not to the name (no second lookup an attacker's DNS could answer differently): the request goes to the
IP with the name in the Host header and as TLS's server name (httpx's `sni_hostname`), so the certificate is
still verified against the name. The addresses are tried in the resolver's order, the next only on a connection
error. Redirects are never followed. Errors name the target by scheme and host only: the rest of a webhook URL
is a secret, and errors are recorded on the log.
"""

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from escalator.channels import SENT, SendResult
from escalator.targets import Address, Allowances, resolved_problem, url_problem
from incidents_shared.domain.escalation.destinations import shown_url
from incidents_shared.domain.escalation.recipients import Delivery

Resolve = Callable[[str, int], Awaitable[list[Address]]]
_TRY_AGAIN = {408, 425, 429}  # and every 5xx: worth a retry with backoff; other answers are final


async def resolve_host(host: str, port: int) -> list[Address]:
    """Every address `host` resolves to, in the resolver's order (an IP literal is itself)."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    found = [ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in infos]
    return list(dict.fromkeys(found))


class HttpChannel:
    """`escalator.channels.ChannelSender` for webhook and Slack deliveries."""

    def __init__(
        self, http: httpx.AsyncClient, allow: Allowances, *, timeout_s: float, resolve: Resolve = resolve_host
    ) -> None:
        self.http, self.allow, self.timeout_s, self.resolve = http, allow, timeout_s, resolve

    async def send(self, delivery: Delivery, destination: str) -> SendResult:
        if (why := url_problem(destination, self.allow)) is not None:
            return SendResult(why, permanent=True)
        try:
            url = httpx.URL(destination)
        except httpx.InvalidURL:
            return SendResult(f"{shown_url(destination)}: not a usable URL", permanent=True)
        try:
            addresses = await self._addresses(url)
            if not addresses:
                return SendResult(f"{shown_url(destination)}: its host resolves to no address", permanent=True)
            if not self.allow.private and (why := resolved_problem(destination, addresses)) is not None:
                return SendResult(why, permanent=True)
            return answered((await self._pinned(delivery, url, addresses)).status_code)
        except (httpx.HTTPError, OSError, TimeoutError) as exc:
            detail = str(exc).replace(destination, shown_url(destination))[:300]
            return SendResult(f"{shown_url(destination)}: {type(exc).__name__}" + (f": {detail}" if detail else ""))

    async def _addresses(self, url: httpx.URL) -> list[Address]:
        async with asyncio.timeout(self.timeout_s):
            return await self.resolve(url.host, url.port or (443 if url.scheme == "https" else 80))

    async def _pinned(self, delivery: Delivery, url: httpx.URL, addresses: list[Address]) -> httpx.Response:
        """To each checked address in turn until one connects: the name in Host and as TLS's server name."""
        headers = {"Host": url.netloc.decode("ascii")}
        extensions = {"sni_hostname": url.host} if url.scheme == "https" else {}
        for address in addresses[:-1]:
            try:
                return await self._post(delivery, url.copy_with(host=str(address)), headers, extensions)
            except httpx.ConnectError:
                continue
        return await self._post(delivery, url.copy_with(host=str(addresses[-1])), headers, extensions)

    async def _post(
        self, delivery: Delivery, url: httpx.URL, headers: dict[str, str], extensions: dict[str, Any]
    ) -> httpx.Response:
        headers = {"Idempotency-Key": str(delivery.delivery_id), "User-Agent": "incidents-escalator", **headers}
        return await self.http.post(url, json=delivery.body, headers=headers, timeout=self.timeout_s,
                                    extensions=extensions, follow_redirects=False)  # fmt: skip


def answered(status: int) -> SendResult:
    """A receiver's answer: 2xx accepted; 408, 425, 429 and 5xx worth a retry; anything else final."""
    if 200 <= status < 300:
        return SENT
    if 300 <= status < 400:
        return SendResult(f"HTTP {status}: a redirect, not followed", permanent=True)
    return SendResult(f"HTTP {status}", permanent=not (status >= 500 or status in _TRY_AGAIN))
