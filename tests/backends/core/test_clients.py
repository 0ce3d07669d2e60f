"""Who is calling behind a reverse proxy: X-Forwarded-For is believed only from the proxies the operator lists."""

from __future__ import annotations

import pytest

from backends.core.clients import client_address
from backends.core.errors import InvalidInput
from backends.core.settings import Settings

PROXY = "10.0.0.5"


def test_without_trusted_proxies_the_header_is_ignored() -> None:
    assert client_address(PROXY, "203.0.113.7", ()) == PROXY
    assert client_address(None, "203.0.113.7", ()) == "local"


def test_a_trusted_peer_forwards_for_its_client() -> None:
    assert client_address(PROXY, "203.0.113.7", (PROXY,)) == "203.0.113.7"
    assert client_address(PROXY, "203.0.113.7", ("10.0.0.0/8",)) == "203.0.113.7"  # networks in CIDR notation
    assert client_address(PROXY, "2001:db8::1", ("10.0.0.0/8",)) == "2001:db8::1"
    assert client_address(PROXY, "", (PROXY,)) == PROXY  # no header: the proxy itself


def test_an_untrusted_peer_cannot_claim_another_address() -> None:
    assert client_address("198.51.100.9", "203.0.113.7", (PROXY,)) == "198.51.100.9"


def test_a_forged_header_is_not_believed_past_the_hop_the_proxy_added() -> None:
    # The client sent "X-Forwarded-For: 1.2.3.4" itself; the trusted proxy appended the address it really saw.
    assert client_address(PROXY, "1.2.3.4, 203.0.113.7", (PROXY,)) == "203.0.113.7"
    # A chain of trusted proxies is walked through to the first address none of them is.
    assert client_address(PROXY, "203.0.113.7, 10.0.0.9", ("10.0.0.0/8",)) == "203.0.113.7"


def test_the_setting_reads_addresses_and_networks_and_refuses_anything_else() -> None:
    settings = Settings.from_env({"STUDIO_TRUSTED_PROXIES": "10.0.0.5, 172.16.0.0/12,::1"})
    assert settings.trusted_proxies == ("10.0.0.5", "172.16.0.0/12", "::1")
    assert Settings.from_env({}).trusted_proxies == ()
    with pytest.raises(InvalidInput, match="^STUDIO_TRUSTED_PROXIES: 'nginx' is not an IP address"):
        Settings.from_env({"STUDIO_TRUSTED_PROXIES": "nginx"})
