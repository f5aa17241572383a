"""The target guard: which URLs and addresses an HTTP delivery may go to (issue 16, docs/decisions/0079). Pure.

A webhook URL comes from a policy file or a person's contact method, so whoever may edit those could make the
escalator post into the network it runs in (a cloud's metadata service at 169.254.169.254, an admin port on
localhost). Unless the deployment allows private targets, every address a target's host resolves to must be
globally routable: loopback, private, link-local, multicast, reserved, unspecified and shared (100.64.0.0/10,
carrier-grade NAT) addresses are refused, and so are IPv6 addresses that embed one (IPv4-mapped, 6to4, NAT64).
Unless plain http is allowed, only https goes out.
"""

import ipaddress
from dataclasses import dataclass
from urllib.parse import urlsplit

from incidents_shared.domain.escalation.destinations import shown_url
from incidents_shared.domain.escalation.policy import ChannelKind, Policy

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
_NAT64 = ipaddress.ip_network("64:ff9b::/96")  # the well-known prefix: its last 32 bits are an IPv4 address
_SHARED = ipaddress.ip_network("100.64.0.0/10")
PRIVATE_HINT = "INCIDENTS_ALLOW_PRIVATE_TARGETS=true allows it"
HTTP_HINT = "https is required; INCIDENTS_ALLOW_HTTP_TARGETS=true allows http"


@dataclass(frozen=True)
class Allowances:
    """What this deployment allows (the devstack and the test stack allow both)."""

    private: bool = False
    http: bool = False


def embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address stands for: IPv4-mapped (::ffff:a.b.c.d), 6to4 (2002::/16), NAT64."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFF_FFFF)
    return None


def address_problem(address: Address) -> str | None:
    """Why a delivery may not connect to `address` when private targets are not allowed; None: it may."""
    if isinstance(address, ipaddress.IPv6Address) and (inner := embedded_ipv4(address)) is not None:
        return address_problem(inner)
    checks = (
        ("unspecified", address.is_unspecified),
        ("loopback", address.is_loopback),
        ("link-local", address.is_link_local),
        ("multicast", address.is_multicast),
        ("reserved", address.is_reserved),
        ("private", address.is_private),
        ("shared (carrier-grade NAT)", address in _SHARED),
        ("not globally routable", not address.is_global),
    )
    return next((f"a {name} address" for name, hit in checks if hit), None)


def url_problem(url: str, allow: Allowances) -> str | None:
    """What is wrong with `url` as an HTTP delivery's target before resolving it: scheme, host, an IP literal."""
    try:
        parts = urlsplit(url)
        host = parts.hostname
        _ = parts.port  # raises on a port that is not a number
    except ValueError as exc:
        return f"not a usable URL ({exc})"
    if parts.scheme not in ("https", "http") or not host:
        return "not an http(s) URL with a host"
    if parts.scheme == "http" and not allow.http:
        return f"{shown_url(url)}: plain http refused ({HTTP_HINT})"
    if not allow.private and (literal := ip_literal(host)) is not None and (why := address_problem(literal)):
        return f"{shown_url(url)}: {literal} is {why}, refused ({PRIVATE_HINT})"
    return None


def ip_literal(host: str) -> Address | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def resolved_problem(url: str, addresses: list[Address]) -> str | None:
    """Why a target whose host resolved to `addresses` is refused (any one refused refuses it); None: allowed."""
    if not addresses:
        return f"{shown_url(url)}: its host resolves to no address"
    for address in addresses:
        if (why := address_problem(address)) is not None:
            return f"{shown_url(url)} resolves to {address}, {why}: refused ({PRIVATE_HINT})"
    return None


def channel_url_problems(policy: Policy, allow: Allowances) -> list[str]:
    """The policy's webhook and Slack channels the guard would refuse, checked when the escalator starts."""
    urls = {name: c.url for name, c in policy.channels.items() if c.kind in (ChannelKind.WEBHOOK, ChannelKind.SLACK)}
    return [f"  channels.{name}: {why}" for name, url in urls.items() if (why := url_problem(url, allow))]
