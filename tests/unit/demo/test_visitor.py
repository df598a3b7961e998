"""The visitor's address: read from the right of X-Forwarded-For past the trusted hops, never an entry
the client could have written; a login beats the address."""

from __future__ import annotations

import time

from demo.visitor import ProxyTrust, client_id, visitor_address

SPACE = ProxyTrust.parse(on_space=True)
HUB = "10.16.3.80"  # what request.client.host shows on a Space


def test_on_a_space_a_forged_left_entry_never_changes_the_address():
    assert visitor_address(HUB, "198.51.100.7, 10.16.3.80", SPACE) == "198.51.100.7"
    for forged in ("1.1.1.1", "10.0.0.9", "garbage", "203.0.113.5, 8.8.8.8"):
        assert visitor_address(HUB, f"{forged}, 198.51.100.7, 10.16.3.80", SPACE) == "198.51.100.7", forged
    assert visitor_address(HUB, "198.51.100.7", SPACE) == "198.51.100.7", "the edge appended it, no inner hop"
    assert visitor_address(HUB, "", SPACE) == HUB, "no header: every hop is the Hub's, the farthest one is used"


def test_outside_a_space_the_header_is_believed_only_from_a_trusted_peer():
    lb = ProxyTrust.parse("127.0.0.1")
    assert visitor_address("10.0.0.5", "1.2.3.4", lb) == "10.0.0.5", "peer not trusted: header ignored"
    assert visitor_address("10.0.0.5", "1.2.3.4", ProxyTrust()) == "10.0.0.5", "no proxy configured"
    assert visitor_address("127.0.0.1", "9.9.9.9, 1.2.3.4", lb) == "1.2.3.4", "the right-most entry"
    assert visitor_address("127.0.0.1", "10.0.0.9", lb) == "10.0.0.9", "private addresses are visitors off a Space"
    chain = ProxyTrust.parse("127.0.0.1, 172.20.0.0/16")
    assert visitor_address("127.0.0.1", "9.9.9.9, 1.2.3.4, 172.20.1.2", chain) == "1.2.3.4", "networks are hops"


def test_a_known_number_of_hops_fixes_the_position():
    two = ProxyTrust.parse(hops=2)
    assert visitor_address("10.0.0.1", "9.9.9.9, 1.2.3.4, 10.0.0.2", two) == "1.2.3.4"
    assert visitor_address("10.0.0.1", "1.2.3.4", two) == "1.2.3.4", "a shorter chain: its farthest entry"
    assert visitor_address("10.0.0.1", "6.6.6.6, 1.2.3.4", ProxyTrust.parse(hops=1)) == "1.2.3.4"


def test_addresses_are_normalised_and_ipv6_counted_by_block():
    lb = ProxyTrust.parse("127.0.0.1")
    assert visitor_address("127.0.0.1", "1.2.3.4:5678", lb) == "1.2.3.4"
    assert visitor_address("::ffff:127.0.0.1", "::ffff:1.2.3.4", lb) == "1.2.3.4"
    a = visitor_address("127.0.0.1", "2001:db8:1:2::1", lb)
    b = visitor_address("127.0.0.1", "[2001:db8:1:2:ffff::9]:443", lb)
    assert a == b == "2001:db8:1:2::/64", "one host's /64 is one visitor"


class Request:
    """What client_id reads of a gr.Request: its peer, headers and (OAuth) session."""

    def __init__(self, forwarded: str, session: dict | None = None, peer: str = HUB) -> None:
        self.client = type("Peer", (), {"host": peer})()
        self.headers = {"x-forwarded-for": forwarded}
        self.username = None
        self.request = type("Raw", (), {"scope": {"session": session} if session is not None else {}})()


def test_a_login_beats_the_address_until_it_expires():
    signed_in = {"oauth_info": {"expires_at": time.time() + 60, "userinfo": {"preferred_username": "ana"}}}
    expired = {"oauth_info": {"expires_at": time.time() - 1, "userinfo": {"preferred_username": "ana"}}}
    assert client_id(Request("1.2.3.4, 10.0.0.1"), SPACE) == "ip:1.2.3.4"
    assert client_id(Request("1.2.3.4", signed_in), SPACE) == "user:ana"
    assert client_id(Request("1.2.3.4", expired), SPACE) == "ip:1.2.3.4"
    assert client_id(Request("1.2.3.4"), ProxyTrust()) == f"ip:{HUB}", "outside a Space: header ignored"
