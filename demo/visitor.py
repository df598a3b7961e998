"""Who is asking, for limits and votes: a visitor signed in with Hugging Face, else their address.

Signed-in: Gradio's OAuth (`gr.LoginButton`, a Space with `hf_oauth: true`) keeps the login in the
signed `session` cookie as `oauth_info`; that is what `gr.OAuthProfile` is read from, and so do we.

Address: never an entry the client could have written. A proxy that appends to X-Forwarded-For puts
the address it saw *after* whatever the client sent, so the chain `X-Forwarded-For + [peer]` is read
from the right: the trusted hops are skipped and the first address left of them is the visitor.
Trusted hops: the peer when it is a trusted proxy (RIO_TRUSTED_PROXIES, addresses or networks), and
on a Hugging Face Space every peer (nothing reaches the app around the Space's proxy) and the Hub's
internal addresses (`HUB_INTERNAL`: private, carrier-grade NAT, loopback and link-local networks,
which no visitor on the Internet has; the peer there is e.g. 10.16.3.80). RIO_TRUSTED_PROXY_HOPS=N
says the chain is known (every request passes N proxies, the peer being the last): the visitor is
the N+1-th entry of the chain from the right. Otherwise an untrusted peer's header is ignored.
IPv6 visitors are counted by /64, the block one host holds.

The Hub's `X-IP-Token` is not used: a sender-supplied one reaches the app (Gradio's client forwards a
visitor's token from one Space to another on purpose) and the app has no key to check its signature.
"""

from __future__ import annotations

import ipaddress
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from worker.jobs import ADDRESS, USER

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address
HUB_NETWORKS = (
    "10.0.0.0/8 172.16.0.0/12 192.168.0.0/16 100.64.0.0/10 127.0.0.0/8 169.254.0.0/16 fc00::/7 fe80::/10 ::1/128"
)
HUB_INTERNAL: tuple[Network, ...] = tuple(ipaddress.ip_network(n) for n in HUB_NETWORKS.split())
IPV6_BLOCK = 64


@dataclass(frozen=True)
class ProxyTrust:
    """Which hops in front of the app are believed (from Settings, built once per page)."""

    proxies: tuple[Network, ...] = ()
    on_space: bool = False
    hops: int = 0  # 0: skip trusted hops; N > 0: exactly N proxies stand in front of the app

    @classmethod
    def parse(cls, proxies: str = "", on_space: bool = False, hops: int = 0) -> ProxyTrust:
        nets = tuple(ipaddress.ip_network(p.strip(), strict=False) for p in proxies.split(",") if p.strip())
        return cls(nets, on_space, hops)

    def trusts(self, address: Address | None) -> bool:
        if address is None:
            return False
        nets = self.proxies + (HUB_INTERNAL if self.on_space else ())
        return any(address.version == n.version and address in n for n in nets)


def parse_address(entry: str) -> Address | None:
    """An address from a header entry or peer (`1.2.3.4`, `1.2.3.4:80`, `[::1]:80`, `::ffff:1.2.3.4`)."""
    text = entry.strip().strip('"')
    if text.startswith("[") and "]" in text:
        text = text[1 : text.index("]")]
    elif text.count(":") == 1:
        text = text.split(":")[0]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    mapped = getattr(address, "ipv4_mapped", None)
    return mapped or address


def visitor_address(peer: str, forwarded: str, trust: ProxyTrust) -> str:
    """The visitor's address (an IPv6 one as its /64) by the rule in this module's docstring."""
    peer_address = parse_address(peer)
    if not (trust.on_space or trust.hops > 0 or trust.trusts(peer_address)):
        return shown(peer_address, peer)
    chain = [e for e in forwarded.split(",") if e.strip()] + [peer]
    if trust.hops > 0:
        entry = chain[max(0, len(chain) - 1 - trust.hops)]
        return shown(parse_address(entry), entry)
    for entry in reversed(chain[:-1]):
        address = parse_address(entry)
        if not trust.trusts(address):
            return shown(address, entry)
    return shown(parse_address(chain[0]), chain[0])  # every hop trusted: the farthest one seen


def shown(address: Address | None, raw: str) -> str:
    if address is None:
        return raw.strip()[:64] or "anon"
    if address.version == 6:
        return str(ipaddress.ip_network(f"{address}/{IPV6_BLOCK}", strict=False))
    return str(address)


def signed_in_user(request: Any) -> str | None:
    """The Hugging Face username of a signed-in visitor, or None."""
    raw = getattr(request, "request", None)  # gr.Request wraps the Starlette request
    scope = getattr(raw, "scope", None)
    session = scope.get("session") if isinstance(scope, dict) else None  # absent without OAuth middleware
    info = session.get("oauth_info") if isinstance(session, dict) else None
    if not isinstance(info, dict):
        return None
    expires = info.get("expires_at")
    if expires is not None and float(expires) < time.time():  # Gradio's rule: an expired login is none
        return None
    name = (info.get("userinfo") or {}).get("preferred_username")
    return str(name)[:96] if name else None


def client_id(request: Any, trust: ProxyTrust | None = None) -> str:
    """`user:<name>` (Hugging Face login, or Gradio's own auth), else `ip:<address>`."""
    if request is None:
        return "anon"
    user = signed_in_user(request) or getattr(request, "username", None)
    if user:
        return USER + user
    peer = request.client.host if request.client else "anon"
    forwarded = ",".join(header_values(request.headers, "x-forwarded-for"))
    return ADDRESS + visitor_address(peer, forwarded, trust or ProxyTrust())


def header_values(headers: Any, name: str) -> Iterable[str]:
    """Every value of a header, in order (a client may send it twice; Starlette keeps both)."""
    getlist = getattr(headers, "getlist", None)
    if getlist is not None:
        return list(getlist(name))
    value = headers.get(name, "")
    return [value] if value else []
