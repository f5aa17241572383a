"""The target guard's address classification and URL checks (escalator.targets, decision 0079)."""

import ipaddress

import pytest

from escalator.targets import Allowances, address_problem, resolved_problem, url_problem
from incidents_shared.domain.enums import ContactKind
from incidents_shared.domain.escalation.destinations import (
    ChannelRef,
    ContactRef,
    destination_json,
    destination_of,
    shown_address,
)

REFUSED = {
    "127.0.0.1": "loopback",
    "127.255.0.9": "loopback",
    "::1": "loopback",
    "10.0.0.1": "private",
    "172.16.5.4": "private",
    "192.168.1.1": "private",
    "fc00::1": "private",
    "fd12:3456::1": "private",
    "169.254.169.254": "link-local",  # a cloud's metadata service
    "fe80::1": "link-local",
    "224.0.0.1": "multicast",
    "ff02::1": "multicast",
    "0.0.0.0": "unspecified",
    "::": "unspecified",
    "100.64.0.1": "shared (carrier-grade NAT)",
    "100.127.255.254": "shared (carrier-grade NAT)",
    "240.0.0.1": "reserved",
    "255.255.255.255": "",  # the broadcast address: refused, whichever name fits first
    "192.0.2.10": "",  # documentation ranges are not global
    "2001:db8::1": "",
    "198.18.0.1": "",  # benchmarking
    "::ffff:10.0.0.1": "private",  # IPv4-mapped: judged as the IPv4 address it maps
    "::ffff:127.0.0.1": "loopback",
    "::ffff:169.254.169.254": "link-local",
    "2002:a00:1::": "private",  # 6to4 of 10.0.0.1
    "64:ff9b::a9fe:a9fe": "link-local",  # NAT64 of 169.254.169.254
}
ALLOWED = ["8.8.8.8", "1.1.1.1", "100.128.0.1", "2606:4700:4700::1111", "::ffff:8.8.8.8", "64:ff9b::808:808"]


@pytest.mark.parametrize(("address", "kind"), REFUSED.items())
def test_non_global_addresses_are_refused(address: str, kind: str) -> None:
    why = address_problem(ipaddress.ip_address(address))
    assert why is not None, address
    assert kind in why


@pytest.mark.parametrize("address", ALLOWED)
def test_global_addresses_are_allowed(address: str) -> None:
    assert address_problem(ipaddress.ip_address(address)) is None


GUARDED = Allowances(private=False, http=False)


def test_http_is_refused_unless_allowed() -> None:
    why = url_problem("http://hooks.example.com/x", GUARDED)
    assert why is not None and "https is required" in why and "INCIDENTS_ALLOW_HTTP_TARGETS" in why
    assert url_problem("http://hooks.example.com/x", Allowances(http=True)) is None
    assert url_problem("https://hooks.example.com/x", GUARDED) is None


def test_ip_literals_are_checked_before_resolving() -> None:
    why = url_problem("https://169.254.169.254/latest/meta-data", GUARDED)
    assert why is not None and "link-local" in why and "INCIDENTS_ALLOW_PRIVATE_TARGETS" in why
    assert "latest" not in why, "the refusal names scheme and host only"
    assert url_problem("https://[::ffff:10.0.0.1]/x", GUARDED) is not None
    assert url_problem("https://[::ffff:10.0.0.1]/x", Allowances(private=True)) is None
    assert url_problem("https://8.8.8.8/x", GUARDED) is None


@pytest.mark.parametrize("url", ["ftp://example.com/x", "https:///x", "https://example.com:port/x", "file:///etc"])
def test_other_urls_are_refused(url: str) -> None:
    assert url_problem(url, Allowances(private=True, http=True)) is not None


def test_any_refused_resolution_refuses_the_target() -> None:
    public, private = ipaddress.ip_address("8.8.8.8"), ipaddress.ip_address("10.1.2.3")
    assert resolved_problem("https://h.example.com/secret", [public]) is None
    why = resolved_problem("https://h.example.com/secret", [public, private])
    assert why is not None and "10.1.2.3" in why and "private" in why and "secret" not in why
    assert resolved_problem("https://h.example.com/", []) is not None


def test_destinations_round_trip_and_shown_addresses_hide_urls() -> None:
    for ref in (ChannelRef("oncall"), ContactRef("ann", 2, ContactKind.SLACK), None):
        assert destination_of(destination_json(ref)) == ref
    hook = "https://user:pw@hooks.slack.com:8443/services/T0/B0/XYZ?token=1"
    assert shown_address(ContactKind.SLACK, hook) == "https://hooks.slack.com:8443"
    assert shown_address(ContactKind.WEBHOOK, "http://[::1]:9000/hooks/x") == "http://[::1]:9000"
    assert shown_address(ContactKind.EMAIL, "ann@example.com") == "ann@example.com"
