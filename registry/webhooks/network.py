"""The SSRF guard: a webhook must not make the portal call into its own network.

A service URI is refused when its host resolves to an address that is not globally routable —
loopback, private (RFC 1918, unique local), link-local (where cloud metadata services live),
shared (CGNAT), multicast, reserved or unspecified — unless ``WEBHOOK_ALLOWED_NETWORKS`` lists
it. The check runs when a webhook is saved and again before every attempt, on the addresses the
name resolves to right then; the attempt then connects to the address that was checked (the URL
is pinned to it, with the original ``Host`` header and TLS server name), so a DNS answer that
changes between the check and the connection (rebinding) cannot slip through.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network

# Named for clearer messages; all of them are link-local, unique local or reserved anyway.
METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(a)
    for a in ("169.254.169.254", "169.254.170.2", "fd00:ec2::254", "100.100.100.200")
)
NAT64 = ipaddress.ip_network("64:ff9b::/96")


class DestinationRefused(ValueError):
    """The URI points where webhooks may not go; the message says why."""


def allowed_networks() -> list[Network]:
    configured = settings.WEBHOOK_ALLOWED_NETWORKS
    if isinstance(configured, str):
        configured = [item for item in configured.split(",") if item.strip()]
    return [ipaddress.ip_network(item.strip(), strict=False) for item in configured]


def _embedded_ipv4(address: Address) -> Address:
    """The IPv4 address inside an IPv4-mapped or NAT64 IPv6 address, else the address."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return address.ipv4_mapped
        if address in NAT64:
            return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return address


def refusal_reason(address: Address) -> str | None:
    """Why webhooks may not reach ``address``, or None when they may."""
    address = _embedded_ipv4(address)
    if any(address in network for network in allowed_networks()):
        return None
    if address in METADATA_ADDRESSES:
        return "a cloud metadata address"
    for reason, is_it in (
        ("the unspecified address", address.is_unspecified),
        ("a loopback address", address.is_loopback),
        ("a link-local address", address.is_link_local),
        ("a multicast address", address.is_multicast),
        ("a reserved address", address.is_reserved),
        ("a private address", address.is_private),
    ):
        if is_it:
            return reason
    if not address.is_global:
        return "not a globally routable address"
    return None


def resolve(host: str, port: int) -> list[Address]:
    """Every address ``host`` resolves to (a literal address resolves to itself)."""
    try:
        return [ipaddress.ip_address(host.strip("[]"))]
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise DestinationRefused(f"The host {host} cannot be resolved ({exc}).") from None
    addresses: list[Address] = []
    for _family, _type, _proto, _name, sockaddr in infos:
        address = ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])
        if address not in addresses:
            addresses.append(address)
    if not addresses:
        raise DestinationRefused(f"The host {host} resolves to no address.")
    return addresses


def _host_and_port(uri: str) -> tuple[str, int]:
    parts = urlsplit(uri)
    if not parts.hostname:
        raise DestinationRefused("The URL has no host.")
    return parts.hostname, parts.port or (443 if parts.scheme == "https" else 80)


def check_destination(uri: str) -> list[Address]:
    """The addresses ``uri`` may be sent to; ``DestinationRefused`` when any is off limits
    (a name with one private address among public ones is refused as a whole)."""
    host, port = _host_and_port(uri)
    addresses = resolve(host, port)
    for address in addresses:
        reason = refusal_reason(address)
        if reason is not None:
            where = host if host == str(address) else f"{host} resolves to {address}, which"
            raise DestinationRefused(
                f"{where} is {reason}; webhooks may not be sent there. An operator can allow "
                "it with WEBHOOK_ALLOWED_NETWORKS."
            )
    return addresses


@dataclass(frozen=True)
class PinnedTarget:
    """Where one attempt connects: the checked address, and what the server must be told."""

    url: str  # the service URI with its host replaced by the checked address
    host_header: str  # the original host[:port]
    server_name: str  # for TLS: SNI and certificate verification
    address: Address


def pin(uri: str) -> PinnedTarget:
    """Resolve and check ``uri`` now, and aim at the first address that passed."""
    import httpx

    address = check_destination(uri)[0]
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    original = httpx.URL(uri)
    return PinnedTarget(
        url=str(original.copy_with(host=str(address))),
        # httpx leaves a default port out of netloc, as a Host header should.
        host_header=original.netloc.decode("ascii"),
        server_name=original.host,
        address=address,
    )
