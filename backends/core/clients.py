"""Who is calling: the client's address behind trusted reverse proxies (for the admin rate limit and audit log).

Behind a reverse proxy (Hugging Face Spaces, the nginx of ``deploy/``) every request comes from the proxy, so all
visitors would share one admin rate limit. A proxy names the client it forwards for in ``X-Forwarded-For``; anyone
can send that header, so it is believed only when the direct peer is a proxy the operator listed
(``STUDIO_TRUSTED_PROXIES``). The header is read from the right (the hop the trusted proxy appended) past any further
trusted proxies: a client that sends its own ``X-Forwarded-For`` only adds addresses on the left, which are never
reached while an untrusted hop stands to their right.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

from backends.core.errors import InvalidInput

MAX_ADDRESS = 64  # an address longer than this is not one; cut it so a forged header cannot bloat the audit log


def check_proxies(proxies: Sequence[str], field: str = "STUDIO_TRUSTED_PROXIES") -> tuple[str, ...]:
    """The trusted proxies, each an IP address or a network in CIDR notation (``10.0.0.0/8``).

    Raises:
        InvalidInput: naming ``field`` and the entry that is neither.
    """
    for proxy in proxies:
        try:
            ipaddress.ip_network(proxy, strict=False)
        except ValueError:
            raise InvalidInput(field, f"{proxy!r} is not an IP address or a network such as 10.0.0.0/8") from None
    return tuple(proxies)


def is_trusted(address: str, proxies: Sequence[str]) -> bool:
    """Whether ``address`` is one of ``proxies`` (addresses or networks); anything that is not an IP is not."""
    try:
        ip = ipaddress.ip_address(address.strip())
    except ValueError:
        return False
    return any(ip in ipaddress.ip_network(proxy, strict=False) for proxy in proxies)


def client_address(peer: str | None, forwarded_for: str | None, proxies: Sequence[str]) -> str:
    """The calling client's address.

    Args:
        peer: the direct peer's address (None in-process).
        forwarded_for: the ``X-Forwarded-For`` header, if any (``"client, proxy1, proxy2"``).
        proxies: trusted proxy addresses or networks (empty: the header is never believed).

    Returns:
        The peer itself unless it is a trusted proxy that forwarded for someone; then the right-most address of the
        header that is not a trusted proxy (the left-most when all are); ``"local"`` without a peer.
    """
    peer = (peer or "").strip() or "local"
    hops = [hop.strip() for hop in (forwarded_for or "").split(",") if hop.strip()]
    if not hops or not is_trusted(peer, proxies):
        return peer
    client = next((hop for hop in reversed(hops) if not is_trusted(hop, proxies)), hops[0])
    return client[:MAX_ADDRESS]
