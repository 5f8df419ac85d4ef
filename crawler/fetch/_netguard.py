"""SSRF guard: the crawler follows links written by strangers, so it must not be steerable.

A feed or a redirect can point at `http://169.254.169.254/` (cloud credentials),
`http://10.0.0.5/admin` or `http://localhost:6379/`. Checking the URL text is not enough:
a public-looking name can resolve to a private address. So the decision is taken on the
*resolved* addresses, for every hop (the fetcher follows redirects itself), and a second
time at connect time by `GuardedBackend`, which connects only to an address it has just
checked (closing the DNS-rebinding window between check and connect).
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable, Iterable
from urllib.parse import urlsplit

import httpcore

__all__ = [
    "GuardedBackend",
    "NetGuard",
    "Resolver",
    "address_refusal",
    "default_resolver",
]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], Awaitable[list[str]]]

# Cloud metadata endpoints get their own wording: they are the reason SSRF matters.
_METADATA = {
    ipaddress.ip_address("169.254.169.254"),  # AWS, GCP, Azure, OpenStack, ...
    ipaddress.ip_address("fd00:ec2::254"),  # AWS IMDS over IPv6
    ipaddress.ip_address("100.100.100.200"),  # Alibaba Cloud
}


async def default_resolver(host: str, port: int) -> list[str]:
    """All addresses `host` resolves to, as the OS resolver sees it."""
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    seen: list[str] = []
    for info in infos:
        addr = str(info[4][0])
        if addr not in seen:
            seen.append(addr)
    return seen


def _unwrap(ip: IPAddress) -> IPAddress:
    """IPv4-mapped/compatible IPv6 (`::ffff:10.0.0.1`) reaches the IPv4 host: judge that."""
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return ip.ipv4_mapped
        if ip.sixtofour is not None:
            return ip.sixtofour
    return ip


def address_refusal(address: str) -> str | None:
    """Why connecting to `address` is refused, or None when it is a public address."""
    try:
        ip = _unwrap(ipaddress.ip_address(address.strip("[]").split("%")[0]))
    except ValueError:
        return f"{address} is not an IP address"
    if ip in _METADATA:
        return f"{ip} is a cloud metadata address"
    checks = (
        (ip.is_unspecified, "an unspecified"),
        (ip.is_loopback, "a loopback"),
        (ip.is_link_local, "a link-local"),
        (ip.is_multicast, "a multicast"),
        (ip.is_reserved, "a reserved"),
        (ip.is_private, "a private"),
        (not ip.is_global, "a non-public"),
    )
    for flag, label in checks:
        if flag:
            return f"{ip} is {label} address"
    return None


class NetGuard:
    """Decides, from resolved addresses, whether a URL may be connected to.

    `allow_hosts` entries may be IPs, CIDRs or hostnames; an allowed hostname is trusted
    whatever it resolves to, an allowed IP/CIDR exempts matching resolved addresses.
    """

    def __init__(self, allow_hosts: Iterable[str] = (), *, resolver: Resolver | None = None):
        self._networks: list[ipaddress.IPv4Network | ipaddress.IPv6Network] = []
        self._names: set[str] = set()
        for entry in allow_hosts:
            entry = entry.strip()
            if not entry:
                continue
            try:
                self._networks.append(ipaddress.ip_network(entry.strip("[]"), strict=False))
            except ValueError:
                self._names.add(entry.lower().rstrip("."))
        self._resolve = resolver or default_resolver

    def address_allowed(self, address: str) -> str | None:
        """None if `address` may be used, else the refusal reason."""
        try:
            ip = ipaddress.ip_address(address.strip("[]").split("%")[0])
        except ValueError:
            return f"{address} is not an IP address"
        if any(ip in net for net in self._networks):
            return None
        unwrapped = _unwrap(ip)
        if unwrapped is not ip and any(unwrapped in net for net in self._networks):
            return None
        return address_refusal(address)

    async def resolve_allowed(self, host: str, port: int) -> tuple[list[str], str | None]:
        """(addresses that may be connected to, reason when none may)."""
        host = host.strip("[]").lower().rstrip(".")
        if host in self._names:
            return [host], None
        try:
            ipaddress.ip_address(host.split("%")[0])
            addresses = [host]
        except ValueError:
            try:
                addresses = await self._resolve(host, port)
            except (OSError, UnicodeError) as exc:
                return [], f"cannot resolve {host}: {exc}"
            if not addresses:
                return [], f"cannot resolve {host}: no addresses"
        reasons: list[str] = []
        for addr in addresses:
            reason = self.address_allowed(addr)
            if reason is not None:
                reasons.append(reason)
        # One bad address taints the name: the OS may pick any of them at connect time.
        if reasons:
            return [], reasons[0]
        return addresses, None

    async def check_url(self, url: str) -> str | None:
        """None if `url`'s host resolves only to permitted addresses, else the reason."""
        parts = urlsplit(url)
        host = parts.hostname
        if not host:
            return f"no host in {url!r}"
        try:
            port = parts.port or (443 if parts.scheme.lower() == "https" else 80)
        except ValueError:
            return f"bad port in {url!r}"
        _, reason = await self.resolve_allowed(host, port)
        return reason


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """httpcore network backend that connects only to addresses the guard has approved.

    Resolution happens here, and the connect goes to the checked IP, so a second DNS
    answer cannot swap in a private address. TLS still uses the URL's host name for SNI
    and certificate checks (httpcore passes that separately to `start_tls`).
    """

    def __init__(self, guard: NetGuard, inner: httpcore.AsyncNetworkBackend | None = None):
        self._guard = guard
        self._inner = inner or httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[object] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        addresses, reason = await self._guard.resolve_allowed(host, port)
        if reason is not None:
            raise httpcore.ConnectError(f"refused: {reason}")
        last_exc: Exception | None = None
        for addr in addresses:
            try:
                return await self._inner.connect_tcp(
                    addr,
                    port,
                    timeout=timeout,
                    local_address=local_address,
                    socket_options=socket_options,  # type: ignore[arg-type]
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                last_exc = exc
        assert last_exc is not None
        raise last_exc

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[object] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("refused: unix sockets are never used by the crawler")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)
