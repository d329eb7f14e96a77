"""Job callbacks: the URL check at submission and the signed delivery to an address that was checked.

A callback makes this server send a request to a place a tenant chose, so it must not become a way into the
server's own network (SSRF). URLs are checked when a job is submitted; at delivery the host is resolved, every
address it resolves to must be public (or allowed by the operator: ``SHENGGU_CALLBACK_ALLOW_PRIVATE``,
``SHENGGU_CALLBACK_ALLOWED_HOSTS``), and the request goes to that very address, so a DNS answer that changes
between the check and the connection cannot redirect it. Redirects are not followed.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import ipaddress
import re
import socket
import time
from types import TracebackType
from typing import Literal, Self

import httpx

from shenggu.config import Settings
from shenggu.errors import InvalidOptionError

MAX_URL_LENGTH = 2048
Outcome = Literal["delivered", "failed", "refused"]
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_TIMEOUT = 10.0  # seconds per connect, write or read
_DEADLINE = 30.0  # seconds for a whole attempt, so a receiver that trickles its answer cannot hold the others
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_HOST_CHARS = re.compile(r"[A-Za-z0-9._:-]+")


class RefusedDestination(Exception):
    """A callback URL that this server will not call (invalid, or resolving to a non-public address)."""


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The callback signature: hex HMAC-SHA256 over ``timestamp + "." + body`` with the tenant's secret."""
    return hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def is_public(address: IPAddress) -> bool:
    """Whether ``address`` is a public unicast address; an IPv4 address inside an IPv6 one is judged itself."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.ipv4_mapped or (
            ipaddress.IPv4Address(int(address) & 0xFFFF_FFFF) if address in _NAT64 else None
        )
        if embedded is not None:
            return is_public(embedded)
        if address.is_site_local or (address.sixtofour is not None and not is_public(address.sixtofour)):
            return False
    # is_global is False for loopback, private, link-local, shared (100.64/10), unspecified and most reserved
    # ranges, but True for multicast and some reserved IPv6 blocks.
    return address.is_global and not (address.is_multicast or address.is_reserved)


class DestinationPolicy:
    """Which addresses callbacks may reach: public ones, plus what the operator allows."""

    def __init__(self, allow_private: bool = False, allowed_hosts: list[str] | tuple[str, ...] = ()) -> None:
        self.allow_private = allow_private
        self.hosts: set[str] = set()
        self.networks: list[ipaddress.IPv4Network | ipaddress.IPv6Network] = []
        for entry in allowed_hosts:
            try:
                self.networks.append(ipaddress.ip_network(entry, strict=False))
            except ValueError:
                self.hosts.add(entry.lower())

    @classmethod
    def from_settings(cls, settings: Settings) -> DestinationPolicy:
        """The policy the operator configured."""
        return cls(settings.callback_allow_private, settings.callback_allowed_hosts)

    def permits(self, host: str, address: IPAddress) -> bool:
        """Whether a callback to ``host`` may connect to ``address``."""
        return (
            self.allow_private
            or is_public(address)
            or host.lower() in self.hosts
            or any(address in network for network in self.networks)
        )


def parse_url(url: str) -> httpx.URL:
    """The parsed callback URL; InvalidOptionError names what is wrong (without echoing the URL)."""
    if len(url) > MAX_URL_LENGTH:
        raise InvalidOptionError(f"callback_url is longer than {MAX_URL_LENGTH} characters")
    try:
        parsed = httpx.URL(url)
        port = parsed.port
    except (httpx.InvalidURL, ValueError) as exc:
        raise InvalidOptionError(f"callback_url is not a valid URL: {str(exc)[:100]}") from None
    if parsed.scheme not in ("http", "https"):
        raise InvalidOptionError("callback_url must be an http:// or https:// URL")
    if parsed.userinfo:
        raise InvalidOptionError("callback_url must not contain a user name or password (callbacks are signed)")
    host = parsed.raw_host.decode("ascii")
    if not host:
        raise InvalidOptionError("callback_url has no host")
    if not _HOST_CHARS.fullmatch(host):
        raise InvalidOptionError("callback_url has an invalid host name")
    if port is not None and not 0 < port < 65536:
        raise InvalidOptionError("callback_url has an invalid port")
    return parsed


def check_url(url: str, policy: DestinationPolicy) -> str:
    """Validate a callback URL at submission: ``url`` itself, or InvalidOptionError.

    A host written as an address (in any spelling the resolver accepts, such as 0x7f000001) or named localhost is
    judged now, which gives an early 400; host names are judged again, resolved, at every delivery."""
    host = parse_url(url).raw_host.decode("ascii")
    if not all(policy.permits(host, address) for address in _literal_addresses(host)):
        raise InvalidOptionError(
            "callback_url points to a loopback, private or link-local address, which this server does not call "
            "unless its operator allows it"
        )
    return url


def _literal_addresses(host: str) -> list[IPAddress]:
    """The addresses a host denotes without asking DNS (empty for an ordinary host name)."""
    if host.lower() == "localhost" or host.lower().endswith(".localhost"):  # always loopback (RFC 6761)
        return [ipaddress.IPv4Address("127.0.0.1")]
    try:
        infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM, flags=socket.AI_NUMERICHOST)
    except (socket.gaierror, UnicodeError):
        return []
    return [ipaddress.ip_address(info[4][0]) for info in infos]


def resolve(url: httpx.URL, policy: DestinationPolicy) -> str:
    """The address to send a callback to, once every address its host resolves to is permitted.

    Raises RefusedDestination when one is not, and OSError when the host does not resolve (worth a retry)."""
    host = url.raw_host.decode("ascii")
    port = url.port or (443 if url.scheme == "https" else 80)
    addresses = [ipaddress.ip_address(info[4][0]) for info in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)]
    if not addresses or not all(policy.permits(host, address) for address in addresses):
        raise RefusedDestination(f"{host} resolves to an address callbacks may not reach")
    return str(addresses[0])


class CallbackSender:
    """Sends signed callbacks within one HTTP client; use it as ``async with CallbackSender(policy) as sender``."""

    def __init__(self, policy: DestinationPolicy, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.policy = policy
        self._client = httpx.AsyncClient(
            timeout=_TIMEOUT,
            follow_redirects=False,
            trust_env=False,  # no proxy: the connection goes to the address that was checked
            # No reuse: a connection opened for one host name must not carry another's callback.
            limits=httpx.Limits(max_keepalive_connections=0),
            transport=transport,
        )

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        await self._client.aclose()

    async def send(self, url: str, body: bytes, secret: str) -> Outcome:
        """POST ``body`` to ``url`` signed with ``secret``: delivered (2xx), failed (worth a retry) or refused.

        A refusal is decided before any connection, so it tells nothing about what listens at the address."""
        timestamp = str(int(time.time()))
        headers = {
            "Content-Type": "application/json",
            "X-Shenggu-Timestamp": timestamp,
            "X-Shenggu-Signature": "sha256=" + sign(secret, timestamp, body),
        }
        try:
            async with asyncio.timeout(_DEADLINE):
                target = parse_url(url)
                address = await asyncio.to_thread(resolve, target, self.policy)
                # The checked address in the URL; the name stays in Host and in TLS (SNI, certificate check).
                headers["Host"] = target.netloc.decode("ascii")
                pinned = target.copy_with(host=address)
                extensions = {"sni_hostname": target.raw_host.decode("ascii")} if target.scheme == "https" else {}
                request = self._client.build_request(
                    "POST", pinned, content=body, headers=headers, extensions=extensions
                )
                response = await self._client.send(request, stream=True)
                await response.aclose()  # the status is all we need; the body could be endless
                return "delivered" if response.is_success else "failed"
        except (InvalidOptionError, RefusedDestination):
            return "refused"
        except (httpx.HTTPError, OSError, TimeoutError):
            return "failed"
